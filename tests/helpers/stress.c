/*
 * stress - bounded concurrency stress on a mounted file system.
 *
 *   stress [-p PROCS] [-t THREADS] [-d SECONDS] [-s SEED] run DIR
 *   stress [-p PROCS] [-t THREADS] verify DIR
 *
 * run forks PROCS processes of THREADS threads each (default 4 x 4) that
 * work in DIR for SECONDS seconds (default 20) in two phases:
 *
 * 1. Random: each thread picks operations at random (create, write, read,
 *    append, truncate, rename, unlink, mkdir, rmdir, link, fsync,
 *    fdatasync, readdir + stat) on names shared by all threads,
 *    DIR/shared/dK/nJ and DIR/shared/dK/nJ/nI, so that they collide all
 *    the time.  Errors that such collisions give (ENOENT, EEXIST,
 *    ENOTEMPTY, ENOTDIR, EISDIR, EINVAL for a directory moved into itself,
 *    EPERM for a link to a directory) are expected; any other (EIO,
 *    ENOTCONN, ENOSPC, ESTALE, ...) is a failure.  A quarter of the
 *    operations go to the thread's private file DIR/private/pP-tT, kept
 *    against an in-memory copy: every read must give exactly the bytes the
 *    copy holds.
 * 2. Final (the last part of the time, or at least one pass): each thread
 *    runs a fixed script, a function of (P, T) only, in DIR/final/pP-tT
 *    and, with names of its own, in the shared DIR/final/common: writes in
 *    pieces, overwrites, appends, truncates down and up (holes), renames
 *    (also into a subdirectory), hard links written through, unlinks,
 *    mkdir + rmdir, fsync.  It keeps a model of what the script leaves.
 *
 * After the processes end, run checks what verify checks.  verify (run
 * later, after a remount, say) rebuilds every thread's model and checks
 * that DIR/final holds exactly that: the same names, types, sizes, bytes
 * and link counts, nothing more; and that DIR/shared is consistent: every
 * file reads exactly st_size bytes, every file's st_nlink is the number of
 * names it has in DIR/shared, every directory's st_nlink is 2 + its
 * subdirectories.
 *
 * Exit 0 when all is well; 1 with the reasons on stderr; 2 on usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NDIRS 4
#define NNAMES 12
#define NSUB 8
#define MAX_OFF (512 * 1024)
#define MAX_WRITE (64 * 1024)
#define MAX_TRUNC (600 * 1024)
#define PRIVATE_MAX (512 * 1024)
#define FINAL_FILES 16
#define COMMON_FILES 4
#define MAX_ENTRIES 128
#define MAX_REPORTS 30

static const char *root;
static int nprocs = 4, nthreads = 4;
static int seconds = 20;
static uint64_t seed = 1;
static double deadline;

/* ---- reporting ---- */

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int reports;

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	if (reports++ < MAX_REPORTS) {
		va_start(ap, fmt);
		fputs("stress: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	pthread_mutex_unlock(&report_lock);
}

static size_t size_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- randomness: splitmix64, per thread ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t next_rand(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return mix(*state);
}

static uint64_t below(uint64_t *state, uint64_t n)
{
	return n ? next_rand(state) % n : 0;
}

/* Bytes derived from (tag, absolute offset): a file's content can be
 * checked piece by piece whatever order the pieces were written in. */
static void fill(unsigned char *buf, size_t len, uint64_t tag, uint64_t off)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;
		buf[i] = (unsigned char)(mix(tag ^ (o >> 3)) >> (8 * (o & 7)));
	}
}

/* ---- the per-thread state ---- */

struct worker {
	int p, t;
	uint64_t rng;
	unsigned char *buf;	/* MAX_WRITE bytes */
	unsigned char *priv;	/* the private file's model */
	size_t priv_size;
	int priv_fd;
	unsigned long ops, expected_errors, failures;
};

static bool expected_errno(int e)
{
	switch (e) {
	case ENOENT: case EEXIST: case ENOTEMPTY: case ENOTDIR: case EISDIR:
	case EINVAL: case EPERM:
		return true;
	default:
		return false;
	}
}

