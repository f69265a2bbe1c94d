/*
 * chunk.c - file data in chunk files.
 *
 * Chunk files live in BACKING/data/T/MMM/LLL, where T, MMM and LLL are
 * the chunk id's bits 24 and up, 12..23 and 0..11 in hex: no directory
 * holds more than 4096 entries. A chunk file exists only for a chunk that
 * holds data; the chunk record says how many bytes of it are meaningful
 * (len), and everything past that reads as zeros.
 *
 * Invariants (checked by fsck.sparsefs):
 *   - every record's chunk file exists and is at least len bytes long;
 *   - no record lies at or past the chunk that holds the end of file,
 *     except the one holding it, whose len <= size - its start;
 *   - inode.spent is the sum of len rounded up to 4 KiB over its records;
 *   - ids are unique and below the stored next_chunk counter.
 *
 * Ordering: data reaches the chunk file before the record that names it
 * commits, and a chunk file is deleted only after the metadata that
 * dropped it is durable. New chunk files are created with O_TRUNC: an id
 * handed out before a crash but never committed may come back.
 */
#include "sfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "chunk.h"
#include "log.h"

#define SPENT_UNIT 4096ull

struct chunk_fd_slot {
	pthread_mutex_t lock;
	uint64_t id;
	int fd;
};

static int checkpoint(struct chunks *c);

static uint64_t spent_of(uint64_t len)
{
	return (len + SPENT_UNIT - 1) & ~(SPENT_UNIT - 1);
}

void chunk_path(uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, STORE_DATA_DIR "/%llx/%03llx/%03llx",
		 (unsigned long long)(id >> 24),
		 (unsigned long long)((id >> 12) & 0xfff),
		 (unsigned long long)(id & 0xfff));
}

/* Local disk filesystems whose syncfs() writes and flushes everything
 * (network and FUSE backings, drvfs among them, may not). */
static bool syncfs_reaches_disk(struct backing *b)
{
	static const long types[] = {
		0xEF53,	    /* ext2/3/4 */
		0x58465342, /* xfs */
		0x9123683E, /* btrfs */
		0xF2F52010, /* f2fs */
	};
	struct statfs sf;

	if (fstatfs(b->dirfd, &sf) < 0)
		return false;
	for (size_t i = 0; i < SFS_ARRAY_SIZE(types); i++)
		if (sf.f_type == types[i])
			return true;
	return false;
}

