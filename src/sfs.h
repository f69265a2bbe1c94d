/*
 * sfs.h - included first by every sparsefs source file.
 *
 * Sets the feature macros and the libfuse API level, and holds the few
 * helpers every layer shares.
 */
#ifndef SFS_H
#define SFS_H

#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64
#define FUSE_USE_VERSION SFS_FUSE_USE_VERSION

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define SFS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SFS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SFS_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Longest name in a directory, as on ext4. */
#define SFS_NAME_MAX 255
/* Longest symlink target (PATH_MAX - 1). */
#define SFS_SYMLINK_MAX 4095

static inline void sfs_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void sfs_freep(void *p)
{
	free(*(void **)p);
}
#define SFS_AUTOCLOSE __attribute__((cleanup(sfs_closep)))
#define SFS_AUTOFREE __attribute__((cleanup(sfs_freep)))

static inline uint64_t sfs_get_be64(const void *p)
{
	const unsigned char *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}
static inline void sfs_put_be64(void *p, uint64_t v)
{
	unsigned char *b = p;
	for (int i = 7; i >= 0; i--) {
		b[i] = v & 0xff;
		v >>= 8;
	}
}

#endif
