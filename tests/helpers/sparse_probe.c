/*
 * sparse_probe - small targeted probes of the sparse-file API, for the
 * integration tests' shell scripts.
 *
 *   sparse_probe seek FILE OFF data|hole
 *       lseek(SEEK_DATA or SEEK_HOLE) from OFF: prints the offset, or the
 *       errno name (ENXIO...).
 *   sparse_probe seeks FILE OFF...
 *       for each OFF, a line "OFF DATA HOLE": what SEEK_DATA and SEEK_HOLE
 *       from OFF give (offsets or errno names), one open for all.
 *   sparse_probe extents FILE
 *       the data extents as SEEK_DATA/SEEK_HOLE tell them, one
 *       "START END" line each (END exclusive), then "size SIZE".
 *   sparse_probe falloc FILE MODE OFF LEN
 *       fallocate, MODE one of alloc (0), keep (KEEP_SIZE), punch
 *       (PUNCH_HOLE|KEEP_SIZE), punch-nokeep (PUNCH_HOLE alone), zero
 *       (ZERO_RANGE), zero-keep (ZERO_RANGE|KEEP_SIZE), collapse
 *       (COLLAPSE_RANGE), insert (INSERT_RANGE): prints "ok" or the errno
 *       name.  FILE must exist.
 *   sparse_probe copy SRC DST LEN [OFF_IN OFF_OUT]
 *       copy_file_range in a loop until LEN bytes are copied or the source
 *       ends; DST is created if missing, never truncated.  Prints the
 *       number of bytes copied, or the errno name of a failed call.
 *   sparse_probe odirect FILE
 *       creates FILE (truncating it); writes aligned buffers with O_DIRECT
 *       at and across 64 KiB and 1 MiB boundaries, reads them back with
 *       O_DIRECT and through the page cache, and buffered writes back
 *       with O_DIRECT; checks every byte and the holes between.  Prints
 *       "ok".
 *
 * Numbers take an optional K, M, G or T suffix (powers of 1024).  Exit
 * status: 0 when the probe ran (whatever errno it printed), 1 when it could
 * not (a file that cannot be opened, a mismatch in odirect), 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "size_arg.h"

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)

static const char *errno_name(int e)
{
	static char other[32];

	switch (e) {
	case ENXIO:
		return "ENXIO";
	case EINVAL:
		return "EINVAL";
	case ENOSPC:
		return "ENOSPC";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case ENOSYS:
		return "ENOSYS";
	case EFBIG:
		return "EFBIG";
	case EIO:
		return "EIO";
	case EBADF:
		return "EBADF";
	case EXDEV:
		return "EXDEV";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ENOENT:
		return "ENOENT";
	case EISDIR:
		return "EISDIR";
	case ENODEV:
		return "ENODEV";
	case ESPIPE:
		return "ESPIPE";
	case EOVERFLOW:
		return "EOVERFLOW";
	case EROFS:
		return "EROFS";
	case ETXTBSY:
		return "ETXTBSY";
	case EDQUOT:
		return "EDQUOT";
	default:
		snprintf(other, sizeof(other), "errno%d", e);
		return other;
	}
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr,
		"usage: sparse_probe seek FILE OFF data|hole\n"
		"       sparse_probe seeks FILE OFF...\n"
		"       sparse_probe extents FILE\n"
		"       sparse_probe falloc FILE MODE OFF LEN\n"
		"       sparse_probe copy SRC DST LEN [OFF_IN OFF_OUT]\n"
		"       sparse_probe odirect FILE\n");
	exit(2);
}

static uint64_t parse_num(const char *s)
{
	uint64_t v;

	if (size_arg(s, 0, &v))
		usage();
	return v;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags, 0644);

	if (fd < 0) {
		fprintf(stderr, "sparse_probe: open %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	return fd;
}

/* ---- seek, extents ---- */

static void print_seek(int fd, uint64_t off, int whence)
{
	off_t r = lseek(fd, (off_t)off, whence);

	if (r < 0)
		printf("%s", errno_name(errno));
	else
		printf("%jd", (intmax_t)r);
}

static int cmd_seek(int argc, char **argv)
{
	int fd, whence;
	uint64_t off;

	if (argc != 5)
		usage();
	off = parse_num(argv[3]);
	if (!strcmp(argv[4], "data"))
		whence = SEEK_DATA;
	else if (!strcmp(argv[4], "hole"))
		whence = SEEK_HOLE;
	else
		usage();
	fd = open_or_die(argv[2], O_RDONLY);
	print_seek(fd, off, whence);
	putchar('\n');
	close(fd);
	return 0;
}

static int cmd_seeks(int argc, char **argv)
{
	int fd;

	if (argc < 4)
		usage();
	fd = open_or_die(argv[2], O_RDONLY);
	for (int i = 3; i < argc; i++) {
		uint64_t off = parse_num(argv[i]);
		printf("%" PRIu64 " ", off);
		print_seek(fd, off, SEEK_DATA);
		putchar(' ');
		print_seek(fd, off, SEEK_HOLE);
		putchar('\n');
	}
	close(fd);
	return 0;
}

