/*
 * main.c - options and the daemon's life cycle.
 *
 *   sparsefs [options] BACKING MOUNTPOINT [options]
 *
 * Order of events, so that bad input changes nothing: parse options and
 * check the paths; create the FUSE session (rejects unknown options); fork
 * (unless -f) before anything opens LMDB, which does not survive a fork;
 * open or create the store and take its lock; mount; tell the waiting
 * parent that the mount is live; serve until unmounted; close the store
 * cleanly and exit 0.
 */
#include "sfs.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fuse_lowlevel.h>

#include "fuse_ops.h"
#include "log.h"
#include "wire.h"

struct options {
	char *backing;
	char *mountpoint;
	char *chunk_size;
	int nozero_detect;
	int fault_injection;
	int acl;
	int writeback;
	int no_killpriv_v2;
	int journal;
	char *journal_idle;
	char *timeout;
	int foreground;
	int debug;
	int single;
	int help;
	int version;
};

#define OPT(t, p) {t, offsetof(struct options, p), 1}
static const struct fuse_opt sfs_opts[] = {
	OPT("chunk_size=%s", chunk_size),
	OPT("nozero_detect", nozero_detect),
	OPT("fault_injection", fault_injection),
	OPT("acl", acl),
	OPT("timeout=%s", timeout),
	OPT("journal_idle=%s", journal_idle),
	OPT("writeback_cache", writeback),
	{"no_writeback_cache", offsetof(struct options, writeback), 0},
	OPT("no_killpriv_v2", no_killpriv_v2),
	{"journal", offsetof(struct options, journal), 1},
	{"no_journal", offsetof(struct options, journal), 0},
	{"noacl", offsetof(struct options, acl), 0},
	OPT("-f", foreground),
	OPT("-d", debug),
	OPT("debug", debug),
	OPT("-s", single),
	OPT("-h", help),
	OPT("--help", help),
	OPT("-V", version),
	OPT("--version", version),
	FUSE_OPT_END,
};

static void usage(const char *prog)
{
	printf("usage: %s [options] BACKING MOUNTPOINT\n"
	       "\n"
	       "Mount a sparse-file store kept in directory BACKING at "
	       "MOUNTPOINT.\n"
	       "An empty BACKING becomes a new store.\n"
	       "\n"
	       "options:\n"
	       "  -f                 stay in the foreground\n"
	       "  -d, -o debug       debug output (implies -f)\n"
	       "  -s                 single-threaded\n"
	       "  -o opt[,opt...]    mount options (see below)\n"
	       "  -h, --help         this help\n"
	       "  -V, --version      print the version\n"
	       "\n"
	       "sparsefs options:\n"
	       "  -o chunk_size=SIZE chunk size of a new store: a power of "
	       "two\n"
	       "                     from 64K to 64M (default 1M)\n"
	       "  -o nozero_detect   store chunks that are all zeros (by "
	       "default a\n"
	       "                     write that leaves a chunk all zeros "
	       "frees it)\n"
	       "  -o acl, noacl      POSIX ACLs (default: noacl)\n"
	       "  -o timeout=SECONDS how long the kernel caches names and "
	       "attributes\n"
	       "                     (default: 1)\n"
	       "  -o writeback_cache the kernel gathers small writes in its "
	       "page cache:\n"
	       "                     faster, but a full backing disk shows "
	       "up at fsync\n"
	       "                     or close, not at write (default: off)\n"
	       "  -o no_journal      fsync syncs every chunk file it touches, "
	       "also where\n"
	       "                     the backing has no syncfs that reaches "
	       "the disk\n"
	       "                     (default there: an fsync journal; -o "
	       "journal\n"
	       "                     uses it on any backing)\n"
	       "  -o journal_idle=SECONDS\n"
	       "                     how long the journal may hold records "
	       "while no\n"
	       "                     fsync writes to it (default: 1)\n"
	       "  -o no_killpriv_v2  for tests: leave setuid/setgid clearing to "
	       "the kernel,\n"
	       "                     which then asks for security.capability "
	       "before\n"
	       "                     every write\n"
	       "  -o fault_injection for tests: root may set the xattr\n"
	       "                     trusted.sparsefs.fault on the root "
	       "directory to\n"
	       "                     \"OP ERRNO SKIP COUNT\" to make backing "
	       "calls fail\n"
	       "\n"
	       "FUSE options such as allow_other pass through; "
	       "default_permissions\n"
	       "is always on. Unmount with: fusermount3 -u MOUNTPOINT\n",
	       prog);
}

/* Options that mount(8), fstab and systemd use and that mean nothing
 * here: dropped, as other FUSE filesystems do. */
