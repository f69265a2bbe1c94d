/*
 * check_chunk.c - the data layer: reads and writes across chunks, holes,
 * truncate, reclaim, fsync, space accounting, and backing faults under it.
 * The store uses the smallest chunks (64 KiB) so that files span many.
 */
#include "unit.h"

#include <inttypes.h>

#define CS 65536ull
#define ROOT META_ROOT_INO

static struct unit_fs fs;
static struct chunk_dirty dirty;
/* The file under test. */
static uint64_t ino;

static void chunk_setup(void)
{
	unit_setup();
	unit_fs_open(&fs, CS);
	ck_assert_uint_eq(fs.s.chunk_size, CS);
	ck_assert_uint_eq(fs.c.chunk_size, CS);
	memset(&dirty, 0, sizeof(dirty));
	ino = unit_mkfile(&fs.m, ROOT, "f");
}

static void chunk_teardown(void)
{
	chunk_dirty_free(&dirty);
	unit_fs_close(&fs);
	unit_teardown();
}

/* ---- helpers ---- */

static uint64_t spent_of(uint64_t len)
{
	return (len + 4095) & ~4095ull;
}

/* Write the pattern @seed at [off, off + len) of @file; returns the
 * inode after the write. */
static struct meta_inode write_at(uint64_t file, uint64_t off, size_t len,
				  unsigned seed)
{
	struct meta_inode attr;
	char *buf = malloc(len);
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	unit_fill(buf, len, off, seed);
	n = chunk_write(&fs.c, file, buf, len, off, &dirty, &attr);
	free(buf);
	ck_assert_msg(n == (ssize_t)len, "write %zu at %llu: %zd", len,
		      (unsigned long long)off, n);
	return attr;
}

static struct meta_inode wr(uint64_t off, size_t len, unsigned seed)
{
	return write_at(ino, off, len, seed);
}

/* Write that is expected to fail; returns the error. */
static ssize_t wr_err(uint64_t off, size_t len, unsigned seed)
{
	struct meta_inode attr;
	char *buf = malloc(len);
	ssize_t n;

	unit_fill(buf, len, off, seed);
	n = chunk_write(&fs.c, ino, buf, len, off, &dirty, &attr);
	free(buf);
	return n;
}

/* [off, off + len) of @file holds the pattern @seed (-1: zeros). The
 * buffers are freed before any assertion: a failure leaks nothing. */
static void check_read(uint64_t file, uint64_t off, size_t len, int seed)
{
	char *got = malloc(len), *want = calloc(1, len);
	unsigned char g = 0, w = 0;
	size_t i = len;
	ssize_t n;

	ck_assert(got && want);
	if (seed >= 0)
		unit_fill(want, len, off, seed);
	memset(got, 0xee, len);
	n = chunk_read(&fs.c, file, got, len, off);
	if (n == (ssize_t)len && memcmp(got, want, len) != 0) {
		for (i = 0; got[i] == want[i]; i++)
			;
		g = (unsigned char)got[i];
		w = (unsigned char)want[i];
	}
	free(got);
	free(want);
	ck_assert_msg(n == (ssize_t)len, "read %zu at %llu: %zd", len,
		      (unsigned long long)off, n);
	ck_assert_msg(i == len, "byte %llu: got 0x%02x, want 0x%02x",
		      (unsigned long long)(off + i), g, w);
}

static void check_at(uint64_t file, uint64_t off, size_t len, unsigned seed)
{
	check_read(file, off, len, (int)seed);
}

static void check(uint64_t off, size_t len, unsigned seed)
{
	check_read(ino, off, len, (int)seed);
}

static void check_zero(uint64_t off, size_t len)
{
	check_read(ino, off, len, -1);
}

static ssize_t rd(uint64_t off, size_t len)
{
	char *buf = malloc(len ? len : 1);
	ssize_t n = chunk_read(&fs.c, ino, buf, len, off);

	free(buf);
	return n;
}

static struct meta_inode inode(void)
{
	return unit_inode(&fs.m, ino);
}

static size_t chunk_files(void)
{
	return unit_count_files(unit_path(STORE_DATA_DIR));
}

#define MAX_RECS 256

/* The chunk map of a file. */
struct recs {
	size_t n;
	uint64_t idx[MAX_RECS];
	struct meta_chunk c[MAX_RECS];
};

static int recs_fn(void *arg, uint64_t idx, const struct meta_chunk *c)
{
	struct recs *r = arg;

	if (r->n == MAX_RECS)
		return -E2BIG;
	r->idx[r->n] = idx;
	r->c[r->n] = *c;
	r->n++;
	return 0;
}

static void get_recs(uint64_t file, struct recs *r)
{
	struct meta_txn t;
	int e;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(meta_begin(&fs.m, &t, false), 0);
	e = meta_chunk_walk(&t, file, 0, UINT64_MAX, recs_fn, r);
	meta_abort(&t);
	ck_assert_int_eq(e, 0);
}

static bool recs_equal(const struct recs *a, const struct recs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->idx[i] != b->idx[i] || a->c[i].id != b->c[i].id ||
		    a->c[i].len != b->c[i].len)
			return false;
	return true;
}

/*
 * The invariants of chunk.c's header for @file: spent is the sum of len
 * rounded up to 4 KiB; every record's chunk file exists and holds at least
 * len bytes; no record lies past the chunk holding the end of file, whose
 * len does not pass it; ids are unique and below the stored counter.
 */
static void check_invariants(uint64_t file)
{
	struct meta_inode in = unit_inode(&fs.m, file);
	struct meta_txn t;
	uint64_t sum = 0, next_id;
	struct recs r;

	get_recs(file, &r);
	ck_assert_int_eq(meta_begin(&fs.m, &t, false), 0);
	ck_assert_int_eq(meta_chunk_id_get(&t, &next_id), 0);
	meta_abort(&t);
	for (size_t i = 0; i < r.n; i++) {
		uint64_t start = r.idx[i] * CS;
		char rel[64];
		off_t size;

		sum += spent_of(r.c[i].len);
		ck_assert_uint_le(r.c[i].len, CS);
		ck_assert_uint_gt(r.c[i].len, 0);
		ck_assert_msg(start < in.size,
			      "record %llu lies past the end of file (%llu)",
			      (unsigned long long)r.idx[i],
			      (unsigned long long)in.size);
		ck_assert_uint_le(r.c[i].len, in.size - start);
		ck_assert_uint_lt(r.c[i].id, next_id);
		for (size_t j = 0; j < i; j++)
			ck_assert_uint_ne(r.c[i].id, r.c[j].id);
		chunk_path(r.c[i].id, rel, sizeof(rel));
		size = unit_file_size(unit_path("%s", rel));
		ck_assert_msg(size >= (off_t)r.c[i].len,
			      "chunk file %s: %lld bytes, record says %u", rel,
			      (long long)size, r.c[i].len);
	}
	ck_assert_uint_eq(in.spent, sum);
}

