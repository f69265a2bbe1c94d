/*
 * fsck.c - offline consistency check of a store.
 *
 * Passes, each over one LMDB table, with an in-memory record per inode:
 *   1 inodes     types, the root
 *   2 dirents    entries name live inodes in live directories; a directory
 *                has one name; counts links and subdirectories
 *   3 tree       every inode reachable from the root; what is not goes to
 *                /lost+found
 *   4 links      nlink matches the entries (2 + subdirectories for dirs);
 *                orphans and unlinked inodes are freed
 *   5 chunks     records belong to live regular files, lie before the end
 *                of file, name distinct existing chunk files at least as
 *                long as the record, below the id counter; st_blocks sums
 *   6 files      every chunk file is named by a record
 *   7 others     symlink targets and xattrs of live inodes
 * Repairs are collected during the read passes and applied in write
 * transactions afterwards (-y), so that a report-only run (-n) never
 * writes: it opens LMDB read-only and without its lock file.
 */
#include "sfs.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "chunk.h"
#include "fsck.h"
#include "idset.h"
#include "log.h"

#define LOST_FOUND "lost+found"

struct fino {
	uint64_t ino;
	struct meta_inode in;
	uint32_t links;	  /* entries naming it */
	uint32_t subdirs; /* directories among its entries */
	uint64_t entry_dir; /* directories: the dir of its (first) entry */
	uint64_t spent;	  /* from the chunk records */
	bool reach, visiting, changed, orphan;
};

struct fsck {
	FILE *out;
	int flags;
	struct store store;
	struct meta meta;
	struct chunks chunks;
	struct fino *inos; /* sorted by ino */
	size_t ninos, capinos;
	unsigned long problems, fixed;
	/* Chunk ids named by records, sorted after pass 5. */
	struct idset ids;
	uint64_t max_id;
	unsigned long progress;
};

static void problem(struct fsck *f, bool fixable, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct fsck *f, bool fixable, const char *fmt, ...)
{
	va_list ap;

	f->problems++;
	if (fixable && (f->flags & FSCK_REPAIR))
		f->fixed++;
	va_start(ap, fmt);
	vfprintf(f->out, fmt, ap);
	va_end(ap);
	fprintf(f->out, "%s\n",
		!fixable ? " (cannot fix)"
		: (f->flags & FSCK_REPAIR) ? ": fixed" : "");
}

static void verbose(struct fsck *f, const char *what)
{
	if (f->flags & FSCK_VERBOSE)
		fprintf(f->out, "%s\n", what);
}

static void tick(struct fsck *f, const char *pass)
{
	if (!(f->flags & FSCK_PROGRESS) || ++f->progress % 10000)
		return;
	fprintf(stderr, "\rfsck.sparsefs: %s: %lu", pass, f->progress);
}

static void tick_done(struct fsck *f)
{
	if ((f->flags & FSCK_PROGRESS) && f->progress >= 10000)
		fprintf(stderr, "\r%60s\r", "");
	f->progress = 0;
}

static struct fino *find(struct fsck *f, uint64_t ino)
{
	size_t lo = 0, hi = f->ninos;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->inos[mid].ino < ino)
			lo = mid + 1;
		else if (f->inos[mid].ino > ino)
			hi = mid;
		else
			return &f->inos[mid];
	}
	return NULL;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 1024;
	void *p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* ---- raw table walks (the meta API walks one inode at a time) ---- */

static int walk_db(struct meta_txn *t, MDB_dbi dbi,
		   int (*fn)(void *, MDB_val *, MDB_val *), void *arg)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, r = 0;

	rc = mdb_cursor_open(t->txn, dbi, &cur);
	if (rc)
		return meta_errno(t, rc, "cursor open");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && !r;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		r = fn(arg, &k, &d);
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return meta_errno(t, rc, "walk");
	return r;
}

/* ---- pass 1: inodes ---- */