/* check W OP PATH RESULT: count an expected error, report another. */
static void check(struct worker *w, const char *op, const char *path, int r)
{
	w->ops++;
	if (r >= 0)
		return;
	if (expected_errno(errno)) {
		w->expected_errors++;
		return;
	}
	w->failures++;
	complain("p%d t%d: %s %s: %s", w->p, w->t, op, path, strerror(errno));
}

static void shared_path(struct worker *w, char *buf, size_t len)
{
	int d = (int)below(&w->rng, NDIRS), n = (int)below(&w->rng, NNAMES);

	if (below(&w->rng, 3) == 0)
		snprintf(buf, len, "%s/shared/d%d/n%d/n%d", root, d, n,
			 (int)below(&w->rng, NSUB));
	else
		snprintf(buf, len, "%s/shared/d%d/n%d", root, d, n);
}

/* ---- phase 1: random operations ---- */

static void op_write(struct worker *w, const char *path, int flags)
{
	size_t len = 1 + below(&w->rng, MAX_WRITE);
	off_t off = (off_t)below(&w->rng, MAX_OFF);
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	ssize_t n;

	check(w, "open for writing", path, fd);
	if (fd < 0)
		return;
	fill(w->buf, len, next_rand(&w->rng), 0);
	if (flags & O_APPEND)
		n = write(fd, w->buf, len);
	else
		n = pwrite(fd, w->buf, len, off);
	check(w, "write", path, (int)n);
	if (n >= 0 && (size_t)n != len) {
		w->failures++;
		complain("p%d t%d: write %s: %zd of %zu bytes", w->p, w->t,
			 path, n, len);
	}
	if (below(&w->rng, 8) == 0)
		check(w, below(&w->rng, 2) ? "fsync" : "fdatasync", path,
		      below(&w->rng, 2) ? fsync(fd) : fdatasync(fd));
	check(w, "close", path, close(fd));
}

static void op_read(struct worker *w, const char *path)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	check(w, "open for reading", path, fd);
	if (fd < 0)
		return;
	do {
		n = read(fd, w->buf, MAX_WRITE);
	} while (n > 0);
	check(w, "read", path, (int)n);
	close(fd);
}

static void op_readdir(struct worker *w)
{
	char path[256], ent[600];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof(path), "%s/shared/d%d", root,
		 (int)below(&w->rng, NDIRS));
	d = opendir(path);
	check(w, "opendir", path, d ? 0 : -1);
	if (!d)
		return;
	errno = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(ent, sizeof(ent), "%s/%s", path, de->d_name);
		check(w, "lstat", ent, lstat(ent, &st));
		errno = 0;
	}
	check(w, "readdir", path, errno ? -1 : 0);
	closedir(d);
}

static void private_fail(struct worker *w, const char *what, off_t off)
{
	w->failures++;
	complain("p%d t%d: private file: %s at %lld (model size %zu)", w->p,
		 w->t, what, (long long)off, w->priv_size);
}

