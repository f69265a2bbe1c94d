/*
 * unit.h - fixtures shared by the Check unit suites (one suite per layer).
 *
 * Every test runs in a fresh directory under ${TMPDIR:-/tmp}: add
 * unit_setup/unit_teardown as a checked fixture (or call them from the
 * suite's own fixture), and run the suite with unit_run(). The directory is
 * removed with nftw afterwards, also when the test fails (see
 * unit_teardown).
 *
 * unit_fs_open() makes a store, its metadata and its chunk layer in the
 * test's directory. Everything here is static (inline, so that a suite
 * that leaves a helper unused still compiles without warnings).
 */
#ifndef SFS_UNIT_H
#define SFS_UNIT_H

#include "sfs.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backing.h"
#include "chunk.h"
#include "meta.h"
#include "store.h"

/* Per-test time limit (seconds) in fork mode; CK_DEFAULT_TIMEOUT is 4. */
#define UNIT_TIMEOUT 120

/* The directory of this run, holding every test's directory. */
static char unit_base[PATH_MAX - 16];
/* The current test's directory ("" between tests). */
static char unit_dir[PATH_MAX];

static int unit_rm_fn(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Tests may drop write permission somewhere: give it back so that every
 * directory can be emptied. */
static int unit_chmod_fn(const char *path, const struct stat *st, int type,
			 struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(path, st->st_mode | 0700);
	return 0;
}

/* Remove @path and everything below it; 0 or -1 (errno set). */
static inline int unit_rm_tree(const char *path)
{
	nftw(path, unit_chmod_fn, 32, FTW_PHYS);
	if (nftw(path, unit_rm_fn, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return errno == ENOENT ? 0 : -1;
	return 0;
}

static inline void unit_setup(void)
{
	snprintf(unit_dir, sizeof(unit_dir), "%s/t.XXXXXX", unit_base);
	ck_assert_msg(unit_base[0] && mkdtemp(unit_dir) != NULL,
		      "mkdtemp in %s: %s", unit_base, strerror(errno));
}

/* With CK_FORK a failed assertion ends the test's process before the
 * teardown runs: unit_run() then removes what the test left. */
static inline void unit_teardown(void)
{
	int r = unit_rm_tree(unit_dir);

	ck_assert_msg(r == 0, "cannot remove %s: %s", unit_dir,
		      strerror(errno));
	unit_dir[0] = 0;
}

/*
 * The path of @fmt (printf-style, relative) inside the test's directory;
 * "" names the directory itself. Four rotating buffers: a result stays
 * valid for the next three calls.
 */
static inline const char *unit_path(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline const char *unit_path(const char *fmt, ...)
{
	static char bufs[4][PATH_MAX];
	static unsigned next;
	char *buf = bufs[next++ % 4];
	size_t n = strlen(unit_dir);
	va_list ap;

	ck_assert_uint_lt(n + 1, PATH_MAX);
	memcpy(buf, unit_dir, n + 1);
	if (fmt[0]) {
		buf[n++] = '/';
		va_start(ap, fmt);
		vsnprintf(buf + n, PATH_MAX - n, fmt, ap);
		va_end(ap);
	}
	return buf;
}

/* Write @len bytes to @path (created or emptied). */
static inline void unit_write_file(const char *path, const void *data,
				   size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_msg(write(fd, data, len) == (ssize_t)len, "write %s: %s",
		      path, strerror(errno));
	ck_assert_int_eq(close(fd), 0);
}

/* Read at most @len bytes of @path into @buf; returns the count. */
static inline size_t unit_read_file(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	n = read(fd, buf, len);
	ck_assert_msg(n >= 0, "read %s: %s", path, strerror(errno));
	close(fd);
	return (size_t)n;
}

/* Size of @path, or -1 if it does not exist. */
static inline off_t unit_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : st.st_size;
}

static inline bool unit_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static size_t unit_nfiles;

static int unit_count_fn(const char *path, const struct stat *st, int type,
			 struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F && S_ISREG(st->st_mode))
		unit_nfiles++;
	return 0;
}

/* Regular files anywhere below @path (0 if it does not exist). */
static inline size_t unit_count_files(const char *path)
{
	unit_nfiles = 0;
	if (nftw(path, unit_count_fn, 32, FTW_PHYS) < 0)
		ck_assert_msg(errno == ENOENT, "nftw %s: %s", path,
			      strerror(errno));
	return unit_nfiles;
}

static int unit_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in directory @path (without "." and ".."), sorted, joined by
 * '/' into @buf: a listing that two calls can compare with strcmp.
 */
static inline void unit_list_dir(const char *path, char *buf, size_t len)
{
	char *names[256];
	size_t n = 0, used = 0;
	struct dirent *de;
	DIR *d = opendir(path);

	ck_assert_msg(d != NULL, "opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ck_assert_uint_lt(n, SFS_ARRAY_SIZE(names));
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), unit_cmp_str);
	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%s/", names[i]);
		free(names[i]);
	}
	ck_assert_uint_lt(used, len);
}