static struct meta_inode truncate_to(uint64_t size)
{
	struct meta_inode attr;
	int r = chunk_truncate(&fs.c, ino, size, &attr);

	ck_assert_msg(r == 0, "truncate to %llu: %d", (unsigned long long)size,
		      r);
	ck_assert_uint_eq(attr.size, size);
	return attr;
}

/* ---- read and write ---- */

START_TEST(test_chunk_path)
{
	char buf[64];

	chunk_path(1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "data/0/000/001");
	chunk_path(0x1234567, buf, sizeof(buf));
	ck_assert_str_eq(buf, "data/1/234/567");
	chunk_path(0xabcdef012345ull, buf, sizeof(buf));
	ck_assert_str_eq(buf, "data/abcdef/012/345");
}
END_TEST

START_TEST(test_rw_one_chunk)
{
	struct meta_inode attr, before = inode();

	attr = wr(100, 1000, 1);
	ck_assert_uint_eq(attr.size, 1100);
	ck_assert_uint_eq(attr.spent, 4096);
	ck_assert(attr.mtime.tv_sec > before.mtime.tv_sec ||
		  (attr.mtime.tv_sec == before.mtime.tv_sec &&
		   attr.mtime.tv_nsec >= before.mtime.tv_nsec));
	ck_assert_uint_eq(inode().size, 1100);
	check(100, 1000, 1);
	check(500, 17, 1);
	check_zero(0, 100);
	ck_assert_uint_eq(chunk_files(), 1);
	check_invariants(ino);

	/* Overwrite inside, and extend inside the chunk. */
	attr = wr(600, 1000, 2);
	ck_assert_uint_eq(attr.size, 1600);
	check(100, 500, 1);
	check(600, 1000, 2);
	ck_assert_uint_eq(chunk_files(), 1);
	check_invariants(ino);
	/* A zero-length write changes nothing. */
	ck_assert_int_eq(chunk_write(&fs.c, ino, "", 0, 5000, &dirty, &attr),
			 0);
	ck_assert_uint_eq(inode().size, 1600);
}
END_TEST

START_TEST(test_rw_many_chunks)
{
	const uint64_t off = 12345;
	const size_t len = 5 * CS + 777;
	struct meta_inode attr;
	struct recs r;

	attr = wr(off, len, 3);
	ck_assert_uint_eq(attr.size, off + len);
	/* Chunks 0..5: six records, six files. */
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 6);
	for (size_t i = 0; i < r.n; i++)
		ck_assert_uint_eq(r.idx[i], i);
	ck_assert_uint_eq(r.c[0].len, CS);
	ck_assert_uint_eq(r.c[5].len, (off + len) - 5 * CS);
	ck_assert_uint_eq(chunk_files(), 6);
	check_invariants(ino);

	check(off, len, 3);
	/* In odd pieces that straddle chunk boundaries. */
	for (uint64_t o = off; o < off + len; o += 7777)
		check(o, SFS_MIN(7777, off + len - o), 3);
	check(CS - 10, 20, 3);
	check(2 * CS - 1, 2, 3);

	/* Overwrite across a boundary in the middle. */
	wr(3 * CS - 5000, 10000, 4);
	check(off, 3 * CS - 5000 - off, 3);
	check(3 * CS - 5000, 10000, 4);
	check(3 * CS + 5000, off + len - 3 * CS - 5000, 3);
	ck_assert_uint_eq(chunk_files(), 6);
	ck_assert_uint_eq(inode().size, off + len);
	check_invariants(ino);

	/* Two files do not share chunks. */
	{
		uint64_t g = unit_mkfile(&fs.m, ROOT, "g");
		write_at(g, 0, 2 * CS, 9);
		check_at(g, 0, 2 * CS, 9);
		check(off, 3 * CS - 5000 - off, 3);
		ck_assert_uint_eq(chunk_files(), 8);
		check_invariants(g);
	}
}
END_TEST

START_TEST(test_hole)
{
	struct recs r;

	wr(0, 10, 1);
	wr(5 * CS + 100, 50, 2);
	ck_assert_uint_eq(inode().size, 5 * CS + 150);
	ck_assert_uint_eq(chunk_files(), 2);
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.idx[0], 0);
	ck_assert_uint_eq(r.idx[1], 5);
	ck_assert_uint_eq(inode().spent, 2 * 4096);

	check(0, 10, 1);
	/* The rest of a partial chunk, whole missing chunks, the start of
	 * the last chunk. */
	check_zero(10, CS - 10);
	check_zero(CS, 4 * CS);
	check_zero(5 * CS, 100);
	check_zero(10, 5 * CS + 90);
	check(5 * CS + 100, 50, 2);
	check_invariants(ino);
}
END_TEST

START_TEST(test_read_eof)
{
	char buf[4096];

	ck_assert_int_eq(rd(0, 100), 0);
	ck_assert_int_eq(rd(12345, 100), 0);
	wr(0, 1000, 1);
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(chunk_read(&fs.c, ino, buf, sizeof(buf), 0), 1000);
	ck_assert_int_eq(rd(999, 10), 1);
	ck_assert_int_eq(rd(1000, 10), 0);
	ck_assert_int_eq(rd(1001, 10), 0);
	ck_assert_int_eq(rd(1ull << 40, 10), 0);
	ck_assert_int_eq(rd(0, 0), 0);
	/* Clamped at the end of file even where the chunk goes on. */
	truncate_to(3 * CS + 5);
	ck_assert_int_eq(rd(3 * CS, CS), 5);
	ck_assert_int_eq(rd(0, 10 * CS), 3 * CS + 5);
	ck_assert_int_eq(chunk_read(&fs.c, 999999, buf, 10, 0), -ENOENT);
}
END_TEST

