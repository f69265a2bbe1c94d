/*
 * recover.c - what the next mount does after an unclean stop.
 *
 * A daemon killed (or a machine crashed) between writing a chunk file and
 * committing its record, or between committing a drop and deleting the
 * file, leaves chunk files that no record names: they are deleted. A
 * truncate cut short between batches leaves records past the end of file:
 * they are dropped. Bytes a chunk file holds past its record's length are
 * harmless (they read as zeros and the next write past them cuts them).
 * Orphans are reclaimed by sfs_start() on every mount.
 */
#include "sfs.h"

#include <stdio.h>
#include <string.h>

#include "idset.h"
#include "log.h"
#include "recover.h"

/* A record that must go: (ino, idx) and the chunk id it names. */
struct bad {
	uint64_t ino, idx, id;
};

struct walk {
	struct meta_txn *t;
	struct chunks *c;
	struct idset live;
	struct bad *bad;
	size_t nbad, capbad;
	uint64_t cur_ino, cur_size;
	bool cur_exists;
	uint64_t max_id;
};

static int walk_fn(void *arg, uint64_t ino, uint64_t idx,
		   const struct meta_chunk *rec)
{
	struct walk *w = arg;

	if (ino != w->cur_ino || !w->cur_ino) {
		struct meta_inode in;
		int r = meta_inode_get(w->t, ino, &in);
		if (r < 0 && r != -ENOENT)
			return r;
		w->cur_ino = ino;
		w->cur_exists = r == 0;
		w->cur_size = r == 0 ? in.size : 0;
	}
	w->max_id = SFS_MAX(w->max_id, rec->id);
	if (w->cur_exists && ((idx << w->c->shift) < w->cur_size ||
			      (rec->flags & META_CHUNK_RESERVED)))
		return idset_add(&w->live, rec->id);
	if (w->nbad == w->capbad) {
		size_t cap = w->capbad ? w->capbad * 2 : 64;
		struct bad *b = realloc(w->bad, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		w->bad = b;
		w->capbad = cap;
	}
	w->bad[w->nbad++] = (struct bad){ino, idx, rec->id};
	return 0;
}

struct drop_bad {
	struct walk *w;
	size_t from, to;
};

static int drop_bad_fn(struct meta_txn *t, void *arg)
{
	struct drop_bad *d = arg;

	for (size_t i = d->from; i < d->to; i++) {
		int r = meta_chunk_del(t, d->w->bad[i].ino, d->w->bad[i].idx);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

struct stray {
	struct chunks *c;
	struct walk *w;
	unsigned long removed;
	uint64_t max_id;
};

static int stray_fn(void *arg, uint64_t id)
{
	struct stray *s = arg;

	if (idset_has(&s->w->live, id))
		return 0;
	chunk_drop(s->c, id);
	s->removed++;
	s->max_id = SFS_MAX(s->max_id, id);
	return 0;
}

static int raise_fn(struct meta_txn *t, void *arg)
{
	return meta_chunk_id_raise(t, *(uint64_t *)arg);
}

int sfs_recover(struct meta *m, struct chunks *c)
{
	struct walk w = {.c = c};
	struct stray st = {.c = c, .w = &w};
	struct meta_txn t;
	uint64_t next;
	int r;

	r = meta_begin(m, &t, false);
	if (r < 0)
		return r;
	w.t = &t;
	r = meta_chunk_walk_all(&t, walk_fn, &w);
	meta_abort(&t);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < w.nbad; i += 1024) {
		struct drop_bad d = {&w, i, SFS_MIN(w.nbad, i + 1024)};
		r = meta_update(m, drop_bad_fn, &d);
		if (r < 0)
			goto out;
	}
	if (w.nbad) {
		r = meta_sync(m);
		if (r < 0)
			goto out;
		sfs_warn("recovery: dropped %zu chunk record%s past the end of "
			 "file or of deleted files",
			 w.nbad, w.nbad == 1 ? "" : "s");
	}
	/* The dropped records' files are strays now, like any other. */
	idset_sort(&w.live);
	r = chunk_scan_files(c, stray_fn, &st);
	if (r < 0)
		goto out;
	if (st.removed)
		sfs_warn("recovery: deleted %lu chunk file%s that no record "
			 "named",
			 st.removed, st.removed == 1 ? "" : "s");
	/* Never hand out an id that a file had. */
	next = SFS_MAX(w.max_id, st.max_id) + 1;
	r = meta_update(m, raise_fn, &next);
	pthread_mutex_lock(&c->id_lock);
	c->next_id = SFS_MAX(c->next_id, next);
	pthread_mutex_unlock(&c->id_lock);
out:
	idset_free(&w.live);
	free(w.bad);
	return r;
}