/* Open file descriptors of this process (to catch leaks on error paths). */
static inline int unit_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert(d != NULL);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A filled pattern that differs per offset and per @seed. */
static inline void unit_fill(void *buf, size_t len, uint64_t off,
			     unsigned seed)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t x = off + i;
		p[i] = (unsigned char)((x * 131 + (x >> 9) * 7 + seed * 29) |
				       1);
	}
}

/* Index of the first nonzero byte of @buf, or @len if it is all zero. */
static inline size_t unit_first_nonzero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			break;
	return i;
}

/* ---- a whole store ---- */

struct unit_fs {
	struct store s;
	struct meta m;
	struct chunks c;
	bool store_open, meta_open, chunks_open;
};

/* Open the metadata (and, unless @meta_flags is META_RDONLY, the chunk
 * layer) over the open store of @u. */
static inline void unit_fs_open_layers(struct unit_fs *u, int meta_flags)
{
	char msg[256] = "";
	int r;

	r = meta_open(&u->m, &u->s, meta_flags, msg, sizeof(msg));
	ck_assert_msg(r == 0, "meta_open: %d (%s)", r, msg);
	u->meta_open = true;
	if (!(meta_flags & META_RDONLY)) {
		r = chunk_init(&u->c, &u->s, &u->m);
		ck_assert_msg(r == 0, "chunk_init: %d", r);
		u->chunks_open = true;
	}
}

/* Create (or open) a store in the test's directory with chunks of
 * @chunk_size bytes (0: the default), its metadata and chunk layer. */
static inline void unit_fs_open(struct unit_fs *u, uint64_t chunk_size)
{
	char msg[256] = "";
	int r;

	memset(u, 0, sizeof(*u));
	r = store_open(&u->s, unit_dir,
		       chunk_size ? chunk_size : STORE_CHUNK_DEFAULT,
		       STORE_CREATE | STORE_LOCK, msg, sizeof(msg));
	ck_assert_msg(r == 0, "store_open %s: %d (%s)", unit_dir, r, msg);
	u->store_open = true;
	unit_fs_open_layers(u, 0);
}

/* Close the chunk layer and the metadata (marking the store clean), but
 * keep the store open. */
static inline void unit_fs_close_layers(struct unit_fs *u)
{
	if (u->chunks_open)
		chunk_fini(&u->c);
	u->chunks_open = false;
	if (u->meta_open)
		meta_close(&u->m, true);
	u->meta_open = false;
}

static inline void unit_fs_close(struct unit_fs *u)
{
	unit_fs_close_layers(u);
	if (u->store_open)
		store_close(&u->s);
	u->store_open = false;
}

