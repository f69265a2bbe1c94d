/*
 * model - a randomized model test of one file, in the spirit of fsx.
 *
 *   model [-s SEED] [-n OPS] [-l MAXLEN] [-z MAXSIZE] [-c CHUNK]
 *         [-f EVERY] [-o COPY] [-v] FILE
 *
 *   -s SEED     seed of the pseudo-random sequence (default 1)
 *   -n OPS      number of operations (default 10000)
 *   -l MAXLEN   longest write, read, punch... (default 1 MiB)
 *   -z MAXSIZE  the file never grows past this (default 64 MiB)
 *   -c CHUNK    the store's chunk size: offsets and lengths are often
 *               aimed at its multiples (default 1 MiB)
 *   -f EVERY    compare the whole file every EVERY operations (default 500)
 *   -o COPY     at the end, write what the file must hold to COPY
 *   -v          log every operation to stdout
 *
 * FILE is created (emptied if it exists).  Each operation is applied to it
 * and to an in-memory model, a plain buffer of MAXSIZE bytes of which the
 * first `size` are the file's content and the rest always zeros.  Every
 * read is compared with the model:
 *   write       pwrite of random bytes, of zeros (zero detection), of
 *               zeros with a few stray bytes, of a whole chunk (aligned)
 *               of zeros or data, across a chunk boundary;
 *   read        pread, also at and past the end of file;
 *   dread       pread through a second descriptor opened with O_DIRECT,
 *               which bypasses the page cache and reads the daemon's data;
 *   truncate    ftruncate up and down;
 *   punch       fallocate PUNCH_HOLE|KEEP_SIZE;
 *   zero        fallocate ZERO_RANGE, with and without KEEP_SIZE;
 *   falloc      fallocate mode 0 and KEEP_SIZE (content unchanged; mode 0
 *               extends the size);
 *   mapwrite    mmap MAP_SHARED of the whole file (extended first when the
 *               write goes past its end, as fsx does), memcpy, msync;
 *   mapread     mmap of the whole file, compare a range;
 *   seek        SEEK_DATA/SEEK_HOLE: at or past the end of file both give
 *               ENXIO; below it, SEEK_DATA gives ENXIO or an offset in
 *               [off, size), and every byte the model holds in
 *               [off, result) (or [off, size) for ENXIO) is zero (data is
 *               never skipped); SEEK_HOLE gives an offset in [off, size];
 *   copy        copy_file_range from one range of the file to another that
 *               does not overlap it (holes in the source must read as
 *               zeros in the copy; the size grows as with a write);
 *   stat        fstat: st_size is the model's size;
 *   drop        fsync, then posix_fadvise DONTNEED: later reads come from
 *               the daemon, not from the page cache;
 *   reopen      close and open again.
 * The whole file is compared every EVERY operations and at the end.
 *
 * On a mismatch or an unexpected error: the seed, the operation number, the
 * last 30 operations and the first differing bytes on stderr; exit 1.  On
 * success: a one-line summary of the operation counts on stdout; exit 0.
 * Usage errors exit 2.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "size_arg.h"

#define MIB ((uint64_t)1 << 20)
#define LOG_KEEP 30
#define DIO_ALIGN 4096

enum op {
	OP_WRITE,
	OP_WRITE_ZERO,
	OP_WRITE_SPECKLED,
	OP_WRITE_CHUNK,
	OP_READ,
	OP_DREAD,
	OP_TRUNCATE,
	OP_PUNCH,
	OP_ZERO,
	OP_ZERO_KEEP,
	OP_FALLOC,
	OP_FALLOC_KEEP,
	OP_MAPWRITE,
	OP_MAPREAD,
	OP_SEEK_DATA,
	OP_SEEK_HOLE,
	OP_COPY,
	OP_STAT,
	OP_DROP,
	OP_REOPEN,
	OP_COUNT
};

static const struct {
	const char *name;
	unsigned weight;
} op_info[OP_COUNT] = {
    [OP_WRITE] = {"write", 20},
    [OP_WRITE_ZERO] = {"writezero", 6},
    [OP_WRITE_SPECKLED] = {"writespeckled", 3},
    [OP_WRITE_CHUNK] = {"writechunk", 5},
    [OP_READ] = {"read", 15},
    [OP_DREAD] = {"dread", 4},
    [OP_TRUNCATE] = {"truncate", 4},
    [OP_PUNCH] = {"punch", 6},
    [OP_ZERO] = {"zero", 3},
    [OP_ZERO_KEEP] = {"zerokeep", 3},
    [OP_FALLOC] = {"falloc", 2},
    [OP_FALLOC_KEEP] = {"fallockeep", 2},
    [OP_MAPWRITE] = {"mapwrite", 5},
    [OP_MAPREAD] = {"mapread", 5},
    [OP_SEEK_DATA] = {"seekdata", 5},
    [OP_SEEK_HOLE] = {"seekhole", 5},
    [OP_COPY] = {"copy", 3},
    [OP_STAT] = {"stat", 3},
    [OP_DROP] = {"drop", 1},
    [OP_REOPEN] = {"reopen", 1},
};

/* The run's parameters and state. */
static uint64_t seed = 1;
static unsigned long nops = 10000;
static uint64_t maxlen = MIB;
static uint64_t maxsize = 64 * MIB;
static uint64_t chunk = MIB;
static unsigned long every = 500;
static const char *copy_path;
static bool verbose;
static const char *path;