int chunk_init(struct chunks *c, struct store *s, struct meta *m)
{
	struct meta_txn t;
	struct rlimit rl;
	int r;

	memset(c, 0, sizeof(*c));
	c->b = &s->b;
	c->m = m;
	c->chunk_size = s->chunk_size;
	c->shift = s->chunk_shift;
	pthread_mutex_init(&c->id_lock, NULL);
	r = meta_begin(m, &t, false);
	if (r < 0)
		return r;
	r = meta_chunk_id_get(&t, &c->next_id);
	meta_abort(&t);
	if (r < 0)
		return r;

	/* Keep a quarter of the descriptors for chunk files. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	c->nslots = 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		c->nslots = SFS_MAX(rl.rlim_cur / 4, 16);
	c->nslots = SFS_MIN(c->nslots, 4096);
	c->syncfs_ok = syncfs_reaches_disk(c->b);
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->nslots; i++) {
		pthread_mutex_init(&c->slots[i].lock, NULL);
		c->slots[i].fd = -1;
	}
	return 0;
}

int chunk_journal_settle(struct chunks *c)
{
	struct stat st;
	int r;

	if (c->b->ops->stat(c->b, STORE_JOURNAL_NAME, &st) == -ENOENT)
		return 0;
	r = chunk_journal_start(c);
	chunk_journal_stop(c);
	return r;
}

void chunk_journal_stop(struct chunks *c)
{
	int r;

	if (!c->journal_on)
		return;
	pthread_mutex_lock(&c->journal_lock);
	if (c->checkpointer_on) {
		c->checkpointer_stop = true;
		pthread_cond_signal(&c->journal_cond);
		pthread_mutex_unlock(&c->journal_lock);
		pthread_join(c->checkpointer, NULL);
		c->checkpointer_on = false;
		pthread_mutex_lock(&c->journal_lock);
	}
	r = checkpoint(c);
	pthread_mutex_unlock(&c->journal_lock);
	if (r < 0)
		sfs_warn("fsync journal: cannot empty it: %s (the next mount "
			 "does)",
			 strerror(-r));
	journal_close(&c->journal);
	pthread_cond_destroy(&c->journal_cond);
	c->journal_on = false;
	free(c->jids);
	c->jids = NULL;
	c->njids = c->capjids = 0;
}

void chunk_fini(struct chunks *c)
{
	chunk_journal_stop(c);
	for (size_t i = 0; c->slots && i < c->nslots; i++) {
		if (c->slots[i].fd >= 0)
			c->b->ops->close(c->b, c->slots[i].fd);
		pthread_mutex_destroy(&c->slots[i].lock);
	}
	free(c->slots);
	c->slots = NULL;
}

void chunk_dirty_free(struct chunk_dirty *d)
{
	free(d->ents);
	memset(d, 0, sizeof(*d));
}

/* fsync: up to this many dirty chunk files get an fdatasync each. */
#define FSYNC_EACH_MAX 4


/* Note that bytes [lo, hi) of chunk file @id (| CHUNK_NEW), index @idx,
 * changed. */
static void dirty_add(struct chunk_dirty *d, uint64_t id, uint64_t idx,
		      uint32_t lo, uint32_t hi)
{
	if (!d || d->all)
		return;
	for (size_t i = d->n; i > 0 && i + 8 > d->n; i--) {
		struct chunk_dirty_ent *e = &d->ents[i - 1];
		if ((e->id & ~CHUNK_NEW) == (id & ~CHUNK_NEW)) {
			e->id |= id & CHUNK_NEW;
			e->lo = SFS_MIN(e->lo, lo);
			e->hi = SFS_MAX(e->hi, hi);
			return;
		}
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct chunk_dirty_ent *ents;
		if (cap > 65536) {
			chunk_dirty_free(d);
			d->all = true;
			return;
		}
		ents = realloc(d->ents, cap * sizeof(*ents));
		if (!ents) {
			chunk_dirty_free(d);
			d->all = true;
			return;
		}
		d->ents = ents;
		d->cap = cap;
	}
	d->ents[d->n++] = (struct chunk_dirty_ent){id, idx, lo, hi};
}

/* Create the fan-out directories of @path. */
static int make_parents(struct backing *b, const char *path)
{
	char dir[64];
	char *slash;
	int r;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + sizeof(STORE_DATA_DIR), '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = 0;
		r = b->ops->mkdir(b, dir, 0755);
		*slash = '/';
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

/*
 * Lock the cache slot of chunk @id and make sure it holds an fd for it.
 * With @fresh the file is created (or emptied). Returns the locked slot,
 * or NULL with -errno in @err (-ENOENT: the chunk file is gone).
 */
static struct chunk_fd_slot *slot_get(struct chunks *c, uint64_t id,
				      bool fresh, int *err)
{
	struct chunk_fd_slot *s = &c->slots[id % c->nslots];
	int flags = O_RDWR | (fresh ? O_CREAT | O_TRUNC : 0);
	char path[64];
	int fd;

	pthread_mutex_lock(&s->lock);
	if (s->fd >= 0 && s->id == id && !fresh)
		return s;
	if (s->fd >= 0)
		c->b->ops->close(c->b, s->fd);
	s->fd = -1;
	chunk_path(id, path, sizeof(path));
	fd = c->b->ops->open(c->b, path, flags, 0644);
	if (fd == -ENOENT && fresh) {
		fd = make_parents(c->b, path);
		if (fd == 0)
			fd = c->b->ops->open(c->b, path, flags, 0644);
	}
	if (fd < 0) {
		pthread_mutex_unlock(&s->lock);
		*err = fd;
		return NULL;
	}
	s->fd = fd;
	s->id = id;
	return s;
}

static void slot_put(struct chunk_fd_slot *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* slot_get() for a chunk that a record names: its absence is damage. */
static struct chunk_fd_slot *slot_get_named(struct chunks *c, uint64_t id,
					    int *err)
{
	struct chunk_fd_slot *s = slot_get(c, id, false, err);

	if (!s && *err == -ENOENT) {
		char path[64];
		chunk_path(id, path, sizeof(path));
		sfs_err("chunk file %s is missing; run fsck.sparsefs", path);
		*err = -EIO;
	}
	return s;
}

void chunk_drop(void *arg, uint64_t id)
{
	struct chunks *c = arg;
	struct chunk_fd_slot *s = &c->slots[id % c->nslots];
	char path[64];
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->fd >= 0 && s->id == id) {
		c->b->ops->close(c->b, s->fd);
		s->fd = -1;
	}
	pthread_mutex_unlock(&s->lock);
	chunk_path(id, path, sizeof(path));
	r = c->b->ops->unlink(c->b, path, 0);
	if (r < 0 && r != -ENOENT)
		sfs_warn("cannot delete chunk file %s: %s (fsck.sparsefs "
			 "removes it)",
			 path, strerror(-r));
}

/* ---- read ---- */

struct piece {
	uint64_t idx;
	/* Offset in the chunk and bytes of this piece. */
	uint32_t off, len;
	bool exists, fresh;
	/* Zero detection: after this write the chunk holds only zeros. */
	bool zero;
	struct meta_chunk rec;
};

#define PIECES_ON_STACK 32

static struct piece *pieces_alloc(struct piece *stack, size_t n)
{
	return n <= PIECES_ON_STACK ? stack : calloc(n, sizeof(struct piece));
}

static void pieces_free(struct piece *stack, struct piece *p)
{
	if (p != stack)
		free(p);
}

static size_t split(struct chunks *c, size_t len, off_t off, struct piece *p)
{
	size_t n = 0;

	while (len > 0) {
		uint64_t inoff = (uint64_t)off & (c->chunk_size - 1);
		uint64_t take = SFS_MIN(len, c->chunk_size - inoff);
		memset(&p[n], 0, sizeof(p[n]));
		p[n].idx = (uint64_t)off >> c->shift;
		p[n].off = inoff;
		p[n].len = take;
		n++;
		off += take;
		len -= take;
	}
	return n;
}

static size_t count_pieces(struct chunks *c, size_t len, off_t off)
{
	return len == 0 ? 0
			: (((uint64_t)off + len - 1) >> c->shift) -
				  ((uint64_t)off >> c->shift) + 1;
}

static int lookup_pieces(struct meta_txn *t, uint64_t ino, struct piece *p,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = meta_chunk_get(t, ino, p[i].idx, &p[i].rec);
		if (r == 0)
			p[i].exists = true;
		else if (r != -ENOENT)
			return r;
	}
	return 0;
}

static ssize_t read_piece(struct chunks *c, const struct piece *p, char *buf)
{
	struct chunk_fd_slot *s;
	size_t have;
	ssize_t n = 0;
	int err;

	have = p->exists && p->rec.len > p->off
		       ? SFS_MIN(p->len, p->rec.len - p->off)
		       : 0;
	if (have) {
		s = slot_get_named(c, p->rec.id, &err);
		if (!s)
			return err;
		n = backing_pread_all(c->b, s->fd, buf, have, p->off);
		slot_put(s);
		if (n < 0)
			return n;
	}
	memset(buf + n, 0, p->len - n);
	return p->len;
}

ssize_t chunk_read(struct chunks *c, uint64_t ino, char *buf, size_t len,
		   off_t off)
{
	struct piece stack[PIECES_ON_STACK], *p;
	struct meta_inode in;
	struct meta_txn t;
	size_t n;
	ssize_t r;

	r = meta_begin(c->m, &t, false);
	if (r < 0)
		return r;
	r = meta_inode_get(&t, ino, &in);
	if (r < 0 || (uint64_t)off >= in.size) {
		meta_abort(&t);
		return r;
	}
	len = SFS_MIN(len, in.size - off);
	n = count_pieces(c, len, off);
	p = pieces_alloc(stack, n);
	if (!p) {
		meta_abort(&t);
		return -ENOMEM;
	}
	split(c, len, off, p);
	r = lookup_pieces(&t, ino, p, n);
	meta_abort(&t);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = read_piece(c, &p[i], buf);
		buf += p[i].len;
	}
	pieces_free(stack, p);
	return r < 0 ? r : (ssize_t)len;
}

/* ---- write ---- */

struct write_arg {
	struct chunks *c;
	uint64_t ino;
	/* New end of file if larger (fallocate KEEP_SIZE: 0). */
	uint64_t end;
	struct piece *p;
	size_t n;
	struct meta_inode *attr;
	/* fallocate, not a write. */
	bool reserve;
};