/* Close everything and open it again, as a restarted daemon would. */
static inline void unit_fs_reopen(struct unit_fs *u)
{
	uint64_t chunk_size = u->s.chunk_size;

	unit_fs_close(u);
	unit_fs_open(u, chunk_size);
	ck_assert(!u->s.created);
}

/* ---- metadata shortcuts (each its own transaction) ---- */

static inline int unit_inode_get(struct meta *m, uint64_t ino,
				 struct meta_inode *in)
{
	struct meta_txn t;
	int r = meta_begin(m, &t, false);

	if (r < 0)
		return r;
	r = meta_inode_get(&t, ino, in);
	meta_abort(&t);
	return r;
}

/* The inode, asserting that it exists. */
static inline struct meta_inode unit_inode(struct meta *m, uint64_t ino)
{
	struct meta_inode in;
	int r = unit_inode_get(m, ino, &in);

	ck_assert_msg(r == 0, "inode %llu: %d", (unsigned long long)ino, r);
	return in;
}

static inline int unit_lookup(struct meta *m, uint64_t dir, const char *name,
			      uint64_t *ino)
{
	struct meta_txn t;
	int r = meta_begin(m, &t, false);

	if (r < 0)
		return r;
	r = meta_dirent_get(&t, dir, name, strlen(name), ino);
	meta_abort(&t);
	return r;
}

/* Create @name in @dir with @mode (S_IFDIR, S_IFREG... | permissions),
 * asserting success; returns the new inode number. */
static inline uint64_t unit_mknod(struct meta *m, uint64_t dir,
				  const char *name, uint32_t mode)
{
	struct meta_new nw = {.mode = mode, .uid = 1000, .gid = 1000};
	struct meta_inode attr;
	uint64_t ino = 0;
	int r = meta_create(m, dir, name, &nw, &ino, &attr);

	ck_assert_msg(r == 0, "meta_create %s: %d", name, r);
	ck_assert_uint_gt(ino, META_ROOT_INO);
	return ino;
}

static inline uint64_t unit_mkfile(struct meta *m, uint64_t dir,
				   const char *name)
{
	return unit_mknod(m, dir, name, S_IFREG | 0644);
}

static inline uint64_t unit_mkdir(struct meta *m, uint64_t dir,
				  const char *name)
{
	return unit_mknod(m, dir, name, S_IFDIR | 0755);
}

/* ---- running a suite ---- */

static pid_t unit_runner;

/*
 * The runner was told to stop (a deadline ran out): leave no directory
 * behind. (nftw is not async-signal-safe, but the runner spends its time
 * waiting for a test's process, not in malloc.) The tests' own processes
 * (CK_FORK) just die.
 */
static void unit_on_signal(int sig)
{
	if (getpid() == unit_runner)
		unit_rm_tree(unit_base);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Run @s with every test's directory inside one directory of this run
 * under ${TMPDIR:-/tmp}, removed at the end whatever the tests left;
 * returns the exit status for main().
 */
static inline int unit_run(Suite *s)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(unit_base, sizeof(unit_base), "%s/sparsefs-unit.XXXXXX", tmp);
	if (!mkdtemp(unit_base)) {
		fprintf(stderr, "mkdtemp in %s: %s\n", tmp, strerror(errno));
		return EXIT_FAILURE;
	}
	unit_runner = getpid();
	signal(SIGTERM, unit_on_signal);
	signal(SIGINT, unit_on_signal);
	signal(SIGHUP, unit_on_signal);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (unit_rm_tree(unit_base) < 0) {
		fprintf(stderr, "cannot remove %s: %s\n", unit_base,
			strerror(errno));
		failed++;
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A test case with the temp-directory fixture and the suite time limit. */
static inline TCase *unit_tcase(const char *name, SFun setup, SFun teardown)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup ? setup : unit_setup,
				  teardown ? teardown : unit_teardown);
	tcase_set_timeout(tc, UNIT_TIMEOUT);
	return tc;
}

#endif