/* One operation on the private file, checked against its model. */
static void op_private(struct worker *w)
{
	int which = (int)below(&w->rng, 4);
	size_t len = 1 + below(&w->rng, MAX_WRITE);
	off_t off = (off_t)below(&w->rng, PRIVATE_MAX - MAX_WRITE);
	ssize_t n;

	w->ops++;
	if (which == 0) {
		size_t size = below(&w->rng, PRIVATE_MAX);
		if (ftruncate(w->priv_fd, size) < 0) {
			private_fail(w, strerror(errno), size);
			return;
		}
		if (size > w->priv_size)
			memset(w->priv + w->priv_size, 0, size - w->priv_size);
		w->priv_size = size;
	} else if (which == 1) {
		fill(w->buf, len, next_rand(&w->rng), 0);
		n = pwrite(w->priv_fd, w->buf, len, off);
		if (n != (ssize_t)len) {
			private_fail(w, n < 0 ? strerror(errno) : "short write",
				     off);
			return;
		}
		if ((size_t)off > w->priv_size)
			memset(w->priv + w->priv_size, 0, off - w->priv_size);
		memcpy(w->priv + off, w->buf, len);
		if ((size_t)off + len > w->priv_size)
			w->priv_size = off + len;
	} else {
		/* Read a range (or everything) and compare. */
		size_t want;
		if (which == 3) {
			off = 0;
			len = PRIVATE_MAX;
		}
		want = (size_t)off >= w->priv_size
			       ? 0
			       : size_min(len, w->priv_size - off);
		n = pread(w->priv_fd, w->priv + PRIVATE_MAX, len, off);
		if (n < 0) {
			private_fail(w, strerror(errno), off);
			return;
		}
		if ((size_t)n != want) {
			private_fail(w, "short read", off);
			return;
		}
		if (memcmp(w->priv + PRIVATE_MAX, w->priv + off, want))
			private_fail(w, "read gives other bytes than written",
				     off);
	}
}

static void random_op(struct worker *w)
{
	char a[256], b[256];
	int r;

	shared_path(w, a, sizeof(a));
	switch (below(&w->rng, 16)) {
	case 0: case 1:
		op_write(w, a, 0);
		break;
	case 2:
		op_write(w, a, O_TRUNC);
		break;
	case 3:
		op_write(w, a, O_APPEND);
		break;
	case 4: case 5:
		op_read(w, a);
		break;
	case 6:
		check(w, "truncate", a,
		      truncate(a, (off_t)below(&w->rng, MAX_TRUNC)));
		break;
	case 7:
		shared_path(w, b, sizeof(b));
		check(w, "rename", a, rename(a, b));
		break;
	case 8:
		check(w, "unlink", a, unlink(a));
		break;
	case 9:
		/* Directories only one level down: names stay bounded. */
		snprintf(b, sizeof(b), "%s/shared/d%d/n%d", root,
			 (int)below(&w->rng, NDIRS),
			 (int)below(&w->rng, NNAMES));
		check(w, "mkdir", b, mkdir(b, 0755));
		break;
	case 10:
		check(w, "rmdir", a, rmdir(a));
		break;
	case 11:
		shared_path(w, b, sizeof(b));
		r = link(a, b);
		check(w, "link", a, r);
		break;
	case 12:
		op_readdir(w);
		break;
	default:
		op_private(w);
		break;
	}
}

/* ---- phase 2: the deterministic script, and its model ---- */

struct m_inode {
	unsigned char *data;
	size_t size, cap;
	int nlink;
	bool dir;
};

struct m_entry {
	char path[96]; /* relative to DIR/final */
	int ino;
};

struct model {
	bool real; /* also do it on the file system */
	struct worker *w;
	struct m_inode inodes[MAX_ENTRIES];
	int ninodes;
	struct m_entry ents[MAX_ENTRIES];
	int nents;
	bool broken;
};

static void m_fail(struct model *m, const char *op, const char *path)
{
	m->broken = true;
	if (m->w)
		m->w->failures++;
	complain("final phase: %s %s: %s", op, path, strerror(errno));
}

static int m_find(struct model *m, const char *path)
{
	for (int i = 0; i < m->nents; i++)
		if (!strcmp(m->ents[i].path, path))
			return i;
	return -1;
}

static void real_path(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/final/%s", root, rel);
}

static int m_add(struct model *m, const char *path, bool dir)
{
	struct m_inode *in = &m->inodes[m->ninodes];

	memset(in, 0, sizeof(*in));
	in->nlink = dir ? 2 : 1;
	in->dir = dir;
	snprintf(m->ents[m->nents].path, sizeof(m->ents[0].path), "%s", path);
	m->ents[m->nents++].ino = m->ninodes;
	return m->ninodes++;
}