static int inode_fn(void *arg, MDB_val *k, MDB_val *d)
{
	struct fsck *f = arg;
	struct fino *fi;

	if (k->mv_size != 8 || d->mv_size != sizeof(struct meta_inode)) {
		problem(f, false, "inode table: a record of bad size");
		return 0;
	}
	if (grow((void **)&f->inos, &f->capinos, f->ninos, sizeof(*fi)))
		return -ENOMEM;
	fi = &f->inos[f->ninos++];
	memset(fi, 0, sizeof(*fi));
	fi->ino = sfs_get_be64(k->mv_data);
	memcpy(&fi->in, d->mv_data, sizeof(fi->in));
	tick(f, "inodes");
	return 0;
}

/* ---- pass 2: dirents ---- */

struct bad_dirent {
	/* The key as found: its cookie may not be the name's hash. */
	unsigned char key[16 + SFS_NAME_MAX];
	size_t len;
	/* Put the entry back under the right key (else just remove it). */
	bool rekey;
	uint64_t ino;
	uint32_t mode;
};

struct dirent_pass {
	struct fsck *f;
	struct bad_dirent *bad;
	size_t nbad, capbad;
};

static int dirent_fn(void *arg, MDB_val *k, MDB_val *d)
{
	struct dirent_pass *p = arg;
	struct fsck *f = p->f;
	uint64_t dir, ino;
	struct fino *di, *fi;
	size_t len;
	const char *name;
	const char *why = NULL;

	tick(f, "entries");
	if (k->mv_size < 17 || k->mv_size > 16 + SFS_NAME_MAX ||
	    d->mv_size < 8) {
		problem(f, false, "entry table: a record of bad size");
		return 0;
	}
	dir = sfs_get_be64(k->mv_data);
	name = (const char *)k->mv_data + 16;
	len = k->mv_size - 16;
	memcpy(&ino, d->mv_data, 8);
	di = find(f, dir);
	fi = find(f, ino);
	if (!di || !S_ISDIR(di->in.mode))
		why = "is in a directory that does not exist";
	else if (!fi)
		why = "names an inode that does not exist";
	else if (S_ISDIR(fi->in.mode) && fi->links > 0)
		why = "is a second name of a directory";
	else if (ino == META_ROOT_INO)
		why = "names the root directory";
	if (!why && (sfs_get_be64((char *)k->mv_data + 8) <
			     meta_name_cookie(name, len) ||
		     sfs_get_be64((char *)k->mv_data + 8) >
			     meta_name_cookie(name, len) + META_COOKIE_PROBE)) {
		problem(f, true, "entry '%.*s' in directory %" PRIu64
			" is filed under the wrong key; refiling it",
			(int)len, name, dir);
		if (grow((void **)&p->bad, &p->capbad, p->nbad,
			 sizeof(*p->bad)))
			return -ENOMEM;
		memcpy(p->bad[p->nbad].key, k->mv_data, k->mv_size);
		p->bad[p->nbad].len = k->mv_size;
		p->bad[p->nbad].rekey = true;
		p->bad[p->nbad].ino = ino;
		memcpy(&p->bad[p->nbad].mode, (char *)d->mv_data + 8,
		       d->mv_size >= 12 ? 4 : 0);
		p->nbad++;
		/* It still counts as a name of the inode. */
	} else if (why) {
		problem(f, true, "entry '%.*s' in directory %" PRIu64
			" -> inode %" PRIu64 " %s; removing it",
			(int)len, name, dir, ino, why);
		if (grow((void **)&p->bad, &p->capbad, p->nbad,
			 sizeof(*p->bad)))
			return -ENOMEM;
		memcpy(p->bad[p->nbad].key, k->mv_data, k->mv_size);
		p->bad[p->nbad].len = k->mv_size;
		p->bad[p->nbad].rekey = false;
		p->nbad++;
		return 0;
	}
	fi->links++;
	if (S_ISDIR(fi->in.mode)) {
		fi->entry_dir = dir;
		di->subdirs++;
	}
	return 0;
}