START_TEST(test_write_far)
{
	const uint64_t far = 1ull << 40;
	struct meta_inode attr;
	struct recs r;

	attr = wr(far, 4096, 5);
	ck_assert_uint_eq(attr.size, far + 4096);
	ck_assert_uint_le(attr.spent, CS);
	ck_assert_uint_eq(attr.spent, 4096);
	ck_assert_uint_eq(chunk_files(), 1);
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.idx[0], far / CS);
	ck_assert_uint_eq(r.c[0].len, 4096);
	check(far, 4096, 5);
	check_zero(far - CS, CS);
	check_zero(0, CS);
	check_invariants(ino);
	/* Just below, in the same chunk. */
	wr(far - 10, 10, 6);
	ck_assert_uint_eq(chunk_files(), 2);
	check(far - 10, 10, 6);
	check(far, 4096, 5);

	/* Past what off_t holds. */
	ck_assert_int_eq(wr_err(INT64_MAX - 10, 100, 1), -EFBIG);
	{
		struct meta_inode a;
		ck_assert_int_eq(chunk_truncate(&fs.c, ino,
						(uint64_t)INT64_MAX + 1, &a),
				 -EFBIG);
	}
	ck_assert_uint_eq(inode().size, far + 4096);
}
END_TEST

START_TEST(test_persist)
{
	wr(CS - 100, 3 * CS, 7);
	unit_fs_reopen(&fs);
	check(CS - 100, 3 * CS, 7);
	check_zero(0, CS - 100);
	check_invariants(ino);
	/* New chunk ids do not collide with the committed ones. */
	wr(10 * CS, 100, 8);
	check_invariants(ino);
	check(CS - 100, 3 * CS, 7);
	ck_assert_uint_eq(chunk_files(), 5);
}
END_TEST

/* ---- truncate ---- */

START_TEST(test_truncate_down)
{
	const uint64_t cut = 2 * CS + 1000;
	struct meta_inode attr;
	struct recs r;
	char rel[64];

	wr(0, 10 * CS, 1);
	ck_assert_uint_eq(chunk_files(), 10);
	ck_assert_uint_eq(inode().spent, 10 * CS);

	attr = truncate_to(cut);
	ck_assert_uint_eq(attr.spent, 2 * CS + 4096);
	ck_assert_uint_eq(inode().size, cut);
	ck_assert_uint_eq(chunk_files(), 3);
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_uint_eq(r.c[2].len, 1000);
	/* The last chunk's file is cut too. */
	chunk_path(r.c[2].id, rel, sizeof(rel));
	ck_assert_int_eq(unit_file_size(unit_path("%s", rel)), 1000);
	check(0, cut, 1);
	ck_assert_int_eq(rd(cut, 10), 0);
	check_invariants(ino);

	/* Up again: zeros where the data was. */
	truncate_to(10 * CS);
	check(0, cut, 1);
	check_zero(cut, 10 * CS - cut);
	ck_assert_uint_eq(chunk_files(), 3);
	/* Writing at the end of the cut chunk must not bring back the old
	 * bytes between. */
	wr(3 * CS - 1, 1, 2);
	check(0, cut, 1);
	check_zero(cut, 3 * CS - 1 - cut);
	check(3 * CS - 1, 1, 2);
	check_invariants(ino);

	/* To a chunk boundary. */
	truncate_to(CS);
	ck_assert_uint_eq(chunk_files(), 1);
	check(0, CS, 1);
	check_invariants(ino);
	/* To nothing. */
	attr = truncate_to(0);
	ck_assert_uint_eq(attr.spent, 0);
	ck_assert_uint_eq(chunk_files(), 0);
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_int_eq(rd(0, 10), 0);
	truncate_to(CS);
	check_zero(0, CS);
}
END_TEST

START_TEST(test_truncate_up)
{
	struct meta_inode attr, before;
	struct recs r0, r1;

	wr(0, 100, 1);
	before = inode();
	get_recs(ino, &r0);
	attr = truncate_to(10 << 20);
	ck_assert_uint_eq(attr.spent, before.spent);
	ck_assert_uint_eq(inode().size, 10 << 20);
	ck_assert_uint_eq(inode().spent, 4096);
	ck_assert_uint_eq(chunk_files(), 1);
	get_recs(ino, &r1);
	ck_assert(recs_equal(&r0, &r1));
	check(0, 100, 1);
	check_zero(100, (10 << 20) - 100);
	check_invariants(ino);
	/* An empty file, grown. */
	{
		uint64_t g = unit_mkfile(&fs.m, ROOT, "g");
		ck_assert_int_eq(chunk_truncate(&fs.c, g, 1ull << 40, &attr),
				 0);
		ck_assert_uint_eq(attr.size, 1ull << 40);
		ck_assert_uint_eq(attr.spent, 0);
		ck_assert_uint_eq(chunk_files(), 1);
	}
}
END_TEST

START_TEST(test_truncate_many)
{
	/* More chunks than one truncate transaction drops. */
	const size_t n = 4096 + 300;
	char one = 'x';
	struct meta_inode attr;

	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(chunk_write(&fs.c, ino, &one, 1, i * CS,
					     NULL, &attr),
				 1);
	ck_assert_uint_eq(chunk_files(), n);
	ck_assert_uint_eq(inode().spent, n * 4096);
	attr = truncate_to(1);
	ck_assert_uint_eq(attr.spent, 4096);
	ck_assert_uint_eq(inode().spent, 4096);
	ck_assert_uint_eq(chunk_files(), 1);
	check_invariants(ino);
}
END_TEST

/* ---- reclaim ---- */

START_TEST(test_reclaim)
{
	struct meta_inode in;
	uint64_t g, gone_ino;
	bool gone;

	wr(0, 5 * CS, 1);
	wr(1ull << 40, 10, 1);
	g = unit_mkfile(&fs.m, ROOT, "g");
	write_at(g, 0, 2 * CS, 2);
	ck_assert_uint_eq(chunk_files(), 8);

	ck_assert_int_eq(meta_remove(&fs.m, ROOT, "f", false, &gone_ino, &gone),
			 0);
	ck_assert(gone);
	ck_assert_uint_eq(gone_ino, ino);
	/* Still readable while open. */
	check(0, 5 * CS, 1);
	ck_assert_uint_eq(chunk_files(), 8);
	ck_assert_int_eq(chunk_reclaim(&fs.c, ino), 0);
	ck_assert_uint_eq(chunk_files(), 2);
	ck_assert_int_eq(unit_inode_get(&fs.m, ino, &in), -ENOENT);
	check_at(g, 0, 2 * CS, 2);

	ck_assert_int_eq(meta_remove(&fs.m, ROOT, "g", false, &gone_ino, &gone),
			 0);
	ck_assert_int_eq(chunk_reclaim(&fs.c, g), 0);
	ck_assert_uint_eq(chunk_files(), 0);
}
END_TEST

