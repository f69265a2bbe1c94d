/*
 * meta_bench - time one metadata phase over a tree of empty files.
 *
 *   meta_bench create DIR NDIRS NFILES   mkdir DIR/dNNNN, create (O_CREAT |
 *                                        O_EXCL, then close) NFILES empty
 *                                        files dNNNN/fNNNNNN in each
 *   meta_bench stat   DIR NDIRS NFILES   stat every file
 *   meta_bench rename DIR NDIRS NFILES   rename every fNNNNNN to rNNNNNN in
 *                                        its directory
 *   meta_bench unlink DIR NDIRS NFILES   unlink every rNNNNNN, rmdir the
 *                                        directories
 *   meta_bench bigdir DIR N              create N empty files in the one
 *                                        directory DIR (made if missing)
 *
 * The phases are meant to run in this order, each a separate run, so that
 * the caller can drop the caches in between.  Files are visited directory
 * by directory in the order they were made; paths are relative to DIR, which
 * is the working directory during the phase (as a build or a mail store
 * would do it).
 *
 * Output on success: "seconds S" and "ops N" on two lines.  On failure:
 * exit 1 with "error: CALL PATH: MESSAGE" on stdout and stderr.  On
 * SIGTERM (a caller's deadline): stop, say how far it got in the same
 * form, exit 1.  Usage errors exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void);

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int stopped(long ops, double t0)
{
	printf("error: stopped by SIGTERM after %ld ops in %.1f s\n", ops,
	       now() - t0);
	fflush(stdout);
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: meta_bench (create|stat|rename|unlink) DIR NDIRS "
		"NFILES\n"
		"       meta_bench bigdir DIR N\n");
	exit(2);
}

static int fail(const char *what, const char *path)
{
	int e = errno;

	printf("error: %s %s: %s\n", what, path, strerror(e));
	fprintf(stderr, "meta_bench: %s %s: %s\n", what, path, strerror(e));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > 100000000)
		usage();
	return v;
}

static int create_file(const char *path)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

	if (fd < 0)
		return fail("open", path);
	if (close(fd) < 0)
		return fail("close", path);
	return 0;
}

/* One pass over the tree; @phase says what to do with each entry. */
static int tree(const char *phase, long ndirs, long nfiles, long *ops,
		double t0)
{
	char dir[32], path[64], path2[64];
	struct stat st;

	for (long d = 0; d < ndirs; d++) {
		snprintf(dir, sizeof(dir), "d%04ld", d);
		if (!strcmp(phase, "create")) {
			if (mkdir(dir, 0755) < 0)
				return fail("mkdir", dir);
			(*ops)++;
		}
		for (long f = 0; f < nfiles; f++) {
			if (stop)
				return stopped(*ops, t0);
			snprintf(path, sizeof(path), "%s/f%06ld", dir, f);
			snprintf(path2, sizeof(path2), "%s/r%06ld", dir, f);
			if (!strcmp(phase, "create")) {
				if (create_file(path))
					return 1;
			} else if (!strcmp(phase, "stat")) {
				if (stat(path, &st) < 0)
					return fail("stat", path);
			} else if (!strcmp(phase, "rename")) {
				if (rename(path, path2) < 0)
					return fail("rename", path);
			} else {
				if (unlink(path2) < 0)
					return fail("unlink", path2);
			}
			(*ops)++;
		}
		if (!strcmp(phase, "unlink")) {
			if (rmdir(dir) < 0)
				return fail("rmdir", dir);
			(*ops)++;
		}
	}
	return 0;
}

static int bigdir(long n, long *ops, double t0)
{
	char path[32];

	for (long i = 0; i < n; i++) {
		if (stop)
			return stopped(*ops, t0);
		snprintf(path, sizeof(path), "e%07ld", i);
		if (create_file(path))
			return 1;
		(*ops)++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *phase, *dir;
	long ops = 0, n1, n2 = 0;
	double t0, t1;
	int r;

	if (argc < 4)
		usage();
	phase = argv[1];
	dir = argv[2];
	if (!strcmp(phase, "bigdir")) {
		if (argc != 4)
			usage();
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return fail("mkdir", dir);
	} else if (!strcmp(phase, "create") || !strcmp(phase, "stat") ||
		   !strcmp(phase, "rename") || !strcmp(phase, "unlink")) {
		if (argc != 5)
			usage();
	} else {
		usage();
	}
	n1 = parse_count(argv[3]);
	if (argc == 5)
		n2 = parse_count(argv[4]);
	if (chdir(dir) < 0)
		return fail("chdir", dir);
	signal(SIGTERM, on_term);

	t0 = now();
	if (!strcmp(phase, "bigdir"))
		r = bigdir(n1, &ops, t0);
	else
		r = tree(phase, n1, n2, &ops, t0);
	t1 = now();
	if (r)
		return 1;
	printf("seconds %.6f\nops %ld\n", t1 - t0, ops);
	return 0;
}
