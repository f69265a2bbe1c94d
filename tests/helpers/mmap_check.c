/*
 * mmap_check - shared writable mmap and pread/pwrite must see the same bytes.
 *
 *   mmap_check FILE            create FILE (truncating it), run the checks,
 *                              leave FILE with a known final content
 *   mmap_check --verify FILE   check that FILE holds that final content
 *                              (after an unmount and remount, say)
 *
 * The file is a little over 3 MiB, so that writes straddle chunk boundaries
 * (1 MiB by default, 64 KiB at least) and end in a partial last page; some
 * ranges are never written and must read as zeros.  The run:
 *   1. writes patterns through a MAP_SHARED, PROT_WRITE mapping and checks,
 *      before any msync, that pread sees them;
 *   2. pwrites patterns (overlapping the first ones) and checks that the
 *      mapping sees them;
 *   3. alternates small writes through either path at pseudo-random offsets,
 *      checking each one through the other path at once;
 *   4. msync(MS_SYNC) and fsync, unmaps, reopens and preads the whole file.
 * A shadow buffer holds what the file must contain throughout.
 *
 * Exit 0 on success, 1 on a mismatch or a failed call (said on stderr), 2 on
 * usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define FILE_SIZE (3 * MIB + 20603)
#define MAX_OPS 4096

enum op_kind { OP_MAP, OP_PWRITE };

struct op {
	enum op_kind kind;
	size_t off;
	size_t len;
	unsigned seed;
	int phase;
};

static struct op ops[MAX_OPS];
static int nops;

static void add(int phase, enum op_kind kind, size_t off, size_t len,
		unsigned seed)
{
	if (off + len > FILE_SIZE)
		len = FILE_SIZE - off;
	ops[nops++] = (struct op){kind, off, len, seed, phase};
}

/* The ops of a run, identical every time so that --verify can replay them. */
static void build_ops(void)
{
	uint32_t lcg = 12345;
	size_t off;
	int i;

	add(1, OP_MAP, 0, 4096, 1);
	add(1, OP_MAP, MIB - 100, 200, 2);
	add(1, OP_MAP, 2 * MIB + 5000, 70000, 3);
	add(1, OP_MAP, FILE_SIZE - 173, 173, 4);
	for (off = 0; off < FILE_SIZE; off += 16 * 4096)
		if (off < MIB + MIB / 2 || off >= 2 * MIB)
			add(1, OP_MAP, off, 64, 5);

	add(2, OP_PWRITE, 10, 4990, 6);
	add(2, OP_PWRITE, MIB + 4000, 9000, 7);
	add(2, OP_PWRITE, 3 * MIB - 1, 2, 8);
	add(2, OP_PWRITE, FILE_SIZE - 4106, 4106, 9);

	for (i = 0; i < 1000; i++) {
		lcg = lcg * 1103515245u + 12345u;
		off = (lcg >> 8) % FILE_SIZE;
		/* leave [1.5 MiB, 2 MiB) a hole */
		if (off >= MIB + MIB / 2 && off < 2 * MIB)
			off -= MIB / 2;
		add(3, i % 2 ? OP_PWRITE : OP_MAP, off, 1 + (lcg & 63),
		    (unsigned)(10 + i));
	}
}

static unsigned char pattern(size_t off, unsigned seed)
{
	return (unsigned char)(1 + (off * 131 + seed * 17 + (off >> 12)) % 255);
}

static void fill(unsigned char *buf, const struct op *op)
{
	size_t j;

	for (j = 0; j < op->len; j++)
		buf[j] = pattern(op->off + j, op->seed);
}

static int mismatch(const char *what, const unsigned char *got,
		    const unsigned char *want, size_t base, size_t len)
{
	size_t j;

	for (j = 0; j < len; j++)
		if (got[j] != want[j])
			break;
	fprintf(stderr,
		"mmap_check: %s: byte at offset %zu is 0x%02x, "
		"expected 0x%02x\n",
		what, base + j, got[j], want[j]);
	return 1;
}

static int pread_full(int fd, unsigned char *buf, size_t len, size_t off)
{
	ssize_t n;

	while (len) {
		n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "mmap_check: pread at %zu: %s\n", off,
				n ? strerror(errno) : "unexpected end of file");
			return -1;
		}
		buf += n;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const unsigned char *buf, size_t len, size_t off)
{
	ssize_t n;

	while (len) {
		n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "mmap_check: pwrite at %zu: %s\n", off,
				n ? strerror(errno) : "wrote nothing");
			return -1;
		}
		buf += n;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Compare the whole file, read with pread, with the shadow. */