static void m_resize(struct m_inode *in, size_t size)
{
	if (size > in->cap) {
		size_t cap = size + 65536;
		in->data = realloc(in->data, cap);
		if (!in->data)
			abort();
		in->cap = cap;
	}
	if (size > in->size)
		memset(in->data + in->size, 0, size - in->size);
	in->size = size;
}

static void m_write(struct model *m, const char *path, size_t off,
		    size_t len, uint64_t tag, bool append)
{
	char rp[256];
	int e = m_find(m, path);
	struct m_inode *in;
	unsigned char *buf = malloc(len ? len : 1);

	if (!buf)
		abort();
	if (e < 0) {
		m_add(m, path, false);
		e = m->nents - 1;
	}
	in = &m->inodes[m->ents[e].ino];
	if (append)
		off = in->size;
	fill(buf, len, tag, off);
	if (m->real) {
		int fd;
		real_path(path, rp, sizeof(rp));
		fd = open(rp, O_WRONLY | O_CREAT | (append ? O_APPEND : 0),
			  0644);
		if (fd < 0) {
			m_fail(m, "open", rp);
		} else {
			ssize_t n = append ? write(fd, buf, len)
					   : pwrite(fd, buf, len, off);
			if (n != (ssize_t)len)
				m_fail(m, "write", rp);
			if (close(fd) < 0)
				m_fail(m, "close", rp);
		}
	}
	if (off + len > in->size)
		m_resize(in, off + len);
	if (len)
		memcpy(in->data + off, buf, len);
	free(buf);
}

static void m_truncate(struct model *m, const char *path, size_t size)
{
	char rp[256];
	int e = m_find(m, path);

	if (m->real) {
		real_path(path, rp, sizeof(rp));
		if (truncate(rp, size) < 0)
			m_fail(m, "truncate", rp);
	}
	m_resize(&m->inodes[m->ents[e].ino], size);
}

static void m_fsync(struct model *m, const char *path)
{
	char rp[256];
	int fd;

	if (!m->real)
		return;
	real_path(path, rp, sizeof(rp));
	fd = open(rp, O_RDONLY);
	if (fd < 0 || fsync(fd) < 0)
		m_fail(m, "fsync", rp);
	if (fd >= 0)
		close(fd);
}

static void m_mkdir(struct model *m, const char *path)
{
	char rp[256];

	if (m->real) {
		real_path(path, rp, sizeof(rp));
		if (mkdir(rp, 0755) < 0)
			m_fail(m, "mkdir", rp);
	}
	m_add(m, path, true);
}

static void m_drop(struct model *m, int e)
{
	m->inodes[m->ents[e].ino].nlink--;
	m->ents[e] = m->ents[--m->nents];
}

static void m_rmdir(struct model *m, const char *path)
{
	char rp[256];

	if (m->real) {
		real_path(path, rp, sizeof(rp));
		if (rmdir(rp) < 0)
			m_fail(m, "rmdir", rp);
	}
	m_drop(m, m_find(m, path));
}

static void m_unlink(struct model *m, const char *path)
{
	char rp[256];

	if (m->real) {
		real_path(path, rp, sizeof(rp));
		if (unlink(rp) < 0)
			m_fail(m, "unlink", rp);
	}
	m_drop(m, m_find(m, path));
}

static void m_rename(struct model *m, const char *from, const char *to)
{
	char a[256], b[256];
	int e = m_find(m, from), old = m_find(m, to);

	if (m->real) {
		real_path(from, a, sizeof(a));
		real_path(to, b, sizeof(b));
		if (rename(a, b) < 0)
			m_fail(m, "rename", a);
	}
	if (old >= 0) {
		m_drop(m, old);
		e = m_find(m, from);
	}
	snprintf(m->ents[e].path, sizeof(m->ents[0].path), "%s", to);
}

static void m_link(struct model *m, const char *from, const char *to)
{
	char a[256], b[256];
	int e = m_find(m, from);

	if (m->real) {
		real_path(from, a, sizeof(a));
		real_path(to, b, sizeof(b));
		if (link(a, b) < 0)
			m_fail(m, "link", a);
	}
	snprintf(m->ents[m->nents].path, sizeof(m->ents[0].path), "%s", to);
	m->ents[m->nents++].ino = m->ents[e].ino;
	m->inodes[m->ents[e].ino].nlink++;
}