/* ---- faults from the backing ---- */

struct snapshot {
	struct meta_inode in;
	struct recs r;
	size_t files;
};

static void snap(struct snapshot *s)
{
	s->in = inode();
	get_recs(ino, &s->r);
	s->files = chunk_files();
}

static void assert_unchanged(const struct snapshot *s)
{
	struct snapshot now;

	snap(&now);
	ck_assert_uint_eq(now.in.size, s->in.size);
	ck_assert_uint_eq(now.in.spent, s->in.spent);
	ck_assert_msg(recs_equal(&now.r, &s->r), "chunk records changed");
	ck_assert_uint_eq(now.files, s->files);
}

static void fault_write(const char *spec, int err)
{
	struct snapshot s;
	struct backing *b = &fs.s.b;

	wr(0, CS + 1000, 1);
	snap(&s);
	ck_assert_uint_eq(s.files, 2);

	/* Into a new chunk. */
	ck_assert_int_eq(backing_fault_parse(b, spec), 0);
	ck_assert_int_eq(wr_err(3 * CS, 1000, 2), -err);
	assert_unchanged(&s);
	/* Extending an existing chunk. */
	ck_assert_int_eq(backing_fault_parse(b, spec), 0);
	ck_assert_int_eq(wr_err(CS + 1000, 100, 2), -err);
	assert_unchanged(&s);
	/* Over several new chunks, failing at the third. */
	backing_fault_clear(b);
	ck_assert_int_eq(backing_fault_set(b, "pwrite", err, 2, 1), 0);
	ck_assert_int_eq(wr_err(4 * CS, 3 * CS, 2), -err);
	assert_unchanged(&s);
	check(0, CS + 1000, 1);
	check_invariants(ino);

	/* Once the fault is gone, writing works. */
	backing_fault_clear(b);
	wr(4 * CS, 3 * CS, 3);
	check(0, CS + 1000, 1);
	check(4 * CS, 3 * CS, 3);
	ck_assert_uint_eq(chunk_files(), 5);
	check_invariants(ino);
}

START_TEST(test_fault_eio)
{
	fault_write("pwrite EIO 0 1", EIO);
}
END_TEST

START_TEST(test_fault_enospc)
{
	fault_write("pwrite ENOSPC 0 1", ENOSPC);
}
END_TEST

START_TEST(test_fault_open)
{
	struct snapshot s;

	wr(0, 100, 1);
	snap(&s);
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "open EIO 0 -1"), 0);
	ck_assert_int_eq(wr_err(2 * CS, 100, 2), -EIO);
	assert_unchanged(&s);
	backing_fault_clear(&fs.s.b);
	wr(2 * CS, 100, 2);
	check(2 * CS, 100, 2);
}
END_TEST

START_TEST(test_fault_short)
{
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "pwrite SHORT 0 10"), 0);
	wr(1000, 3 * CS, 1);
	backing_fault_clear(&fs.s.b);
	check(1000, 3 * CS, 1);
	check_invariants(ino);
}
END_TEST

START_TEST(test_fault_read)
{
	char buf[100];

	wr(0, 100, 1);
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "pread EIO 0 1"), 0);
	ck_assert_int_eq(chunk_read(&fs.c, ino, buf, 100, 0), -EIO);
	check(0, 100, 1);
	/* Short reads from the backing are completed. */
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "pread SHORT 0 -1"), 0);
	check(0, 100, 1);
	backing_fault_clear(&fs.s.b);
}
END_TEST

/*
 * A write that fails after extending an existing chunk's file must not
 * leave bytes there that a later write past them makes visible: the file
 * ended at 100, so [100, CS - 1) is a hole after the last write.
 */
START_TEST(test_fault_no_stale_data)
{
	wr(0, 100, 1);
	/* The first piece (chunk 0, existing) is written, the second (chunk
	 * 1, new) fails. */
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "pwrite EIO 1 1"), 0);
	ck_assert_int_eq(wr_err(0, 2 * CS, 2), -EIO);
	backing_fault_clear(&fs.s.b);
	ck_assert_uint_eq(inode().size, 100);
	ck_assert_int_eq(rd(100, 10), 0);

	wr(CS - 1, 1, 3);
	ck_assert_uint_eq(inode().size, CS);
	check_zero(100, CS - 1 - 100);
	check(CS - 1, 1, 3);
}
END_TEST

/* The same through a truncate up: a hole made by growing the file. */
START_TEST(test_fault_no_stale_data_truncate)
{
	wr(0, 100, 1);
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "pwrite EIO 1 1"), 0);
	ck_assert_int_eq(wr_err(0, 2 * CS, 2), -EIO);
	backing_fault_clear(&fs.s.b);
	truncate_to(CS);
	check_zero(100, CS - 100);
	wr(CS - 1, 1, 3);
	check_zero(100, CS - 1 - 100);
}
END_TEST

/* ---- zero detection, punch, seek, reserve ---- */

static ssize_t write_zeros(uint64_t off, size_t len)
{
	struct meta_inode attr;
	char *buf = calloc(1, len);
	ssize_t n = chunk_write(&fs.c, ino, buf, len, off, &dirty, &attr);

	free(buf);
	return n;
}