static int write_commit_fn(struct meta_txn *t, void *arg)
{
	struct write_arg *a = arg;
	struct meta_inode *in = a->attr;
	uint64_t next_id;
	int r;

	r = meta_inode_get(t, a->ino, in);
	if (r < 0)
		return r;
	for (size_t i = 0; i < a->n; i++) {
		struct piece *p = &a->p[i];
		struct meta_chunk rec = p->rec;
		uint32_t end = p->off + p->len;
		if (p->zero) {
			/* All zeros now: the chunk goes (if it existed). */
			if (p->exists) {
				in->spent -= SFS_MIN(in->spent,
						     spent_of(rec.len));
				r = meta_chunk_del(t, a->ino, p->idx);
				if (r < 0)
					return r;
			}
			continue;
		}
		if (!a->reserve && (rec.flags & META_CHUNK_RESERVED)) {
			rec.flags &= ~META_CHUNK_RESERVED; /* data now */
		} else if (p->exists && rec.len >= end) {
			continue;
		}
		if (!p->exists) {
			rec.len = 0;
			rec.flags = a->reserve ? META_CHUNK_RESERVED : 0;
		}
		in->spent += spent_of(SFS_MAX(rec.len, end)) - spent_of(rec.len);
		rec.len = SFS_MAX(rec.len, end);
		r = meta_chunk_put(t, a->ino, p->idx, &rec);
		if (r < 0)
			return r;
	}
	if (a->end > in->size)
		in->size = a->end;
	meta_now(&in->mtime);
	in->ctime = in->mtime;
	r = meta_inode_put(t, a->ino, in);
	if (r < 0)
		return r;
	pthread_mutex_lock(&a->c->id_lock);
	next_id = a->c->next_id;
	pthread_mutex_unlock(&a->c->id_lock);
	return meta_chunk_id_raise(t, next_id);
}