static int check_pread_all(int fd, const unsigned char *shadow,
			   const char *what)
{
	unsigned char *buf = malloc(FILE_SIZE);
	int ret = 1;

	if (!buf) {
		perror("mmap_check: malloc");
		return 1;
	}
	if (pread_full(fd, buf, FILE_SIZE, 0))
		goto out;
	if (memcmp(buf, shadow, FILE_SIZE)) {
		mismatch(what, buf, shadow, 0, FILE_SIZE);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

static int check_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st)) {
		perror("mmap_check: fstat");
		return 1;
	}
	if ((size_t)st.st_size != FILE_SIZE) {
		fprintf(stderr, "mmap_check: size is %lld, expected %zu\n",
			(long long)st.st_size, FILE_SIZE);
		return 1;
	}
	return 0;
}

static int run(const char *path, unsigned char *shadow)
{
	unsigned char buf[128 * 1024], got[128];
	unsigned char *map;
	int fd, i, ret = 1;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "mmap_check: open %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (ftruncate(fd, FILE_SIZE)) {
		perror("mmap_check: ftruncate");
		close(fd);
		return 1;
	}
	map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap_check: mmap MAP_SHARED PROT_WRITE");
		close(fd);
		return 1;
	}
	if (memcmp(map, shadow, FILE_SIZE)) {
		mismatch("fresh file through the map", map, shadow, 0,
			 FILE_SIZE);
		goto out;
	}

	for (i = 0; i < nops; i++) {
		const struct op *op = &ops[i];

		fill(buf, op);
		memcpy(shadow + op->off, buf, op->len);
		if (op->kind == OP_MAP) {
			memcpy(map + op->off, buf, op->len);
		} else if (pwrite_full(fd, buf, op->len, op->off)) {
			goto out;
		}
		/* phase 3: check each write through the other path */
		if (op->phase == 3 && op->kind == OP_MAP) {
			if (pread_full(fd, got, op->len, op->off))
				goto out;
			if (memcmp(got, buf, op->len)) {
				mismatch("pread after a write through the map",
					 got, buf, op->off, op->len);
				goto out;
			}
		} else if (op->phase == 3 &&
			   memcmp(map + op->off, buf, op->len)) {
			mismatch("map after a pwrite", map + op->off, buf,
				 op->off, op->len);
			goto out;
		}
		if (i + 1 < nops && ops[i + 1].phase == op->phase)
			continue;
		/* end of a phase */
		if (op->phase == 1 &&
		    check_pread_all(fd, shadow,
				    "pread after writes through "
				    "the map, before msync"))
			goto out;
		if (op->phase == 2 && memcmp(map, shadow, FILE_SIZE)) {
			mismatch("map after pwrites", map, shadow, 0,
				 FILE_SIZE);
			goto out;
		}
	}

	if (msync(map, FILE_SIZE, MS_SYNC)) {
		perror("mmap_check: msync MS_SYNC");
		goto out;
	}
	if (fsync(fd)) {
		perror("mmap_check: fsync");
		goto out;
	}
	if (check_pread_all(fd, shadow, "pread after msync and fsync") ||
	    check_size(fd))
		goto out;
	ret = 0;
out:
	if (munmap(map, FILE_SIZE)) {
		perror("mmap_check: munmap");
		ret = 1;
	}
	if (close(fd)) {
		perror("mmap_check: close");
		ret = 1;
	}
	return ret;
}

/* Reopen and compare, through pread and through a fresh mapping. */
static int verify(const char *path, const unsigned char *shadow)
{
	unsigned char *map;
	int fd, ret = 1;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "mmap_check: open %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (check_size(fd) ||
	    check_pread_all(fd, shadow, "pread of the reopened file"))
		goto out;
	map = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap_check: mmap PROT_READ");
		goto out;
	}
	if (memcmp(map, shadow, FILE_SIZE))
		mismatch("map of the reopened file", map, shadow, 0, FILE_SIZE);
	else
		ret = 0;
	munmap(map, FILE_SIZE);
out:
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned char *shadow;
	const char *path;
	int verify_only = 0, i, ret;

	if (argc == 3 && !strcmp(argv[1], "--verify")) {
		verify_only = 1;
		path = argv[2];
	} else if (argc == 2 && argv[1][0] != '-') {
		path = argv[1];
	} else {
		fprintf(stderr, "usage: mmap_check [--verify] FILE\n");
		return 2;
	}

	shadow = calloc(1, FILE_SIZE);
	if (!shadow) {
		perror("mmap_check: calloc");
		return 1;
	}
	build_ops();
	if (verify_only) {
		unsigned char buf[128 * 1024];

		for (i = 0; i < nops; i++) {
			fill(buf, &ops[i]);
			memcpy(shadow + ops[i].off, buf, ops[i].len);
		}
		ret = verify(path, shadow);
	} else {
		ret = run(path, shadow);
		if (!ret)
			ret = verify(path, shadow);
	}
	free(shadow);
	if (!ret)
		printf("mmap_check: %s %s: ok\n",
		       verify_only ? "verify" : "run", path);
	return ret;
}
