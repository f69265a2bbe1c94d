/*
 * fsck.h - offline check and repair of a store (fsck.sparsefs).
 */
#ifndef SFS_FSCK_H
#define SFS_FSCK_H

#include <stdio.h>

/* Exit codes as fsck(8). */
#define FSCK_OK 0
#define FSCK_CORRECTED 1
#define FSCK_UNCORRECTED 4
#define FSCK_ERROR 8

enum fsck_flags {
	FSCK_REPAIR = 1,   /* -y: repair; otherwise report only (-n) */
	FSCK_VERBOSE = 2,  /* -v: say what each pass does */
	FSCK_PROGRESS = 4, /* show progress (on a terminal) */
};

/*
 * Check the store in @path; problems and repairs are reported on @out.
 * Without FSCK_REPAIR nothing in the store is written. Returns an fsck(8)
 * exit code.
 */
int fsck_run(const char *path, int flags, FILE *out);

#endif