static int fd = -1;
static unsigned char *model; /* maxsize bytes; past size all zeros */
static uint64_t size;	     /* the model's file size */
static unsigned char *wbuf;  /* data of the current write */
static unsigned char *rbuf;  /* what was read back */
static unsigned long opno;
static unsigned long counts[OP_COUNT];
static unsigned long full_compares;

static char log_ring[LOG_KEEP][160];
static unsigned long log_opno[LOG_KEEP];

/* ---- pseudo-random numbers (splitmix64: the same run on every host) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 when n is 0. */
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

static bool chance(unsigned percent) { return rnd_below(100) < percent; }

static void rnd_fill(unsigned char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t v = rnd();
		for (int k = 0; k < 8 && i < len; k++, v >>= 8)
			buf[i++] = (unsigned char)v;
	}
}

/* ---- the log of recent operations, and failing ---- */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	unsigned slot = opno % LOG_KEEP;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_ring[slot], sizeof(log_ring[slot]), fmt, ap);
	va_end(ap);
	log_opno[slot] = opno;
	if (verbose)
		printf("%lu %s\n", opno, log_ring[slot]);
}

static void dump_log(void)
{
	unsigned long first = opno + 1 > LOG_KEEP ? opno + 1 - LOG_KEEP : 0;

	fprintf(stderr, "model: last operations (op: what, size before):\n");
	for (unsigned long n = first; n <= opno; n++) {
		unsigned slot = n % LOG_KEEP;
		if (log_opno[slot] == n && log_ring[slot][0])
			fprintf(stderr, "  %lu: %s\n", n, log_ring[slot]);
	}
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "model: FAIL: %s: seed %" PRIu64 ", op %lu: ", path,
		seed, opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_log();
	fprintf(stderr,
		"model: to replay: model -s %" PRIu64 " -n %lu -l %" PRIu64
		" -z %" PRIu64 " -c %" PRIu64 " -f %lu FILE\n",
		seed, nops, maxlen, maxsize, chunk, every);
	exit(1);
}

/* Show where @got differs from the model at file offset @off. */
static void mismatch(const char *what, const unsigned char *got, uint64_t off,
		     uint64_t len) __attribute__((noreturn));
