/*
 * meta.h - metadata in LMDB: inodes, directory entries, symlink targets,
 * xattrs, the chunk map, orphans.
 *
 * Every function that takes a struct meta_txn runs inside a transaction
 * the caller began; they return 0 or -errno:
 *   -ENOENT  no such record       -EEXIST  record exists
 *   -ENOSPC  the map is full (meta_update() grows it and retries)
 *   -EIO     anything else LMDB reports (logged)
 * Writers use meta_update(), which runs a callback in a write transaction
 * and retries it after growing the map; the callback must therefore only
 * touch the transaction and its own output.
 *
 * Thread safety: any number of threads may hold read transactions; write
 * transactions are serialized by LMDB. A transaction belongs to the thread
 * that began it.
 */
#ifndef SFS_META_H
#define SFS_META_H

#include <lmdb.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "store.h"

#define META_ROOT_INO 1

/* An inode record (host byte order: a store is used on one machine). */
struct meta_inode {
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint32_t nlink;
	uint64_t rdev;
	uint64_t size;
	/* Bytes the chunk files take on the backing (st_blocks * 512). */
	uint64_t spent;
	uint64_t generation;
	/* Directories: the directory that holds this one (root: itself). */
	uint64_t parent;
	struct timespec atime, mtime, ctime;
};

/* One chunk of a file: chunk file id, and bytes the chunk file holds. */
struct meta_chunk {
	uint64_t id;
	uint32_t len;
	uint32_t flags;
};

/* The chunk holds only space fallocate reserved (zeros) since it was last
 * written: it may lie past the end of file (FALLOC_FL_KEEP_SIZE). Any
 * other record past the end of file is left over from a cut-short
 * truncate and is dropped. */
#define META_CHUNK_RESERVED 1u

struct meta {
	MDB_env *env;
	/* The store's backing: the map grows through it. */
	struct backing *b;
	MDB_dbi inodes, dirents, symlinks, chunks, xattrs, orphans, info;
	/* Held shared by every transaction, exclusively to grow the map. */
	pthread_rwlock_t grow_lock;
	size_t mapsize;
	uint64_t chunk_size;
	/* The store was not unmounted cleanly last time. */
	bool unclean;
	bool readonly;
	/* Chunk records read by positioned lookups and walks since open:
	 * what the scale checks count (see meta_chunk_reads()). */
	_Atomic uint64_t chunk_reads;
};

struct meta_txn {
	struct meta *m;
	MDB_txn *txn;
	/* The map filled up: meta_update() grows it and retries. */
	bool map_full;
};

enum meta_open_flags {
	META_RDONLY = 1,
};

/*
 * Open (creating when the store is new) the environment in
 * BACKING/meta. Returns 0, or -errno with a message in @msg: -EUCLEAN
 * when data.mdb is damaged, -EIO for other LMDB failures.
 */
int meta_open(struct meta *m, struct store *s, int flags, char *msg,
	      size_t msglen);
/* Mark the store clean (when @clean), sync, and close. */
void meta_close(struct meta *m, bool clean);
/* Flush committed transactions to the backing (msync + fsync). */
int meta_sync(struct meta *m);

int meta_begin(struct meta *m, struct meta_txn *t, bool write);
int meta_commit(struct meta_txn *t);
void meta_abort(struct meta_txn *t);
/* Run @fn in a write transaction, growing the map on -ENOSPC from LMDB;
 * commits when @fn returns >= 0. Returns what @fn returned or -errno. */
int meta_update(struct meta *m, int (*fn)(struct meta_txn *, void *),
		void *arg);

/* Map an LMDB return code to -errno (logging unexpected ones). */
int meta_errno(struct meta_txn *t, int rc, const char *what);

/* ---- records ---- */
int meta_inode_get(struct meta_txn *t, uint64_t ino, struct meta_inode *in);
int meta_inode_put(struct meta_txn *t, uint64_t ino,
		   const struct meta_inode *in);
/* Allocate a fresh inode number. */
int meta_ino_alloc(struct meta_txn *t, uint64_t *ino);

/* Name lookup in directory @dir: fills @ino; -ENOENT if absent. */
int meta_dirent_get(struct meta_txn *t, uint64_t dir, const char *name,
		    size_t len, uint64_t *ino);
int meta_dirent_put(struct meta_txn *t, uint64_t dir, const char *name,
		    size_t len, uint64_t ino, uint32_t mode);
int meta_dirent_del(struct meta_txn *t, uint64_t dir, const char *name,
		    size_t len);
/* 1 if @dir has at least one entry, 0 if none, or -errno. */
int meta_dir_nonempty(struct meta_txn *t, uint64_t dir);

/*
 * Directory listing: calls @fn for each entry of @dir whose cookie is
 * greater than @after, in cookie order, until @fn returns non-zero (which
 * is then returned) or the entries run out (returns 0). Cookies are
 * stable: an entry keeps its cookie for as long as it exists, and are
 * >= META_COOKIE_FIRST, leaving smaller values for "." and "..".
 */
#define META_COOKIE_FIRST 3
/* The hash of a name: where its cookie starts (an entry's cookie is the
 * first value from there on that no other entry of the directory has, at
 * most META_COOKIE_PROBE beyond). */
uint64_t meta_name_cookie(const char *name, size_t len);
#define META_COOKIE_PROBE 64
typedef int (*meta_dir_fn)(void *arg, const char *name, size_t len,
			   uint64_t ino, uint32_t mode, uint64_t cookie);