static int cmd_extents(int argc, char **argv)
{
	struct stat st;
	off_t pos = 0, data, hole;
	int fd;

	if (argc != 3)
		usage();
	fd = open_or_die(argv[2], O_RDONLY);
	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "sparse_probe: fstat: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break;
			fprintf(stderr, "sparse_probe: SEEK_DATA at %jd: %s\n",
				(intmax_t)pos, strerror(errno));
			return 1;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			fprintf(stderr, "sparse_probe: SEEK_HOLE at %jd: %s\n",
				(intmax_t)data, strerror(errno));
			return 1;
		}
		if (hole <= data) {
			fprintf(stderr,
				"sparse_probe: SEEK_HOLE at %jd gave "
				"%jd\n",
				(intmax_t)data, (intmax_t)hole);
			return 1;
		}
		printf("%jd %jd\n", (intmax_t)data, (intmax_t)hole);
		pos = hole;
	}
	printf("size %jd\n", (intmax_t)st.st_size);
	close(fd);
	return 0;
}

/* ---- falloc ---- */

static const struct {
	const char *name;
	int mode;
} falloc_modes[] = {
    {"alloc", 0},
    {"keep", FALLOC_FL_KEEP_SIZE},
    {"punch", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE},
    {"punch-nokeep", FALLOC_FL_PUNCH_HOLE},
    {"zero", FALLOC_FL_ZERO_RANGE},
    {"zero-keep", FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE},
    {"collapse", FALLOC_FL_COLLAPSE_RANGE},
    {"insert", FALLOC_FL_INSERT_RANGE},
};

static int cmd_falloc(int argc, char **argv)
{
	int fd, mode = -1;
	uint64_t off, len;

	if (argc != 6)
		usage();
	for (size_t i = 0; i < sizeof(falloc_modes) / sizeof(falloc_modes[0]);
	     i++)
		if (!strcmp(argv[3], falloc_modes[i].name))
			mode = falloc_modes[i].mode;
	if (mode < 0)
		usage();
	off = parse_num(argv[4]);
	len = parse_num(argv[5]);
	fd = open_or_die(argv[2], O_RDWR);
	if (fallocate(fd, mode, (off_t)off, (off_t)len) < 0)
		printf("%s\n", errno_name(errno));
	else
		printf("ok\n");
	close(fd);
	return 0;
}

/* ---- copy ---- */

static int cmd_copy(int argc, char **argv)
{
	uint64_t len, done = 0;
	loff_t in_off = 0, out_off = 0;
	int in, out;

	if (argc != 5 && argc != 7)
		usage();
	len = parse_num(argv[4]);
	if (argc == 7) {
		in_off = (loff_t)parse_num(argv[5]);
		out_off = (loff_t)parse_num(argv[6]);
	}
	in = open_or_die(argv[2], O_RDONLY);
	out = open_or_die(argv[3], O_WRONLY | O_CREAT);
	while (done < len) {
		ssize_t n =
		    copy_file_range(in, &in_off, out, &out_off, len - done, 0);
		if (n < 0) {
			printf("%s\n", errno_name(errno));
			return 0;
		}
		if (n == 0)
			break;
		done += n;
	}
	if (close(out) < 0) {
		printf("%s\n", errno_name(errno));
		return 0;
	}
	close(in);
	printf("%" PRIu64 "\n", done);
	return 0;
}

/* ---- odirect ---- */

#define ALIGN 4096

/* The byte a file written by cmd_odirect holds at @off in pass @pass. */
static unsigned char pattern(uint64_t off, unsigned pass)
{
	uint64_t x = (off / 8 + 1) * 0x9e3779b97f4a7c15ull + pass;

	x ^= x >> 29;
	return (unsigned char)(x >> (8 * (off % 8)));
}

static void fill(unsigned char *buf, uint64_t off, uint64_t len, unsigned pass)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = pattern(off + i, pass);
}

static bool odirect_failed;

static void odirect_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void odirect_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sparse_probe odirect: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	odirect_failed = true;
}

static bool rw_all(bool write_it, int fd, unsigned char *buf, uint64_t len,
		   uint64_t off, const char *what)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = write_it
				? pwrite(fd, buf + done, len - done, off + done)
				: pread(fd, buf + done, len - done, off + done);
		if (n <= 0) {
			odirect_fail("%s of %" PRIu64 " bytes at %" PRIu64
				     ": %s",
				     what, len - done, off + done,
				     n < 0 ? strerror(errno) : "nothing");
			return false;
		}
		done += n;
	}
	return true;
}

/* Check that @buf holds [off, off + len) as written in its region's pass,
 * zeros elsewhere. */
struct region {
	uint64_t off, len;
	unsigned pass;
};

static unsigned char expected_at(const struct region *r, size_t n, uint64_t off)
{
	unsigned char b = 0;

	/* The last region written wins. */
	for (size_t i = 0; i < n; i++)
		if (off >= r[i].off && off < r[i].off + r[i].len)
			b = pattern(off, r[i].pass);
	return b;
}