START_TEST(test_zero_detect)
{
	struct recs r;

	/* Off: zeros are data like any other. */
	ck_assert_int_eq(write_zeros(0, 100), 100);
	ck_assert_uint_eq(chunk_files(), 1);
	truncate_to(0);

	fs.c.zero_detect = true;
	/* Zeros into a hole store nothing but the size. */
	ck_assert_int_eq(write_zeros(CS, 2 * CS), 2 * CS);
	ck_assert_uint_eq(inode().size, 3 * CS);
	ck_assert_uint_eq(inode().spent, 0);
	ck_assert_uint_eq(chunk_files(), 0);
	check_zero(0, 3 * CS);

	/* A chunk that becomes all zeros goes. */
	wr(0, 100, 1);
	ck_assert_uint_eq(chunk_files(), 1);
	ck_assert_int_eq(write_zeros(0, 100), 100);
	ck_assert_uint_eq(chunk_files(), 0);
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(inode().spent, 0);
	ck_assert_uint_eq(inode().size, 3 * CS);
	check_zero(0, 3 * CS);

	/* One that keeps other data stays, and keeps it. */
	wr(0, 100, 1);
	wr(200, 100, 2);
	ck_assert_int_eq(write_zeros(0, 100), 100);
	ck_assert_uint_eq(chunk_files(), 1);
	check_zero(0, 200);
	check(200, 100, 2);
	check_invariants(ino);
	/* Zeros over the rest: now it goes. */
	ck_assert_int_eq(write_zeros(150, 200), 200);
	ck_assert_uint_eq(chunk_files(), 0);
	check_zero(0, 3 * CS);

	/* Across chunks, some there, some holes. */
	wr(10, 10, 3);
	wr(2 * CS + 5, CS, 3);
	ck_assert_uint_eq(chunk_files(), 3);
	ck_assert_int_eq(write_zeros(0, 4 * CS), 4 * CS);
	ck_assert_uint_eq(chunk_files(), 0);
	ck_assert_uint_eq(inode().spent, 0);
	ck_assert_uint_eq(inode().size, 4 * CS);
	check_zero(0, 4 * CS);
	check_invariants(ino);
}
END_TEST

static int punch(uint64_t off, uint64_t len, uint64_t new_size)
{
	struct meta_inode attr;

	return chunk_punch(&fs.c, ino, off, len, new_size, &dirty, &attr);
}

START_TEST(test_punch)
{
	struct recs r;

	wr(0, 5 * CS, 1);
	ck_assert_int_eq(punch(CS / 2, 3 * CS + 100 - CS / 2, UINT64_MAX), 0);
	ck_assert_uint_eq(inode().size, 5 * CS);
	check(0, CS / 2, 1);
	check_zero(CS / 2, 3 * CS + 100 - CS / 2);
	check(3 * CS + 100, 2 * CS - 100, 1);
	/* Chunks 1 and 2 are gone, 0 and 3 are zeroed in part. */
	ck_assert_uint_eq(chunk_files(), 3);
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_uint_eq(r.idx[0], 0);
	ck_assert_uint_eq(r.idx[1], 3);
	ck_assert_uint_eq(r.idx[2], 4);
	check_invariants(ino);

	/* Inside one chunk. */
	ck_assert_int_eq(punch(4 * CS + 100, 100, UINT64_MAX), 0);
	check_zero(4 * CS + 100, 100);
	check(4 * CS, 100, 1);
	check(4 * CS + 200, CS - 200, 1);
	/* Nothing, and all of it. */
	ck_assert_int_eq(punch(100, 0, UINT64_MAX), 0);
	check(0, 100, 1);
	ck_assert_int_eq(punch(0, 5 * CS, UINT64_MAX), 0);
	ck_assert_uint_eq(chunk_files(), 0);
	ck_assert_uint_eq(inode().spent, 0);
	ck_assert_uint_eq(inode().size, 5 * CS);
	check_zero(0, 5 * CS);

	/* With a new size (zero range past the end). */
	wr(0, 100, 2);
	ck_assert_int_eq(punch(50, 10 * CS, 10 * CS + 50), 0);
	ck_assert_uint_eq(inode().size, 10 * CS + 50);
	check(0, 50, 2);
	check_zero(50, 10 * CS);
	check_invariants(ino);
}
END_TEST

/*
 * A punch whose last, partial chunk ends up all zeros (its record goes)
 * over more whole chunks than one batch drops: every chunk file goes with
 * its record, and the space accounting follows.
 */
START_TEST(test_punch_many)
{
	const uint64_t n = 4096 + 100;
	struct meta_inode attr;
	struct recs r;
	char one = 'x';

	for (uint64_t i = 0; i <= n; i++)
		ck_assert_int_eq(chunk_write(&fs.c, ino, &one, 1, i * CS, NULL,
					     &attr),
				 1);
	wr(n * CS + 1, 20, 1);
	ck_assert_uint_eq(chunk_files(), n + 1);
	ck_assert_int_eq(punch(CS / 2, n * CS + 100 - CS / 2, UINT64_MAX), 0);
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.idx[0], 0);
	ck_assert_msg(inode().spent == 4096 && chunk_files() == 1,
		      "1 record left, but spent %llu (want 4096) and %zu "
		      "chunk files (want 1)",
		      (unsigned long long)inode().spent, chunk_files());
	check_invariants(ino);
}
END_TEST

START_TEST(test_seek)
{
	struct chunks *c = &fs.c;

	ck_assert_int_eq(chunk_seek(c, ino, 0, SEEK_DATA), -ENXIO);
	ck_assert_int_eq(chunk_seek(c, ino, 0, SEEK_HOLE), -ENXIO);
	/* data [0, 100), hole, data [3 CS, 4 CS), hole to 5 CS */
	wr(0, 100, 1);
	wr(3 * CS, CS, 1);
	truncate_to(5 * CS);
	ck_assert_int_eq(chunk_seek(c, ino, 0, SEEK_DATA), 0);
	ck_assert_int_eq(chunk_seek(c, ino, 50, SEEK_DATA), 50);
	ck_assert_int_eq(chunk_seek(c, ino, 100, SEEK_DATA), 3 * CS);
	ck_assert_int_eq(chunk_seek(c, ino, CS + 7, SEEK_DATA), 3 * CS);
	ck_assert_int_eq(chunk_seek(c, ino, 3 * CS + 5, SEEK_DATA),
			 3 * CS + 5);
	ck_assert_int_eq(chunk_seek(c, ino, 4 * CS, SEEK_DATA), -ENXIO);
	ck_assert_int_eq(chunk_seek(c, ino, 5 * CS, SEEK_DATA), -ENXIO);
	ck_assert_int_eq(chunk_seek(c, ino, 0, SEEK_HOLE), 100);
	ck_assert_int_eq(chunk_seek(c, ino, 99, SEEK_HOLE), 100);
	ck_assert_int_eq(chunk_seek(c, ino, 100, SEEK_HOLE), 100);
	ck_assert_int_eq(chunk_seek(c, ino, 200, SEEK_HOLE), 200);
	ck_assert_int_eq(chunk_seek(c, ino, CS, SEEK_HOLE), CS);
	ck_assert_int_eq(chunk_seek(c, ino, 3 * CS, SEEK_HOLE), 4 * CS);
	ck_assert_int_eq(chunk_seek(c, ino, 4 * CS + 1, SEEK_HOLE),
			 4 * CS + 1);
	ck_assert_int_eq(chunk_seek(c, ino, 5 * CS, SEEK_HOLE), -ENXIO);
	/* Data up to the end of file: the hole is the end. */
	truncate_to(4 * CS);
	ck_assert_int_eq(chunk_seek(c, ino, 3 * CS, SEEK_HOLE), 4 * CS);
	truncate_to(3 * CS + 10);
	ck_assert_int_eq(chunk_seek(c, ino, 3 * CS, SEEK_HOLE), 3 * CS + 10);
	ck_assert_int_eq(chunk_seek(c, ino, 3 * CS + 9, SEEK_DATA),
			 3 * CS + 9);
	/* Several full chunks in a row. */
	wr(4 * CS, 3 * CS, 2);
	ck_assert_int_eq(chunk_seek(c, ino, 4 * CS, SEEK_HOLE), 7 * CS);
	ck_assert_int_eq(chunk_seek(c, ino, 3 * CS + 20, SEEK_DATA), 4 * CS);
}
END_TEST

