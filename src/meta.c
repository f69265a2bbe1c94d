/*
 * meta.c - the metadata LMDB environment in BACKING/meta.
 *
 * Databases (keys big-endian so that they sort by number):
 *   inodes    be64 ino                      -> struct meta_inode
 *   dirents   be64 dir | be64 cookie | name -> struct dirent_val
 *             (cookie: a hash of the name, or the next free value after
 *             it when names collide; unique in a directory: the stable
 *             readdir offset)
 *   symlinks  be64 ino                      -> target bytes
 *   chunks    be64 ino | be64 chunk index   -> struct meta_chunk
 *   xattrs    be64 ino | name               -> value
 *   orphans   be64 ino                      -> (empty): nlink 0, still open
 *   info      "next_ino", "next_chunk"      -> u64 counters
 *             "mounted"                     -> present while a daemon runs
 *
 * The environment uses MDB_WRITEMAP (all I/O through one mapping, which
 * stays coherent on drvfs) and MDB_NOSYNC: commits reach the backing at
 * meta_sync(), which fsync, unmount and the chunk layer call before
 * anything depends on durability. A daemon killed with SIGKILL loses
 * nothing committed: the pages live in the shared mapping's page cache.
 * The map starts small and grows (meta_grow) when a transaction fills it,
 * after the file has been extended, so that a backing without sparse files
 * that runs out of room yields ENOSPC rather than a broken mapping.
 */
#include "sfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "log.h"
#include "meta.h"

#define META_MAP_INITIAL (16ull << 20)
#define META_MAP_STEP_MAX (1ull << 30)
#define META_MAP_STEP_MIN (1ull << 20)
#define META_DATA_FILE STORE_META_DIR "/data.mdb"

struct dirent_val {
	uint64_t ino;
	uint32_t mode;
	uint32_t pad;
};

static const char KEY_NEXT_INO[] = "next_ino";
static const char KEY_NEXT_CHUNK[] = "next_chunk";
static const char KEY_MOUNTED[] = "mounted";

void meta_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

int meta_errno(struct meta_txn *t, int rc, const char *what)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
		if (t)
			t->map_full = true;
		return -ENOSPC;
	case MDB_TXN_FULL:
		return -ENOSPC;
	default:
		if (rc > 0 && rc < 4096)
			return -rc;
		sfs_err("metadata %s failed: %s", what, mdb_strerror(rc));
		return -EIO;
	}
}

/* ---- keys ---- */

static MDB_val mkval(const void *p, size_t len)
{
	MDB_val v = {.mv_size = len, .mv_data = (void *)p};
	return v;
}

uint64_t meta_name_cookie(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ull;
	}
	return (h >> 2) + META_COOKIE_FIRST;
}

static size_t dirent_key(unsigned char *key, uint64_t dir, uint64_t cookie,
			 const char *name, size_t len)
{
	sfs_put_be64(key, dir);
	sfs_put_be64(key + 8, cookie);
	memcpy(key + 16, name, len);
	return 16 + len;
}

/* ---- environment ---- */

static int meta_get_u64(struct meta_txn *t, const char *key, uint64_t *v)
{
	MDB_val k = mkval(key, strlen(key)), d;
	int rc = mdb_get(t->txn, t->m->info, &k, &d);

	if (rc)
		return meta_errno(t, rc, "info get");
	if (d.mv_size != sizeof(*v))
		return -EIO;
	memcpy(v, d.mv_data, sizeof(*v));
	return 0;
}

static int meta_put_u64(struct meta_txn *t, const char *key, uint64_t v)
{
	MDB_val k = mkval(key, strlen(key)), d = mkval(&v, sizeof(v));
	return meta_errno(t, mdb_put(t->txn, t->m->info, &k, &d, 0),
			  "info put");
}

static int meta_init_fn(struct meta_txn *t, void *arg)
{
	struct meta *m = t->m;
	MDB_val k = mkval(KEY_MOUNTED, sizeof(KEY_MOUNTED) - 1), d;
	struct meta_inode root;
	uint64_t v;
	int r;

	r = meta_get_u64(t, KEY_NEXT_INO, &v);
	if (r == -ENOENT) {
		memset(&root, 0, sizeof(root));
		root.mode = S_IFDIR | 0755;
		root.uid = getuid();
		root.gid = getgid();
		root.nlink = 2;
		root.parent = META_ROOT_INO;
		meta_now(&root.mtime);
		root.atime = root.ctime = root.mtime;
		r = meta_inode_put(t, META_ROOT_INO, &root);
		if (r == 0)
			r = meta_put_u64(t, KEY_NEXT_INO, META_ROOT_INO + 1);
		if (r == 0)
			r = meta_put_u64(t, KEY_NEXT_CHUNK, 1);
		if (r < 0)
			return r;
	} else if (r < 0) {
		return r;
	}
	m->unclean = mdb_get(t->txn, m->info, &k, &d) == 0;
	d = mkval("", 0);
	return meta_errno(t, mdb_put(t->txn, m->info, &k, &d, 0),
			  "info put");
}

static int meta_open_dbs(struct meta *m, bool create)
{
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {
		{"inodes", &m->inodes},	  {"dirents", &m->dirents},
		{"symlinks", &m->symlinks}, {"chunks", &m->chunks},
		{"xattrs", &m->xattrs},	  {"orphans", &m->orphans},
		{"info", &m->info},
	};
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(m->env, NULL, create ? 0 : MDB_RDONLY, &txn);
	if (rc)
		return rc;
	for (size_t i = 0; i < SFS_ARRAY_SIZE(dbs); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, create ? MDB_CREATE : 0,
				  dbs[i].dbi);
		if (rc) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	return mdb_txn_commit(txn);
}

/*
 * Make the first @size bytes of the metadata file allocated, not just
 * long: a page of the writable map that falls in a hole of a sparse
 * backing file would raise SIGBUS when the backing is full. Backings that
 * cannot fallocate (exFAT through FUSE, FAT) allocate on ftruncate.
 */
static int reserve_file(struct backing *b, int fd, size_t size)
{
	struct stat st;
	int r = b->ops->fallocate(b, fd, 0, 0, size);

	if (r != -EOPNOTSUPP && r != -ENOSYS)
		return r;
	r = b->ops->fstat(b, fd, &st);
	if (r == 0 && (size_t)st.st_size < size)
		r = b->ops->ftruncate(b, fd, size);
	return r;
}