static bool all_zero(const char *buf, size_t len)
{
	static const char zeros[4096];

	while (len > 0) {
		size_t n = SFS_MIN(len, sizeof(zeros));
		if (memcmp(buf, zeros, n))
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

/* True if the bytes of chunk @p outside the piece are zeros too. */
static bool rest_zero(struct chunks *c, const struct piece *p)
{
	struct chunk_fd_slot *s;
	char *buf;
	bool zero = false;
	ssize_t n;
	int err;

	if (!p->exists || (p->off == 0 && p->len >= p->rec.len))
		return true;
	buf = malloc(p->rec.len);
	if (!buf)
		return false;
	s = slot_get_named(c, p->rec.id, &err);
	if (s) {
		n = backing_pread_all(c->b, s->fd, buf, p->rec.len, 0);
		slot_put(s);
		if (n >= 0) {
			memset(buf + n, 0, p->rec.len - n);
			memset(buf + p->off, 0,
			       SFS_MIN(p->len, p->rec.len - SFS_MIN(p->off,
								    p->rec.len)));
			zero = all_zero(buf, p->rec.len);
		}
	}
	free(buf);
	return zero;
}

/* Write one piece into its chunk file (new chunks get a fresh id). A
 * NULL @buf reserves the space instead (fallocate). */
static int write_piece(struct chunks *c, struct piece *p, const char *buf)
{
	struct chunk_fd_slot *s;
	int r;

	if (buf && c->zero_detect && all_zero(buf, p->len) && rest_zero(c, p)) {
		p->zero = true;
		return 0;
	}
	if (!p->exists) {
		pthread_mutex_lock(&c->id_lock);
		p->rec.id = c->next_id++;
		pthread_mutex_unlock(&c->id_lock);
		p->rec.len = 0;
		p->rec.flags = 0;
		p->fresh = true;
	}
	s = p->fresh ? slot_get(c, p->rec.id, true, &r)
		     : slot_get_named(c, p->rec.id, &r);
	if (!s)
		return r;
	/* Past the record's length the file may hold bytes of a write that
	 * never committed (a crash): cut them, so the gap reads as zeros. */
	if (!p->fresh && (buf ? p->off > p->rec.len
			      : p->off + p->len > p->rec.len))
		r = c->b->ops->ftruncate(c->b, s->fd, p->rec.len);
	else
		r = 0;
	if (r < 0) {
		/* fall through to the error below */
	} else if (buf) {
		r = backing_pwrite_all(c->b, s->fd, buf, p->len, p->off);
	} else {
		r = c->b->ops->fallocate(c->b, s->fd, 0, p->off, p->len);
		/* Where the backing cannot, extending the file allocates
		 * (exFAT, FAT) or is the best there is. */
		if (r == -EOPNOTSUPP || r == -ENOSYS) {
			struct stat st;
			r = c->b->ops->fstat(c->b, s->fd, &st);
			if (r == 0 && st.st_size < p->off + p->len)
				r = c->b->ops->ftruncate(c->b, s->fd,
							 p->off + p->len);
		}
	}
	slot_put(s);
	return r;
}

/* Write (or with NULL @buf reserve) [off, off + len) of one batch of
 * chunks. */
static ssize_t write_batch(struct chunks *c, uint64_t ino, const char *buf,
			   size_t len, off_t off, bool keep_size,
			   struct chunk_dirty *dirty, struct meta_inode *attr)
{
	struct piece stack[PIECES_ON_STACK], *p;
	struct write_arg a;
	struct meta_txn t;
	bool dropped = false;
	size_t n, i;
	int r;

	n = count_pieces(c, len, off);
	p = pieces_alloc(stack, n);
	if (!p)
		return -ENOMEM;
	split(c, len, off, p);
	r = meta_begin(c->m, &t, false);
	if (r == 0) {
		r = lookup_pieces(&t, ino, p, n);
		meta_abort(&t);
	}
	for (i = 0; r == 0 && i < n; i++) {
		r = write_piece(c, &p[i], buf);
		if (buf)
			buf += p[i].len;
		dropped |= p[i].zero && p[i].exists;
	}
	if (r == 0) {
		a = (struct write_arg){c,    ino,  keep_size ? 0 : off + len,
				       p,    n,    attr,
				       !buf};
		r = meta_update(c->m, write_commit_fn, &a);
	}
	if (r < 0) {
		/* Chunk files made for this write mean nothing now. */
		for (i = 0; i < n; i++)
			if (p[i].fresh)
				chunk_drop(c, p[i].rec.id);
	} else {
		if (dropped)
			r = meta_sync(c->m);
		for (i = 0; i < n; i++) {
			if (!p[i].zero)
				dirty_add(dirty,
					  p[i].rec.id |
						  (p[i].fresh ? CHUNK_NEW : 0),
					  p[i].idx, p[i].off,
					  p[i].off + p[i].len);
			else if (p[i].exists && r == 0)
				chunk_drop(c, p[i].rec.id);
		}
	}
	pieces_free(stack, p);
	return r < 0 ? r : (ssize_t)len;
}

ssize_t chunk_write(struct chunks *c, uint64_t ino, const char *buf,
		    size_t len, off_t off, struct chunk_dirty *dirty,
		    struct meta_inode *attr)
{
	if (len == 0)
		return 0;
	if ((uint64_t)off + len < (uint64_t)off ||
	    (uint64_t)off + len > (uint64_t)INT64_MAX)
		return -EFBIG;
	return write_batch(c, ino, buf, len, off, false, dirty, attr);
}

#define RESERVE_BATCH_CHUNKS 256

struct covered_arg {
	struct chunks *c;
	uint64_t off, end, bytes;
};

static int covered_fn(void *arg, uint64_t idx, const struct meta_chunk *rec)
{
	struct covered_arg *a = arg;
	uint64_t start = idx << a->c->shift;
	uint64_t lo = SFS_MAX(start, a->off);
	uint64_t hi = SFS_MIN(start + rec->len, a->end);

	if (hi > lo)
		a->bytes += hi - lo;
	return 0;
}

/* Bytes of [off, end) that chunk files already hold. */
static int covered_bytes(struct chunks *c, uint64_t ino, uint64_t off,
			 uint64_t end, uint64_t *bytes)
{
	struct covered_arg a = {c, off, end, 0};
	struct meta_txn t;
	int r = meta_begin(c->m, &t, false);

	if (r < 0)
		return r;
	r = meta_chunk_walk(&t, ino, off >> c->shift,
			    ((end - 1) >> c->shift) + 1, covered_fn, &a);
	meta_abort(&t);
	*bytes = a.bytes;
	return r;
}

struct size_arg {
	uint64_t ino, size;
	struct meta_inode *attr;
};

static int extend_fn(struct meta_txn *t, void *arg)
{
	struct size_arg *a = arg;
	int r = meta_inode_get(t, a->ino, a->attr);

	if (r < 0 || a->attr->size >= a->size)
		return r;
	a->attr->size = a->size;
	meta_now(&a->attr->mtime);
	a->attr->ctime = a->attr->mtime;
	return meta_inode_put(t, a->ino, a->attr);
}

#define RESERVE_BATCH_CHUNKS 256

int chunk_reserve(struct chunks *c, uint64_t ino, uint64_t off, uint64_t len,
		  bool keep_size, struct chunk_dirty *dirty,
		  struct meta_inode *attr)
{
	uint64_t step = RESERVE_BATCH_CHUNKS * c->chunk_size;
	uint64_t end = off + len, pos = off, have;
	struct size_arg sa = {ino, end, attr};
	struct statvfs vfs;
	int r;

	if (end < off || end > (uint64_t)INT64_MAX)
		return -EFBIG;
	/* ENOSPC up front, before anything is allocated, when the backing
	 * cannot hold what the range still lacks. */
	r = covered_bytes(c, ino, off, end, &have);
	if (r == 0)
		r = c->b->ops->statvfs(c->b, &vfs);
	if (r < 0)
		return r;
	if (len - SFS_MIN(have, len) > (uint64_t)vfs.f_bavail * vfs.f_frsize)
		return -ENOSPC;
	/* Batches end on chunk boundaries; the size moves only once all of
	 * the range is there. */
	while (pos < end) {
		uint64_t n = SFS_MIN(end - pos, step - (pos & (c->chunk_size - 1)));
		ssize_t w = write_batch(c, ino, NULL, n, pos, true, dirty, attr);
		if (w < 0)
			return (int)w;
		pos += n;
	}
	return keep_size ? 0 : meta_update(c->m, extend_fn, &sa);
}

/* ---- seek ---- */

int64_t chunk_seek(struct chunks *c, uint64_t ino, uint64_t off, int whence)
{
	struct meta_inode in;
	struct meta_chunk rec;
	struct meta_txn t;
	uint64_t idx, pos = off;
	int64_t r;

	r = meta_begin(c->m, &t, false);
	if (r < 0)
		return r;
	r = meta_inode_get(&t, ino, &in);
	if (r < 0)
		goto out;
	if (off >= in.size) {
		r = -ENXIO;
		goto out;
	}
	for (;;) {
		uint64_t start;
		r = meta_chunk_next(&t, ino, pos >> c->shift, &idx, &rec);
		if (r == -ENOENT) {
			/* No data from here on: a hole up to the end. */
			r = whence == SEEK_DATA ? -ENXIO : (int64_t)pos;
			break;
		}
		if (r < 0)
			break;
		start = idx << c->shift;
		if (whence == SEEK_DATA) {
			if (start + rec.len > pos && rec.len > 0) {
				r = SFS_MAX(start, pos);
				break;
			}
			pos = start + c->chunk_size;
		} else {
			if (start > pos || start + rec.len <= pos) {
				r = pos; /* pos is in a hole */
				break;
			}
			pos = start + rec.len;
			if (rec.len < c->chunk_size) {
				r = pos;
				break;
			}
		}
		if (pos >= in.size) {
			r = whence == SEEK_DATA ? -ENXIO : (int64_t)in.size;
			break;
		}
	}
	if (whence == SEEK_DATA && r >= 0 && (uint64_t)r >= in.size)
		r = -ENXIO;
	else if (r >= 0 && (uint64_t)r > in.size)
		r = in.size;
out:
	meta_abort(&t);
	return r;
}

/* ---- truncate, punch, zero range ---- */

#define DROP_BATCH 4096

struct drop_arg {
	struct chunks *c;
	uint64_t ino;
	/* Whole chunks with index in [from, to) go. */
	uint64_t from, to;
	/* Bytes [zoff, zend) of the partial chunks at the edges become
	 * zeros (first batch only). */
	uint64_t zoff, zend;
	/* First batch: new size (UINT64_MAX: keep), times. */
	uint64_t size;
	bool first, more;
	struct meta_inode *attr;
	/* Where zeroed edges are noted for fsync (may be NULL). */
	struct chunk_dirty *dirty;
	/* Chunk ids freed by this batch. */
	uint64_t ids[DROP_BATCH];
	size_t n;
};

static int drop_collect(void *arg, uint64_t idx, const struct meta_chunk *c)
{
	struct drop_arg *a = arg;

	if (a->n == DROP_BATCH) {
		a->more = true;
		return 1;
	}
	a->ids[a->n++] = c->id;
	a->attr->spent -= SFS_MIN(a->attr->spent, spent_of(c->len));
	return 0;
}

/* Write zeros over [off, off + len) of an open chunk file: a hole where
 * the backing can punch one, else zeros written. */
static int zero_bytes(struct chunks *c, int fd, uint64_t off, uint64_t len)
{
	static const char zeros[65536];
	int r = c->b->ops->fallocate(c->b, fd,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     off, len);

	if (r != -EOPNOTSUPP && r != -ENOSYS)
		return r;
	for (r = 0; r == 0 && len > 0;) {
		size_t n = SFS_MIN(len, sizeof(zeros));
		r = backing_pwrite_all(c->b, fd, zeros, n, off);
		off += n;
		len -= n;
	}
	return r;
}

/* Make bytes [a, b) of chunk @idx read as zeros. */
static int zero_partial(struct meta_txn *t, struct drop_arg *d, uint64_t idx,
			uint32_t a, uint32_t b)
{
	struct chunks *c = d->c;
	struct meta_inode *in = d->attr;
	struct chunk_fd_slot *s;
	struct meta_chunk rec;
	int r = meta_chunk_get(t, d->ino, idx, &rec);

	if (r == -ENOENT || (r == 0 && a >= rec.len))
		return 0;
	if (r < 0)
		return r;
	if (a == 0 && b >= rec.len) {
		r = meta_chunk_del(t, d->ino, idx);
		if (r == 0)
			r = drop_collect(d, idx, &rec) ? -EIO : 0;
		return r;
	}
	s = slot_get_named(c, rec.id, &r);
	if (!s)
		return r;
	if (b >= rec.len) {
		/* The tail goes: cut the file, which frees it too. */
		r = c->b->ops->ftruncate(c->b, s->fd, a);
		if (r == 0) {
			in->spent -= SFS_MIN(in->spent, spent_of(rec.len));
			in->spent += spent_of(a);
			rec.len = a;
		}
	} else {
		r = zero_bytes(c, s->fd, a, b - a);
		if (r == 0)
			dirty_add(d->dirty, rec.id, idx, a, b);
	}
	slot_put(s);
	return r == 0 ? meta_chunk_put(t, d->ino, idx, &rec) : r;
}

static int drop_fn(struct meta_txn *t, void *arg)
{
	struct drop_arg *a = arg;
	struct chunks *c = a->c;
	struct meta_inode *in = a->attr;
	uint64_t idx;
	size_t partial;
	int r;

	a->n = 0;
	a->more = false;
	r = meta_inode_get(t, a->ino, in);
	if (r < 0)
		return r;
	if (a->first && a->zoff < a->zend) {
		uint64_t hi = a->zoff >> c->shift, ti = (a->zend - 1) >> c->shift;
		uint64_t mask = c->chunk_size - 1;
		if (hi < a->from || hi >= a->to) {
			uint64_t end = hi == ti ? ((a->zend - 1) & mask) + 1
						: c->chunk_size;
			r = zero_partial(t, a, hi, a->zoff & mask, end);
		}
		if (r == 0 && ti != hi && (ti < a->from || ti >= a->to))
			r = zero_partial(t, a, ti, 0, ((a->zend - 1) & mask) + 1);
		if (r < 0)
			return r;
	}
	partial = a->n;
	r = meta_chunk_walk(t, a->ino, a->from, a->to, drop_collect, a);
	if (r < 0)
		return r;
	/* Delete what the walk collected (the edges are gone already); its
	 * cursor is closed by now. */
	for (size_t done = partial; done < a->n;) {
		r = meta_chunk_next(t, a->ino, a->from, &idx, NULL);
		if (r == -ENOENT || (r == 0 && idx >= a->to))
			break;
		if (r == 0)
			r = meta_chunk_del(t, a->ino, idx);
		if (r < 0)
			return r;
		done++;
	}
	if (a->first) {
		if (a->size != UINT64_MAX)
			in->size = a->size;
		meta_now(&in->mtime);
		in->ctime = in->mtime;
	}
	return meta_inode_put(t, a->ino, in);
}

/* Run @a's drop in batches, deleting chunk files once the metadata that
 * dropped them is durable (a crash may leave a stray file, never a
 * record without its file). */
static int drop_range(struct chunks *c, struct drop_arg *a)
{
	int r;

	a->first = true;
	do {
		r = meta_update(c->m, drop_fn, a);
		if (r < 0)
			break;
		a->first = false;
		if (a->n) {
			r = meta_sync(c->m);
			if (r < 0)
				break;
			for (size_t i = 0; i < a->n; i++)
				chunk_drop(c, a->ids[i]);
		}
	} while (a->more);
	return r;
}

int chunk_truncate(struct chunks *c, uint64_t ino, uint64_t size,
		   struct meta_inode *attr)
{
	struct drop_arg *a;
	int r;

	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = (struct drop_arg){.c = c, .ino = ino, .attr = attr, .size = size};
	a->from = (size + c->chunk_size - 1) >> c->shift;
	a->to = UINT64_MAX;
	/* Cut the chunk that holds the new end of file. */
	a->zoff = size;
	a->zend = (size | (c->chunk_size - 1)) + 1;
	r = drop_range(c, a);
	free(a);
	return r;
}

int chunk_punch(struct chunks *c, uint64_t ino, uint64_t off, uint64_t len,
		uint64_t new_size, struct chunk_dirty *dirty,
		struct meta_inode *attr)
{
	struct drop_arg *a;
	int r;

	if (len == 0 || off + len < off)
		return len == 0 ? 0 : -EFBIG;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = (struct drop_arg){.c = c, .ino = ino, .attr = attr,
			       .size = new_size, .dirty = dirty};
	a->from = (off + c->chunk_size - 1) >> c->shift;
	a->to = (off + len) >> c->shift;
	if (a->to < a->from)
		a->to = a->from;
	a->zoff = off;
	a->zend = off + len;
	r = drop_range(c, a);
	free(a);
	return r;
}

/* ---- fsync ---- */

static int fsync_id(struct chunks *c, uint64_t id)
{
	struct chunk_fd_slot *s;
	int r;

	s = slot_get(c, id, false, &r);
	if (!s)
		return r == -ENOENT ? 0 : r; /* dropped by a truncate since */
	r = c->b->ops->fsync(c->b, s->fd, 1);
	slot_put(s);
	return r;
}

struct fsync_arg {
	struct chunks *c;
	int err;
};

static int fsync_walk_fn(void *arg, uint64_t idx, const struct meta_chunk *rec)
{
	struct fsync_arg *a = arg;
	int r = fsync_id(a->c, rec->id);
	if (r < 0 && !a->err)
		a->err = r;
	return 0;
}

/* Up to this many fsyncs of chunk files at once (see fsync_list()). */
#define FSYNC_THREADS 8

/* fdatasync one entry of a dirty list, and the directory of a new one. */
static int fsync_entry(struct chunks *c, uint64_t entry)
{
	uint64_t id = entry & ~CHUNK_NEW;
	int e = fsync_id(c, id);

	if (e == 0 && (entry & CHUNK_NEW)) {
		char path[64];
		chunk_path(id, path, sizeof(path));
		*strrchr(path, '/') = 0;
		e = c->b->ops->fsync_dir(c->b, path);
	}
	return e;
}

struct fsync_job {
	struct chunks *c;
	const uint64_t *ids;
	size_t n;
	atomic_size_t next;
	atomic_int err;
};

static void *fsync_worker(void *arg)
{
	struct fsync_job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		int e = fsync_entry(j->c, j->ids[i]), none = 0;
		if (e < 0)
			atomic_compare_exchange_strong(&j->err, &none, e);
	}
	return NULL;
}

/*
 * fdatasync the @n entries of a dirty list, several at once: a backing
 * served by one process (a FUSE file system such as exfat-fuse; drvfs)
 * then has the next request queued while it answers one, instead of a
 * round trip of ours between each. Returns 0 or the first error.
 */
static int fsync_list(struct chunks *c, const uint64_t *ids, size_t n)
{
	struct fsync_job j = {c, ids, n, 0, 0};
	pthread_t th[FSYNC_THREADS - 1];
	size_t k, want = n > 1 ? SFS_MIN(n, FSYNC_THREADS) - 1 : 0;

	for (k = 0; k < want; k++)
		if (pthread_create(&th[k], NULL, fsync_worker, &j) != 0)
			break; /* fewer helpers; this thread does the rest */
	fsync_worker(&j);
	for (size_t i = 0; i < k; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&j.err);
}

/* ---- the fsync journal ---- */

/*
 * Where the backing has no syncfs() that reaches the disk, fsync of a file
 * dirty in many chunk files would cost a backing fsync each. Instead, the
 * changed span of each chunk that changed little goes into the journal
 * (journal.h) with one fdatasync; the chunk files stay in the backing's
 * cache. Chunks that changed a lot are synced in place as before, and a
 * REVOKE record then says that their older records no longer count. A
 * checkpoint (when the journal is full, at unmount) syncs every chunk file
 * the journal holds records of and empties it. chunk_journal_start() deals
 * with a journal that a stopped daemon left.
 *
 * What a replay after a machine restart gives: every byte as of the last
 * fsync that covered it, or newer (as without the journal, writes since
 * then may or may not be there).
 */

/* A chunk whose changed span is at most this goes into the journal. */
#define JOURNAL_SPAN_MAX (64u << 10)
/* Checkpoint before the journal grows past this, or holds records of
 * more chunk files than this. */
#define JOURNAL_BYTES_MAX (64ull << 20)
#define JOURNAL_IDS_MAX 65536

static bool jids_has(const struct chunks *c, uint64_t id)
{
	for (size_t i = 0; i < c->njids; i++)
		if ((c->jids[i] & ~CHUNK_NEW) == (id & ~CHUNK_NEW))
			return true;
	return false;
}

/* Room for @n more ids in the journal's list: 0 or -ENOMEM. */
static int jids_reserve(struct chunks *c, size_t n)
{
	size_t cap = c->capjids;
	uint64_t *v;

	if (c->njids + n <= cap)
		return 0;
	while (cap < c->njids + n)
		cap = cap ? cap * 2 : 256;
	v = realloc(c->jids, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->jids = v;
	c->capjids = cap;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a & ~CHUNK_NEW;
	uint64_t y = *(const uint64_t *)b & ~CHUNK_NEW;
	return x < y ? -1 : x > y;
}

/* Sync every chunk file the journal holds records of, then empty it.
 * Caller holds journal_lock. */
static int checkpoint(struct chunks *c)
{
	size_t n = 0;
	int r;

	/* Once each: a chunk written at many fsyncs is listed as often. */
	if (c->njids)
		qsort(c->jids, c->njids, sizeof(*c->jids), cmp_id);
	for (size_t i = 0; i < c->njids; i++) {
		if (n && cmp_id(&c->jids[n - 1], &c->jids[i]) == 0)
			c->jids[n - 1] |= c->jids[i] & CHUNK_NEW;
		else
			c->jids[n++] = c->jids[i];
	}
	c->njids = n;
	r = fsync_list(c, c->jids, c->njids);

	if (r == 0)
		r = journal_reset(&c->journal);
	if (r == 0)
		c->njids = 0;
	return r;
}

/* fsync with the journal on: see above. Caller holds journal_lock. */
static int fsync_journaled(struct chunks *c, uint64_t ino,
			   struct chunk_dirty *d)
{
	struct journal_rec *recs = NULL;
	uint64_t *direct = NULL, bytes = 0;
	size_t nj = 0, nd = 0, nrec = 0;
	char *data = NULL, *p;
	int r;

	for (size_t i = 0; i < d->n; i++)
		if (d->ents[i].hi - d->ents[i].lo <= JOURNAL_SPAN_MAX) {
			nj++;
			bytes += d->ents[i].hi - d->ents[i].lo;
		}
	/* One record saves nothing over syncing that one file; and a
	 * journal write is kept to a size. */
	if (nj < 2 || bytes > JOURNAL_BYTES_MAX / 4) {
		nj = 0;
		bytes = 0;
	}
	recs = calloc(d->n, sizeof(*recs));
	direct = calloc(d->n + 1, sizeof(*direct));
	data = malloc(bytes + 1);
	r = recs && direct && data ? jids_reserve(c, nj) : -ENOMEM;
	if (r < 0)
		goto out;
	if (nj && (journal_used(&c->journal) +
				   journal_size_of(d->n, bytes) >
			   JOURNAL_BYTES_MAX ||
		   c->njids + nj > JOURNAL_IDS_MAX)) {
		r = checkpoint(c);
		if (r < 0)
			goto out;
	}
	/* In place first: their revokes may only count once they are
	 * durable. */
	for (size_t i = 0; i < d->n; i++)
		if (!nj || d->ents[i].hi - d->ents[i].lo > JOURNAL_SPAN_MAX)
			direct[nd++] = d->ents[i].id;
	r = fsync_list(c, direct, nd);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < nd; i++)
		if (jids_has(c, direct[i]))
			recs[nrec++] = (struct journal_rec){
				.kind = JOURNAL_REVOKE,
				.id = direct[i] & ~CHUNK_NEW};
	p = data;
	for (size_t i = 0; nj && i < d->n; i++) {
		struct chunk_dirty_ent *e = &d->ents[i];
		uint32_t len = e->hi - e->lo;
		struct chunk_fd_slot *s;
		ssize_t n;

		if (len > JOURNAL_SPAN_MAX)
			continue;
		s = slot_get(c, e->id & ~CHUNK_NEW, false, &r);
		if (!s) {
			if (r != -ENOENT)
				goto out;
			r = 0;
			continue; /* dropped by a truncate since */
		}
		n = backing_pread_all(c->b, s->fd, p, len, e->lo);
		slot_put(s);
		if (n < 0) {
			r = (int)n;
			goto out;
		}
		memset(p + n, 0, len - n);
		recs[nrec++] = (struct journal_rec){JOURNAL_DATA,
						    ino,
						    e->idx,
						    e->id & ~CHUNK_NEW,
						    e->lo,
						    len,
						    p};
		p += len;
	}
	r = journal_append(&c->journal, recs, nrec);
	if (r < 0) {
		/* A full backing, say: sync those in place too, and
		 * checkpoint, so that no record older than them counts. */
		sfs_warn("fsync journal: %s; syncing chunk files in place",
			 strerror(-r));
		nd = 0;
		for (size_t i = 0; i < d->n; i++)
			if (d->ents[i].hi - d->ents[i].lo <= JOURNAL_SPAN_MAX)
				direct[nd++] = d->ents[i].id;
		r = fsync_list(c, direct, nd);
		if (r == 0)
			r = checkpoint(c);
		goto out;
	}
	for (size_t i = 0; nj && i < d->n; i++)
		if (d->ents[i].hi - d->ents[i].lo <= JOURNAL_SPAN_MAX)
			c->jids[c->njids++] = d->ents[i].id;
	clock_gettime(CLOCK_MONOTONIC, &c->last_append);
	pthread_cond_signal(&c->journal_cond);
out:
	free(recs);
	free(direct);
	free(data);
	return r;
}

int chunk_fsync(struct chunks *c, uint64_t ino, struct chunk_dirty *d)
{
	int r = 0;

	/* Past a few files, one syncfs() of the backing is cheaper than an
	 * fdatasync() each, and makes new names durable too; but only where
	 * syncfs() is known to reach the disk. */
	if (c->journal_on && !d->all) {
		if (d->n) {
			pthread_mutex_lock(&c->journal_lock);
			r = fsync_journaled(c, ino, d);
			pthread_mutex_unlock(&c->journal_lock);
		}
	} else if (c->syncfs_ok && (d->all || d->n > FSYNC_EACH_MAX)) {
		r = c->b->ops->syncfs(c->b);
		/* In place, without revokes: no older record may count. */
		if (r == 0 && c->journal_on) {
			pthread_mutex_lock(&c->journal_lock);
			r = checkpoint(c);
			pthread_mutex_unlock(&c->journal_lock);
		}
	} else if (d->all) {
		struct fsync_arg a = {c, 0};
		struct meta_txn t;
		r = meta_begin(c->m, &t, false);
		if (r < 0)
			return r;
		r = meta_chunk_walk(&t, ino, 0, UINT64_MAX, fsync_walk_fn, &a);
		meta_abort(&t);
		if (r == 0)
			r = a.err;
		/* New chunk files' names: their directories are not listed
		 * any more; syncfs is the best left. */
		if (r == 0)
			r = c->b->ops->syncfs(c->b);
		/* Synced in place, without revokes: no older record may
		 * count any more. */
		if (r == 0 && c->journal_on) {
			pthread_mutex_lock(&c->journal_lock);
			r = checkpoint(c);
			pthread_mutex_unlock(&c->journal_lock);
		}
	} else {
		uint64_t *ids = malloc((d->n + 1) * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		for (size_t i = 0; i < d->n; i++)
			ids[i] = d->ents[i].id;
		r = fsync_list(c, ids, d->n);
		free(ids);
	}
	if (r == 0)
		chunk_dirty_free(d);
	if (r == 0)
		r = meta_sync(c->m);
	return r;
}

int chunk_flush_ids(struct chunks *c, const uint64_t *ids, size_t n)
{
	int r;

	if (c->syncfs_ok && n > FSYNC_EACH_MAX)
		r = c->b->ops->syncfs(c->b);
	else
		r = fsync_list(c, ids, n);
	/* Synced in place, without revokes: no older record may count. */
	if (r == 0 && c->journal_on) {
		pthread_mutex_lock(&c->journal_lock);
		r = checkpoint(c);
		pthread_mutex_unlock(&c->journal_lock);
	}
	if (r == 0)
		r = meta_sync(c->m);
	return r;
}

/* What chunk_journal_start() found in the journal. */
struct replay {
	struct chunks *c;
	/* Write records back (the machine restarted), or only sync. */
	bool write_back;
	/* Position of the record at hand, and the revokes: chunk id and
	 * position, from the first pass. */
	uint64_t pos;
	uint64_t *revokes;
	size_t nrevokes, caprevokes;
	/* Chunk files to sync (id | CHUNK_NEW). */
	uint64_t *ids;
	size_t nids, capids;
	unsigned long written;
};

static int push_pair(uint64_t **v, size_t *n, size_t *cap, uint64_t a,
		     uint64_t b, size_t width)
{
	if (*n + width > *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		uint64_t *p = realloc(*v, nc * sizeof(**v));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = a;
	if (width == 2)
		(*v)[(*n)++] = b;
	return 0;
}

static int collect_revokes(void *arg, const struct journal_rec *rec)
{
	struct replay *rp = arg;
	uint64_t pos = rp->pos++;

	if (rec->kind != JOURNAL_REVOKE)
		return 0;
	return push_pair(&rp->revokes, &rp->nrevokes, &rp->caprevokes,
			 rec->id, pos, 2);
}

static bool revoked_later(const struct replay *rp, uint64_t id, uint64_t pos)
{
	for (size_t i = 0; i < rp->nrevokes; i += 2)
		if (rp->revokes[i] == id && rp->revokes[i + 1] > pos)
			return true;
	return false;
}

/* Write one DATA record back into its chunk file, if a record of the
 * chunk map still names that file; never past the record's length. */
static int write_back(struct replay *rp, const struct journal_rec *rec)
{
	struct chunks *c = rp->c;
	struct chunk_fd_slot *s;
	struct meta_chunk mc;
	struct meta_txn t;
	uint32_t len;
	bool created = false;
	int r;

	r = meta_begin(c->m, &t, false);
	if (r < 0)
		return r;
	r = meta_chunk_get(&t, rec->ino, rec->idx, &mc);
	meta_abort(&t);
	if (r == -ENOENT || (r == 0 && (mc.id != rec->id || mc.len <= rec->off)))
		return 0;
	if (r < 0)
		return r;
	len = SFS_MIN(rec->len, mc.len - rec->off);
	s = slot_get(c, rec->id, false, &r);
	if (!s && r == -ENOENT) {
		/* Its name never reached the disk. */
		s = slot_get(c, rec->id, true, &r);
		created = true;
	}
	if (!s)
		return r;
	r = backing_pwrite_all(c->b, s->fd, rec->data, len, rec->off);
	/* The file holds at least the record's length (fsck checks it),
	 * also where its extension was lost with the rest. */
	if (r == 0) {
		struct stat st;
		r = c->b->ops->fstat(c->b, s->fd, &st);
		if (r == 0 && (uint64_t)st.st_size < mc.len)
			r = c->b->ops->ftruncate(c->b, s->fd, mc.len);
	}
	slot_put(s);
	if (r == 0)
		rp->written++;
	return r == 0 ? push_pair(&rp->ids, &rp->nids, &rp->capids,
				  rec->id | (created ? CHUNK_NEW : 0), 0, 1)
		      : r;
}

static int replay_fn(void *arg, const struct journal_rec *rec)
{
	struct replay *rp = arg;
	uint64_t pos = rp->pos++;

	if (rec->kind != JOURNAL_DATA)
		return 0;
	if (!rp->write_back)
		return push_pair(&rp->ids, &rp->nids, &rp->capids,
				 rec->id | CHUNK_NEW, 0, 1);
	if (revoked_later(rp, rec->id, pos))
		return 0;
	return write_back(rp, rec);
}

/* How long the journal may hold records with no fsync writing to it. */
#define JOURNAL_IDLE_MS_DEFAULT 1000

static void *checkpointer_main(void *arg)
{
	struct chunks *c = arg;
	unsigned idle = c->journal_idle_ms ? c->journal_idle_ms
					   : JOURNAL_IDLE_MS_DEFAULT;

	pthread_mutex_lock(&c->journal_lock);
	while (!c->checkpointer_stop) {
		struct timespec due = c->last_append, now;
		int r;

		if (!c->njids && !journal_used(&c->journal)) {
			pthread_cond_wait(&c->journal_cond, &c->journal_lock);
			continue;
		}
		due.tv_sec += idle / 1000;
		due.tv_nsec += (long)(idle % 1000) * 1000000;
		if (due.tv_nsec >= 1000000000) {
			due.tv_sec++;
			due.tv_nsec -= 1000000000;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec < due.tv_sec ||
		    (now.tv_sec == due.tv_sec && now.tv_nsec < due.tv_nsec)) {
			pthread_cond_timedwait(&c->journal_cond,
					       &c->journal_lock, &due);
			continue;
		}
		r = checkpoint(c);
		if (r < 0) {
			sfs_warn("fsync journal: cannot empty it: %s (trying "
				 "again later)",
				 strerror(-r));
			c->last_append = now;
		}
	}
	pthread_mutex_unlock(&c->journal_lock);
	return NULL;
}

static void checkpointer_start(struct chunks *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->journal_cond, &ca);
	pthread_condattr_destroy(&ca);
	c->checkpointer_stop = false;
	clock_gettime(CLOCK_MONOTONIC, &c->last_append);
	/* Without it the journal is still emptied when full and at unmount. */
	c->checkpointer_on = pthread_create(&c->checkpointer, NULL,
					    checkpointer_main, c) == 0;
	if (!c->checkpointer_on)
		sfs_warn("fsync journal: no checkpointer thread; it is "
			 "emptied when full and at unmount");
}

int chunk_journal_start(struct chunks *c)
{
	struct replay rp = {.c = c};
	struct stat st;
	int r;

	pthread_mutex_init(&c->journal_lock, NULL);
	r = journal_open(&c->journal, c->b);
	if (r < 0) {
		/* No journal file and none to be made (a full backing):
		 * nothing to recover either, so go on without one. */
		if (c->b->ops->stat(c->b, STORE_JOURNAL_NAME, &st) == -ENOENT) {
			sfs_warn("cannot create the fsync journal: %s; fsync "
				 "syncs chunk files one by one",
				 strerror(-r));
			return 0;
		}
		return r;
	}
	rp.write_back = !journal_same_boot(&c->journal);
	if (rp.write_back)
		r = journal_scan(&c->journal, collect_revokes, &rp);
	rp.pos = 0;
	if (r == 0)
		r = journal_scan(&c->journal, replay_fn, &rp);
	if (r == 0)
		r = fsync_list(c, rp.ids, rp.nids);
	if (r == 0 && rp.pos && rp.write_back)
		sfs_warn("fsync journal: the machine restarted since it was "
			 "written; wrote %lu record%s back into chunk files",
			 rp.written, rp.written == 1 ? "" : "s");
	else if (r == 0 && rp.pos)
		sfs_info("fsync journal: synced the %zu chunk file%s it held "
			 "records of",
			 rp.nids, rp.nids == 1 ? "" : "s");
	if (r == 0) {
		r = journal_reset(&c->journal);
		/* An empty new file on a full backing: there was nothing in
		 * it, so going on without is safe. */
		if (r < 0 && !rp.pos) {
			sfs_warn("cannot start the fsync journal: %s; fsync "
				 "syncs chunk files one by one",
				 strerror(-r));
			journal_close(&c->journal);
			r = 0;
			goto out;
		}
	}
	if (r < 0) {
		journal_close(&c->journal);
	} else {
		c->journal_on = true;
		checkpointer_start(c);
	}
out:
	free(rp.revokes);
	free(rp.ids);
	return r;
}

/* Parse "data/T/MMM/LLL" parts back into an id; false if not one. */
static bool parse_hex(const char *name, size_t maxlen, uint64_t *v)
{
	char *end;

	if (!*name || strlen(name) > maxlen || name[0] == '-' || name[0] == '+')
		return false;
	errno = 0;
	*v = strtoull(name, &end, 16);
	return !errno && !*end;
}

int chunk_scan_files(struct chunks *c, int (*fn)(void *, uint64_t),
		     void *arg)
{
	DIR *top, *mid, *leaf;
	struct dirent *t, *m, *l;
	char path[600];
	uint64_t tv, mv, lv;
	int fd, r = 0;

	fd = c->b->ops->open(c->b, STORE_DATA_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	top = fdopendir(fd);
	if (!top) {
		close(fd);
		return -errno;
	}
	while (r == 0 && (t = readdir(top))) {
		if (!parse_hex(t->d_name, 10, &tv))
			continue;
		snprintf(path, sizeof(path), STORE_DATA_DIR "/%s", t->d_name);
		fd = c->b->ops->open(c->b, path, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0 || !(mid = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while (r == 0 && (m = readdir(mid))) {
			if (!parse_hex(m->d_name, 3, &mv))
				continue;
			snprintf(path, sizeof(path), STORE_DATA_DIR "/%s/%s",
				 t->d_name, m->d_name);
			fd = c->b->ops->open(c->b, path,
					     O_RDONLY | O_DIRECTORY, 0);
			if (fd < 0 || !(leaf = fdopendir(fd))) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			while (r == 0 && (l = readdir(leaf)))
				if (parse_hex(l->d_name, 3, &lv))
					r = fn(arg, tv << 24 | mv << 12 | lv);
			closedir(leaf);
		}
		closedir(mid);
	}
	closedir(top);
	return r;
}

int chunk_reclaim(struct chunks *c, uint64_t ino)
{
	return meta_reclaim(c->m, ino, chunk_drop, c);
}
