/*
 * itable.h - the inodes the kernel knows about: lookup counts, open
 * counts, a lock per inode for data operations, dirty chunk lists.
 *
 * An entry lives while the kernel holds lookups on it or an operation
 * holds a reference (itable_get/itable_put). When the last of both goes
 * and the inode lost its last link, the caller must reclaim it: the
 * functions that drop references return true then.
 *
 * An entry nobody holds any more stays while it has chunks written since
 * the last fsync ("kept"): a later fsync through a new open must still
 * cover them, as a file system keeps an inode with dirty pages. Past
 * ITABLE_KEPT_MAX such entries, the caller takes them all
 * (itable_take_kept) and flushes their chunks.
 */
#ifndef SFS_ITABLE_H
#define SFS_ITABLE_H

#include <pthread.h>

#include "chunk.h"

struct sfs_inode {
	uint64_t ino;
	uint64_t nlookup;
	unsigned refs;
	/* nlink reached 0: reclaim when the entry goes. */
	bool unlinked;
	/* Nobody holds it; it stays for its dirty list. */
	bool kept;
	/* Shared for reads, exclusive for writes, truncate, fsync. */
	pthread_rwlock_t lock;
	struct chunk_dirty dirty;
	struct sfs_inode *next;
};

struct itable {
	pthread_mutex_t lock;
	struct sfs_inode **buckets;
	size_t nbuckets;
	size_t count;
	/* Entries kept only for their dirty lists. */
	size_t nkept;
};

#define ITABLE_KEPT_MAX 256

/* A kept entry, taken out of the table: its inode and dirty list. */
struct itable_left {
	uint64_t ino;
	struct chunk_dirty dirty;
};

int itable_init(struct itable *it);
/* Free every entry (at unmount). */
void itable_fini(struct itable *it);
/* Take a reference on @ino's entry, creating it; NULL when out of memory. */
struct sfs_inode *itable_get(struct itable *it, uint64_t ino);
/* Drop a reference; true if the inode must now be reclaimed. */
bool itable_put(struct itable *it, struct sfs_inode *in);
/* The kernel learned of @ino once more (a reply with an entry). */
int itable_lookup(struct itable *it, uint64_t ino);
/* The kernel forgot @n lookups; true if the inode must be reclaimed. */
bool itable_forget(struct itable *it, uint64_t ino, uint64_t n);
/* @ino lost its last link; true if nobody holds it (reclaim now). */
bool itable_unlinked(struct itable *it, uint64_t ino);
/* More than ITABLE_KEPT_MAX entries are kept for their dirty lists. */
bool itable_over_kept(struct itable *it);
/* Take every kept entry out of the table: returns how many, with an array
 * of them in *@out (the caller frees each dirty list and the array), or
 * -ENOMEM (nothing taken). */
ssize_t itable_take_kept(struct itable *it, struct itable_left **out);

#endif