/* The script of thread (p, t). */
static void script(struct model *m, int p, int t)
{
	uint64_t rng = mix(((uint64_t)p << 32) | (uint64_t)t | 0x5100000000000000ull);
	static const size_t sizes[] = {0,     1,     4095,   4096,  65535,
				       65536, 65537, 100000, 131079, 200000,
				       262144, 300001};
	char base[32], f[96], g[96];

	snprintf(base, sizeof(base), "p%d-t%d", p, t);
	m_mkdir(m, base);
	for (int i = 0; i < FINAL_FILES; i++) {
		size_t size = sizes[(i + p + t) % 12] + below(&rng, 3);
		uint64_t tag = next_rand(&rng);
		size_t done = 0;

		snprintf(f, sizeof(f), "%s/f%02d", base, i);
		/* Pieces, sometimes back to front, some overlapping. */
		if (size == 0)
			m_write(m, f, 0, 0, tag, false);
		if (below(&rng, 2)) {
			while (done < size) {
				size_t len = 1 + below(&rng, 40000);
				len = len < size - done ? len : size - done;
				m_write(m, f, done, len, tag, false);
				done += len;
			}
		} else {
			size_t end = size;
			while (end > 0) {
				size_t len = 1 + below(&rng, 40000);
				len = len < end ? len : end;
				m_write(m, f, end - len, len, tag + 1, false);
				end -= len;
			}
		}
		if (size > 10)
			m_write(m, f, below(&rng, size / 2), size / 3, tag + 2,
				false);
		switch (i % 8) {
		case 0:
			m_write(m, f, 0, 5000, tag + 3, true);
			break;
		case 1:
			m_truncate(m, f, size / 3);
			break;
		case 2:
			m_truncate(m, f, size + 150000);
			m_write(m, f, size + 149950, 100, tag + 4, false);
			break;
		case 3:
			snprintf(g, sizeof(g), "%s/g%02d", base, i);
			m_rename(m, f, g);
			break;
		case 4:
			snprintf(g, sizeof(g), "%s/h%02d", base, i);
			m_link(m, f, g);
			m_write(m, g, 10, 1000, tag + 5, false);
			break;
		case 5:
			m_unlink(m, f);
			break;
		case 6:
			snprintf(g, sizeof(g), "%s/sub%02d", base, i);
			m_mkdir(m, g);
			snprintf(g, sizeof(g), "%s/sub%02d/f", base, i);
			m_rename(m, f, g);
			m_write(m, g, 7, 3000, tag + 6, false);
			break;
		default:
			snprintf(g, sizeof(g), "%s/e%02d", base, i);
			m_mkdir(m, g);
			m_rmdir(m, g);
			m_fsync(m, f);
			break;
		}
	}
	/* Names of its own in a directory every thread writes to. */
	for (int j = 0; j < COMMON_FILES; j++) {
		snprintf(f, sizeof(f), "common/c-p%d-t%d-%d", p, t, j);
		m_write(m, f, 0, 1000 + 7919 * j, next_rand(&rng), false);
	}
	snprintf(f, sizeof(f), "common/c-p%d-t%d-0", p, t);
	snprintf(g, sizeof(g), "common/r-p%d-t%d", p, t);
	m_rename(m, f, g);
	snprintf(f, sizeof(f), "common/c-p%d-t%d-1", p, t);
	snprintf(g, sizeof(g), "common/c-p%d-t%d-2", p, t);
	m_rename(m, f, g); /* over an existing one */
	snprintf(f, sizeof(f), "common/c-p%d-t%d-3", p, t);
	m_unlink(m, f);
	/* Directory link counts: 2 + subdirectories. */
	for (int i = 0; i < m->nents; i++) {
		struct m_inode *in = &m->inodes[m->ents[i].ino];
		size_t n = strlen(m->ents[i].path);
		if (!in->dir)
			continue;
		in->nlink = 2;
		for (int j = 0; j < m->nents; j++) {
			const char *pj = m->ents[j].path;
			if (m->inodes[m->ents[j].ino].dir &&
			    !strncmp(pj, m->ents[i].path, n) && pj[n] == '/' &&
			    !strchr(pj + n + 1, '/'))
				in->nlink++;
		}
	}
}

