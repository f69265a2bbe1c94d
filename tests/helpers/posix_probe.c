/*
 * posix_probe - the POSIX calls that shell tools cannot make, for the
 * integration tests t0300-t0330.
 *
 * Every probe that makes one call prints "ok" (or what it read) when the
 * call succeeds and the errno name (EEXIST, ENODATA...) when it fails, and
 * exits 0 either way: the script compares the text.  Exit status 1 means
 * the probe could not run (a mismatch, a fork that failed), 2 bad usage.
 *
 *   posix_probe rename SRC DST none|noreplace|exchange
 *       renameat2(AT_FDCWD, SRC, AT_FDCWD, DST, flags).
 *   posix_probe utimens PATH ATIME MTIME [nofollow]
 *       utimensat; each time is now (UTIME_NOW), omit (UTIME_OMIT) or
 *       SEC.NSEC (nine digits of nanoseconds, SEC may be negative).
 *   posix_probe mknod PATH fifo|sock|chr|blk|reg MODE [MAJOR MINOR]
 *       mknod with the type bits, MODE (octal) and makedev(MAJOR, MINOR).
 *   posix_probe sock PATH
 *       binds a unix stream socket to PATH, listens, connects a second
 *       socket to PATH and passes a message through: "ok" or the errno
 *       name of the failing step.
 *   posix_probe open PATH FLAGS [MODE]
 *       open(2); FLAGS is a comma list of rdonly, wronly, rdwr, creat,
 *       excl, trunc, append, nofollow, directory, noatime.
 *   posix_probe appenders FILE NPROC NREC [RECSIZE]
 *       NPROC processes, each opening FILE with O_WRONLY|O_APPEND (created
 *       0644 if missing) and writing NREC records of RECSIZE bytes
 *       (default 32, at least 16): "pPP rRRRRRRRR", spaces, "\n", one
 *       write(2) each, all at once.  Exit 1 if a write fails or is short.
 *   posix_probe hold posix|ofd|flock PATH r|w START LEN
 *       takes the lock (blocking; START and LEN are ignored for flock),
 *       prints "held", then keeps it until its stdin reaches end of file.
 *   posix_probe trylock posix|ofd|flock PATH r|w START LEN
 *       a non-blocking attempt (F_SETLK, F_OFD_SETLK, LOCK_NB): "ok" or
 *       the errno name (EAGAIN, EWOULDBLOCK is the same value).
 *   posix_probe waitlock posix|ofd|flock PATH r|w START LEN MS
 *       a blocking attempt given up after MS milliseconds: "ok" or
 *       "EINTR" (it timed out).
 *   posix_probe getlk PATH r|w START LEN
 *       F_GETLK: "unlocked" or "TYPE START LEN PID" of the conflict.
 *   posix_probe setxattr PATH NAME VALUE none|create|replace [nofollow]
 *       VALUE is the text itself, or "@N" for N bytes of a pattern.
 *   posix_probe getxattr PATH NAME [BUFSIZE] [nofollow]
 *       prints the value's size and, when it is the @N pattern, "pattern",
 *       else the value as text: "5 hello", "65536 pattern".  BUFSIZE 0
 *       asks for the size only; the default buffer is 128 KiB.
 *   posix_probe listxattr PATH [BUFSIZE] [nofollow]
 *       the names, sorted, one a line; or the errno name.
 *   posix_probe removexattr PATH NAME [nofollow]
 *   posix_probe pwrite FD OFF [TEXT]
 *       writes TEXT (or all of stdin) at OFF through the inherited FD.
 *   posix_probe pread FD OFF LEN
 *       reads up to LEN bytes at OFF through FD to stdout.
 *   posix_probe copyrange SRC DST
 *       copy_file_range(2) of all of SRC to the start of DST (opened
 *       O_WRONLY, not truncated): "ok" or the errno name.
 *   posix_probe fstat FD
 *       "ino I nlink N size S" of the inherited FD.
 *   posix_probe stat PATH [nofollow]
 *       "dev D ino I mode M nlink N uid U gid G rdev MAJ:MIN size S
 *       atime A mtime M ctime C" with times as SEC.NSEC and mode in octal.
 *   posix_probe mkfiles DIR N [PREFIX]
 *       creates empty files DIR/PREFIX0 .. PREFIX(N-1) (default prefix
 *       "f"); exit 1 on the first failure.
 *   posix_probe churn DIR PREFIX MS [STOPFILE]
 *       for MS milliseconds, or until STOPFILE exists, creates DIR/PREFIXk
 *       and unlinks the one made 64 creates before; at the end unlinks
 *       what is left.  Prints the number of creates.
 *   posix_probe listdir DIR [BUFSIZE [DELAY_US]]
 *       the names getdents64 returns (without . and ..), one a line,
 *       reading BUFSIZE bytes at a time (default 32768) and sleeping
 *       DELAY_US microseconds between calls.
 *   posix_probe statmany DIR PREFIX N COUNT
 *       COUNT lstat calls of random DIR/PREFIXi (i < N); prints
 *       "COUNT stats in MS ms"; exit 1 if one fails.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define RECORD_MIN 16
#define RECORD_MAX 65536
#define DEFAULT_XATTR_BUF (128 * 1024)

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr,
		"usage: posix_probe rename SRC DST none|noreplace|exchange\n"
		"       posix_probe utimens PATH ATIME MTIME [nofollow]\n"
		"       posix_probe mknod PATH TYPE MODE [MAJOR MINOR]\n"
		"       posix_probe sock PATH\n"
		"       posix_probe open PATH FLAGS [MODE]\n"
		"       posix_probe appenders FILE NPROC NREC [RECSIZE]\n"
		"       posix_probe hold|trylock KIND PATH r|w START LEN\n"
		"       posix_probe waitlock KIND PATH r|w START LEN MS\n"
		"       posix_probe getlk PATH r|w START LEN\n"
		"       posix_probe setxattr PATH NAME VALUE FLAGS [nofollow]\n"
		"       posix_probe getxattr PATH NAME [BUFSIZE] [nofollow]\n"
		"       posix_probe listxattr PATH [BUFSIZE] [nofollow]\n"
		"       posix_probe removexattr PATH NAME [nofollow]\n"
		"       posix_probe pwrite FD OFF [TEXT]\n"
		"       posix_probe pread FD OFF LEN\n"
		"       posix_probe fstat FD\n"
		"       posix_probe stat PATH [nofollow]\n"
		"       posix_probe mkfiles DIR N [PREFIX]\n"
		"       posix_probe churn DIR PREFIX MS [STOPFILE]\n"
		"       posix_probe listdir DIR [BUFSIZE [DELAY_US]]\n"
		"       posix_probe statmany DIR PREFIX N COUNT\n");
	exit(2);
}

static const char *errno_name(int e)
{
	static char other[32];
	const char *name = strerrorname_np(e);

	if (name)
		return name;
	snprintf(other, sizeof(other), "errno%d", e);
	return other;
}

/* report RESULT: "ok" for 0, the errno name for -1. */
static int report(int result)
{
	puts(result < 0 ? errno_name(errno) : "ok");
	return 0;
}