static int reserve(uint64_t off, uint64_t len, bool keep_size)
{
	struct meta_inode attr;

	return chunk_reserve(&fs.c, ino, off, len, keep_size, &dirty, &attr);
}

START_TEST(test_reserve)
{
	struct recs r;

	ck_assert_int_eq(reserve(0, 2 * CS + 10, false), 0);
	ck_assert_uint_eq(inode().size, 2 * CS + 10);
	ck_assert_uint_eq(chunk_files(), 3);
	get_recs(ino, &r);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_uint_eq(r.c[2].len, 10);
	ck_assert_uint_eq(inode().spent, 2 * CS + 4096);
	check_zero(0, 2 * CS + 10);
	check_invariants(ino);
	/* Writes into reserved space. */
	wr(CS - 5, 10, 1);
	check(CS - 5, 10, 1);
	check_zero(0, CS - 5);
	check_zero(CS + 5, CS + 5);

	/* Past the end, keeping the size. */
	ck_assert_int_eq(reserve(4 * CS, CS, true), 0);
	ck_assert_uint_eq(inode().size, 2 * CS + 10);
	ck_assert_uint_eq(chunk_files(), 4);
	truncate_to(5 * CS);
	check_zero(2 * CS + 10, 3 * CS - 10);

	/* A backing without fallocate: the files are extended instead. */
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "fallocate 95 0 -1"),
			 0);
	ck_assert_int_eq(reserve(6 * CS, 100, false), 0);
	backing_fault_clear(&fs.s.b);
	ck_assert_uint_eq(inode().size, 6 * CS + 100);
	ck_assert_uint_eq(chunk_files(), 5);
	check_zero(5 * CS, CS + 100);

	/* No room: nothing reserved, nothing changed. */
	{
		struct snapshot before;
		snap(&before);
		ck_assert_int_eq(backing_fault_parse(&fs.s.b,
						     "fallocate ENOSPC 0 -1"),
				 0);
		ck_assert_int_eq(reserve(8 * CS, 2 * CS, false), -ENOSPC);
		backing_fault_clear(&fs.s.b);
		assert_unchanged(&before);
	}
}
END_TEST

/* Reserving space over bytes that a failed write left past a record's
 * length must not make them readable: the file ended at 100. */
START_TEST(test_reserve_no_stale_data)
{
	wr(0, 100, 1);
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "pwrite EIO 1 1"), 0);
	ck_assert_int_eq(wr_err(0, 2 * CS, 2), -EIO);
	backing_fault_clear(&fs.s.b);
	ck_assert_uint_eq(inode().size, 100);
	ck_assert_int_eq(reserve(50, 1000, false), 0);
	ck_assert_uint_eq(inode().size, 1050);
	check_zero(100, 950);
}
END_TEST

/* ---- fsync ---- */

START_TEST(test_fsync)
{
	struct backing *b = &fs.s.b;

	wr(0, 3 * CS, 1);
	ck_assert_uint_eq(dirty.n, 3);
	ck_assert(!dirty.all);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), 0);
	ck_assert_uint_eq(dirty.n, 0);
	ck_assert_ptr_null(dirty.ents);
	ck_assert(!dirty.all);
	/* Nothing dirty: still fine. */
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), 0);
	/* Rewriting the same chunk lists it once. */
	for (int i = 0; i < 10; i++)
		wr(CS + i, 1, 1);
	ck_assert_uint_eq(dirty.n, 1);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), 0);
	ck_assert_uint_eq(dirty.n, 0);

	/* A failed fsync keeps the list for the next try. */
	wr(5 * CS, 10, 2);
	ck_assert_uint_eq(dirty.n, 1);
	ck_assert_int_eq(backing_fault_parse(b, "fsync EIO 0 1"), 0);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), -EIO);
	ck_assert_uint_eq(dirty.n, 1);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), 0);
	ck_assert_uint_eq(dirty.n, 0);
	backing_fault_clear(b);

	/* A dirty chunk that a truncate dropped since is no error. */
	wr(7 * CS, 10, 3);
	truncate_to(CS);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), 0);
	ck_assert_uint_eq(dirty.n, 0);

	/* The walk-everything mode. */
	wr(0, 2 * CS, 4);
	chunk_dirty_free(&dirty);
	dirty.all = true;
	ck_assert_int_eq(backing_fault_parse(b, "fsync EIO 0 1"), 0);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), -EIO);
	ck_assert(dirty.all);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), 0);
	ck_assert(!dirty.all);
	backing_fault_clear(b);
}
END_TEST

/* A new chunk file's name is made durable too (its directory fsynced);
 * an old one needs only its data. */
START_TEST(test_fsync_new_names)
{
	struct backing *b = &fs.s.b;

	wr(0, 10, 1);
	/* fsync of the file passes, of its directory fails. */
	ck_assert_int_eq(backing_fault_parse(b, "fsync EIO 1 1"), 0);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), -EIO);
	ck_assert_uint_eq(dirty.n, 1);
	backing_fault_clear(b);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), 0);

	wr(10, 10, 1);
	ck_assert_int_eq(backing_fault_parse(b, "fsync EIO 1 1"), 0);
	ck_assert_int_eq(chunk_fsync(&fs.c, ino, &dirty), 0);
	ck_assert_uint_eq(dirty.n, 0);
	/* The data was fsynced (the skip is used up), nothing else: the
	 * fault is still armed. */
	ck_assert_int_eq(b->ops->fsync(b, fs.s.lockfd, 0), -EIO);
	ck_assert_int_eq(b->ops->fsync(b, fs.s.lockfd, 0), 0);
	backing_fault_clear(b);
}
END_TEST