static int drop_dirents_fn(struct meta_txn *t, void *arg)
{
	struct dirent_pass *p = arg;

	for (size_t i = 0; i < p->nbad; i++) {
		MDB_val k = {.mv_size = p->bad[i].len,
			     .mv_data = p->bad[i].key};
		struct bad_dirent *bd = &p->bad[i];
		int rc = mdb_del(t->txn, t->m->dirents, &k, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return meta_errno(t, rc, "dirent del");
		if (bd->rekey) {
			int r = meta_dirent_put(t, sfs_get_be64(bd->key),
						(char *)bd->key + 16, bd->len - 16,
						bd->ino, bd->mode);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* ---- pass 3: tree ---- */

/* Directories: reachable if their entry's directory is. */
static bool dir_reach(struct fsck *f, struct fino *fi)
{
	struct fino *up;

	if (fi->ino == META_ROOT_INO)
		return fi->reach = true;
	if (fi->reach || fi->visiting || !fi->links)
		return fi->reach;
	fi->visiting = true;
	up = find(f, fi->entry_dir);
	fi->reach = up && dir_reach(f, up);
	fi->visiting = false;
	return fi->reach;
}

static int reach_fn(void *arg, MDB_val *k, MDB_val *d)
{
	struct fsck *f = arg;
	struct fino *di = find(f, sfs_get_be64(k->mv_data)), *fi;
	uint64_t ino;

	if (d->mv_size < 8)
		return 0;
	memcpy(&ino, d->mv_data, 8);
	fi = find(f, ino);
	if (di && fi && di->reach && !S_ISDIR(fi->in.mode))
		fi->reach = true;
	return 0;
}

struct lost {
	struct fsck *f;
	uint64_t lf; /* lost+found */
	struct fino **v;
	size_t n, cap;
};

static int lost_fn(struct meta_txn *t, void *arg)
{
	struct lost *l = arg;
	struct meta_inode root, lf;
	char name[32];
	int r;

	r = meta_inode_get(t, META_ROOT_INO, &root);
	if (r < 0)
		return r;
	r = meta_dirent_get(t, META_ROOT_INO, LOST_FOUND,
			    strlen(LOST_FOUND), &l->lf);
	if (r == -ENOENT) {
		r = meta_ino_alloc(t, &l->lf);
		if (r < 0)
			return r;
		memset(&lf, 0, sizeof(lf));
		lf.mode = S_IFDIR | 0700;
		lf.nlink = 2;
		lf.parent = META_ROOT_INO;
		meta_now(&lf.mtime);
		lf.atime = lf.ctime = lf.mtime;
		root.nlink++;
		r = meta_dirent_put(t, META_ROOT_INO, LOST_FOUND,
				    strlen(LOST_FOUND), l->lf, lf.mode);
		if (r == 0)
			r = meta_inode_put(t, META_ROOT_INO, &root);
	} else if (r == 0) {
		r = meta_inode_get(t, l->lf, &lf);
		if (r == 0 && !S_ISDIR(lf.mode))
			r = -ENOTDIR;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++) {
		struct fino *fi = l->v[i];
		snprintf(name, sizeof(name), "#%" PRIu64, fi->ino);
		r = meta_dirent_put(t, l->lf, name, strlen(name), fi->ino,
				    fi->in.mode);
		if (r < 0)
			return r;
		if (S_ISDIR(fi->in.mode)) {
			lf.nlink++;
			fi->in.parent = l->lf;
			r = meta_inode_put(t, fi->ino, &fi->in);
			if (r < 0)
				return r;
		}
	}
	return meta_inode_put(t, l->lf, &lf);
}

/* ---- pass 5: chunks ---- */

struct bad_chunk {
	uint64_t ino, idx;
	struct meta_chunk rec;
	bool drop; /* else: rewrite rec */
};

struct chunk_pass {
	struct fsck *f;
	struct bad_chunk *bad;
	size_t nbad, capbad;
	uint64_t next_chunk;
};

static int add_bad_chunk(struct chunk_pass *p, uint64_t ino, uint64_t idx,
			 const struct meta_chunk *rec, bool drop)
{
	if (grow((void **)&p->bad, &p->capbad, p->nbad, sizeof(*p->bad)))
		return -ENOMEM;
	p->bad[p->nbad++] = (struct bad_chunk){ino, idx, *rec, drop};
	return 0;
}

static int chunk_fn(void *arg, uint64_t ino, uint64_t idx,
		    const struct meta_chunk *rec)
{
	struct chunk_pass *p = arg;
	struct fsck *f = p->f;
	struct fino *fi = find(f, ino);
	struct backing *b = &f->store.b;
	char path[64];
	struct stat st;
	int r;

	tick(f, "chunks");
	if (!fi || !S_ISREG(fi->in.mode) || !fi->reach) {
		problem(f, true, "chunk %" PRIu64 " of inode %" PRIu64
			" belongs to no live file; dropping it", idx, ino);
		return add_bad_chunk(p, ino, idx, rec, true);
	}
	if ((idx << f->store.chunk_shift) >= fi->in.size &&
	    !(rec->flags & META_CHUNK_RESERVED)) {
		problem(f, true, "chunk %" PRIu64 " of inode %" PRIu64
			" lies past the end of file; dropping it", idx, ino);
		return add_bad_chunk(p, ino, idx, rec, true);
	}
	if (idset_add(&f->ids, rec->id))
		return -ENOMEM;
	f->max_id = SFS_MAX(f->max_id, rec->id);
	chunk_path(rec->id, path, sizeof(path));
	r = b->ops->stat(b, path, &st);
	if (r == -ENOENT) {
		problem(f, true, "chunk %" PRIu64 " of inode %" PRIu64
			": chunk file %s is missing (its data is lost; it "
			"will read as zeros)", idx, ino, path);
		return add_bad_chunk(p, ino, idx, rec, true);
	}
	if (r < 0) {
		problem(f, false, "chunk file %s: %s", path, strerror(-r));
		return 0;
	}
	if ((uint64_t)st.st_size < rec->len) {
		struct meta_chunk fixed = *rec;
		problem(f, true, "chunk file %s is shorter (%lld) than its "
			"record (%u); the rest reads as zeros",
			path, (long long)st.st_size, rec->len);
		fixed.len = st.st_size;
		fi->spent += (fixed.len + 4095) & ~4095ull;
		return add_bad_chunk(p, ino, idx, &fixed, false);
	}
	fi->spent += ((uint64_t)rec->len + 4095) & ~4095ull;
	return 0;
}

static int fix_chunks_fn(struct meta_txn *t, void *arg)
{
	struct chunk_pass *p = arg;
	int r = 0;

	for (size_t i = 0; i < p->nbad && r >= 0; i++) {
		struct bad_chunk *bc = &p->bad[i];
		r = bc->drop ? meta_chunk_del(t, bc->ino, bc->idx)
			     : meta_chunk_put(t, bc->ino, bc->idx, &bc->rec);
		if (r == -ENOENT)
			r = 0;
	}
	if (r >= 0)
		r = meta_chunk_id_raise(t, p->f->max_id + 1);
	return r;
}

/* ---- pass 6: chunk files ---- */

struct file_pass {
	struct fsck *f;
	uint64_t *stray;
	size_t nstray, capstray;
};

static int file_fn(void *arg, uint64_t id)
{
	struct file_pass *p = arg;
	struct fsck *f = p->f;
	char path[64];

	tick(f, "chunk files");
	if (idset_has(&f->ids, id))
		return 0;
	chunk_path(id, path, sizeof(path));
	problem(f, true, "chunk file %s is named by no record; deleting it",
		path);
	if (grow((void **)&p->stray, &p->capstray, p->nstray,
		 sizeof(uint64_t)))
		return -ENOMEM;
	p->stray[p->nstray++] = id;
	return 0;
}

/* ---- pass 7: symlinks, xattrs, orphans of dead inodes ---- */

struct key_pass {
	struct fsck *f;
	MDB_dbi dbi;
	const char *what;
	MDB_val *keys;
	size_t n, cap;
};

static int key_fn(void *arg, MDB_val *k, MDB_val *d)
{
	struct key_pass *p = arg;
	struct fino *fi;

	if (k->mv_size < 8)
		return 0;
	fi = find(p->f, sfs_get_be64(k->mv_data));
	if (fi && (fi->reach || fi->orphan))
		return 0;
	problem(p->f, true, "%s of inode %" PRIu64
		" that does not exist; removing it",
		p->what, sfs_get_be64(k->mv_data));
	if (grow((void **)&p->keys, &p->cap, p->n, sizeof(MDB_val)))
		return -ENOMEM;
	p->keys[p->n].mv_size = k->mv_size;
	p->keys[p->n].mv_data = malloc(k->mv_size);
	if (!p->keys[p->n].mv_data)
		return -ENOMEM;
	memcpy(p->keys[p->n].mv_data, k->mv_data, k->mv_size);
	p->n++;
	return 0;
}

static int drop_keys_fn(struct meta_txn *t, void *arg)
{
	struct key_pass *p = arg;

	for (size_t i = 0; i < p->n; i++) {
		int rc = mdb_del(t->txn, p->dbi, &p->keys[i], NULL);
		if (rc && rc != MDB_NOTFOUND)
			return meta_errno(t, rc, "delete");
	}
	return 0;
}

static int check_keys(struct fsck *f, MDB_dbi dbi, const char *what)
{
	struct key_pass p = {f, dbi, what, NULL, 0, 0};
	struct meta_txn t;
	int r = meta_begin(&f->meta, &t, false);

	if (r == 0) {
		r = walk_db(&t, dbi, key_fn, &p);
		meta_abort(&t);
	}
	if (r == 0 && p.n && (f->flags & FSCK_REPAIR))
		r = meta_update(&f->meta, drop_keys_fn, &p);
	for (size_t i = 0; i < p.n; i++)
		free(p.keys[i].mv_data);
	free(p.keys);
	return r;
}

static int put_inode_fn(struct meta_txn *t, void *arg)
{
	struct fino *fi = arg;
	return meta_inode_put(t, fi->ino, &fi->in);
}

static int orphan_fn(void *arg, MDB_val *k, MDB_val *d)
{
	struct fsck *f = arg;
	struct fino *fi;

	if (k->mv_size == 8 && (fi = find(f, sfs_get_be64(k->mv_data))))
		fi->orphan = true;
	return 0;
}

/* ---- driver ---- */

static int check(struct fsck *f)
{
	bool repair = f->flags & FSCK_REPAIR;
	struct dirent_pass dp = {f, NULL, 0, 0};
	struct chunk_pass cp = {f, NULL, 0, 0, 0};
	struct file_pass fp = {f, NULL, 0, 0};
	struct lost lost = {f, 0, NULL, 0, 0};
	struct meta_txn t;
	struct fino *root;
	int r;

	verbose(f, "pass 1: inodes");
	r = meta_begin(&f->meta, &t, false);
	if (r < 0)
		return r;
	r = walk_db(&t, f->meta.inodes, inode_fn, f);
	if (r == 0)
		r = walk_db(&t, f->meta.orphans, orphan_fn, f);
	tick_done(f);
	root = find(f, META_ROOT_INO);
	if (r == 0 && (!root || !S_ISDIR(root->in.mode))) {
		problem(f, false, "the root directory is missing or not a "
			"directory");
		meta_abort(&t);
		return 0;
	}

	verbose(f, "pass 2: directory entries");
	if (r == 0)
		r = walk_db(&t, f->meta.dirents, dirent_fn, &dp);
	tick_done(f);

	verbose(f, "pass 3: reachability");
	for (size_t i = 0; r == 0 && i < f->ninos; i++)
		if (S_ISDIR(f->inos[i].in.mode))
			dir_reach(f, &f->inos[i]);
	if (r == 0)
		r = walk_db(&t, f->meta.dirents, reach_fn, f);
	meta_abort(&t);
	if (r < 0)
		goto out;
	if (dp.nbad && repair)
		r = meta_update(&f->meta, drop_dirents_fn, &dp);
	/* What cannot be reached from the root goes to lost+found: files
	 * with no entry left, and directories with none (their subtrees
	 * follow them). Files named only inside a cut-off directory come
	 * back with it. Offline nothing is open, so an inode with no link
	 * at all is freed in pass 4 instead. */
	for (size_t i = 0; r == 0 && i < f->ninos; i++) {
		struct fino *fi = &f->inos[i];
		if (fi->reach || fi->orphan || fi->in.nlink == 0 || fi->links)
			continue;
		problem(f, true, "inode %" PRIu64 " is not reachable from the "
			"root; moving it to /" LOST_FOUND, fi->ino);
		if (grow((void **)&lost.v, &lost.cap, lost.n,
			 sizeof(*lost.v))) {
			r = -ENOMEM;
			break;
		}
		lost.v[lost.n++] = fi;
		fi->links = 1;
		fi->reach = true;
	}
	if (r == 0 && lost.n) {
		/* Everything below a moved directory is reachable now. */
		for (size_t i = 0; i < f->ninos; i++)
			if (S_ISDIR(f->inos[i].in.mode))
				dir_reach(f, &f->inos[i]);
		r = meta_begin(&f->meta, &t, false);
		if (r == 0) {
			r = walk_db(&t, f->meta.dirents, reach_fn, f);
			meta_abort(&t);
		}
	}
	for (size_t i = 0; r == 0 && i < f->ninos; i++) {
		struct fino *fi = &f->inos[i];
		if (S_ISDIR(fi->in.mode) && fi->links && !fi->reach)
			problem(f, false, "directory %" PRIu64 " is in a loop "
				"of directories cut off from the root", fi->ino);
	}
	if (r == 0 && lost.n && repair) {
		size_t dirs = 0;
		struct fino *lf;
		for (size_t i = 0; i < lost.n; i++)
			dirs += S_ISDIR(lost.v[i]->in.mode);
		r = meta_update(&f->meta, lost_fn, &lost);
		lf = r == 0 ? find(f, lost.lf) : NULL;
		if (r == 0 && !lf) {
			/* A new lost+found: the highest inode number yet, so
			 * appending keeps the table sorted. */
			r = grow((void **)&f->inos, &f->capinos, f->ninos,
				 sizeof(*f->inos));
			lf = r == 0 ? &f->inos[f->ninos++] : NULL;
			if (lf) {
				memset(lf, 0, sizeof(*lf));
				lf->ino = lost.lf;
				lf->in.mode = S_IFDIR | 0700;
				lf->in.nlink = 2 + dirs;
				lf->links = 1;
				lf->reach = true;
				root = find(f, META_ROOT_INO);
				root->subdirs++;
				root->in.nlink++;
			}
		} else if (lf) {
			lf->in.nlink += dirs;
		}
		if (lf)
			lf->subdirs += dirs;
	}

	verbose(f, "pass 4: link counts");
	for (size_t i = 0; r == 0 && i < f->ninos; i++) {
		struct fino *fi = &f->inos[i];
		uint32_t want = S_ISDIR(fi->in.mode)
					? (fi->links ? 2 + fi->subdirs : 0)
					: fi->links;
		if (fi->ino == META_ROOT_INO) {
			want = 2 + fi->subdirs;
		} else if (fi->in.nlink == 0 || !fi->links) {
			if (!fi->orphan && fi->in.nlink)
				continue; /* reported above */
			problem(f, true, "inode %" PRIu64 " has no name%s; "
				"freeing it", fi->ino,
				fi->orphan ? " (unlinked while open)" : "");
			if (repair) {
				r = chunk_reclaim(&f->chunks, fi->ino);
				fi->reach = false;
				fi->orphan = false;
			}
			continue;
		}
		if (fi->in.nlink != want) {
			problem(f, true, "inode %" PRIu64 " has link count %u, "
				"should be %u", fi->ino, fi->in.nlink, want);
			fi->in.nlink = want;
			fi->changed = true;
		}
	}
	if (r < 0)
		goto out;

	verbose(f, "pass 5: chunk records");
	r = meta_begin(&f->meta, &t, false);
	if (r == 0) {
		r = meta_chunk_walk_all(&t, chunk_fn, &cp);
		meta_abort(&t);
	}
	tick_done(f);
	if (r < 0)
		goto out;
	idset_sort(&f->ids);
	for (size_t i = 1; i < f->ids.n; i++)
		if (f->ids.v[i] == f->ids.v[i - 1])
			problem(f, false, "chunk id %" PRIu64
				" is named by two records", f->ids.v[i]);
	if (repair)
		r = meta_update(&f->meta, fix_chunks_fn, &cp);
	for (size_t i = 0; r == 0 && i < f->ninos; i++) {
		struct fino *fi = &f->inos[i];
		if (!S_ISREG(fi->in.mode) || !fi->reach)
			continue;
		if (fi->in.spent != fi->spent) {
			problem(f, true, "inode %" PRIu64 " counts %" PRIu64
				" bytes of data, its chunks hold %" PRIu64,
				fi->ino, fi->in.spent, fi->spent);
			fi->in.spent = fi->spent;
			fi->changed = true;
		}
	}
	for (size_t i = 0; r == 0 && repair && i < f->ninos; i++)
		if (f->inos[i].changed && f->inos[i].reach)
			r = meta_update(&f->meta, put_inode_fn, &f->inos[i]);
	if (r < 0)
		goto out;

	verbose(f, "pass 6: chunk files");
	r = chunk_scan_files(&f->chunks, file_fn, &fp);
	tick_done(f);
	if (r == 0 && repair && cp.nbad) {
		r = meta_sync(&f->meta);
		for (size_t i = 0; r == 0 && i < cp.nbad; i++)
			if (cp.bad[i].drop)
				chunk_drop(&f->chunks, cp.bad[i].rec.id);
	}
	for (size_t i = 0; r == 0 && repair && i < fp.nstray; i++)
		chunk_drop(&f->chunks, fp.stray[i]);

	verbose(f, "pass 7: symlinks and xattrs");
	if (r == 0)
		r = check_keys(f, f->meta.symlinks, "symlink target");
	if (r == 0)
		r = check_keys(f, f->meta.xattrs, "extended attribute");
	for (size_t i = 0; r == 0 && i < f->ninos; i++) {
		struct fino *fi = &f->inos[i];
		if (S_ISLNK(fi->in.mode) && fi->reach) {
			char buf[SFS_SYMLINK_MAX + 1];
			int e = meta_begin(&f->meta, &t, false);
			if (e == 0) {
				e = meta_symlink_get(&t, fi->ino, buf,
						     sizeof(buf));
				meta_abort(&t);
			}
			if (e == -ENOENT)
				problem(f, false, "symlink inode %" PRIu64
					" has no target", fi->ino);
		}
	}
out:
	free(dp.bad);
	free(cp.bad);
	free(fp.stray);
	free(lost.v);
	return r;
}

int fsck_run(const char *path, int flags, FILE *out)
{
	struct fsck f = {.out = out, .flags = flags};
	bool repair = flags & FSCK_REPAIR;
	char msg[512];
	int r;

	r = store_open(&f.store, path, 0,
		       STORE_LOCK | (repair ? 0 : STORE_RDONLY), msg,
		       sizeof(msg));
	if (r == -EBUSY) {
		fprintf(out, "fsck.sparsefs: %s is mounted or in use; unmount "
			     "it first\n", path);
		return FSCK_ERROR;
	}
	if (r == -EUCLEAN) {
		fprintf(out, "fsck.sparsefs: %s: %s\n", path, msg);
		return FSCK_UNCORRECTED;
	}
	if (r == -EROFS) {
		fprintf(out, "fsck.sparsefs: %s is read-only: cannot repair "
			     "(use -n to check only)\n", path);
		return FSCK_ERROR;
	}
	if (r < 0) {
		fprintf(out, "fsck.sparsefs: %s\n", msg);
		return FSCK_ERROR;
	}
	r = meta_open(&f.meta, &f.store, repair ? 0 : META_RDONLY, msg,
		      sizeof(msg));
	if (r < 0) {
		fprintf(out, "fsck.sparsefs: %s: %s\n", path, msg);
		store_close(&f.store);
		return r == -EUCLEAN ? FSCK_UNCORRECTED : FSCK_ERROR;
	}
	r = chunk_init(&f.chunks, &f.store, &f.meta);
	/* Repairs see chunk files as the fsync journal leaves them (see
	 * chunk_journal_start); a check only leaves it to the next mount. */
	if (r == 0 && repair)
		r = chunk_journal_settle(&f.chunks);
	if (r == 0)
		r = check(&f);
	chunk_fini(&f.chunks);
	meta_close(&f.meta, r == 0);
	store_close(&f.store);
	free(f.inos);
	idset_free(&f.ids);
	if (r < 0) {
		fprintf(out, "fsck.sparsefs: %s: %s\n", path, strerror(-r));
		return FSCK_ERROR;
	}
	if (!f.problems) {
		fprintf(out, "%s: clean\n", path);
		return FSCK_OK;
	}
	fprintf(out, "%s: %lu problem%s, %lu fixed\n", path, f.problems,
		f.problems == 1 ? "" : "s", f.fixed);
	return f.fixed == f.problems ? FSCK_CORRECTED : FSCK_UNCORRECTED;
}