static void model_free(struct model *m)
{
	for (int i = 0; i < m->ninodes; i++)
		free(m->inodes[i].data);
}

/* Check the file system against the model of (p, t); returns problems. */
static int verify_model(struct model *m, int p, int t)
{
	char rp[256], base[32];
	int bad = 0;
	unsigned char *buf;
	DIR *d;
	struct dirent *de;

	snprintf(base, sizeof(base), "p%d-t%d", p, t);
	for (int i = 0; i < m->nents; i++) {
		struct m_inode *in = &m->inodes[m->ents[i].ino];
		struct stat st;
		real_path(m->ents[i].path, rp, sizeof(rp));
		if (lstat(rp, &st) < 0) {
			complain("verify: %s: %s", rp, strerror(errno));
			bad++;
			continue;
		}
		if (in->dir != !!S_ISDIR(st.st_mode) ||
		    (!in->dir && !S_ISREG(st.st_mode))) {
			complain("verify: %s: wrong type (mode %o)", rp,
				 st.st_mode);
			bad++;
			continue;
		}
		if ((int)st.st_nlink != in->nlink) {
			complain("verify: %s: st_nlink %lu, expected %d", rp,
				 (unsigned long)st.st_nlink, in->nlink);
			bad++;
		}
		if (in->dir)
			continue;
		if ((size_t)st.st_size != in->size) {
			complain("verify: %s: size %lld, expected %zu", rp,
				 (long long)st.st_size, in->size);
			bad++;
			continue;
		}
		buf = malloc(in->size + 1);
		if (!buf)
			abort();
		{
			int fd = open(rp, O_RDONLY);
			ssize_t n = fd < 0 ? -1 : pread(fd, buf, in->size + 1, 0);
			size_t got = n < 0 ? 0 : (size_t)n;
			/* pread may return less than asked: loop. */
			while (n > 0 && got < in->size + 1) {
				n = pread(fd, buf + got, in->size + 1 - got,
					  got);
				if (n > 0)
					got += n;
			}
			if (fd < 0 || n < 0) {
				complain("verify: read %s: %s", rp,
					 strerror(errno));
				bad++;
			} else if (got != in->size) {
				complain("verify: %s: read %zu bytes, size "
					 "%zu", rp, got, in->size);
				bad++;
			} else if (in->size && memcmp(buf, in->data, in->size)) {
				size_t k = 0;
				while (buf[k] == in->data[k])
					k++;
				complain("verify: %s: content differs from "
					 "byte %zu on", rp, k);
				bad++;
			}
			if (fd >= 0)
				close(fd);
		}
		free(buf);
	}
	/* Nothing more in the thread's directories than the model has. */
	for (int i = 0; i < m->nents; i++) {
		if (!m->inodes[m->ents[i].ino].dir)
			continue;
		real_path(m->ents[i].path, rp, sizeof(rp));
		d = opendir(rp);
		if (!d) {
			complain("verify: opendir %s: %s", rp, strerror(errno));
			bad++;
			continue;
		}
		while ((de = readdir(d))) {
			char rel[400];
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", m->ents[i].path,
				 de->d_name);
			if (m_find(m, rel) < 0) {
				complain("verify: final/%s should not exist",
					 rel);
				bad++;
			}
		}
		closedir(d);
	}
	return bad;
}

static int common_expected(struct model *m)
{
	int n = 0;

	for (int i = 0; i < m->nents; i++)
		n += !strncmp(m->ents[i].path, "common/", 7);
	return n;
}

/* ---- consistency of DIR/shared ---- */