/* ---- accounting ---- */

START_TEST(test_spent)
{
	ck_assert_uint_eq(wr(0, 1, 1).spent, 4096);
	ck_assert_uint_eq(wr(4095, 1, 1).spent, 4096);
	ck_assert_uint_eq(wr(4096, 1, 1).spent, 8192);
	ck_assert_uint_eq(wr(5000, 1, 1).spent, 8192);
	ck_assert_uint_eq(wr(CS - 1, 1, 1).spent, CS);
	/* Overwriting inside changes nothing. */
	ck_assert_uint_eq(wr(100, 1000, 1).spent, CS);
	ck_assert_uint_eq(wr(2 * CS + 100, 1, 1).spent, CS + 4096);
	ck_assert_uint_eq(wr(2 * CS + 100, 4000, 1).spent, CS + 8192);
	check_invariants(ino);
	/* Chunk 1 is a hole; chunk 2 goes. */
	ck_assert_uint_eq(truncate_to(CS + 4464).spent, CS);
	check_invariants(ino);
	ck_assert_uint_eq(truncate_to(3000).spent, 4096);
	check_invariants(ino);
	ck_assert_uint_eq(truncate_to(2 * CS).spent, 4096);
	ck_assert_uint_eq(truncate_to(0).spent, 0);
	check_invariants(ino);
}
END_TEST

/*
 * Random writes (some all zeros), punches, truncates and reopens against a
 * plain buffer holding what the file should read as; after every step the
 * whole file and the invariants are checked. Run without and with zero
 * detection.
 */
#define MODEL_MAX (24 * CS)
#define MODEL_STEPS 300
/* Static: a failed assertion in no-fork mode leaks nothing. */
static unsigned char model[MODEL_MAX + 4 * CS];
static char model_got[MODEL_MAX + 4 * CS], model_buf[3 * CS];

static unsigned model_rand(unsigned *rnd)
{
	*rnd = *rnd * 1103515245 + 12345;
	return *rnd >> 8;
}

START_TEST(test_model)
{
	const uint64_t MAXSIZE = MODEL_MAX;
	const bool zero_detect = _i;
	char *got = model_got, *buf = model_buf;
	struct meta_inode attr;
	uint64_t size = 0;
	unsigned rnd = 4242 + _i;

	fs.c.zero_detect = zero_detect;
	memset(model, 0, sizeof(model));
	for (int step = 0; step < MODEL_STEPS; step++) {
		unsigned op = model_rand(&rnd) % 12;
		uint64_t off = model_rand(&rnd) % MAXSIZE;
		size_t len = 1 + model_rand(&rnd) % (op % 2 ? 3 * CS : 9000);
		if (op < 6) {
			if (op == 5)
				memset(buf, 0, len);
			else
				unit_fill(buf, len, off, step);
			ck_assert_int_eq(chunk_write(&fs.c, ino, buf, len, off,
						     &dirty, &attr),
					 (ssize_t)len);
			memcpy(model + off, buf, len);
			size = SFS_MAX(size, off + len);
		} else if (op < 8) {
			ck_assert_int_eq(chunk_punch(&fs.c, ino, off, len,
						     UINT64_MAX, &dirty, &attr),
					 0);
			memset(model + off, 0, len);
		} else if (op < 11) {
			uint64_t ns = model_rand(&rnd) % (MAXSIZE + CS);
			if (op == 10)
				ns &= ~(CS - 1); /* on a boundary */
			truncate_to(ns);
			if (ns < size)
				memset(model + ns, 0, size - ns);
			size = ns;
		} else {
			unit_fs_reopen(&fs);
			fs.c.zero_detect = zero_detect;
		}
		ck_assert_uint_eq(inode().size, size);
		memset(got, 0xee, size + 10);
		ck_assert_int_eq(chunk_read(&fs.c, ino, got, size + 10, 0),
				 (ssize_t)size);
		if (memcmp(got, model, size) != 0) {
			uint64_t i = 0;
			while ((unsigned char)got[i] == model[i])
				i++;
			ck_abort_msg("step %d (op %u): byte %llu is 0x%02x, "
				     "want 0x%02x",
				     step, op, (unsigned long long)i,
				     (unsigned char)got[i], model[i]);
		}
		check_invariants(ino);
	}
}
END_TEST

/* ---- scale ---- */

/* Fill @file with @n chunk records at every other chunk (0, 2, 4...), full
 * and without chunk files (nothing here reads data), in transactions of
 * 100,000; size: 2n chunks. */
struct fill_arg {
	uint64_t ino, from, to, id;
};

static int fill_fn(struct meta_txn *t, void *arg)
{
	struct fill_arg *a = arg;
	struct meta_inode in;
	int r = 0;

	for (uint64_t i = a->from; i < a->to && r == 0; i++) {
		struct meta_chunk c = {a->id + i, (uint32_t)CS, 0};
		r = meta_chunk_put(t, a->ino, 2 * i, &c);
	}
	if (r == 0)
		r = meta_chunk_id_raise(t, a->id + a->to);
	if (r == 0)
		r = meta_inode_get(t, a->ino, &in);
	if (r == 0) {
		in.size = 2 * a->to * CS;
		r = meta_inode_put(t, a->ino, &in);
	}
	return r;
}

static void fill_every_other(uint64_t file, uint64_t n)
{
	struct fill_arg a = {file, 0, 0, 1ull << 40};

	for (a.from = 0; a.from < n; a.from = a.to) {
		a.to = SFS_MIN(n, a.from + 100000);
		ck_assert_int_eq(meta_update(&fs.m, fill_fn, &a), 0);
	}
}

/* Chunk records each operation reads on @file, a file of @n chunk
 * records (n even) laid out by fill_every_other(), around its middle
 * chunk n. */
struct op_reads {
	uint64_t getattr, lookup, seek_data, seek_hole, seek_end, punch;
};

static uint64_t reads_since(uint64_t *mark)
{
	uint64_t now = meta_chunk_reads(&fs.m), d = now - *mark;

	*mark = now;
	return d;
}