static long long parse_base(const char *s, int base)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (errno || end == s || *end)
		usage();
	return v;
}

static long long parse_ll(const char *s) { return parse_base(s, 0); }

static bool nofollow_arg(int argc, char **argv, int i)
{
	if (argc <= i)
		return false;
	if (strcmp(argv[i], "nofollow"))
		usage();
	return true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ names, times */

static int cmd_rename(int argc, char **argv)
{
	unsigned flags;

	if (argc != 5)
		usage();
	if (!strcmp(argv[4], "none"))
		flags = 0;
	else if (!strcmp(argv[4], "noreplace"))
		flags = RENAME_NOREPLACE;
	else if (!strcmp(argv[4], "exchange"))
		flags = RENAME_EXCHANGE;
	else
		usage();
	return report((int)syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD,
				   argv[3], flags));
}

static void parse_time(const char *s, struct timespec *ts)
{
	const char *dot;
	char sec[32];
	size_t n;

	if (!strcmp(s, "now")) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_NOW;
		return;
	}
	if (!strcmp(s, "omit")) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
		return;
	}
	dot = strchr(s, '.');
	n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof(sec))
		usage();
	memcpy(sec, s, n);
	sec[n] = '\0';
	ts->tv_sec = (time_t)parse_base(sec, 10);
	ts->tv_nsec = 0;
	if (dot) {
		if (strlen(dot + 1) != 9)
			usage();
		ts->tv_nsec = (long)parse_base(dot + 1, 10);
	}
}