/*
 * Look at data.mdb before LMDB maps it: a file cut short would have LMDB
 * read pages past its end. Returns 0, or -EUCLEAN with @msg filled.
 * (LMDB's meta page: a 16-byte page header, then magic, version, address,
 * map size, two 48-byte database records, last page number, txn id.)
 */
#define LMDB_MAGIC 0xBEEFC0DEu
static int meta_validate(struct backing *b, bool is_new, char *msg,
			 size_t msglen)
{
	unsigned char page[2][160];
	uint64_t last_pg = 0, txnid = 0;
	long psize = sysconf(_SC_PAGESIZE);
	struct stat st;
	int fd, good = 0;

	fd = b->ops->open(b, META_DATA_FILE, O_RDONLY, 0);
	if (fd == -ENOENT && is_new)
		return 0; /* a new store: LMDB makes it */
	if (fd == -ENOENT) {
		/* A store without it would mount empty and reuse chunk ids:
		 * never start one over the data of the old. */
		snprintf(msg, msglen,
			 "the metadata database " META_DATA_FILE
			 " is missing; restore it from a backup");
		return -EUCLEAN;
	}
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open " META_DATA_FILE ": %s",
			 strerror(-fd));
		return fd;
	}
	if (b->ops->fstat(b, fd, &st) < 0 || st.st_size == 0) {
		b->ops->close(b, fd);
		if (is_new)
			return 0;
		snprintf(msg, msglen,
			 "the metadata database " META_DATA_FILE
			 " is empty; restore it from a backup");
		return -EUCLEAN;
	}
	for (int i = 0; i < 2; i++) {
		uint32_t magic, version;
		uint64_t pg, id;
		if (backing_pread_all(b, fd, page[i], sizeof(page[i]),
				      (off_t)i * psize) != sizeof(page[i]))
			continue;
		memcpy(&magic, page[i] + 16, 4);
		memcpy(&version, page[i] + 20, 4);
		memcpy(&pg, page[i] + 136, 8);
		memcpy(&id, page[i] + 144, 8);
		if (magic != LMDB_MAGIC || version != 1)
			continue;
		good++;
		if (id >= txnid) {
			txnid = id;
			last_pg = pg;
		}
	}
	b->ops->close(b, fd);
	if (!good) {
		snprintf(msg, msglen,
			 "the metadata database " META_DATA_FILE
			 " is damaged (no valid LMDB header); restore it "
			 "from a backup");
		return -EUCLEAN;
	}
	if ((uint64_t)st.st_size < (last_pg + 1) * (uint64_t)psize) {
		snprintf(msg, msglen,
			 "the metadata database " META_DATA_FILE
			 " is truncated (%lld bytes, needs %llu); restore it "
			 "from a backup",
			 (long long)st.st_size,
			 (unsigned long long)((last_pg + 1) * psize));
		return -EUCLEAN;
	}
	return 0;
}

