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

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "chunk.h"
#include "log.h"

#define SPENT_UNIT 4096ull

struct chunk_fd_slot {
	pthread_mutex_t lock;
	uint64_t id;
	int fd;
};

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
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->nslots; i++) {
		pthread_mutex_init(&c->slots[i].lock, NULL);
		c->slots[i].fd = -1;
	}
	return 0;
}

void chunk_fini(struct chunks *c)
{
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
	free(d->ids);
	memset(d, 0, sizeof(*d));
}

static void dirty_add(struct chunk_dirty *d, uint64_t id)
{
	if (!d || d->all)
		return;
	for (size_t i = d->n; i > 0 && i + 8 > d->n; i--)
		if (d->ids[i - 1] == id)
			return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		uint64_t *ids;
		if (cap > 65536) {
			chunk_dirty_free(d);
			d->all = true;
			return;
		}
		ids = realloc(d->ids, cap * sizeof(*ids));
		if (!ids) {
			chunk_dirty_free(d);
			d->all = true;
			return;
		}
		d->ids = ids;
		d->cap = cap;
	}
	d->ids[d->n++] = id;
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
	uint64_t end;
	struct piece *p;
	size_t n;
	struct meta_inode *attr;
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
		if (p->exists && rec.len >= end)
			continue;
		if (!p->exists)
			rec.len = 0;
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

static int write_piece(struct chunks *c, struct piece *p, const char *buf)
{
	struct chunk_fd_slot *s;
	int r;

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
	r = backing_pwrite_all(c->b, s->fd, buf, p->len, p->off);
	slot_put(s);
	return r;
}

ssize_t chunk_write(struct chunks *c, uint64_t ino, const char *buf,
		    size_t len, off_t off, struct chunk_dirty *dirty,
		    struct meta_inode *attr)
{
	struct piece stack[PIECES_ON_STACK], *p;
	struct write_arg a;
	struct meta_txn t;
	size_t n, i;
	int r;

	if (len == 0)
		return 0;
	if ((uint64_t)off + len < (uint64_t)off ||
	    (uint64_t)off + len > (uint64_t)INT64_MAX)
		return -EFBIG;
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
		buf += p[i].len;
	}
	if (r == 0) {
		a = (struct write_arg){c, ino, off + len, p, n, attr};
		r = meta_update(c->m, write_commit_fn, &a);
	}
	if (r < 0) {
		/* Chunk files made for this write mean nothing now. */
		for (size_t j = 0; j < n; j++)
			if (p[j].fresh)
				chunk_drop(c, p[j].rec.id);
	} else {
		for (i = 0; i < n; i++)
			dirty_add(dirty, p[i].rec.id);
	}
	pieces_free(stack, p);
	return r < 0 ? r : (ssize_t)len;
}

/* ---- truncate ---- */

#define DROP_BATCH 4096

struct trunc_arg {
	struct chunks *c;
	uint64_t ino, size;
	struct meta_inode *attr;
	/* Chunk ids freed by this batch. */
	uint64_t ids[DROP_BATCH];
	size_t n;
	bool first, more;
};

static int trunc_collect(void *arg, uint64_t idx, const struct meta_chunk *c)
{
	struct trunc_arg *a = arg;

	if (a->n == DROP_BATCH) {
		a->more = true;
		return 1;
	}
	a->ids[a->n] = c->id;
	a->attr->spent -= SFS_MIN(a->attr->spent, spent_of(c->len));
	a->n++;
	return 0;
}

static int trunc_fn(struct meta_txn *t, void *arg)
{
	struct trunc_arg *a = arg;
	struct chunks *c = a->c;
	struct meta_inode *in = a->attr;
	uint64_t from = (a->size + c->chunk_size - 1) >> c->shift;
	uint64_t idx;
	int r;

	a->n = 0;
	a->more = false;
	r = meta_inode_get(t, a->ino, in);
	if (r < 0)
		return r;
	if (a->first && (a->size & (c->chunk_size - 1))) {
		/* Cut the chunk that will hold the new end of file. */
		uint32_t keep = a->size & (c->chunk_size - 1);
		struct meta_chunk rec;
		idx = a->size >> c->shift;
		r = meta_chunk_get(t, a->ino, idx, &rec);
		if (r == 0 && rec.len > keep) {
			struct chunk_fd_slot *s = slot_get_named(c, rec.id, &r);
			if (!s)
				return r;
			r = c->b->ops->ftruncate(c->b, s->fd, keep);
			slot_put(s);
			if (r < 0)
				return r;
			in->spent -= SFS_MIN(in->spent, spent_of(rec.len));
			in->spent += spent_of(keep);
			rec.len = keep;
			r = meta_chunk_put(t, a->ino, idx, &rec);
		}
		if (r < 0 && r != -ENOENT)
			return r;
	}
	r = meta_chunk_walk(t, a->ino, from, UINT64_MAX, trunc_collect, a);
	if (r < 0)
		return r;
	/* Delete what was collected: walk again, the cursor is gone. */
	for (size_t i = 0; i < a->n; i++) {
		r = meta_chunk_next(t, a->ino, from, &idx, NULL);
		if (r == 0)
			r = meta_chunk_del(t, a->ino, idx);
		if (r < 0)
			return r;
	}
	if (a->first) {
		in->size = a->size;
		meta_now(&in->mtime);
		in->ctime = in->mtime;
	}
	return meta_inode_put(t, a->ino, in);
}

int chunk_truncate(struct chunks *c, uint64_t ino, uint64_t size,
		   struct meta_inode *attr)
{
	struct trunc_arg *a;
	int r;

	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->c = c;
	a->ino = ino;
	a->size = size;
	a->attr = attr;
	a->first = true;
	do {
		r = meta_update(c->m, trunc_fn, a);
		if (r < 0)
			break;
		a->first = false;
		if (a->n) {
			/* Files go once no durable record names them. */
			r = meta_sync(c->m);
			if (r < 0)
				break;
			for (size_t i = 0; i < a->n; i++)
				chunk_drop(c, a->ids[i]);
		}
	} while (a->more);
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

int chunk_fsync(struct chunks *c, uint64_t ino, struct chunk_dirty *d)
{
	int r = 0;

	if (d->all) {
		struct fsync_arg a = {c, 0};
		struct meta_txn t;
		r = meta_begin(c->m, &t, false);
		if (r < 0)
			return r;
		r = meta_chunk_walk(&t, ino, 0, UINT64_MAX, fsync_walk_fn, &a);
		meta_abort(&t);
		if (r == 0)
			r = a.err;
	} else {
		for (size_t i = 0; i < d->n; i++) {
			int e = fsync_id(c, d->ids[i]);
			if (e < 0 && !r)
				r = e;
		}
	}
	if (r == 0)
		chunk_dirty_free(d);
	if (r == 0)
		r = meta_sync(c->m);
	return r;
}

int chunk_reclaim(struct chunks *c, uint64_t ino)
{
	return meta_reclaim(c->m, ino, chunk_drop, c);
}