static int cmd_utimens(int argc, char **argv)
{
	struct timespec ts[2];

	if (argc < 5 || argc > 6)
		usage();
	parse_time(argv[3], &ts[0]);
	parse_time(argv[4], &ts[1]);
	return report(
	    utimensat(AT_FDCWD, argv[2], ts,
		      nofollow_arg(argc, argv, 5) ? AT_SYMLINK_NOFOLLOW : 0));
}

static int cmd_mknod(int argc, char **argv)
{
	mode_t mode, type;
	dev_t dev = 0;

	if (argc != 5 && argc != 7)
		usage();
	if (!strcmp(argv[3], "fifo"))
		type = S_IFIFO;
	else if (!strcmp(argv[3], "sock"))
		type = S_IFSOCK;
	else if (!strcmp(argv[3], "chr"))
		type = S_IFCHR;
	else if (!strcmp(argv[3], "blk"))
		type = S_IFBLK;
	else if (!strcmp(argv[3], "reg"))
		type = S_IFREG;
	else
		usage();
	mode = (mode_t)strtoul(argv[4], NULL, 8);
	if (argc == 7)
		dev = makedev((unsigned)parse_ll(argv[5]),
			      (unsigned)parse_ll(argv[6]));
	return report(mknod(argv[2], type | mode, dev));
}