static struct op_reads measure(uint64_t file, const char *name, uint64_t n)
{
	struct op_reads o;
	struct meta_inode attr;
	struct meta_txn t;
	uint64_t mid = n, got, mark = meta_chunk_reads(&fs.m);

	/* mid is even: a data chunk; mid + 1 a hole. */
	ck_assert_int_eq(meta_begin(&fs.m, &t, false), 0);
	ck_assert_int_eq(meta_inode_get(&t, file, &attr), 0);
	meta_abort(&t);
	ck_assert_uint_eq(attr.size, 2 * n * CS);
	o.getattr = reads_since(&mark);
	ck_assert_int_eq(meta_begin(&fs.m, &t, false), 0);
	ck_assert_int_eq(meta_dirent_get(&t, ROOT, name, strlen(name), &got), 0);
	meta_abort(&t);
	ck_assert_uint_eq(got, file);
	o.lookup = reads_since(&mark);
	ck_assert_int_eq(chunk_seek(&fs.c, file, (mid + 1) * CS + 5, SEEK_DATA),
			 (int64_t)((mid + 2) * CS));
	o.seek_data = reads_since(&mark);
	ck_assert_int_eq(chunk_seek(&fs.c, file, mid * CS + 5, SEEK_HOLE),
			 (int64_t)((mid + 1) * CS));
	o.seek_hole = reads_since(&mark);
	ck_assert_int_eq(chunk_seek(&fs.c, file, (2 * n - 1) * CS, SEEK_DATA),
			 -ENXIO);
	o.seek_end = reads_since(&mark);
	/* Punch four chunks (two records) in the middle. */
	ck_assert_int_eq(chunk_punch(&fs.c, file, mid * CS, 4 * CS, UINT64_MAX,
				     &dirty, &attr),
			 0);
	o.punch = reads_since(&mark);
	ck_assert_int_eq(chunk_seek(&fs.c, file, mid * CS, SEEK_DATA),
			 (int64_t)((mid + 4) * CS));
	return o;
}

START_TEST(test_scale_million)
{
	/* SFS_SCALE_CHUNKS lowers the count (valgrind runs). */
	const char *env = getenv("SFS_SCALE_CHUNKS");
	uint64_t big = env ? strtoull(env, NULL, 10) : 1000000, small = 1000;
	uint64_t fbig = unit_mkfile(&fs.m, ROOT, "big");
	struct op_reads a, b;

	ck_assert_uint_ge(big, 2 * small);
	fill_every_other(ino, small);
	fill_every_other(fbig, big);
	ck_assert_uint_eq(big % 2, 0);
	a = measure(ino, "f", small);
	b = measure(fbig, "big", big);
	fprintf(stderr,
		"chunk records read, %" PRIu64 " vs %" PRIu64 " chunks: "
		"getattr %" PRIu64 "/%" PRIu64 ", lookup %" PRIu64 "/%" PRIu64
		", SEEK_DATA %" PRIu64 "/%" PRIu64 ", SEEK_HOLE %" PRIu64
		"/%" PRIu64 ", SEEK_DATA at the end %" PRIu64 "/%" PRIu64
		", punch %" PRIu64 "/%" PRIu64 "\n",
		small, big, a.getattr, b.getattr, a.lookup, b.lookup,
		a.seek_data, b.seek_data, a.seek_hole, b.seek_hole, a.seek_end,
		b.seek_end, a.punch, b.punch);
	/* Nothing but the records next to the offset: the same few reads
	 * whatever the size (each an O(log n) descent in LMDB), no scan.
	 * (Past the last record of a file, the positioning lands on the next
	 * file's first record, or on nothing: 1 or 0.) */
	ck_assert_uint_eq(b.getattr, 0);
	ck_assert_uint_eq(b.lookup, 0);
	ck_assert_uint_le(b.seek_data, 2);
	ck_assert_uint_le(b.seek_hole, 2);
	ck_assert_uint_le(b.seek_end, 2);
	ck_assert_uint_le(b.punch, 8);
	ck_assert_uint_eq(b.seek_data, a.seek_data);
	ck_assert_uint_eq(b.seek_hole, a.seek_hole);
	ck_assert_uint_eq(b.punch, a.punch);
}
END_TEST

static Suite *chunk_suite(void)
{
	Suite *s = suite_create("chunk");
	TCase *tc = unit_tcase("rw", chunk_setup, chunk_teardown);

	tcase_add_test(tc, test_chunk_path);
	tcase_add_test(tc, test_rw_one_chunk);
	tcase_add_test(tc, test_rw_many_chunks);
	tcase_add_test(tc, test_hole);
	tcase_add_test(tc, test_read_eof);
	tcase_add_test(tc, test_write_far);
	tcase_add_test(tc, test_persist);
	suite_add_tcase(s, tc);

	tc = unit_tcase("truncate", chunk_setup, chunk_teardown);
	tcase_add_test(tc, test_truncate_down);
	tcase_add_test(tc, test_truncate_up);
	tcase_add_test(tc, test_truncate_many);
	tcase_add_test(tc, test_reclaim);
	suite_add_tcase(s, tc);

	tc = unit_tcase("fault", chunk_setup, chunk_teardown);
	tcase_add_test(tc, test_fault_eio);
	tcase_add_test(tc, test_fault_enospc);
	tcase_add_test(tc, test_fault_open);
	tcase_add_test(tc, test_fault_short);
	tcase_add_test(tc, test_fault_read);
	tcase_add_test(tc, test_fault_no_stale_data);
	tcase_add_test(tc, test_fault_no_stale_data_truncate);
	suite_add_tcase(s, tc);

	tc = unit_tcase("sparse", chunk_setup, chunk_teardown);
	tcase_add_test(tc, test_zero_detect);
	tcase_add_test(tc, test_punch);
	tcase_add_test(tc, test_punch_many);
	tcase_add_test(tc, test_seek);
	tcase_add_test(tc, test_reserve);
	tcase_add_test(tc, test_reserve_no_stale_data);
	suite_add_tcase(s, tc);

	tc = unit_tcase("accounting", chunk_setup, chunk_teardown);
	tcase_add_test(tc, test_fsync);
	tcase_add_test(tc, test_fsync_new_names);
	tcase_add_test(tc, test_spent);
	suite_add_tcase(s, tc);

	tc = unit_tcase("scale", chunk_setup, chunk_teardown);
	tcase_add_test(tc, test_scale_million);
	tcase_add_loop_test(tc, test_model, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(chunk_suite());
}