static void verify(const char *what, const unsigned char *buf, uint64_t off,
		   uint64_t len, const struct region *r, size_t n)
{
	for (uint64_t i = 0; i < len; i++) {
		unsigned char want = expected_at(r, n, off + i);
		if (buf[i] != want) {
			odirect_fail("%s: byte %" PRIu64 " is 0x%02x, expected "
				     "0x%02x",
				     what, off + i, buf[i], want);
			return;
		}
	}
}

static int cmd_odirect(int argc, char **argv)
{
	/* Aligned writes: a page, within a chunk, across a 64 KiB and a
	 * 1 MiB boundary, a whole 1 MiB chunk, more than a chunk, and one
	 * past a hole near 5 MiB.  Pass 2 overwrites the middle of some. */
	static const struct region regions[] = {
	    {0, 4 * KIB, 1},
	    {60 * KIB, 8 * KIB, 1},
	    {MIB - 12 * KIB, 24 * KIB, 1},
	    {2 * MIB, MIB, 1},
	    {3 * MIB + 64 * KIB, MIB + 128 * KIB, 1},
	    {5 * MIB + 4 * KIB, 4 * KIB, 1},
	    {2 * MIB + 512 * KIB, 8 * KIB, 2},
	    {MIB - 4 * KIB, 8 * KIB, 2},
	};
	const size_t nregions = sizeof(regions) / sizeof(regions[0]);
	const uint64_t size = 5 * MIB + 8 * KIB;
	unsigned char *buf, *check;
	int dfd, bfd;
	uint64_t off;

	if (argc != 3)
		usage();
	if (posix_memalign((void **)&buf, ALIGN, 2 * MIB) ||
	    posix_memalign((void **)&check, ALIGN, 2 * MIB)) {
		fprintf(stderr, "sparse_probe: out of memory\n");
		return 1;
	}
	dfd = open_or_die(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_DIRECT);

	/* Write each region with O_DIRECT and read it straight back. */
	for (size_t i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];
		fill(buf, r->off, r->len, r->pass);
		if (!rw_all(true, dfd, buf, r->len, r->off, "O_DIRECT pwrite"))
			goto out;
		memset(check, 0xee, r->len);
		if (!rw_all(false, dfd, check, r->len, r->off,
			    "O_DIRECT pread"))
			goto out;
		verify("O_DIRECT read right after the O_DIRECT write", check,
		       r->off, r->len, regions, i + 1);
	}
	if (fsync(dfd) < 0)
		odirect_fail("fsync: %s", strerror(errno));

	/* The whole file, with O_DIRECT and through the page cache. */
	bfd = open_or_die(argv[2], O_RDWR);
	for (off = 0; off < size; off += MIB) {
		uint64_t len = size - off < MIB ? size - off : MIB;
		uint64_t dlen = (len + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
		ssize_t n;
		memset(check, 0xee, dlen);
		n = pread(dfd, check, dlen, off);
		if (n != (ssize_t)len) {
			odirect_fail("O_DIRECT pread of %" PRIu64 " at %" PRIu64
				     " returned %zd, expected %" PRIu64,
				     dlen, off, n, len);
			goto out;
		}
		verify("O_DIRECT read of the whole file", check, off, len,
		       regions, nregions);
		if (!rw_all(false, bfd, check, len, off, "buffered pread"))
			goto out;
		verify("buffered read of the whole file", check, off, len,
		       regions, nregions);
	}

	/* A buffered write must be what an O_DIRECT read sees. */
	{
		static const struct region more[] = {
		    {4 * MIB + 100, 5000, 3},
		};
		struct region all[sizeof(regions) / sizeof(regions[0]) + 1];
		memcpy(all, regions, sizeof(regions));
		all[nregions] = more[0];
		fill(buf, more[0].off, more[0].len, more[0].pass);
		if (!rw_all(true, bfd, buf, more[0].len, more[0].off,
			    "buffered pwrite"))
			goto out;
		if (!rw_all(false, dfd, check, 2 * MIB, 4 * MIB - MIB,
			    "O_DIRECT pread"))
			goto out;
		verify("O_DIRECT read after a buffered write", check, 3 * MIB,
		       2 * MIB, all, nregions + 1);
	}
	close(bfd);
out:
	close(dfd);
	free(buf);
	free(check);
	if (odirect_failed)
		return 1;
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "seek"))
		return cmd_seek(argc, argv);
	if (!strcmp(argv[1], "seeks"))
		return cmd_seeks(argc, argv);
	if (!strcmp(argv[1], "extents"))
		return cmd_extents(argc, argv);
	if (!strcmp(argv[1], "falloc"))
		return cmd_falloc(argc, argv);
	if (!strcmp(argv[1], "copy"))
		return cmd_copy(argc, argv);
	if (!strcmp(argv[1], "odirect"))
		return cmd_odirect(argc, argv);
	usage();
}