int meta_dir_list(struct meta_txn *t, uint64_t dir, uint64_t after,
		  meta_dir_fn fn, void *arg);

int meta_symlink_get(struct meta_txn *t, uint64_t ino, char *buf,
		     size_t len);
int meta_symlink_put(struct meta_txn *t, uint64_t ino, const char *target);

/* Chunk map. */
int meta_chunk_get(struct meta_txn *t, uint64_t ino, uint64_t idx,
		   struct meta_chunk *c);
int meta_chunk_put(struct meta_txn *t, uint64_t ino, uint64_t idx,
		   const struct meta_chunk *c);
int meta_chunk_del(struct meta_txn *t, uint64_t ino, uint64_t idx);
/* Call @fn for chunks of @ino with index in [from, to), in order, until it
 * returns non-zero (returned). */
typedef int (*meta_chunk_fn)(void *arg, uint64_t idx,
			     const struct meta_chunk *c);
int meta_chunk_walk(struct meta_txn *t, uint64_t ino, uint64_t from,
		    uint64_t to, meta_chunk_fn fn, void *arg);
/* Call @fn for every chunk record of every inode, in (ino, idx) order. */
typedef int (*meta_chunk_all_fn)(void *arg, uint64_t ino, uint64_t idx,
				 const struct meta_chunk *c);
int meta_chunk_walk_all(struct meta_txn *t, meta_chunk_all_fn fn, void *arg);
/* First chunk of @ino with index >= @from: 0 and fills @idx, or -ENOENT. */
int meta_chunk_next(struct meta_txn *t, uint64_t ino, uint64_t from,
		    uint64_t *idx, struct meta_chunk *c);
/* How many chunk records lookups and walks have read since meta_open() (a
 * cursor positioning counts one, each step one more): lets the tests show
 * that an operation on a file of n chunks reads O(1) records, its B-tree
 * descent being LMDB's O(log n), and no scan. */
uint64_t meta_chunk_reads(struct meta *m);
/* Chunk ids below the stored counter may be in use; the chunk layer
 * hands ids out from memory and raises the counter as it commits them. */
int meta_chunk_id_get(struct meta_txn *t, uint64_t *next);
int meta_chunk_id_raise(struct meta_txn *t, uint64_t next);

/* Extended attributes: get returns the value length (copying at most
 * @len bytes when @buf is not NULL), -ENODATA if absent. */
int meta_xattr_get(struct meta_txn *t, uint64_t ino, const char *name,
		   void *buf, size_t len);
int meta_xattr_put(struct meta_txn *t, uint64_t ino, const char *name,
		   const void *val, size_t len);
int meta_xattr_del(struct meta_txn *t, uint64_t ino, const char *name);
/* Fill @buf with the NUL-terminated names (at most @len bytes); returns
 * the total length needed, or -ERANGE when @len is too small. */
int meta_xattr_list(struct meta_txn *t, uint64_t ino, char *buf,
		    size_t len);

int meta_orphan_put(struct meta_txn *t, uint64_t ino);
int meta_orphan_del(struct meta_txn *t, uint64_t ino);
/* First orphan >= @from, or -ENOENT. */
int meta_orphan_next(struct meta_txn *t, uint64_t from, uint64_t *ino);

/* ---- namespace operations, each one write transaction ---- */

/* What a new inode is: mode with type, owner, device, symlink target. */
struct meta_new {
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint64_t rdev;
	const char *symlink;
	/* -o acl: apply the parent's default ACL, else @umask. */
	bool acl;
	uint32_t umask;
};

/*
 * Create @name in @dir: -EEXIST if it exists, -ENOTDIR if @dir is not a
 * directory, -ENAMETOOLONG. Applies a setgid parent's group. Fills @ino
 * and @attr with the new inode.
 */
int meta_create(struct meta *m, uint64_t dir, const char *name,
		const struct meta_new *nw, uint64_t *ino,
		struct meta_inode *attr);
/* New hard link @name in @dir to @ino (not a directory: -EPERM). */
int meta_link(struct meta *m, uint64_t ino, uint64_t dir, const char *name,
	      struct meta_inode *attr);
/*
 * Remove @name from @dir; @rmdir selects rmdir semantics (-ENOTDIR,
 * -ENOTEMPTY) or unlink ones (-EISDIR). Sets @ino to the inode and @gone
 * to true when its last link went: it is then an orphan, for
 * meta_reclaim() once nothing has it open.
 */
int meta_remove(struct meta *m, uint64_t dir, const char *name, bool rmdir,
		uint64_t *ino, bool *gone);
/*
 * rename(2)/renameat2(2) with flags RENAME_NOREPLACE or RENAME_EXCHANGE.
 * When a target was replaced and lost its last link, sets @gone_ino
 * (otherwise 0). -EINVAL for moving a directory into itself.
 */
int meta_rename(struct meta *m, uint64_t dir, const char *name,
		uint64_t newdir, const char *newname, unsigned flags,
		uint64_t *gone_ino);

/*
 * Free an orphan: its records and chunk map. Calls @drop for each chunk
 * id it frees after the metadata is durable, so that the caller can delete
 * the chunk files. Returns 0 or -errno.
 */
int meta_reclaim(struct meta *m, uint64_t ino,
		 void (*drop)(void *arg, uint64_t id), void *arg);

void meta_now(struct timespec *ts);
/* Fill @st from @in; st_blksize is the chunk size. */
void meta_to_stat(const struct meta *m, uint64_t ino,
		  const struct meta_inode *in, struct stat *st);

#endif