int meta_open(struct meta *m, struct store *s, int flags, char *msg,
	      size_t msglen)
{
	struct backing *b = &s->b;
	char path[64];
	struct stat st;
	unsigned envflags = MDB_NOTLS;
	int rc, fd;

	memset(m, 0, sizeof(*m));
	pthread_rwlock_init(&m->grow_lock, NULL);
	m->chunk_size = s->chunk_size;
	m->readonly = flags & META_RDONLY;
	m->b = b;
	m->mapsize = META_MAP_INITIAL;
	if (b->ops->stat(b, META_DATA_FILE, &st) == 0 &&
	    (size_t)st.st_size > m->mapsize)
		m->mapsize = st.st_size;
	if (m->readonly)
		envflags |= MDB_RDONLY | MDB_NOLOCK; /* caller holds the store lock */
	else
		envflags |= MDB_WRITEMAP | MDB_NOSYNC;

	rc = meta_validate(b, s->created, msg, msglen);
	if (rc < 0)
		return rc;
	rc = mdb_env_create(&m->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(m->env, 8);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(m->env, 512);
	if (rc == 0)
		rc = mdb_env_set_mapsize(m->env, m->mapsize);
	if (rc) {
		snprintf(msg, msglen, "cannot set up LMDB: %s",
			 mdb_strerror(rc));
		goto fail;
	}
	/* LMDB wants a path; reach the store through /proc so that it is
	 * the directory we opened, whatever happened to its name. */
	fd = b->dirfd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/" STORE_META_DIR, fd);
	rc = mdb_env_open(m->env, path, envflags, 0644);
	if (rc) {
		if (rc == MDB_INVALID || rc == MDB_CORRUPTED ||
		    rc == MDB_VERSION_MISMATCH)
			snprintf(msg, msglen,
				 "the metadata database " META_DATA_FILE
				 " is damaged (%s); run fsck.sparsefs",
				 mdb_strerror(rc));
		else
			snprintf(msg, msglen,
				 "cannot open the metadata database "
				 "in " STORE_META_DIR ": %s",
				 mdb_strerror(rc));
		goto fail;
	}
	rc = meta_open_dbs(m, !m->readonly);
	if (rc) {
		snprintf(msg, msglen,
			 "the metadata database " META_DATA_FILE
			 " is damaged or incomplete (%s); run fsck.sparsefs",
			 mdb_strerror(rc));
		goto fail;
	}
	if (!m->readonly) {
		int dead, r;
		/* Reader slots of a killed process are stale: clear them. */
		mdb_reader_check(m->env, &dead);
		fd = b->ops->open(b, META_DATA_FILE, O_RDWR, 0);
		if (fd >= 0) {
			r = reserve_file(b, fd, m->mapsize);
			b->ops->close(b, fd);
			if (r < 0)
				sfs_warn("cannot allocate the metadata file: "
					 "%s",
					 strerror(-r));
		}
		r = meta_update(m, meta_init_fn, NULL);
		if (r < 0) {
			snprintf(msg, msglen,
				 "cannot initialize the metadata: %s",
				 strerror(-r));
			mdb_env_close(m->env);
			m->env = NULL;
			return r;
		}
	}
	return 0;
fail:
	mdb_env_close(m->env);
	m->env = NULL;
	return rc == MDB_INVALID || rc == MDB_CORRUPTED ||
			       rc == MDB_VERSION_MISMATCH || rc == MDB_NOTFOUND
		       ? -EUCLEAN
		       : rc > 0 ? -rc : -EIO;
}

static int meta_mark_clean_fn(struct meta_txn *t, void *arg)
{
	MDB_val k = mkval(KEY_MOUNTED, sizeof(KEY_MOUNTED) - 1);
	int rc = mdb_del(t->txn, t->m->info, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : meta_errno(t, rc, "info del");
}

void meta_close(struct meta *m, bool clean)
{
	if (!m->env)
		return;
	if (!m->readonly) {
		meta_sync(m);
		if (clean && meta_update(m, meta_mark_clean_fn, NULL) == 0)
			meta_sync(m);
	}
	mdb_env_close(m->env);
	m->env = NULL;
	pthread_rwlock_destroy(&m->grow_lock);
}

int meta_sync(struct meta *m)
{
	int rc;

	if (m->readonly)
		return 0;
	pthread_rwlock_rdlock(&m->grow_lock);
	rc = mdb_env_sync(m->env, 1);
	pthread_rwlock_unlock(&m->grow_lock);
	if (rc) {
		sfs_err("metadata sync failed: %s", mdb_strerror(rc));
		return rc > 0 && rc < 4096 ? -rc : -EIO;
	}
	return 0;
}

/*
 * Grow the map. The file is extended first: where the backing allocates
 * every byte (exFAT, drvfs), running out of room then fails here, cleanly,
 * and not inside LMDB with a mapping that no longer fits the file.
 */
static int meta_grow(struct meta *m, size_t seen)
{
	struct backing *b = m->b;
	size_t newsize, step;
	int rc = 0, fd, r;

	pthread_rwlock_wrlock(&m->grow_lock);
	if (m->mapsize != seen)
		goto out; /* another thread grew it meanwhile */
	fd = b->ops->open(b, META_DATA_FILE, O_RDWR, 0);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	/* Double (up to a step of 1 GiB); on a nearly full backing settle
	 * for less, down to 1 MiB, rather than stop. */
	step = SFS_MIN(m->mapsize, META_MAP_STEP_MAX);
	for (;;) {
		newsize = m->mapsize + step;
		r = reserve_file(b, fd, newsize);
		if (r == 0 || step <= META_MAP_STEP_MIN ||
		    (r != -ENOSPC && r != -EFBIG))
			break;
		b->ops->ftruncate(b, fd, m->mapsize);
		step /= 4;
		step = SFS_MAX(step, META_MAP_STEP_MIN);
	}
	if (r < 0) {
		b->ops->ftruncate(b, fd, m->mapsize);
		b->ops->close(b, fd);
		sfs_err("cannot grow the metadata map to %zu MiB: %s",
			newsize >> 20, strerror(-r));
		rc = r == -EFBIG || r == -ENOSPC ? -ENOSPC : r;
		goto out;
	}
	b->ops->close(b, fd);
	rc = mdb_env_set_mapsize(m->env, newsize);
	if (rc) {
		sfs_err("cannot grow the metadata map: %s", mdb_strerror(rc));
		rc = -EIO;
		goto out;
	}
	sfs_debug("metadata map grown to %zu MiB", newsize >> 20);
	m->mapsize = newsize;
out:
	pthread_rwlock_unlock(&m->grow_lock);
	return rc;
}

int meta_begin(struct meta *m, struct meta_txn *t, bool write)
{
	int rc;

	t->m = m;
	t->map_full = false;
	pthread_rwlock_rdlock(&m->grow_lock);
	rc = mdb_txn_begin(m->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
	if (rc) {
		pthread_rwlock_unlock(&m->grow_lock);
		t->txn = NULL;
		return meta_errno(t, rc, "transaction begin");
	}
	return 0;
}

int meta_commit(struct meta_txn *t)
{
	int rc = mdb_txn_commit(t->txn);

	t->txn = NULL;
	pthread_rwlock_unlock(&t->m->grow_lock);
	return meta_errno(t, rc, "commit");
}

void meta_abort(struct meta_txn *t)
{
	if (!t->txn)
		return;
	mdb_txn_abort(t->txn);
	t->txn = NULL;
	pthread_rwlock_unlock(&t->m->grow_lock);
}

int meta_update(struct meta *m, int (*fn)(struct meta_txn *, void *),
		void *arg)
{
	for (;;) {
		struct meta_txn t;
		size_t seen = m->mapsize;
		int r, g;

		if (m->readonly)
			return -EROFS;
		r = meta_begin(m, &t, true);
		if (r < 0)
			return r;
		r = fn(&t, arg);
		if (r >= 0) {
			int c = meta_commit(&t);
			if (c == 0)
				return r;
			r = c;
		} else {
			meta_abort(&t);
		}
		if (!t.map_full)
			return r;
		g = meta_grow(m, seen);
		if (g < 0)
			return g;
	}
}

/* ---- inodes ---- */

int meta_inode_get(struct meta_txn *t, uint64_t ino, struct meta_inode *in)
{
	unsigned char key[8];
	MDB_val k = mkval(key, 8), d;
	int rc;

	sfs_put_be64(key, ino);
	rc = mdb_get(t->txn, t->m->inodes, &k, &d);
	if (rc)
		return meta_errno(t, rc, "inode get");
	if (d.mv_size != sizeof(*in)) {
		sfs_err("inode %llu: record has bad size %zu",
			(unsigned long long)ino, d.mv_size);
		return -EIO;
	}
	memcpy(in, d.mv_data, sizeof(*in));
	return 0;
}

int meta_inode_put(struct meta_txn *t, uint64_t ino,
		   const struct meta_inode *in)
{
	unsigned char key[8];
	MDB_val k = mkval(key, 8), d = mkval(in, sizeof(*in));

	sfs_put_be64(key, ino);
	return meta_errno(t, mdb_put(t->txn, t->m->inodes, &k, &d, 0),
			  "inode put");
}

static int meta_inode_del(struct meta_txn *t, uint64_t ino)
{
	unsigned char key[8];
	MDB_val k = mkval(key, 8);
	int rc;

	sfs_put_be64(key, ino);
	rc = mdb_del(t->txn, t->m->inodes, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : meta_errno(t, rc, "inode del");
}

int meta_ino_alloc(struct meta_txn *t, uint64_t *ino)
{
	int r = meta_get_u64(t, KEY_NEXT_INO, ino);
	if (r == 0)
		r = meta_put_u64(t, KEY_NEXT_INO, *ino + 1);
	return r;
}

/* ---- directory entries ---- */

/*
 * Find @name in @dir. Its key's cookie is the name's hash, or one of the
 * next META_COOKIE_PROBE values when other names took those: cookies are
 * unique in a directory, so a listing resumed after one never skips an
 * entry. Returns 0 with the cookie in @cookie (and the value in @v), or
 * -ENOENT with @cookie set to the first free cookie (UINT64_MAX: none).
 */
static int dirent_find(struct meta_txn *t, uint64_t dir, const char *name,
		       size_t len, uint64_t *cookie, struct dirent_val *v)
{
	uint64_t hash = meta_name_cookie(name, len), expect = hash;
	unsigned char key[16];
	MDB_cursor *cur;
	MDB_val k = mkval(key, 16), d;
	int rc;

	*cookie = UINT64_MAX;
	sfs_put_be64(key, dir);
	sfs_put_be64(key + 8, hash);
	rc = mdb_cursor_open(t->txn, t->m->dirents, &cur);
	if (rc)
		return meta_errno(t, rc, "cursor open");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		uint64_t c;
		if (k.mv_size < 16 || sfs_get_be64(k.mv_data) != dir)
			break;
		c = sfs_get_be64((char *)k.mv_data + 8);
		if (c > hash + META_COOKIE_PROBE)
			break;
		if (k.mv_size - 16 == len &&
		    !memcmp((char *)k.mv_data + 16, name, len)) {
			*cookie = c;
			if (v)
				memcpy(v, d.mv_data, sizeof(*v));
			mdb_cursor_close(cur);
			return 0;
		}
		if (c > expect && *cookie == UINT64_MAX)
			*cookie = expect; /* a gap: free */
		if (c >= expect)
			expect = c + 1;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return meta_errno(t, rc, "dirent find");
	if (*cookie == UINT64_MAX && expect <= hash + META_COOKIE_PROBE)
		*cookie = expect;
	return -ENOENT;
}

int meta_dirent_get(struct meta_txn *t, uint64_t dir, const char *name,
		    size_t len, uint64_t *ino)
{
	struct dirent_val v;
	uint64_t cookie;
	int r;

	if (len > SFS_NAME_MAX)
		return -ENAMETOOLONG;
	r = dirent_find(t, dir, name, len, &cookie, &v);
	if (r == 0)
		*ino = v.ino;
	return r;
}

int meta_dirent_put(struct meta_txn *t, uint64_t dir, const char *name,
		    size_t len, uint64_t ino, uint32_t mode)
{
	unsigned char key[16 + SFS_NAME_MAX];
	struct dirent_val v = {.ino = ino, .mode = mode};
	MDB_val k, d = mkval(&v, sizeof(v));
	uint64_t cookie;
	int r;

	if (len > SFS_NAME_MAX)
		return -ENAMETOOLONG;
	r = dirent_find(t, dir, name, len, &cookie, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	if (cookie == UINT64_MAX)
		return -ENOSPC; /* more colliding names than probes */
	k = mkval(key, dirent_key(key, dir, cookie, name, len));
	return meta_errno(t, mdb_put(t->txn, t->m->dirents, &k, &d, 0),
			  "dirent put");
}

int meta_dirent_del(struct meta_txn *t, uint64_t dir, const char *name,
		    size_t len)
{
	unsigned char key[16 + SFS_NAME_MAX];
	uint64_t cookie;
	MDB_val k;
	int r;

	if (len > SFS_NAME_MAX)
		return -ENAMETOOLONG;
	r = dirent_find(t, dir, name, len, &cookie, NULL);
	if (r < 0)
		return r;
	k = mkval(key, dirent_key(key, dir, cookie, name, len));
	return meta_errno(t, mdb_del(t->txn, t->m->dirents, &k, NULL),
			  "dirent del");
}

int meta_dir_list(struct meta_txn *t, uint64_t dir, uint64_t after,
		  meta_dir_fn fn, void *arg)
{
	unsigned char key[16];
	MDB_cursor *cur;
	MDB_val k = mkval(key, 16), d;
	int rc, r = 0;

	if (after == UINT64_MAX)
		return 0;
	sfs_put_be64(key, dir);
	sfs_put_be64(key + 8, after + 1);
	rc = mdb_cursor_open(t->txn, t->m->dirents, &cur);
	if (rc)
		return meta_errno(t, rc, "cursor open");
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0) {
		struct dirent_val v;
		if (k.mv_size < 16 || sfs_get_be64(k.mv_data) != dir)
			break;
		memcpy(&v, d.mv_data, sizeof(v));
		r = fn(arg, (char *)k.mv_data + 16, k.mv_size - 16, v.ino,
		       v.mode, sfs_get_be64((char *)k.mv_data + 8));
		if (r)
			break;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return meta_errno(t, rc, "dirent walk");
	return r;
}

static int nonempty_fn(void *arg, const char *name, size_t len, uint64_t ino,
		       uint32_t mode, uint64_t cookie)
{
	return 1;
}

int meta_dir_nonempty(struct meta_txn *t, uint64_t dir)
{
	return meta_dir_list(t, dir, 0, nonempty_fn, NULL);
}

/* ---- symlinks ---- */

int meta_symlink_get(struct meta_txn *t, uint64_t ino, char *buf, size_t len)
{
	unsigned char key[8];
	MDB_val k = mkval(key, 8), d;
	int rc;

	sfs_put_be64(key, ino);
	rc = mdb_get(t->txn, t->m->symlinks, &k, &d);
	if (rc)
		return meta_errno(t, rc, "symlink get");
	if (d.mv_size >= len)
		return -ENAMETOOLONG;
	memcpy(buf, d.mv_data, d.mv_size);
	buf[d.mv_size] = 0;
	return (int)d.mv_size;
}

int meta_symlink_put(struct meta_txn *t, uint64_t ino, const char *target)
{
	unsigned char key[8];
	MDB_val k = mkval(key, 8), d = mkval(target, strlen(target));

	sfs_put_be64(key, ino);
	return meta_errno(t, mdb_put(t->txn, t->m->symlinks, &k, &d, 0),
			  "symlink put");
}

static int meta_del_key(struct meta_txn *t, MDB_dbi dbi, uint64_t ino)
{
	unsigned char key[8];
	MDB_val k = mkval(key, 8);
	int rc;

	sfs_put_be64(key, ino);
	rc = mdb_del(t->txn, dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : meta_errno(t, rc, "delete");
}

/* ---- chunks ---- */

int meta_chunk_get(struct meta_txn *t, uint64_t ino, uint64_t idx,
		   struct meta_chunk *c)
{
	unsigned char key[16];
	MDB_val k = mkval(key, 16), d;
	int rc;

	sfs_put_be64(key, ino);
	sfs_put_be64(key + 8, idx);
	atomic_fetch_add_explicit(&t->m->chunk_reads, 1, memory_order_relaxed);
	rc = mdb_get(t->txn, t->m->chunks, &k, &d);
	if (rc)
		return meta_errno(t, rc, "chunk get");
	memcpy(c, d.mv_data, sizeof(*c));
	return 0;
}

int meta_chunk_put(struct meta_txn *t, uint64_t ino, uint64_t idx,
		   const struct meta_chunk *c)
{
	unsigned char key[16];
	MDB_val k = mkval(key, 16), d = mkval(c, sizeof(*c));

	sfs_put_be64(key, ino);
	sfs_put_be64(key + 8, idx);
	return meta_errno(t, mdb_put(t->txn, t->m->chunks, &k, &d, 0),
			  "chunk put");
}

int meta_chunk_del(struct meta_txn *t, uint64_t ino, uint64_t idx)
{
	unsigned char key[16];
	MDB_val k = mkval(key, 16);

	sfs_put_be64(key, ino);
	sfs_put_be64(key + 8, idx);
	return meta_errno(t, mdb_del(t->txn, t->m->chunks, &k, NULL),
			  "chunk del");
}

int meta_chunk_walk(struct meta_txn *t, uint64_t ino, uint64_t from,
		    uint64_t to, meta_chunk_fn fn, void *arg)
{
	unsigned char key[16];
	MDB_cursor *cur;
	MDB_val k = mkval(key, 16), d;
	int rc, r = 0;

	if (from >= to)
		return 0;
	sfs_put_be64(key, ino);
	sfs_put_be64(key + 8, from);
	rc = mdb_cursor_open(t->txn, t->m->chunks, &cur);
	if (rc)
		return meta_errno(t, rc, "cursor open");
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0) {
		struct meta_chunk c;
		uint64_t idx;
		atomic_fetch_add_explicit(&t->m->chunk_reads, 1,
					  memory_order_relaxed);
		if (sfs_get_be64(k.mv_data) != ino)
			break;
		idx = sfs_get_be64((char *)k.mv_data + 8);
		if (idx >= to)
			break;
		memcpy(&c, d.mv_data, sizeof(c));
		r = fn(arg, idx, &c);
		if (r)
			break;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return meta_errno(t, rc, "chunk walk");
	return r;
}

int meta_chunk_walk_all(struct meta_txn *t, meta_chunk_all_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, r = 0;

	rc = mdb_cursor_open(t->txn, t->m->chunks, &cur);
	if (rc)
		return meta_errno(t, rc, "cursor open");
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		struct meta_chunk c;
		if (k.mv_size != 16 || d.mv_size != sizeof(c)) {
			r = -EUCLEAN;
			break;
		}
		memcpy(&c, d.mv_data, sizeof(c));
		r = fn(arg, sfs_get_be64(k.mv_data),
		       sfs_get_be64((char *)k.mv_data + 8), &c);
		if (r)
			break;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return meta_errno(t, rc, "chunk walk");
	return r;
}

struct next_arg {
	uint64_t *idx;
	struct meta_chunk *c;
};

static int next_fn(void *arg, uint64_t idx, const struct meta_chunk *c)
{
	struct next_arg *a = arg;
	*a->idx = idx;
	if (a->c)
		*a->c = *c;
	return 1;
}

int meta_chunk_next(struct meta_txn *t, uint64_t ino, uint64_t from,
		    uint64_t *idx, struct meta_chunk *c)
{
	struct next_arg a = {idx, c};
	int r = meta_chunk_walk(t, ino, from, UINT64_MAX, next_fn, &a);
	return r == 1 ? 0 : r < 0 ? r : -ENOENT;
}

uint64_t meta_chunk_reads(struct meta *m)
{
	return atomic_load_explicit(&m->chunk_reads, memory_order_relaxed);
}

int meta_chunk_id_get(struct meta_txn *t, uint64_t *next)
{
	return meta_get_u64(t, KEY_NEXT_CHUNK, next);
}

int meta_chunk_id_raise(struct meta_txn *t, uint64_t next)
{
	uint64_t cur;
	int r = meta_get_u64(t, KEY_NEXT_CHUNK, &cur);

	if (r == 0 && next > cur)
		r = meta_put_u64(t, KEY_NEXT_CHUNK, next);
	return r;
}

/* ---- xattrs ---- */

static size_t xattr_key(unsigned char *key, uint64_t ino, const char *name)
{
	size_t len = strlen(name);
	sfs_put_be64(key, ino);
	memcpy(key + 8, name, len);
	return 8 + len;
}

int meta_xattr_get(struct meta_txn *t, uint64_t ino, const char *name,
		   void *buf, size_t len)
{
	unsigned char key[8 + 256];
	MDB_val k, d;
	int rc;

	if (strlen(name) > 255)
		return -ERANGE;
	k = mkval(key, xattr_key(key, ino, name));
	rc = mdb_get(t->txn, t->m->xattrs, &k, &d);
	if (rc == MDB_NOTFOUND)
		return -ENODATA;
	if (rc)
		return meta_errno(t, rc, "xattr get");
	if (buf)
		memcpy(buf, d.mv_data, SFS_MIN(len, d.mv_size));
	return (int)d.mv_size;
}

int meta_xattr_put(struct meta_txn *t, uint64_t ino, const char *name,
		   const void *val, size_t len)
{
	unsigned char key[8 + 256];
	MDB_val k, d = mkval(val, len);

	if (strlen(name) > 255)
		return -ERANGE;
	k = mkval(key, xattr_key(key, ino, name));
	return meta_errno(t, mdb_put(t->txn, t->m->xattrs, &k, &d, 0),
			  "xattr put");
}

int meta_xattr_del(struct meta_txn *t, uint64_t ino, const char *name)
{
	unsigned char key[8 + 256];
	MDB_val k;
	int rc;

	if (strlen(name) > 255)
		return -ERANGE;
	k = mkval(key, xattr_key(key, ino, name));
	rc = mdb_del(t->txn, t->m->xattrs, &k, NULL);
	return rc == MDB_NOTFOUND ? -ENODATA : meta_errno(t, rc, "xattr del");
}

/* Walk the xattrs of @ino; @fn gets each name (not NUL-terminated). */
static int xattr_walk(struct meta_txn *t, uint64_t ino,
		      int (*fn)(void *, const char *, size_t), void *arg,
		      bool del)
{
	unsigned char key[8];
	MDB_cursor *cur;
	MDB_val k = mkval(key, 8), d;
	int rc, r = 0;

	sfs_put_be64(key, ino);
	rc = mdb_cursor_open(t->txn, t->m->xattrs, &cur);
	if (rc)
		return meta_errno(t, rc, "cursor open");
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= 8 && sfs_get_be64(k.mv_data) == ino) {
		if (fn) {
			r = fn(arg, (char *)k.mv_data + 8, k.mv_size - 8);
			if (r)
				break;
		}
		if (del) {
			rc = mdb_cursor_del(cur, 0);
			if (rc)
				break;
			rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT);
			if (rc == MDB_NOTFOUND || rc == EINVAL)
				rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
			continue;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return meta_errno(t, rc, "xattr walk");
	return r;
}

struct list_arg {
	char *buf;
	size_t len, used;
};

static int list_fn(void *arg, const char *name, size_t len)
{
	struct list_arg *a = arg;
	if (a->buf && a->used + len + 1 <= a->len) {
		memcpy(a->buf + a->used, name, len);
		a->buf[a->used + len] = 0;
	}
	a->used += len + 1;
	return 0;
}

int meta_xattr_list(struct meta_txn *t, uint64_t ino, char *buf, size_t len)
{
	struct list_arg a = {buf, len, 0};
	int r = xattr_walk(t, ino, list_fn, &a, false);

	if (r < 0)
		return r;
	if (buf && a.used > len)
		return -ERANGE;
	return (int)a.used;
}

/* ---- orphans ---- */

int meta_orphan_put(struct meta_txn *t, uint64_t ino)
{
	unsigned char key[8];
	MDB_val k = mkval(key, 8), d = mkval("", 0);

	sfs_put_be64(key, ino);
	return meta_errno(t, mdb_put(t->txn, t->m->orphans, &k, &d, 0),
			  "orphan put");
}

int meta_orphan_del(struct meta_txn *t, uint64_t ino)
{
	return meta_del_key(t, t->m->orphans, ino);
}

int meta_orphan_next(struct meta_txn *t, uint64_t from, uint64_t *ino)
{
	unsigned char key[8];
	MDB_cursor *cur;
	MDB_val k = mkval(key, 8), d;
	int rc;

	sfs_put_be64(key, from);
	rc = mdb_cursor_open(t->txn, t->m->orphans, &cur);
	if (rc)
		return meta_errno(t, rc, "cursor open");
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	if (rc == 0)
		*ino = sfs_get_be64(k.mv_data);
	mdb_cursor_close(cur);
	return meta_errno(t, rc, "orphan walk");
}

/* ---- namespace operations ---- */

static int get_dir(struct meta_txn *t, uint64_t dir, struct meta_inode *d)
{
	int r = meta_inode_get(t, dir, d);
	if (r == 0 && !S_ISDIR(d->mode))
		return -ENOTDIR;
	if (r == 0 && d->nlink == 0)
		return -ENOENT; /* removed directory */
	return r;
}

static void touch_dir(struct meta_inode *d, const struct timespec *now)
{
	d->mtime = d->ctime = *now;
}

/* A new inode in a directory with a default ACL gets it as its access
 * ACL (masked by the mode), and directories keep it as their default;
 * elsewhere the umask applies, as on ext4. */
static int inherit_acl(struct meta_txn *t, uint64_t dir, uint64_t ino,
		       struct meta_inode *in, uint32_t umask)
{
	char *acl = NULL;
	int len, r;

	len = meta_xattr_get(t, dir, ACL_XATTR_DEFAULT, NULL, 0);
	if (len == -ENODATA || len <= 4) {
		in->mode &= ~(umask & 0777);
		return len < 0 && len != -ENODATA ? len : 0;
	}
	if (len < 0)
		return len;
	acl = malloc(len);
	if (!acl)
		return -ENOMEM;
	r = meta_xattr_get(t, dir, ACL_XATTR_DEFAULT, acl, len);
	if (r >= 0 && S_ISDIR(in->mode))
		r = meta_xattr_put(t, ino, ACL_XATTR_DEFAULT, acl, len);
	if (r >= 0) {
		in->mode = acl_inherit(acl, len, in->mode);
		r = acl_is_minimal(acl, len)
			    ? 0
			    : meta_xattr_put(t, ino, ACL_XATTR_ACCESS, acl, len);
	}
	free(acl);
	return r < 0 ? r : 0;
}

struct create_arg {
	uint64_t dir;
	const char *name;
	const struct meta_new *nw;
	uint64_t *ino;
	struct meta_inode *attr;
};

static int create_fn(struct meta_txn *t, void *arg)
{
	struct create_arg *a = arg;
	struct meta_inode d, in;
	size_t len = strlen(a->name);
	uint64_t other;
	int r;

	r = get_dir(t, a->dir, &d);
	if (r < 0)
		return r;
	r = meta_dirent_get(t, a->dir, a->name, len, &other);
	if (r == 0)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	r = meta_ino_alloc(t, a->ino);
	if (r < 0)
		return r;
	memset(&in, 0, sizeof(in));
	in.mode = a->nw->mode;
	in.uid = a->nw->uid;
	in.gid = a->nw->gid;
	in.rdev = a->nw->rdev;
	in.nlink = 1;
	meta_now(&in.mtime);
	in.atime = in.ctime = in.mtime;
	if (d.mode & S_ISGID) {
		/* BSD group semantics, as ext4 gives setgid directories. */
		in.gid = d.gid;
		if (S_ISDIR(in.mode))
			in.mode |= S_ISGID;
	}
	if (S_ISDIR(in.mode)) {
		in.nlink = 2;
		in.parent = a->dir;
		d.nlink++;
	}
	if (a->nw->acl && !S_ISLNK(in.mode)) {
		r = inherit_acl(t, a->dir, *a->ino, &in, a->nw->umask);
		if (r < 0)
			return r;
	}
	if (S_ISLNK(in.mode)) {
		in.size = strlen(a->nw->symlink);
		r = meta_symlink_put(t, *a->ino, a->nw->symlink);
		if (r < 0)
			return r;
	}
	touch_dir(&d, &in.mtime);
	r = meta_dirent_put(t, a->dir, a->name, len, *a->ino, in.mode);
	if (r == 0)
		r = meta_inode_put(t, *a->ino, &in);
	if (r == 0)
		r = meta_inode_put(t, a->dir, &d);
	*a->attr = in;
	return r;
}

int meta_create(struct meta *m, uint64_t dir, const char *name,
		const struct meta_new *nw, uint64_t *ino,
		struct meta_inode *attr)
{
	struct create_arg a = {dir, name, nw, ino, attr};

	if (strlen(name) > SFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (nw->symlink && strlen(nw->symlink) > SFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	return meta_update(m, create_fn, &a);
}

struct link_arg {
	uint64_t ino, dir;
	const char *name;
	struct meta_inode *attr;
};

static int link_fn(struct meta_txn *t, void *arg)
{
	struct link_arg *a = arg;
	struct meta_inode d, in;
	size_t len = strlen(a->name);
	uint64_t other;
	int r;

	r = get_dir(t, a->dir, &d);
	if (r == 0)
		r = meta_inode_get(t, a->ino, &in);
	if (r < 0)
		return r;
	if (S_ISDIR(in.mode))
		return -EPERM;
	if (in.nlink >= 65000)
		return -EMLINK;
	r = meta_dirent_get(t, a->dir, a->name, len, &other);
	if (r == 0)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	if (in.nlink == 0) {
		r = meta_orphan_del(t, a->ino);
		if (r < 0)
			return r;
	}
	in.nlink++;
	meta_now(&in.ctime);
	touch_dir(&d, &in.ctime);
	r = meta_dirent_put(t, a->dir, a->name, len, a->ino, in.mode);
	if (r == 0)
		r = meta_inode_put(t, a->ino, &in);
	if (r == 0)
		r = meta_inode_put(t, a->dir, &d);
	*a->attr = in;
	return r;
}

int meta_link(struct meta *m, uint64_t ino, uint64_t dir, const char *name,
	      struct meta_inode *attr)
{
	struct link_arg a = {ino, dir, name, attr};

	if (strlen(name) > SFS_NAME_MAX)
		return -ENAMETOOLONG;
	return meta_update(m, link_fn, &a);
}

/* Drop one link of @in (a directory loses both of its own); orphans it
 * when none is left. */
static int unlink_inode(struct meta_txn *t, uint64_t ino,
			struct meta_inode *in, const struct timespec *now,
			bool *gone)
{
	if (S_ISDIR(in->mode))
		in->nlink = 0;
	else if (in->nlink > 0)
		in->nlink--;
	in->ctime = *now;
	*gone = in->nlink == 0;
	if (*gone) {
		int r = meta_orphan_put(t, ino);
		if (r < 0)
			return r;
	}
	return meta_inode_put(t, ino, in);
}

struct remove_arg {
	uint64_t dir;
	const char *name;
	bool rmdir;
	uint64_t *ino;
	bool *gone;
};

static int remove_fn(struct meta_txn *t, void *arg)
{
	struct remove_arg *a = arg;
	struct meta_inode d, in;
	struct timespec now;
	size_t len = strlen(a->name);
	int r;

	r = get_dir(t, a->dir, &d);
	if (r == 0)
		r = meta_dirent_get(t, a->dir, a->name, len, a->ino);
	if (r == 0)
		r = meta_inode_get(t, *a->ino, &in);
	if (r < 0)
		return r;
	if (a->rmdir) {
		if (!S_ISDIR(in.mode))
			return -ENOTDIR;
		r = meta_dir_nonempty(t, *a->ino);
		if (r)
			return r < 0 ? r : -ENOTEMPTY;
		d.nlink--;
	} else if (S_ISDIR(in.mode)) {
		return -EISDIR;
	}
	meta_now(&now);
	touch_dir(&d, &now);
	r = meta_dirent_del(t, a->dir, a->name, len);
	if (r == 0)
		r = unlink_inode(t, *a->ino, &in, &now, a->gone);
	if (r == 0)
		r = meta_inode_put(t, a->dir, &d);
	return r;
}

int meta_remove(struct meta *m, uint64_t dir, const char *name, bool rmdir,
		uint64_t *ino, bool *gone)
{
	struct remove_arg a = {dir, name, rmdir, ino, gone};

	*gone = false;
	if (strlen(name) > SFS_NAME_MAX)
		return -ENAMETOOLONG;
	return meta_update(m, remove_fn, &a);
}

struct rename_arg {
	uint64_t dir, newdir;
	const char *name, *newname;
	unsigned flags;
	uint64_t *gone_ino;
};

/* -EINVAL if directory @ino is @dir or one of its ancestors. */
static int check_not_ancestor(struct meta_txn *t, uint64_t ino, uint64_t dir)
{
	struct meta_inode d;
	int depth = 0;

	while (dir != META_ROOT_INO) {
		int r;
		if (dir == ino)
			return -EINVAL;
		r = meta_inode_get(t, dir, &d);
		if (r < 0)
			return r;
		if (++depth > 100000)
			return -ELOOP;
		dir = d.parent;
	}
	return ino == META_ROOT_INO ? -EINVAL : 0;
}

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int rename_fn(struct meta_txn *t, void *arg)
{
	struct rename_arg *a = arg;
	struct meta_inode od, ndbuf, *nd, src, dst;
	size_t len = strlen(a->name), newlen = strlen(a->newname);
	uint64_t ino = 0, dino = 0;
	struct timespec now;
	bool exchange = a->flags & RENAME_EXCHANGE;
	bool gone = false;
	int r;

	r = get_dir(t, a->dir, &od);
	if (r < 0)
		return r;
	nd = &od;
	if (a->newdir != a->dir) {
		nd = &ndbuf;
		r = get_dir(t, a->newdir, nd);
		if (r < 0)
			return r;
	}
	r = meta_dirent_get(t, a->dir, a->name, len, &ino);
	if (r == 0)
		r = meta_inode_get(t, ino, &src);
	if (r < 0)
		return r;
	r = meta_dirent_get(t, a->newdir, a->newname, newlen, &dino);
	if (r == -ENOENT)
		dino = 0;
	else if (r < 0)
		return r;
	if (dino && (a->flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (!dino && exchange)
		return -ENOENT;
	if (dino == ino)
		return 0; /* the same file: rename(2) does nothing */
	if (dino) {
		r = meta_inode_get(t, dino, &dst);
		if (r < 0)
			return r;
	}
	if (S_ISDIR(src.mode) && a->newdir != a->dir) {
		r = check_not_ancestor(t, ino, a->newdir);
		if (r < 0)
			return r;
	}
	if (exchange && S_ISDIR(dst.mode) && a->newdir != a->dir) {
		r = check_not_ancestor(t, dino, a->dir);
		if (r < 0)
			return r;
	}
	if (dino && !exchange) {
		if (S_ISDIR(src.mode) && !S_ISDIR(dst.mode))
			return -ENOTDIR;
		if (!S_ISDIR(src.mode) && S_ISDIR(dst.mode))
			return -EISDIR;
		if (S_ISDIR(dst.mode)) {
			r = meta_dir_nonempty(t, dino);
			if (r)
				return r < 0 ? r : -ENOTEMPTY;
		}
	}
	meta_now(&now);
	r = meta_dirent_del(t, a->dir, a->name, len);
	if (r == 0 && dino)
		r = meta_dirent_del(t, a->newdir, a->newname, newlen);
	if (r == 0)
		r = meta_dirent_put(t, a->newdir, a->newname, newlen, ino,
				    src.mode);
	if (r < 0)
		return r;
	if (exchange) {
		r = meta_dirent_put(t, a->dir, a->name, len, dino, dst.mode);
		if (r < 0)
			return r;
		if (S_ISDIR(dst.mode) && a->newdir != a->dir) {
			dst.parent = a->dir;
			od.nlink++;
			nd->nlink--;
		}
		dst.ctime = now;
		r = meta_inode_put(t, dino, &dst);
	} else if (dino) {
		if (S_ISDIR(dst.mode))
			nd->nlink--;
		r = unlink_inode(t, dino, &dst, &now, &gone);
		if (gone)
			*a->gone_ino = dino;
	}
	if (r < 0)
		return r;
	if (S_ISDIR(src.mode) && a->newdir != a->dir) {
		src.parent = a->newdir;
		od.nlink--;
		nd->nlink++;
	}
	src.ctime = now;
	touch_dir(&od, &now);
	touch_dir(nd, &now);
	r = meta_inode_put(t, ino, &src);
	if (r == 0)
		r = meta_inode_put(t, a->dir, &od);
	if (r == 0 && nd != &od)
		r = meta_inode_put(t, a->newdir, nd);
	return r;
}

int meta_rename(struct meta *m, uint64_t dir, const char *name,
		uint64_t newdir, const char *newname, unsigned flags,
		uint64_t *gone_ino)
{
	struct rename_arg a = {dir, newdir, name, newname, flags, gone_ino};

	*gone_ino = 0;
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (strlen(name) > SFS_NAME_MAX || strlen(newname) > SFS_NAME_MAX)
		return -ENAMETOOLONG;
	return meta_update(m, rename_fn, &a);
}

#define RECLAIM_BATCH 4096

struct reclaim_arg {
	uint64_t ino;
	uint64_t ids[RECLAIM_BATCH];
	size_t n;
	bool done;
};

static int reclaim_fn(struct meta_txn *t, void *arg)
{
	struct reclaim_arg *a = arg;
	unsigned char key[16];
	MDB_cursor *cur;
	MDB_val k = mkval(key, 16), d;
	int rc, r;

	a->n = 0;
	a->done = false;
	/* Chunk records go in batches so that a huge file does not make a
	 * huge transaction. */
	sfs_put_be64(key, a->ino);
	sfs_put_be64(key + 8, 0);
	rc = mdb_cursor_open(t->txn, t->m->chunks, &cur);
	if (rc)
		return meta_errno(t, rc, "cursor open");
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && sfs_get_be64(k.mv_data) == a->ino &&
	       a->n < RECLAIM_BATCH) {
		struct meta_chunk c;
		memcpy(&c, d.mv_data, sizeof(c));
		a->ids[a->n++] = c.id;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT);
		if (rc == MDB_NOTFOUND || rc == EINVAL)
			rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return meta_errno(t, rc, "chunk reclaim");
	if (a->n == RECLAIM_BATCH)
		return 0;
	r = xattr_walk(t, a->ino, NULL, NULL, true);
	if (r == 0)
		r = meta_del_key(t, t->m->symlinks, a->ino);
	if (r == 0)
		r = meta_inode_del(t, a->ino);
	if (r == 0)
		r = meta_orphan_del(t, a->ino);
	a->done = true;
	return r;
}

int meta_reclaim(struct meta *m, uint64_t ino,
		 void (*drop)(void *arg, uint64_t id), void *arg)
{
	struct reclaim_arg *a = malloc(sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->ino = ino;
	do {
		r = meta_update(m, reclaim_fn, a);
		if (r < 0)
			break;
		/* The chunk files go only once no durable record names them:
		 * a crash can then leave a stray file, never a hole. */
		if (a->n) {
			r = meta_sync(m);
			if (r < 0)
				break;
			for (size_t i = 0; i < a->n; i++)
				drop(arg, a->ids[i]);
		}
	} while (!a->done);
	free(a);
	return r;
}

void meta_to_stat(const struct meta *m, uint64_t ino, const struct meta_inode *in, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = in->mode;
	st->st_nlink = in->nlink;
	st->st_uid = in->uid;
	st->st_gid = in->gid;
	st->st_rdev = in->rdev;
	st->st_size = in->size;
	st->st_blocks = (in->spent + 511) / 512;
	/* The unit of allocation, as SEEK_HOLE sees it: a chunk. Programs
	 * that size their I/O by it also make fewer round trips. */
	st->st_blksize = m->chunk_size;
	st->st_atim = in->atime;
	st->st_mtim = in->mtime;
	st->st_ctim = in->ctime;
}