static bool ignored_option(const char *opt)
{
	static const char *const names[] = {
		"defaults", "auto", "noauto", "nofail", "_netdev", "user",
		"nouser",   "users", "owner", "group", "comment", "sw",
		"rw",
	};

	for (size_t i = 0; i < SFS_ARRAY_SIZE(names); i++)
		if (!strcmp(opt, names[i]))
			return true;
	return !strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8);
}

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct options *o = data;

	if (key == FUSE_OPT_KEY_OPT)
		return ignored_option(arg) ? 0 : 1;
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (!o->backing) {
		o->backing = strdup(arg);
		return 0;
	}
	if (!o->mountpoint) {
		o->mountpoint = strdup(arg);
		return 0;
	}
	fprintf(stderr, "sparsefs: unexpected argument '%s'\n", arg);
	return -1;
}

static bool wants_allow_other(const struct fuse_args *args)
{
	for (int i = 0; i < args->argc; i++)
		if (strstr(args->argv[i], "allow_other"))
			return true;
	return false;
}

static bool user_allow_other(void)
{
	FILE *f = fopen("/etc/fuse.conf", "r");
	char line[256];
	bool yes = false;

	if (!f)
		return false;
	while (!yes && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");
		yes = !strncmp(p, "user_allow_other", 16) &&
		      (p[16] == '\n' || p[16] == ' ' || !p[16]);
	}
	fclose(f);
	return yes;
}

/* Resolve @path to an existing directory; prints why not. */
static char *dir_path(const char *what, const char *path)
{
	char *real = realpath(path, NULL);
	struct stat st;

	if (!real) {
		fprintf(stderr, "sparsefs: %s %s: %s\n", what, path,
			strerror(errno));
		return NULL;
	}
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "sparsefs: %s %s is not a directory\n", what,
			path);
		free(real);
		return NULL;
	}
	return real;
}

static bool inside(const char *dir, const char *parent)
{
	size_t n = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return true;
	return strncmp(dir, parent, n) == 0 && (dir[n] == '/' || !dir[n]);
}

/*
 * Fork; the parent waits for the child to report on @pipe: one byte, 0
 * once the mount is live, else the exit code. Returns in the child with
 * the pipe's write end in *@notify; never returns in the parent.
 */
static void daemonize(int *notify)
{
	int fds[2];
	pid_t pid;
	char status = 1;

	if (pipe(fds) < 0) {
		perror("sparsefs: pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("sparsefs: fork");
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1; /* the child died before reporting */
		_exit(status);
	}
	close(fds[0]);
	setsid();
	*notify = fds[1];
}

static void report(int *notify, char status)
{
	if (*notify < 0)
		return;
	if (write(*notify, &status, 1) != 1)
		sfs_warn("cannot report to the parent process");
	close(*notify);
	*notify = -1;
}

/*
 * Tell systemd (Type=notify) that the mount is live: one datagram to
 * $NOTIFY_SOCKET, as sd_notify(3) sends it, without linking libsystemd.
 */
static void notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* abstract namespace */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), 0, (struct sockaddr *)&sa, len) <
	    0)
		sfs_warn("cannot notify systemd: %s", strerror(errno));
	close(fd);
}

