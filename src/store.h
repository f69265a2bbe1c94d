/*
 * store.h - the store inside BACKING: superblock, lock, layout.
 *
 * BACKING/sparsefs.sb   text superblock (magic, format, chunk size, UUID,
 *                       checksum); also the file the daemon holds a lock on
 * BACKING/meta/         LMDB environment (meta.c)
 * BACKING/data/         chunk files (chunk.c)
 */
#ifndef SFS_STORE_H
#define SFS_STORE_H

#include "backing.h"

#define STORE_SB_NAME "sparsefs.sb"
#define STORE_META_DIR "meta"
#define STORE_DATA_DIR "data"
#define STORE_FORMAT 1
#define STORE_CHUNK_MIN (64u << 10)
#define STORE_CHUNK_MAX (64u << 20)
#define STORE_CHUNK_DEFAULT (1u << 20)

struct store {
	struct backing b;
	int lockfd;
	unsigned format;
	uint64_t chunk_size;
	unsigned chunk_shift;
	char uuid[40];
	/* The store was created by this open. */
	bool created;
	bool readonly;
};

enum store_flags {
	/* Create a store in an empty directory. */
	STORE_CREATE = 1,
	/* Take the daemon lock (fsck takes it too, to refuse a live store). */
	STORE_LOCK = 2,
	/* Open for checking only: never write. */
	STORE_RDONLY = 4,
};

/*
 * Open the store in directory @path. With STORE_CREATE an empty directory
 * becomes a store with chunks of @chunk_size bytes (a power of two in
 * [STORE_CHUNK_MIN, STORE_CHUNK_MAX]). On failure returns -errno and puts
 * a message naming the problem and what to do into @msg (@msglen bytes):
 *   -ENOENT        @path does not exist
 *   -ENOTDIR       @path is not a directory
 *   -ENOTEMPTY     not a store and not empty: nothing was touched
 *   -EUCLEAN       the superblock is damaged
 *   -EPROTONOSUPPORT  the store has a newer format
 *   -EBUSY         another process holds the store's lock
 *   -EROFS/-EACCES the directory cannot be written
 */
int store_open(struct store *s, const char *path, uint64_t chunk_size,
	       int flags, char *msg, size_t msglen);
void store_close(struct store *s);

/* Parse a size with an optional K/M/G suffix; -EINVAL if malformed. */
int store_parse_size(const char *text, uint64_t *out);

#endif
