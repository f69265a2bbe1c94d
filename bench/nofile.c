/*
 * nofile - hold many files open at once and report a process's memory.
 *
 *   nofile [--pid PID] [--write] DIR N
 *
 * Raises RLIMIT_NOFILE to fit N more descriptors (raising the hard limit
 * too needs root or CAP_SYS_RESOURCE), then creates or opens N files
 * DIR/oNNNNNNN (O_RDWR | O_CREAT) and keeps all of them open.  --write
 * writes one byte at offset 0 of each (so each file has data, and a store
 * a chunk file for it; at offset 0 that chunk file stays one byte long,
 * also on a backing without sparse files).  With every file open,
 * it reads VmRSS and VmHWM from /proc/PID/status (PID: the daemon serving
 * DIR), then closes the files.
 *
 * Output on success:
 *     open N
 *     seconds S          (time to open, and write, all N)
 *     VmRSS KB           (with --pid)
 *     VmHWM KB           (with --pid)
 * On failure: exit 1 with "error: ..." on stdout and stderr; 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: nofile [--pid PID] [--write] DIR N\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copy the lines "VmRSS:" and "VmHWM:" of /proc/@pid/status to stdout. */
static int print_memory(long pid)
{
	char path[64], line[256];
	long kb;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f) {
		printf("error: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			printf("VmRSS %ld\n", kb);
		else if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			printf("VmHWM %ld\n", kb);
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	char path[4096];
	long pid = 0, n, opened = 0;
	int do_write = 0, i, ret = 1;
	int *fds;
	double t0, t1;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--write"))
			do_write = 1;
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc)
			pid = strtol(argv[++i], NULL, 10);
		else
			usage();
	}
	if (i != argc - 2)
		usage();
	n = strtol(argv[i + 1], NULL, 10);
	if (n <= 0 || n > 10000000)
		usage();

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		printf("error: getrlimit: %s\n", strerror(errno));
		return 1;
	}
	if (rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = n + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			printf("error: setrlimit(RLIMIT_NOFILE, %ld): %s\n",
			       n + 64, strerror(errno));
			fprintf(stderr, "nofile: setrlimit: %s\n",
				strerror(errno));
			return 1;
		}
	}
	fds = calloc(n, sizeof(*fds));
	if (!fds) {
		printf("error: out of memory\n");
		return 1;
	}

	t0 = now();
	for (; opened < n; opened++) {
		int fd;

		snprintf(path, sizeof(path), "%s/o%07ld", argv[i], opened);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			printf("error: open %s (after %ld open): %s\n", path,
			       opened, strerror(errno));
			fprintf(stderr, "nofile: open %s: %s\n", path,
				strerror(errno));
			goto out;
		}
		fds[opened] = fd;
		if (do_write && pwrite(fd, "x", 1, 0) != 1) {
			printf("error: write %s: %s\n", path, strerror(errno));
			fprintf(stderr, "nofile: write %s: %s\n", path,
				strerror(errno));
			opened++;
			goto out;
		}
	}
	t1 = now();
	printf("open %ld\nseconds %.6f\n", opened, t1 - t0);
	if (pid && print_memory(pid))
		goto out;
	fflush(stdout);
	ret = 0;
out:
	for (long k = 0; k < opened; k++)
		close(fds[k]);
	free(fds);
	return ret;
}