static void detach(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (chdir("/") < 0)
		sfs_warn("chdir /: %s", strerror(errno));
	sfs_log_to_syslog();
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Parse option @name's value @text: seconds from @min to 86400. Returns
 * 0, or -1 with a message. */
static int parse_seconds(const char *name, const char *text, double min,
			 double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !(v >= min) || v > 86400) {
		fprintf(stderr, "sparsefs: %s=%s: must be a number of seconds "
				"from %g to 86400\n",
			name, text, min);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options o = {.journal = -1};
	struct sfs fs = {0};
	struct fuse_session *se = NULL;
	char *backing = NULL, *mnt = NULL;
	char msg[512] = "";
	uint64_t chunk_size = STORE_CHUNK_DEFAULT;
	double timeout = 1.0, journal_idle = 1.0;
	int notify = -1, ret = 1, r;

	if (fuse_opt_parse(&args, &o, sfs_opts, opt_proc) < 0)
		goto out1;
	if (o.help) {
		usage(argv[0]);
		ret = 0;
		goto out1;
	}
	if (o.version) {
		printf("sparsefs %s (libfuse %s, %s)\n", PACKAGE_VERSION,
		       fuse_pkgversion(), mdb_version(NULL, NULL, NULL));
		ret = 0;
		goto out1;
	}
	if (!o.backing || !o.mountpoint) {
		fprintf(stderr, "sparsefs: missing %s\nusage: %s [options] "
				"BACKING MOUNTPOINT (--help for more)\n",
			o.backing ? "MOUNTPOINT" : "BACKING and MOUNTPOINT",
			argv[0]);
		goto out1;
	}
	if (o.chunk_size &&
	    (store_parse_size(o.chunk_size, &chunk_size) < 0 ||
	     chunk_size < STORE_CHUNK_MIN || chunk_size > STORE_CHUNK_MAX ||
	     (chunk_size & (chunk_size - 1)))) {
		fprintf(stderr, "sparsefs: chunk_size=%s: must be a power of "
				"two from 64K to 64M\n",
			o.chunk_size);
		goto out1;
	}
	if ((o.timeout && parse_seconds("timeout", o.timeout, 0, &timeout)) ||
	    (o.journal_idle &&
	     parse_seconds("journal_idle", o.journal_idle, 0.001,
			   &journal_idle)))
		goto out1;
	backing = dir_path("BACKING", o.backing);
	mnt = dir_path("MOUNTPOINT", o.mountpoint);
	if (!backing || !mnt)
		goto out1;
	if (inside(backing, mnt) || inside(mnt, backing)) {
		fprintf(stderr, "sparsefs: BACKING %s and MOUNTPOINT %s must "
				"not be inside one another\n",
			backing, mnt);
		goto out1;
	}
	if (getuid() != 0 && wants_allow_other(&args) && !user_allow_other()) {
		fprintf(stderr, "sparsefs: allow_other needs 'user_allow_other' "
				"in /etc/fuse.conf when a user other than root "
				"mounts; add it there or mount without "
				"allow_other\n");
		goto out1;
	}
	if (o.debug) {
		o.foreground = 1;
		sfs_log_debug(1);
		fuse_opt_add_arg(&args, "-d");
	}
	fuse_opt_add_arg(&args, "-odefault_permissions,subtype=sparsefs");
	{
		char *escaped = NULL, *opt = NULL;
		if (fuse_opt_add_opt_escaped(&escaped, backing) < 0 ||
		    asprintf(&opt, "-ofsname=%s", escaped) < 0) {
			free(escaped);
			goto out1;
		}
		fuse_opt_add_arg(&args, opt);
		free(escaped);
		free(opt);
	}

	/* Before anything touches the store: rejects unknown options. */
	se = fuse_session_new(&args, &sfs_ops, sizeof(sfs_ops), &fs);
	if (!se) {
		fprintf(stderr, "sparsefs: bad mount options (see above); "
				"nothing was changed\n");
		goto out1;
	}
	if (!o.foreground)
		daemonize(&notify);

	r = store_open(&fs.store, backing, chunk_size,
		       STORE_CREATE | STORE_LOCK, msg, sizeof(msg));
	if (r < 0) {
		sfs_err("%s", msg);
		goto out2;
	}
	if (fs.store.created)
		sfs_info("created a new store in %s (chunk size %llu)",
			 backing, (unsigned long long)fs.store.chunk_size);
	fs.timeout = timeout;
	fs.journal = o.journal;
	fs.journal_idle_ms = (unsigned)(journal_idle * 1000 + 0.5);
	r = sfs_start(&fs, msg, sizeof(msg));
	fs.chunks.zero_detect = !o.nozero_detect;
	fs.fault_injection = o.fault_injection;
	fs.acl = o.acl;
	fs.writeback = o.writeback;
	fs.se = se;
	if (r < 0) {
		sfs_err("%s: %s", backing, msg);
		goto out3;
	}
	if (fuse_set_signal_handlers(se) != 0)
		goto out4;
	if (fuse_session_mount(se, mnt) != 0) {
		sfs_err("cannot mount on %s", mnt);
		goto out5;
	}
	if (wire_install(se, !o.no_killpriv_v2) != 0) {
		sfs_err("cannot set up the FUSE device I/O");
		goto out6;
	}
	report(&notify, 0);
	notify_systemd("READY=1");
	if (!o.foreground)
		detach();

	if (o.single) {
		r = fuse_session_loop(se);
	} else {
#if FUSE_USE_VERSION >= 312
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, 0);
		fuse_loop_cfg_set_max_threads(cfg, 16);
		fuse_loop_cfg_set_idle_threads(cfg, 8);
		r = fuse_session_loop_mt(se, cfg);
		fuse_loop_cfg_destroy(cfg);
#else
		struct fuse_loop_config cfg = {.clone_fd = 0,
					       .max_idle_threads = 8};
		r = fuse_session_loop_mt(se, &cfg);
#endif
	}
	/* A signal (SIGTERM, SIGINT) is a request to stop, not a failure. */
	ret = r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP ? 0 : 1;
	notify_systemd("STOPPING=1");
out6:
	fuse_session_unmount(se);
out5:
	fuse_remove_signal_handlers(se);
out4:
	sfs_stop(&fs);
out3:
	store_close(&fs.store);
out2:
	report(&notify, (char)ret);
	fuse_session_destroy(se);
out1:
	fuse_opt_free_args(&args);
	free(o.backing);
	free(o.mountpoint);
	free(o.chunk_size);
	free(o.timeout);
	free(o.journal_idle);
	free(backing);
	free(mnt);
	return ret;
}
