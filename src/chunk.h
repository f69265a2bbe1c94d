/*
 * chunk.h - file data: offset -> chunk, holes, truncate, fsync.
 *
 * A file's bytes [i * chunk_size, (i+1) * chunk_size) live in the chunk
 * file that the chunk map names for index i; a missing record is a hole.
 * A chunk file may be shorter than a chunk: the rest reads as zeros.
 *
 * Locking: the caller holds the inode's lock, shared for chunk_read() and
 * exclusively for everything that changes the file. Different inodes may
 * be used from any number of threads at once.
 */
#ifndef SFS_CHUNK_H
#define SFS_CHUNK_H

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include "journal.h"
#include "meta.h"

/* One chunk file changed since the last fsync: its id, its index in the
 * file, and the span of bytes in it that changed, [lo, hi). */
struct chunk_dirty_ent {
	uint64_t id, idx;
	uint32_t lo, hi;
};

/* Chunk files written since the last fsync of one inode. */
struct chunk_dirty {
	struct chunk_dirty_ent *ents;
	size_t n, cap;
	/* Too many to list: fsync walks the whole chunk map. */
	bool all;
};

struct chunk_fd_slot;

struct chunks {
	struct backing *b;
	struct meta *m;
	uint64_t chunk_size;
	unsigned shift;
	/* Next chunk id to hand out (see meta_chunk_id_raise). */
	uint64_t next_id;
	pthread_mutex_t id_lock;
	/* Cache of open chunk files: a slot per (id % nslots). */
	struct chunk_fd_slot *slots;
	size_t nslots;
	/* A write that leaves a chunk all zeros frees it. */
	bool zero_detect;
	/* The backing's syncfs() reaches the disk (ext4, xfs, ...). */
	bool syncfs_ok;
	/* The fsync journal (chunk_journal_start), and the chunk files that
	 * its current generation holds records of (id | CHUNK_NEW where the
	 * file was new): a checkpoint syncs them before the journal is
	 * emptied. */
	bool journal_on;
	struct journal journal;
	pthread_mutex_t journal_lock;
	uint64_t *jids;
	size_t njids, capjids;
	/* The checkpointer: empties the journal once no fsync has written to
	 * it for journal_idle_ms (set before chunk_journal_start; 0 means
	 * the default), so that little is left in it when a daemon stops
	 * without a clean unmount. */
	unsigned journal_idle_ms;
	pthread_t checkpointer;
	pthread_cond_t journal_cond;
	bool checkpointer_on, checkpointer_stop;
	struct timespec last_append;
};

/* In a dirty entry's or the journal list's id: the chunk file is new
 * (its directory entry is not durable yet). */
#define CHUNK_NEW (1ull << 63)

/* Set up the data layer over an open store and metadata; 0 or -errno. */
int chunk_init(struct chunks *c, struct store *s, struct meta *m);
void chunk_fini(struct chunks *c);

/* Read up to @len bytes at @off of inode @ino (short at end of file);
 * returns the count or -errno. */
ssize_t chunk_read(struct chunks *c, uint64_t ino, char *buf, size_t len,
		   off_t off);
/*
 * Write @len bytes at @off: the chunk files first, then one metadata
 * transaction (size, times, chunk records). Returns @len or -errno
 * (-ENOSPC, -EIO from the backing; the metadata is then unchanged). Fills
 * @attr with the inode after the write. Records written chunks in @dirty.
 */
ssize_t chunk_write(struct chunks *c, uint64_t ino, const char *buf,
		    size_t len, off_t off, struct chunk_dirty *dirty,
		    struct meta_inode *attr);
/* Set the size of @ino: chunks past the end are freed, a partial last
 * chunk is cut. Updates mtime and ctime. */
int chunk_truncate(struct chunks *c, uint64_t ino, uint64_t size,
		   struct meta_inode *attr);
/*
 * Make [off, off + len) read as zeros: whole chunks in it are freed, the
 * partial ones at its edges zeroed (a hole punched where the backing can).
 * @new_size: the size afterwards (UINT64_MAX: unchanged). Zeroed edges
 * are recorded in @dirty (NULL: none), so that fsync makes them durable.
 */
int chunk_punch(struct chunks *c, uint64_t ino, uint64_t off, uint64_t len,
		uint64_t new_size, struct chunk_dirty *dirty,
		struct meta_inode *attr);
/*
 * Reserve backing space for [off, off + len) (fallocate mode 0): chunk
 * files are created and allocated, so that later writes there cannot fail
 * for lack of room; -ENOSPC up front when the backing has none. Extends
 * the size unless @keep_size.
 */
int chunk_reserve(struct chunks *c, uint64_t ino, uint64_t off, uint64_t len,
		  bool keep_size, struct chunk_dirty *dirty,
		  struct meta_inode *attr);
/* lseek SEEK_DATA / SEEK_HOLE from @off: the offset, or -ENXIO. */
int64_t chunk_seek(struct chunks *c, uint64_t ino, uint64_t off, int whence);
/* Make @ino's data durable (the chunk files in @dirty, or records of
 * their changed bytes in the journal), then the metadata. */
int chunk_fsync(struct chunks *c, uint64_t ino, struct chunk_dirty *dirty);
/*
 * Make the chunk files @ids (each | CHUNK_NEW where new) durable, then the
 * metadata: the dirty lists of inodes nobody uses any more, flushed
 * together (one syncfs where it reaches the disk). Returns 0 or the first
 * -errno.
 */
int chunk_flush_ids(struct chunks *c, const uint64_t *ids, size_t n);
/*
 * Use the fsync journal from now on: open it, and first deal with what a
 * daemon that stopped without a clean unmount left in it. Written on this
 * boot: the chunk files it names are synced (the backing's cache has their
 * newest bytes). Written before the machine restarted: its records are
 * written back into the chunk files that still hold those chunks (never
 * past a record's length), and synced. Then the journal is emptied.
 * Returns 0 or -errno (the journal is then not used).
 */
int chunk_journal_start(struct chunks *c);
/* Where a journal file is left (a store whose journal is not to be used
 * now, or fsck): deal with it as chunk_journal_start() does, then stop.
 * Returns 0 (also when there is none) or -errno. */
int chunk_journal_settle(struct chunks *c);
/* Stop using the journal: sync what it holds records of, empty it, close
 * it (chunk_fini() does this too). Failures are logged; the next
 * chunk_journal_start() deals with what is left. */
void chunk_journal_stop(struct chunks *c);
/* Free an orphaned inode and its chunk files. */
int chunk_reclaim(struct chunks *c, uint64_t ino);
/* Call @fn for the id of every chunk file in the store, until it returns
 * non-zero (returned). Files whose names are not chunk ids are skipped. */
int chunk_scan_files(struct chunks *c, int (*fn)(void *, uint64_t),
		     void *arg);
/* Forget @dirty's list. */
void chunk_dirty_free(struct chunk_dirty *dirty);

/* Path of chunk file @id relative to BACKING ("data/T/MMM/LLL"). */
void chunk_path(uint64_t id, char *buf, size_t len);
/* Delete chunk file @id (dropping any cached fd); @arg is the chunks. */
void chunk_drop(void *arg, uint64_t id);

#endif