static void mismatch(const char *what, const unsigned char *got, uint64_t off,
		     uint64_t len)
{
	uint64_t first = UINT64_MAX, last = 0, bad = 0;

	for (uint64_t i = 0; i < len; i++) {
		if (got[i] != model[off + i]) {
			if (first == UINT64_MAX)
				first = i;
			last = i;
			bad++;
		}
	}
	fprintf(stderr,
		"model: %s of [0x%" PRIx64 ", 0x%" PRIx64
		") differs from the model: %" PRIu64 " bytes in [0x%" PRIx64
		", 0x%" PRIx64 "], size 0x%" PRIx64 "\n",
		what, off, off + len, bad, off + first, off + last, size);
	for (int row = 0; row < 4 && first + row * 16 < len; row++) {
		uint64_t at = first + row * 16;
		fprintf(stderr, "  0x%08" PRIx64 " expected", off + at);
		for (uint64_t i = at; i < at + 16 && i < len; i++)
			fprintf(stderr, " %02x", model[off + i]);
		fprintf(stderr, "\n  0x%08" PRIx64 " got     ", off + at);
		for (uint64_t i = at; i < at + 16 && i < len; i++)
			fprintf(stderr, " %02x", got[i]);
		fputc('\n', stderr);
	}
	die("%s mismatch", what);
}

static void check_bytes(const char *what, const unsigned char *got,
			uint64_t off, uint64_t len)
{
	if (memcmp(got, model + off, len))
		mismatch(what, got, off, len);
}

/* ---- choosing offsets and lengths ---- */

/* An offset below @limit: anywhere, near the end of file, or near a chunk
 * boundary. */
static uint64_t pick_off(uint64_t limit)
{
	uint64_t off;

	if (limit == 0)
		return 0;
	switch (rnd_below(10)) {
	case 0:
	case 1:
	case 2:
		off = rnd_below(limit);
		break;
	case 3:
	case 4:
	case 5:
		off = rnd_below(size + 1);
		break;
	case 6:
		/* Near the end of file. */
		off = size + rnd_below(2 * 4096);
		off = off > 4096 ? off - 4096 : 0;
		break;
	default: {
		/* Near a chunk boundary, on either side. */
		uint64_t k = rnd_below(limit / chunk + 1);
		uint64_t d = rnd_below(chance(50) ? 64 : 2 * 4096);
		off = k * chunk;
		if (chance(50))
			off = off > d ? off - d : 0;
		else
			off += d;
		break;
	}
	}
	if (chance(20))
		off &= ~(uint64_t)4095;
	return off < limit ? off : limit - 1;
}

/* A length in [1, MAXLEN], log-uniform, often a multiple of 4 KiB or of
 * the chunk size. */
static uint64_t pick_len(void)
{
	unsigned bits = 0;
	uint64_t len;

	while (((uint64_t)1 << bits) < maxlen)
		bits++;
	len = 1 + rnd_below((uint64_t)1 << rnd_below(bits + 1));
	if (chance(15))
		len = (len + 4095) & ~(uint64_t)4095;
	if (chance(5))
		len = chunk * (1 + rnd_below(2));
	return len < maxlen ? len : maxlen;
}

/* Clip [*off, *off + *len) to the model's bounds; false if empty. */
static bool clip(uint64_t *off, uint64_t *len)
{
	if (*off >= maxsize)
		return false;
	if (*len > maxsize - *off)
		*len = maxsize - *off;
	return *len > 0;
}

/* ---- the file ---- */

static void open_file(int flags)
{
	fd = open(path, O_RDWR | flags, 0644);
	if (fd < 0)
		die("open: %s", strerror(errno));
}

static void model_set_size(uint64_t new_size)
{
	if (new_size < size)
		memset(model + new_size, 0, size - new_size);
	size = new_size;
}

static void pwrite_all(const unsigned char *buf, uint64_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);
		if (n < 0)
			die("pwrite 0x%" PRIx64 "+0x%" PRIx64 ": %s", off, len,
			    strerror(errno));
		if (n == 0)
			die("pwrite 0x%" PRIx64 "+0x%" PRIx64 " wrote nothing",
			    off, len);
		buf += n;
		off += n;
		len -= n;
	}
}

