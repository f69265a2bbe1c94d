/*
 * fuse_ops.h - the low-level FUSE operations: the only code that replies
 * to the kernel.
 */
#ifndef SFS_FUSE_OPS_H
#define SFS_FUSE_OPS_H

#include <fuse_lowlevel.h>

#include "chunk.h"
#include "itable.h"
#include "meta.h"
#include "store.h"

struct sfs {
	struct store store;
	struct meta meta;
	struct chunks chunks;
	struct itable itable;
	/* Entry and attribute timeouts given to the kernel, in seconds. */
	double timeout;
	/* -o fault_injection: trusted.sparsefs.fault on the root directory
	 * sets a backing fault (see backing_fault_parse), "clear" clears. */
	bool fault_injection;
	/* -o acl: POSIX ACLs (the kernel checks them, we keep them). */
	bool acl;
	/* -o writeback_cache: the kernel keeps written data in its page cache
	 * and hands it over later (sfs_init() says what that costs). */
	bool writeback;
	/* The fsync journal (chunk.c): 1 on, 0 off, -1 where the backing
	 * has no syncfs() that reaches the disk. Set before sfs_start(). */
	int journal;
	/* -o journal_idle: ms without an fsync before the journal is
	 * emptied (0: the default). */
	unsigned journal_idle_ms;
	/* For notifications to the kernel. */
	struct fuse_session *se;
};

extern const struct fuse_lowlevel_ops sfs_ops;

/* Open metadata and data layers over an opened store and recover what an
 * unclean stop left (orphans). Returns 0 or -errno with @msg filled. */
int sfs_start(struct sfs *fs, char *msg, size_t msglen);
/* Reclaim what is still orphaned, mark the store clean, close it. */
void sfs_stop(struct sfs *fs);

#endif
