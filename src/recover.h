/*
 * recover.h - repair at mount after an unclean stop.
 */
#ifndef SFS_RECOVER_H
#define SFS_RECOVER_H

#include "chunk.h"

/* Drop chunk records past the end of file, delete chunk files no record
 * names, raise the chunk id counter past every id seen. Logs what it
 * did. Returns 0 or -errno. */
int sfs_recover(struct meta *m, struct chunks *c);

#endif