/* pread until @len bytes or end of file; the count. */
static uint64_t pread_all(int from, unsigned char *buf, uint64_t len,
			  uint64_t off, const char *what)
{
	uint64_t got = 0;

	while (got < len) {
		ssize_t n = pread(from, buf + got, len - got, off + got);
		if (n < 0)
			die("%s 0x%" PRIx64 "+0x%" PRIx64 ": %s", what,
			    off + got, len - got, strerror(errno));
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

/* What a read of [off, off + len) must return: its length. */
static uint64_t expect_len(uint64_t off, uint64_t len)
{
	if (off >= size)
		return 0;
	return len < size - off ? len : size - off;
}

/* ---- operations ---- */

static void do_write(enum op op)
{
	uint64_t off = pick_off(maxsize), len = pick_len();
	const char *kind = "data";

	if (op == OP_WRITE_CHUNK) {
		/* One or two whole aligned chunks: all zeros frees them. */
		off = rnd_below(maxsize / chunk) * chunk;
		len = chunk * (1 + rnd_below(2));
	}
	if (!clip(&off, &len))
		return;
	switch (op) {
	case OP_WRITE_ZERO:
		memset(wbuf, 0, len);
		kind = "zeros";
		break;
	case OP_WRITE_SPECKLED:
		/* Zeros but for a few bytes: the chunk must stay. */
		memset(wbuf, 0, len);
		for (int i = 1 + rnd_below(3); i > 0; i--)
			wbuf[rnd_below(len)] = 1 + rnd_below(255);
		kind = "speckled";
		break;
	case OP_WRITE_CHUNK:
		if (chance(60)) {
			memset(wbuf, 0, len);
			kind = "chunk zeros";
		} else {
			rnd_fill(wbuf, len);
			kind = "chunk data";
		}
		break;
	default:
		rnd_fill(wbuf, len);
	}
	note("write 0x%" PRIx64 "+0x%" PRIx64 " (%s), size 0x%" PRIx64, off,
	     len, kind, size);
	pwrite_all(wbuf, len, off);
	memcpy(model + off, wbuf, len);
	if (off + len > size)
		size = off + len;
}

static void do_read(void)
{
	uint64_t off = pick_off(maxsize + 8192), len = pick_len(), want, got;

	note("read 0x%" PRIx64 "+0x%" PRIx64 ", size 0x%" PRIx64, off, len,
	     size);
	want = expect_len(off, len);
	got = pread_all(fd, rbuf, len, off, "pread");
	if (got != want)
		die("pread 0x%" PRIx64 "+0x%" PRIx64 " returned 0x%" PRIx64
		    " bytes, expected 0x%" PRIx64,
		    off, len, got, want);
	check_bytes("pread", rbuf, off, got);
}

static void do_dread(void)
{
	uint64_t off = pick_off(maxsize + 8192) & ~(uint64_t)(DIO_ALIGN - 1);
	uint64_t len =
	    (pick_len() + DIO_ALIGN - 1) & ~(uint64_t)(DIO_ALIGN - 1);
	uint64_t want, got;
	int dfd;

	if (len > maxlen)
		len = maxlen & ~(uint64_t)(DIO_ALIGN - 1);
	if (len == 0)
		return;
	note("dread 0x%" PRIx64 "+0x%" PRIx64 " (O_DIRECT), size 0x%" PRIx64,
	     off, len, size);
	dfd = open(path, O_RDONLY | O_DIRECT);
	if (dfd < 0)
		die("open O_DIRECT: %s", strerror(errno));
	want = expect_len(off, len);
	got = pread_all(dfd, rbuf, len, off, "O_DIRECT pread");
	close(dfd);
	if (got != want)
		die("O_DIRECT pread 0x%" PRIx64 "+0x%" PRIx64
		    " returned 0x%" PRIx64 " bytes, expected 0x%" PRIx64,
		    off, len, got, want);
	check_bytes("O_DIRECT pread", rbuf, off, got);
}

static uint64_t pick_size(void)
{
	uint64_t s;

	switch (rnd_below(5)) {
	case 0:
		s = rnd_below(maxsize + 1);
		break;
	case 1:
		/* Near a chunk boundary. */
		s = rnd_below(maxsize / chunk + 1) * chunk;
		s += rnd_below(3) * 4096 + rnd_below(2) * rnd_below(4096);
		if (chance(50) && s >= 8192)
			s -= 8192;
		break;
	case 2:
		s = size / 2 + rnd_below(size / 2 + 1);
		break;
	case 3:
		s = size + rnd_below(4 * chunk);
		break;
	default:
		s = size > chunk ? size - rnd_below(chunk) : rnd_below(chunk);
	}
	return s < maxsize ? s : maxsize;
}

static void do_truncate(void)
{
	uint64_t s = pick_size();

	note("truncate to 0x%" PRIx64 ", size 0x%" PRIx64, s, size);
	if (ftruncate(fd, s) < 0)
		die("ftruncate 0x%" PRIx64 ": %s", s, strerror(errno));
	model_set_size(s);
}

static void do_fallocate(enum op op)
{
	static const int modes[OP_COUNT] = {
	    [OP_PUNCH] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    [OP_ZERO] = FALLOC_FL_ZERO_RANGE,
	    [OP_ZERO_KEEP] = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	    [OP_FALLOC] = 0,
	    [OP_FALLOC_KEEP] = FALLOC_FL_KEEP_SIZE,
	};
	uint64_t off = pick_off(maxsize), len = pick_len();
	int mode = modes[op];

	if (op == OP_PUNCH && chance(30)) {
		/* Whole chunks, and a bit either side sometimes. */
		off = rnd_below(maxsize / chunk) * chunk;
		len = chunk * (1 + rnd_below(3));
		if (chance(50) && off >= 4096) {
			off -= 4096;
			len += 8192;
		}
	}
	if (!clip(&off, &len))
		return;
	note("%s 0x%" PRIx64 "+0x%" PRIx64 ", size 0x%" PRIx64,
	     op_info[op].name, off, len, size);
	if (fallocate(fd, mode, off, len) < 0)
		die("fallocate %s (mode 0x%x) 0x%" PRIx64 "+0x%" PRIx64 ": %s",
		    op_info[op].name, mode, off, len, strerror(errno));
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		uint64_t end = off + len < size ? off + len : size;
		if (off < end)
			memset(model + off, 0, end - off);
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > size)
		size = off + len;
}

static void do_mapwrite(void)
{
	uint64_t off = pick_off(maxsize), len = pick_len();
	unsigned char *map;

	if (!clip(&off, &len))
		return;
	rnd_fill(wbuf, len);
	note("mapwrite 0x%" PRIx64 "+0x%" PRIx64 ", size 0x%" PRIx64, off, len,
	     size);
	if (off + len > size) {
		if (ftruncate(fd, off + len) < 0)
			die("mapwrite: ftruncate 0x%" PRIx64 ": %s", off + len,
			    strerror(errno));
		size = off + len;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap 0x%" PRIx64 " bytes: %s", size, strerror(errno));
	memcpy(map + off, wbuf, len);
	memcpy(model + off, wbuf, len);
	if (msync(map, size, MS_SYNC) < 0)
		die("msync: %s", strerror(errno));
	if (munmap(map, size) < 0)
		die("munmap: %s", strerror(errno));
}

static void do_mapread(void)
{
	uint64_t off, len;
	unsigned char *map;

	if (size == 0)
		return;
	off = pick_off(size);
	len = pick_len();
	if (len > size - off)
		len = size - off;
	note("mapread 0x%" PRIx64 "+0x%" PRIx64 ", size 0x%" PRIx64, off, len,
	     size);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap 0x%" PRIx64 " bytes: %s", size, strerror(errno));
	memcpy(rbuf, map + off, len);
	if (munmap(map, size) < 0)
		die("munmap: %s", strerror(errno));
	check_bytes("mapread", rbuf, off, len);
}

/* First offset in [from, to) where the model holds a non-zero byte, or
 * UINT64_MAX. */
static uint64_t model_data_at(uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		if (model[i])
			return i;
	return UINT64_MAX;
}

static void do_seek(enum op op)
{
	int whence = op == OP_SEEK_DATA ? SEEK_DATA : SEEK_HOLE;
	uint64_t off, nz;
	off_t r;

	switch (rnd_below(8)) {
	case 0:
		off = size;
		break;
	case 1:
		off = size + 1 + rnd_below(2 * chunk);
		break;
	default:
		off = size ? pick_off(size) : 0;
	}
	note("%s at 0x%" PRIx64 ", size 0x%" PRIx64, op_info[op].name, off,
	     size);
	r = lseek(fd, off, whence);
	if (r < 0 && errno != ENXIO)
		die("lseek(0x%" PRIx64 ", %s): %s", off, op_info[op].name,
		    strerror(errno));
	if (off >= size) {
		if (r >= 0)
			die("lseek(0x%" PRIx64
			    ", %s) at or past the end of file"
			    " (0x%" PRIx64 ") gave 0x%jx, expected ENXIO",
			    off, op_info[op].name, size, (intmax_t)r);
		return;
	}
	if (whence == SEEK_HOLE) {
		if (r < 0)
			die("lseek(0x%" PRIx64 ", SEEK_HOLE) below the end of "
			    "file (0x%" PRIx64 ") gave ENXIO",
			    off, size);
		if ((uint64_t)r < off || (uint64_t)r > size)
			die("lseek(0x%" PRIx64 ", SEEK_HOLE) gave 0x%jx, "
			    "outside [off, size 0x%" PRIx64 "]",
			    off, (intmax_t)r, size);
		return;
	}
	if (r >= 0 && ((uint64_t)r < off || (uint64_t)r >= size))
		die("lseek(0x%" PRIx64 ", SEEK_DATA) gave 0x%jx, outside "
		    "[off, size 0x%" PRIx64 ")",
		    off, (intmax_t)r, size);
	nz = model_data_at(off, r < 0 ? size : (uint64_t)r);
	if (nz != UINT64_MAX)
		die("lseek(0x%" PRIx64 ", SEEK_DATA) gave %s%jx, skipping "
		    "data: the model holds 0x%02x at 0x%" PRIx64,
		    off, r < 0 ? "ENXIO " : "0x", (intmax_t)(r < 0 ? 0 : r),
		    model[nz], nz);
}

static void do_copy(void)
{
	uint64_t in = pick_off(maxsize), out = pick_off(maxsize);
	uint64_t len = pick_len(), done = 0;
	loff_t in_pos, out_pos;

	if (chance(30)) {
		/* Whole chunks to whole chunks. */
		in = rnd_below(maxsize / chunk) * chunk;
		out = rnd_below(maxsize / chunk) * chunk;
		len = chunk;
	}
	if (!clip(&out, &len))
		return;
	/* The kernel refuses overlapping copies within a file. */
	if (in < out + len && out < in + len)
		return;
	note("copy 0x%" PRIx64 "+0x%" PRIx64 " to 0x%" PRIx64
	     ", size 0x%" PRIx64,
	     in, len, out, size);
	in_pos = (loff_t)in;
	out_pos = (loff_t)out;
	/* Call by call: a copy that extends the file makes more of the
	 * source readable for the next call. */
	while (done < len) {
		uint64_t at = in + done, to = out + done;
		uint64_t most = expect_len(at, len - done);
		ssize_t n =
		    copy_file_range(fd, &in_pos, fd, &out_pos, len - done, 0);
		if (n < 0)
			die("copy_file_range 0x%" PRIx64 "+0x%" PRIx64
			    " to 0x%" PRIx64 ": %s",
			    at, len - done, to, strerror(errno));
		if ((uint64_t)n > most)
			die("copy_file_range 0x%" PRIx64 "+0x%" PRIx64
			    " to 0x%" PRIx64 " copied 0x%zx bytes, but only "
			    "0x%" PRIx64 " are below the end of file",
			    at, len - done, to, n, most);
		if (n == 0) {
			if (most)
				die("copy_file_range 0x%" PRIx64 "+0x%" PRIx64
				    " to 0x%" PRIx64
				    " copied nothing, 0x%" PRIx64
				    " bytes below the end of file",
				    at, len - done, to, most);
			break;
		}
		if ((uint64_t)in_pos != at + n || (uint64_t)out_pos != to + n)
			die("copy_file_range moved the offsets to 0x%jx and "
			    "0x%jx, expected 0x%" PRIx64 " and 0x%" PRIx64,
			    (intmax_t)in_pos, (intmax_t)out_pos, at + n,
			    to + n);
		memcpy(model + to, model + at, n);
		if (to + n > size)
			size = to + n;
		done += n;
	}
}

static void do_stat(void)
{
	struct stat st;

	note("stat, size 0x%" PRIx64, size);
	if (fstat(fd, &st) < 0)
		die("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != size)
		die("fstat: st_size 0x%jx, expected 0x%" PRIx64,
		    (intmax_t)st.st_size, size);
}

static void do_drop(void)
{
	int r;

	note("drop: fsync, fadvise DONTNEED, size 0x%" PRIx64, size);
	if (fsync(fd) < 0)
		die("fsync: %s", strerror(errno));
	r = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (r)
		die("posix_fadvise DONTNEED: %s", strerror(r));
}

static void do_reopen(void)
{
	note("reopen, size 0x%" PRIx64, size);
	if (close(fd) < 0)
		die("close: %s", strerror(errno));
	open_file(0);
}

/* Compare the whole file, and its size, with the model. */
static void compare_all(const char *why)
{
	uint64_t off = 0, got;
	struct stat st;

	opno++;
	note("compare all (%s), size 0x%" PRIx64, why, size);
	full_compares++;
	if (fstat(fd, &st) < 0)
		die("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != size)
		die("fstat: st_size 0x%jx, expected 0x%" PRIx64,
		    (intmax_t)st.st_size, size);
	while (off < size) {
		uint64_t len = size - off < maxlen ? size - off : maxlen;
		got = pread_all(fd, rbuf, len, off, "pread");
		if (got != len)
			die("compare: pread 0x%" PRIx64 "+0x%" PRIx64
			    " returned 0x%" PRIx64 " bytes",
			    off, len, got);
		check_bytes("whole-file compare", rbuf, off, len);
		off += len;
	}
	got = pread_all(fd, rbuf, 4096, size, "pread");
	if (got != 0)
		die("compare: pread at the end of file (0x%" PRIx64
		    ") returned 0x%" PRIx64 " bytes",
		    size, got);
	opno--;
}

static enum op pick_op(void)
{
	static unsigned total;
	unsigned r;

	if (!total)
		for (int i = 0; i < OP_COUNT; i++)
			total += op_info[i].weight;
	r = rnd_below(total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (r < op_info[i].weight)
			return (enum op)i;
		r -= op_info[i].weight;
	}
	return OP_READ;
}

static void run_op(enum op op)
{
	switch (op) {
	case OP_WRITE:
	case OP_WRITE_ZERO:
	case OP_WRITE_SPECKLED:
	case OP_WRITE_CHUNK:
		do_write(op);
		break;
	case OP_READ:
		do_read();
		break;
	case OP_DREAD:
		do_dread();
		break;
	case OP_TRUNCATE:
		do_truncate();
		break;
	case OP_PUNCH:
	case OP_ZERO:
	case OP_ZERO_KEEP:
	case OP_FALLOC:
	case OP_FALLOC_KEEP:
		do_fallocate(op);
		break;
	case OP_MAPWRITE:
		do_mapwrite();
		break;
	case OP_MAPREAD:
		do_mapread();
		break;
	case OP_SEEK_DATA:
	case OP_SEEK_HOLE:
		do_seek(op);
		break;
	case OP_COPY:
		do_copy();
		break;
	case OP_STAT:
		do_stat();
		break;
	case OP_DROP:
		do_drop();
		break;
	case OP_REOPEN:
		do_reopen();
		break;
	case OP_COUNT:
		break;
	}
	counts[op]++;
}

static void write_copy(void)
{
	int out = open(copy_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t off = 0;

	if (out < 0)
		die("open %s: %s", copy_path, strerror(errno));
	while (off < size) {
		ssize_t n = pwrite(out, model + off,
				   size - off < MIB ? size - off : MIB, off);
		if (n <= 0)
			die("write %s: %s", copy_path,
			    n < 0 ? strerror(errno) : "wrote nothing");
		off += n;
	}
	if (ftruncate(out, size) < 0 || close(out) < 0)
		die("write %s: %s", copy_path, strerror(errno));
}

/* A size with an optional K, M, G or T suffix. */
static bool parse_size(const char *s, uint64_t *out)
{
	return size_arg(s, 0, out) == 0;
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr,
		"usage: model [-s SEED] [-n OPS] [-l MAXLEN] "
		"[-z MAXSIZE] [-c CHUNK] [-f EVERY] [-o COPY] [-v] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t v;
	int c;

	while ((c = getopt(argc, argv, "s:n:l:z:c:f:o:v")) != -1) {
		switch (c) {
		case 's':
			if (!parse_size(optarg, &seed))
				usage();
			break;
		case 'n':
			if (!parse_size(optarg, &v))
				usage();
			nops = v;
			break;
		case 'l':
			if (!parse_size(optarg, &maxlen) || maxlen < 1)
				usage();
			break;
		case 'z':
			if (!parse_size(optarg, &maxsize) || maxsize < 4096)
				usage();
			break;
		case 'c':
			if (!parse_size(optarg, &chunk) || chunk < 4096 ||
			    (chunk & (chunk - 1)))
				usage();
			break;
		case 'f':
			if (!parse_size(optarg, &v) || v < 1)
				usage();
			every = v;
			break;
		case 'o':
			copy_path = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	path = argv[optind];
	if (maxlen > maxsize)
		maxlen = maxsize;
	rng_state = seed;

	model = calloc(1, maxsize);
	/* Reads and writes go up to maxlen, at most twice the chunk when
	 * aimed at chunks; O_DIRECT wants aligned buffers. */
	v = (maxlen > 2 * chunk ? maxlen : 2 * chunk) + DIO_ALIGN;
	if (!model || posix_memalign((void **)&wbuf, DIO_ALIGN, v) ||
	    posix_memalign((void **)&rbuf, DIO_ALIGN, v)) {
		fprintf(stderr, "model: out of memory\n");
		return 1;
	}
	open_file(O_CREAT | O_TRUNC);

	for (opno = 1; opno <= nops; opno++) {
		run_op(pick_op());
		if (opno % every == 0)
			compare_all("periodic");
	}
	opno = nops;
	if (fsync(fd) < 0)
		die("final fsync: %s", strerror(errno));
	compare_all("final");
	if (close(fd) < 0)
		die("close: %s", strerror(errno));
	fd = -1;
	if (copy_path)
		write_copy();

	printf("model: %s: seed %" PRIu64 ": %lu ops, size 0x%" PRIx64
	       ", %lu full compares:",
	       path, seed, nops, size, full_compares);
	for (int i = 0; i < OP_COUNT; i++)
		printf(" %s %lu", op_info[i].name, counts[i]);
	putchar('\n');
	free(model);
	free(wbuf);
	free(rbuf);
	return 0;
}