struct name_count {
	ino_t ino;
	nlink_t nlink;
	int names;
};

struct shared_walk {
	struct name_count *v;
	size_t n, cap;
	int bad;
	unsigned char *buf;
};

static void walk_shared(struct shared_walk *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];
	struct stat st, dst;
	int subdirs = 0;

	if (!d) {
		complain("check: opendir %s: %s", dir, strerror(errno));
		s->bad++;
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) < 0) {
			complain("check: lstat %s: %s", path, strerror(errno));
			s->bad++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			subdirs++;
			walk_shared(s, path);
		} else if (S_ISREG(st.st_mode)) {
			int fd = open(path, O_RDONLY);
			off_t total = 0;
			ssize_t n = 0;
			size_t i;

			if (fd < 0) {
				complain("check: open %s: %s", path,
					 strerror(errno));
				s->bad++;
				continue;
			}
			while ((n = read(fd, s->buf, MAX_WRITE)) > 0)
				total += n;
			close(fd);
			if (n < 0 || total != st.st_size) {
				complain("check: %s: read %lld bytes (%s), "
					 "st_size %lld", path,
					 (long long)total,
					 n < 0 ? strerror(errno) : "to EOF",
					 (long long)st.st_size);
				s->bad++;
			}
			for (i = 0; i < s->n; i++)
				if (s->v[i].ino == st.st_ino)
					break;
			if (i == s->n) {
				if (s->n == s->cap) {
					s->cap = s->cap ? 2 * s->cap : 256;
					s->v = realloc(s->v,
						       s->cap * sizeof(*s->v));
					if (!s->v)
						abort();
				}
				s->v[s->n++] = (struct name_count){
					st.st_ino, st.st_nlink, 0};
			}
			s->v[i].names++;
		} else {
			complain("check: %s: unexpected type %o", path,
				 st.st_mode);
			s->bad++;
		}
	}
	closedir(d);
	if (stat(dir, &dst) == 0 && dst.st_nlink != (nlink_t)(2 + subdirs)) {
		complain("check: directory %s: st_nlink %lu, it has %d "
			 "subdirectories", dir, (unsigned long)dst.st_nlink,
			 subdirs);
		s->bad++;
	}
}

static int check_shared(void)
{
	struct shared_walk s = {0};
	char path[256];

	s.buf = malloc(MAX_WRITE);
	if (!s.buf)
		abort();
	snprintf(path, sizeof(path), "%s/shared", root);
	walk_shared(&s, path);
	for (size_t i = 0; i < s.n; i++) {
		if ((int)s.v[i].nlink != s.v[i].names) {
			complain("check: inode %llu: st_nlink %lu, but %d "
				 "names in shared/",
				 (unsigned long long)s.v[i].ino,
				 (unsigned long)s.v[i].nlink, s.v[i].names);
			s.bad++;
		}
	}
	printf("stress: shared/: %zu files, %d problems\n", s.n, s.bad);
	free(s.v);
	free(s.buf);
	return s.bad;
}

static int verify_all(void)
{
	int bad = check_shared(), common = 0, seen = 0;
	char path[256];
	struct dirent *de;
	DIR *d;

	for (int p = 0; p < nprocs; p++) {
		for (int t = 0; t < nthreads; t++) {
			struct model *m = calloc(1, sizeof(*m));
			if (!m)
				abort();
			script(m, p, t);
			bad += verify_model(m, p, t);
			common += common_expected(m);
			model_free(m);
			free(m);
		}
	}
	snprintf(path, sizeof(path), "%s/final/common", root);
	d = opendir(path);
	if (!d) {
		complain("verify: opendir %s: %s", path, strerror(errno));
		return bad + 1;
	}
	while ((de = readdir(d)))
		seen += de->d_name[0] != '.';
	closedir(d);
	if (seen != common) {
		complain("verify: final/common has %d entries, expected %d",
			 seen, common);
		bad++;
	}
	snprintf(path, sizeof(path), "%s/final", root);
	d = opendir(path);
	seen = 0;
	while (d && (de = readdir(d)))
		seen += de->d_name[0] != '.';
	if (d)
		closedir(d);
	if (seen != nprocs * nthreads + 1) {
		complain("verify: final/ has %d entries, expected %d", seen,
			 nprocs * nthreads + 1);
		bad++;
	}
	printf("stress: final/: %d thread directories checked, %d problems\n",
	       nprocs * nthreads, bad);
	return bad;
}