static int cmd_sock(int argc, char **argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int server, client, conn;
	char buf[16] = "";
	const char *step;

	if (argc != 3)
		usage();
	if (strlen(argv[2]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "posix_probe: socket path too long\n");
		return 1;
	}
	strcpy(addr.sun_path, argv[2]);
	server = socket(AF_UNIX, SOCK_STREAM, 0);
	client = socket(AF_UNIX, SOCK_STREAM, 0);
	if (server < 0 || client < 0) {
		perror("socket");
		return 1;
	}
	step = "bind";
	if (bind(server, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto out_err;
	step = "listen";
	if (listen(server, 1) < 0)
		goto out_err;
	step = "connect";
	if (connect(client, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto out_err;
	step = "accept";
	conn = accept(server, NULL, NULL);
	if (conn < 0)
		goto out_err;
	step = "send";
	if (write(client, "ping", 4) != 4)
		goto out_err;
	step = "recv";
	if (read(conn, buf, sizeof(buf) - 1) != 4 || strcmp(buf, "ping"))
		goto out_err;
	close(conn);
	close(client);
	close(server);
	puts("ok");
	return 0;
out_err:
	printf("%s: %s\n", step, errno_name(errno));
	return 0;
}

/* -------------------------------------------------------------- open, write */

static int parse_open_flags(const char *list)
{
	static const struct {
		const char *name;
		int flag;
	} names[] = {
	    {"rdonly", O_RDONLY},	{"wronly", O_WRONLY},
	    {"rdwr", O_RDWR},		{"creat", O_CREAT},
	    {"excl", O_EXCL},		{"trunc", O_TRUNC},
	    {"append", O_APPEND},	{"nofollow", O_NOFOLLOW},
	    {"directory", O_DIRECTORY}, {"noatime", O_NOATIME},
	};
	char copy[256], *tok, *save = NULL;
	int flags = 0;

	if (strlen(list) >= sizeof(copy))
		usage();
	strcpy(copy, list);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			usage();
		flags |= names[i].flag;
	}
	return flags;
}

static int cmd_open(int argc, char **argv)
{
	mode_t mode = 0644;
	int fd;

	if (argc != 4 && argc != 5)
		usage();
	if (argc == 5)
		mode = (mode_t)strtoul(argv[4], NULL, 8);
	fd = open(argv[2], parse_open_flags(argv[3]), mode);
	if (fd >= 0)
		close(fd);
	return report(fd);
}

static int appender(const char *path, int proc, long nrec, int size)
{
	static char rec[RECORD_MAX + 1];
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd < 0) {
		fprintf(stderr, "posix_probe: open %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	for (long i = 0; i < nrec; i++) {
		int n = snprintf(rec, sizeof(rec), "p%02d r%08ld %*s\n", proc,
				 i, size - 15, "");
		ssize_t w;

		if (n != size) {
			fprintf(stderr, "posix_probe: record size %d\n", n);
			return 1;
		}
		w = write(fd, rec, (size_t)size);
		if (w != size) {
			fprintf(stderr,
				"posix_probe: append %ld of p%02d: %s\n", i,
				proc, w < 0 ? strerror(errno) : "short");
			return 1;
		}
	}
	return close(fd) ? 1 : 0;
}

static int cmd_appenders(int argc, char **argv)
{
	long nproc, nrec, size = 32;
	int failed = 0;

	if (argc != 5 && argc != 6)
		usage();
	nproc = parse_ll(argv[3]);
	nrec = parse_ll(argv[4]);
	if (argc == 6)
		size = parse_ll(argv[5]);
	if (nproc < 1 || nproc > 99 || nrec < 0 || size < RECORD_MIN ||
	    size > RECORD_MAX)
		usage();
	for (int p = 0; p < nproc; p++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(appender(argv[2], p, nrec, (int)size));
	}
	for (int p = 0; p < nproc; p++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed = 1;
	}
	if (!failed)
		puts("ok");
	return failed;
}

/* -------------------------------------------------------------------- locks */

enum lock_kind { LK_POSIX, LK_OFD, LK_FLOCK };

struct lock_req {
	enum lock_kind kind;
	const char *path;
	short type;
	off_t start;
	off_t len;
};

static void parse_lock(int argc, char **argv, int first, bool with_kind,
		       struct lock_req *req)
{
	int i = first;

	if (argc < first + (with_kind ? 5 : 4))
		usage();
	req->kind = LK_POSIX;
	if (with_kind) {
		if (!strcmp(argv[i], "posix"))
			req->kind = LK_POSIX;
		else if (!strcmp(argv[i], "ofd"))
			req->kind = LK_OFD;
		else if (!strcmp(argv[i], "flock"))
			req->kind = LK_FLOCK;
		else
			usage();
		i++;
	}
	req->path = argv[i++];
	if (!strcmp(argv[i], "r"))
		req->type = F_RDLCK;
	else if (!strcmp(argv[i], "w"))
		req->type = F_WRLCK;
	else
		usage();
	i++;
	req->start = (off_t)parse_ll(argv[i++]);
	req->len = (off_t)parse_ll(argv[i]);
}

static int open_for_lock(const struct lock_req *req)
{
	int fd = open(req->path, req->type == F_WRLCK ? O_RDWR : O_RDONLY);

	if (fd < 0)
		fprintf(stderr, "posix_probe: open %s: %s\n", req->path,
			strerror(errno));
	return fd;
}

/* take_lock: -1 with errno when it failed. */
static int take_lock(int fd, const struct lock_req *req, bool wait_for_it)
{
	struct flock fl = {
	    .l_type = req->type,
	    .l_whence = SEEK_SET,
	    .l_start = req->start,
	    .l_len = req->len,
	};

	switch (req->kind) {
	case LK_POSIX:
		return fcntl(fd, wait_for_it ? F_SETLKW : F_SETLK, &fl);
	case LK_OFD:
		return fcntl(fd, wait_for_it ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
	case LK_FLOCK:
		return flock(fd, (req->type == F_WRLCK ? LOCK_EX : LOCK_SH) |
				     (wait_for_it ? 0 : LOCK_NB));
	}
	return -1;
}

static int cmd_hold(int argc, char **argv)
{
	struct lock_req req;
	char buf[64];
	int fd;

	if (argc != 7)
		usage();
	parse_lock(argc, argv, 2, true, &req);
	fd = open_for_lock(&req);
	if (fd < 0)
		return 1;
	if (take_lock(fd, &req, true) < 0) {
		puts(errno_name(errno));
		return 1;
	}
	puts("held");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}

static int cmd_trylock(int argc, char **argv)
{
	struct lock_req req;
	int fd, r;

	if (argc != 7)
		usage();
	parse_lock(argc, argv, 2, true, &req);
	fd = open_for_lock(&req);
	if (fd < 0)
		return 1;
	r = take_lock(fd, &req, false);
	report(r);
	close(fd);
	return 0;
}

static void on_alarm(int sig) { (void)sig; }

static int cmd_waitlock(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval it = {{0, 0}, {0, 0}};
	struct lock_req req;
	long ms;
	int fd, r;

	if (argc != 8)
		usage();
	parse_lock(argc, argv, 2, true, &req);
	ms = (long)parse_ll(argv[7]);
	fd = open_for_lock(&req);
	if (fd < 0)
		return 1;
	/* No SA_RESTART: the alarm must end the blocking call. */
	sigaction(SIGALRM, &sa, NULL);
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
	r = take_lock(fd, &req, true);
	report(r);
	close(fd);
	return 0;
}

static int cmd_getlk(int argc, char **argv)
{
	struct lock_req req;
	struct flock fl;
	int fd;

	if (argc != 6)
		usage();
	parse_lock(argc, argv, 2, false, &req);
	fd = open_for_lock(&req);
	if (fd < 0)
		return 1;
	fl = (struct flock){
	    .l_type = req.type,
	    .l_whence = SEEK_SET,
	    .l_start = req.start,
	    .l_len = req.len,
	};
	if (fcntl(fd, F_GETLK, &fl) < 0)
		puts(errno_name(errno));
	else if (fl.l_type == F_UNLCK)
		puts("unlocked");
	else
		printf("%s %jd %jd %d\n", fl.l_type == F_WRLCK ? "w" : "r",
		       (intmax_t)fl.l_start, (intmax_t)fl.l_len, (int)fl.l_pid);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------- xattrs */

static char pattern_byte(size_t i)
{
	return (char)('a' + (i * 7 + i / 251) % 26);
}

static int cmd_setxattr(int argc, char **argv)
{
	const char *value = argv[4];
	char *buf = NULL;
	size_t size;
	int flags, r;

	if (argc != 6 && argc != 7)
		usage();
	if (!strcmp(argv[5], "none"))
		flags = 0;
	else if (!strcmp(argv[5], "create"))
		flags = XATTR_CREATE;
	else if (!strcmp(argv[5], "replace"))
		flags = XATTR_REPLACE;
	else
		usage();
	if (value[0] == '@') {
		size = (size_t)parse_ll(value + 1);
		buf = malloc(size ? size : 1);
		if (!buf) {
			perror("malloc");
			return 1;
		}
		for (size_t i = 0; i < size; i++)
			buf[i] = pattern_byte(i);
		value = buf;
	} else {
		size = strlen(value);
	}
	if (nofollow_arg(argc, argv, 6))
		r = lsetxattr(argv[2], argv[3], value, size, flags);
	else
		r = setxattr(argv[2], argv[3], value, size, flags);
	report(r);
	free(buf);
	return 0;
}

static int cmd_getxattr(int argc, char **argv)
{
	size_t bufsize = DEFAULT_XATTR_BUF;
	bool nofollow = false, pattern = true;
	char *buf;
	ssize_t n;

	if (argc < 4 || argc > 6)
		usage();
	if (argc >= 5) {
		if (!strcmp(argv[4], "nofollow"))
			nofollow = nofollow_arg(argc, argv, 4);
		else
			bufsize = (size_t)parse_ll(argv[4]);
	}
	if (argc == 6)
		nofollow = nofollow_arg(argc, argv, 5);
	buf = malloc(bufsize + 1);
	if (!buf) {
		perror("malloc");
		return 1;
	}
	if (nofollow)
		n = lgetxattr(argv[2], argv[3], bufsize ? buf : NULL, bufsize);
	else
		n = getxattr(argv[2], argv[3], bufsize ? buf : NULL, bufsize);
	if (n < 0) {
		puts(errno_name(errno));
	} else if (bufsize == 0) {
		printf("%zd\n", n);
	} else {
		for (ssize_t i = 0; i < n && pattern; i++)
			pattern = buf[i] == pattern_byte((size_t)i);
		if (pattern && n > 0) {
			printf("%zd pattern\n", n);
		} else {
			buf[n] = '\0';
			printf("%zd %s\n", n, buf);
		}
	}
	free(buf);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_listxattr(int argc, char **argv)
{
	size_t bufsize = DEFAULT_XATTR_BUF, count = 0;
	bool nofollow = false;
	char *buf, **names;
	ssize_t n;

	if (argc < 3 || argc > 5)
		usage();
	if (argc >= 4) {
		if (!strcmp(argv[3], "nofollow"))
			nofollow = nofollow_arg(argc, argv, 3);
		else
			bufsize = (size_t)parse_ll(argv[3]);
	}
	if (argc == 5)
		nofollow = nofollow_arg(argc, argv, 4);
	buf = malloc(bufsize + 1);
	names = malloc(sizeof(*names) * (bufsize / 2 + 1));
	if (!buf || !names) {
		perror("malloc");
		return 1;
	}
	if (nofollow)
		n = llistxattr(argv[2], bufsize ? buf : NULL, bufsize);
	else
		n = listxattr(argv[2], bufsize ? buf : NULL, bufsize);
	if (n < 0) {
		puts(errno_name(errno));
	} else if (bufsize == 0) {
		printf("%zd\n", n);
	} else {
		for (ssize_t off = 0; off < n;
		     off += (ssize_t)strlen(buf + off) + 1)
			names[count++] = buf + off;
		qsort(names, count, sizeof(*names), compare_names);
		for (size_t i = 0; i < count; i++)
			puts(names[i]);
	}
	free(names);
	free(buf);
	return 0;
}

static int cmd_removexattr(int argc, char **argv)
{
	if (argc != 4 && argc != 5)
		usage();
	if (nofollow_arg(argc, argv, 4))
		return report(lremovexattr(argv[2], argv[3]));
	return report(removexattr(argv[2], argv[3]));
}

/* ---------------------------------------------------------- inherited fds */

static int cmd_pwrite(int argc, char **argv)
{
	int fd;
	off_t off;
	char buf[65536];
	ssize_t n;

	if (argc != 4 && argc != 5)
		usage();
	fd = (int)parse_ll(argv[2]);
	off = (off_t)parse_ll(argv[3]);
	if (argc == 5) {
		size_t len = strlen(argv[4]);

		n = pwrite(fd, argv[4], len, off);
		if (n >= 0 && (size_t)n != len) {
			puts("short");
			return 0;
		}
		return report(n < 0 ? -1 : 0);
	}
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0) {
		if (pwrite(fd, buf, (size_t)n, off) != n)
			return report(-1);
		off += n;
	}
	return report(n < 0 ? -1 : 0);
}

static int cmd_copyrange(int argc, char **argv)
{
	struct stat st;
	int in, out, r = -1;

	if (argc != 4)
		usage();
	in = open(argv[2], O_RDONLY);
	out = open(argv[3], O_WRONLY);
	if (in >= 0 && out >= 0 && fstat(in, &st) == 0) {
		loff_t oin = 0, oout = 0;
		r = 0;
		while (r == 0 && oin < st.st_size) {
			ssize_t n = copy_file_range(in, &oin, out, &oout,
						    (size_t)(st.st_size - oin),
						    0);
			if (n == 0)
				errno = EIO; /* SRC shrank under us */
			if (n <= 0)
				r = -1;
		}
	}
	return report(r);
}

static int cmd_pread(int argc, char **argv)
{
	char buf[65536];
	long long left;
	off_t off;
	int fd;

	if (argc != 5)
		usage();
	fd = (int)parse_ll(argv[2]);
	off = (off_t)parse_ll(argv[3]);
	left = parse_ll(argv[4]);
	while (left > 0) {
		size_t want =
		    left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n = pread(fd, buf, want, off);

		if (n < 0) {
			fprintf(stderr, "posix_probe: pread: %s\n",
				strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return 1;
		off += n;
		left -= n;
	}
	return fflush(stdout) ? 1 : 0;
}

static int cmd_fstat(int argc, char **argv)
{
	struct stat st;

	if (argc != 3)
		usage();
	if (fstat((int)parse_ll(argv[2]), &st) < 0)
		return report(-1);
	printf("ino %ju nlink %ju size %jd\n", (uintmax_t)st.st_ino,
	       (uintmax_t)st.st_nlink, (intmax_t)st.st_size);
	return 0;
}

static int cmd_stat(int argc, char **argv)
{
	struct stat st;
	int r;

	if (argc != 3 && argc != 4)
		usage();
	if (nofollow_arg(argc, argv, 3))
		r = lstat(argv[2], &st);
	else
		r = stat(argv[2], &st);
	if (r < 0)
		return report(-1);
	printf("dev %ju ino %ju mode %o nlink %ju uid %u gid %u rdev %u:%u "
	       "size %jd atime %jd.%09ld mtime %jd.%09ld ctime %jd.%09ld\n",
	       (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (unsigned)st.st_mode,
	       (uintmax_t)st.st_nlink, st.st_uid, st.st_gid, major(st.st_rdev),
	       minor(st.st_rdev), (intmax_t)st.st_size,
	       (intmax_t)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	       (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return 0;
}

/* ------------------------------------------------------------- big dirs */

static int cmd_mkfiles(int argc, char **argv)
{
	const char *prefix = argc == 5 ? argv[4] : "f";
	char name[NAME_MAX + 1];
	long long n;
	int dirfd;

	if (argc != 4 && argc != 5)
		usage();
	n = parse_ll(argv[3]);
	dirfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (dirfd < 0) {
		fprintf(stderr, "posix_probe: open %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	for (long long i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof(name), "%s%lld", prefix, i);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			fprintf(stderr, "posix_probe: create %s/%s: %s\n",
				argv[2], name, strerror(errno));
			return 1;
		}
		close(fd);
	}
	close(dirfd);
	printf("%lld\n", n);
	return 0;
}

#define CHURN_DEPTH 64

static int cmd_churn(int argc, char **argv)
{
	char name[NAME_MAX + 1];
	const char *stopfile;
	uint64_t end;
	long long made = 0;
	int dirfd;

	if (argc != 5 && argc != 6)
		usage();
	end = now_ms() + (uint64_t)parse_ll(argv[4]);
	stopfile = argc == 6 ? argv[5] : NULL;
	dirfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (dirfd < 0) {
		fprintf(stderr, "posix_probe: open %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	while (now_ms() < end) {
		int fd;

		if (stopfile && made % 16 == 0 && access(stopfile, F_OK) == 0)
			break;

		snprintf(name, sizeof(name), "%s%lld", argv[3], made);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			fprintf(stderr, "posix_probe: churn create %s: %s\n",
				name, strerror(errno));
			return 1;
		}
		close(fd);
		if (made >= CHURN_DEPTH) {
			snprintf(name, sizeof(name), "%s%lld", argv[3],
				 made - CHURN_DEPTH);
			if (unlinkat(dirfd, name, 0) < 0) {
				fprintf(stderr,
					"posix_probe: churn unlink %s: %s\n",
					name, strerror(errno));
				return 1;
			}
		}
		made++;
	}
	for (long long i = made > CHURN_DEPTH ? made - CHURN_DEPTH : 0;
	     i < made; i++) {
		snprintf(name, sizeof(name), "%s%lld", argv[3], i);
		if (unlinkat(dirfd, name, 0) < 0) {
			fprintf(stderr, "posix_probe: churn unlink %s: %s\n",
				name, strerror(errno));
			return 1;
		}
	}
	close(dirfd);
	printf("%lld\n", made);
	return 0;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int cmd_listdir(int argc, char **argv)
{
	size_t bufsize = 32768;
	long delay_us = 0;
	char *buf;
	int fd;

	if (argc < 3 || argc > 5)
		usage();
	if (argc >= 4)
		bufsize = (size_t)parse_ll(argv[3]);
	if (argc == 5)
		delay_us = (long)parse_ll(argv[4]);
	buf = malloc(bufsize);
	fd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (!buf || fd < 0) {
		fprintf(stderr, "posix_probe: open %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, bufsize);

		if (n < 0) {
			fprintf(stderr, "posix_probe: getdents64: %s\n",
				strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d =
			    (struct linux_dirent64 *)(buf + off);

			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				puts(d->d_name);
			off += d->d_reclen;
		}
		if (delay_us)
			usleep((useconds_t)delay_us);
	}
	close(fd);
	free(buf);
	return fflush(stdout) ? 1 : 0;
}

static int cmd_statmany(int argc, char **argv)
{
	char path[PATH_MAX];
	long long n, count;
	uint64_t start;
	unsigned seed = 12345;
	struct stat st;

	if (argc != 6)
		usage();
	n = parse_ll(argv[4]);
	count = parse_ll(argv[5]);
	if (n < 1)
		usage();
	start = now_ms();
	for (long long i = 0; i < count; i++) {
		long long pick = (long long)(rand_r(&seed) % n);

		snprintf(path, sizeof(path), "%s/%s%lld", argv[2], argv[3],
			 pick);
		if (lstat(path, &st) < 0) {
			fprintf(stderr, "posix_probe: lstat %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	printf("%lld stats in %ju ms\n", count, (uintmax_t)(now_ms() - start));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"rename", cmd_rename},	  {"utimens", cmd_utimens},
	    {"mknod", cmd_mknod},	  {"sock", cmd_sock},
	    {"open", cmd_open},		  {"appenders", cmd_appenders},
	    {"hold", cmd_hold},		  {"trylock", cmd_trylock},
	    {"waitlock", cmd_waitlock},	  {"getlk", cmd_getlk},
	    {"setxattr", cmd_setxattr},	  {"getxattr", cmd_getxattr},
	    {"listxattr", cmd_listxattr}, {"removexattr", cmd_removexattr},
	    {"pwrite", cmd_pwrite},	  {"pread", cmd_pread},
	    {"copyrange", cmd_copyrange},
	    {"fstat", cmd_fstat},	  {"stat", cmd_stat},
	    {"mkfiles", cmd_mkfiles},	  {"churn", cmd_churn},
	    {"listdir", cmd_listdir},	  {"statmany", cmd_statmany},
	};

	if (argc < 2)
		usage();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc, argv);
	usage();
}