/* ---- the run ---- */

static void *thread_main(void *arg)
{
	struct worker *w = arg;
	char path[256];
	struct model *m;
	double end_random = deadline - (seconds > 4 ? 2 : 0);

	w->buf = malloc(MAX_WRITE);
	w->priv = calloc(2, PRIVATE_MAX);
	if (!w->buf || !w->priv)
		abort();
	snprintf(path, sizeof(path), "%s/private/p%d-t%d", root, w->p, w->t);
	w->priv_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (w->priv_fd < 0) {
		complain("p%d t%d: open %s: %s", w->p, w->t, path,
			 strerror(errno));
		w->failures++;
		return NULL;
	}
	while (now() < end_random && w->failures < 100)
		random_op(w);
	if (fsync(w->priv_fd) < 0) {
		complain("p%d t%d: fsync private: %s", w->p, w->t,
			 strerror(errno));
		w->failures++;
	}
	close(w->priv_fd);

	m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	m->real = true;
	m->w = w;
	script(m, w->p, w->t);
	model_free(m);
	free(m);
	free(w->buf);
	free(w->priv);
	return NULL;
}

static int child_main(int p)
{
	pthread_t th[64];
	struct worker *w = calloc(nthreads, sizeof(*w));
	unsigned long ops = 0, expected = 0, failures = 0;

	if (!w)
		return 1;
	for (int t = 0; t < nthreads; t++) {
		w[t].p = p;
		w[t].t = t;
		w[t].rng = mix(seed * 1000003 + (uint64_t)p * 64 + t);
		if (pthread_create(&th[t], NULL, thread_main, &w[t])) {
			fprintf(stderr, "stress: pthread_create failed\n");
			return 1;
		}
	}
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		ops += w[t].ops;
		expected += w[t].expected_errors;
		failures += w[t].failures;
	}
	printf("stress: process %d: %lu operations, %lu expected errors, "
	       "%lu failures\n", p, ops, expected, failures);
	free(w);
	return failures ? 1 : 0;
}

static int make_dir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int make_dir(const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "stress: mkdir %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int run(void)
{
	int bad = 0;
	pid_t pids[64];

	if (make_dir("%s/shared", root) || make_dir("%s/private", root) ||
	    make_dir("%s/final", root) || make_dir("%s/final/common", root))
		return 1;
	for (int d = 0; d < NDIRS; d++)
		if (make_dir("%s/shared/d%d", root, d))
			return 1;
	deadline = now() + seconds;
	fflush(stdout);
	for (int p = 0; p < nprocs; p++) {
		pids[p] = fork();
		if (pids[p] < 0) {
			perror("stress: fork");
			return 1;
		}
		if (pids[p] == 0)
			_exit(child_main(p));
	}
	for (int p = 0; p < nprocs; p++) {
		int status;
		if (waitpid(pids[p], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "stress: process %d failed (status "
					"%#x)\n", p, status);
			bad++;
		}
	}
	bad += verify_all();
	return bad ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress [-p PROCS] [-t THREADS] [-d SECONDS] "
			"[-s SEED] (run|verify) DIR\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "p:t:d:s:")) != -1) {
		switch (opt) {
		case 'p': nprocs = atoi(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		case 'd': seconds = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || nprocs < 1 || nprocs > 64 ||
	    nthreads < 1 || nthreads > 64 || seconds < 0)
		usage();
	root = argv[optind + 1];
	if (!strcmp(argv[optind], "run"))
		return run();
	if (!strcmp(argv[optind], "verify"))
		return verify_all() ? 1 : 0;
	usage();
	return 2;
}
