/*
 * check_backing.c - the backing layer: opening the backing directory, the
 * full-length read/write helpers, and fault injection.
 */
#include "unit.h"

/* The backing over the test's directory and one file "f" in it. */
static struct backing b;
static int fd = -1;

static void backing_setup(void)
{
	unit_setup();
	ck_assert_int_eq(backing_open(&b, unit_dir), 0);
	fd = b.ops->open(&b, "f", O_RDWR | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
}

static void backing_teardown(void)
{
	if (fd >= 0)
		b.ops->close(&b, fd);
	fd = -1;
	backing_close(&b);
	unit_teardown();
}

static off_t fsize(void)
{
	struct stat st;

	ck_assert_int_eq(backing_sys_ops.fstat(&b, fd, &st), 0);
	return st.st_size;
}

/* ---- open ---- */

START_TEST(test_open_missing)
{
	struct backing m;

	ck_assert_int_eq(backing_open(&m, unit_path("missing")), -ENOENT);
}
END_TEST

START_TEST(test_open_file)
{
	struct backing m;

	unit_write_file(unit_path("file"), "x", 1);
	ck_assert_int_eq(backing_open(&m, unit_path("file")), -ENOTDIR);
}
END_TEST

START_TEST(test_open_close)
{
	struct backing m;

	ck_assert_int_eq(backing_open(&m, unit_dir), 0);
	ck_assert_int_ge(m.dirfd, 0);
	ck_assert_ptr_eq(m.ops, &backing_sys_ops);
	ck_assert_ptr_null(m.fault);
	backing_close(&m);
	ck_assert_int_eq(m.dirfd, -1);
}
END_TEST

/* Paths are relative to the backing directory, whatever the cwd is. */
START_TEST(test_relative_ops)
{
	struct statvfs sv;
	struct stat st;
	int dfd;

	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(b.ops->mkdir(&b, "d", 0755), 0);
	ck_assert_int_eq(b.ops->mkdir(&b, "d", 0755), -EEXIST);
	ck_assert(unit_is_dir(unit_path("d")));
	ck_assert_int_eq(b.ops->stat(&b, "d", &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(b.ops->stat(&b, "nope", &st), -ENOENT);

	dfd = b.ops->open(&b, "d/g", O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(backing_pwrite_all(&b, dfd, "hello", 5, 0), 0);
	ck_assert_int_eq(b.ops->fsync(&b, dfd, 0), 0);
	ck_assert_int_eq(b.ops->fsync(&b, dfd, 1), 0);
	ck_assert_int_eq(b.ops->ftruncate(&b, dfd, 3), 0);
	ck_assert_int_eq(b.ops->fstat(&b, dfd, &st), 0);
	ck_assert_int_eq(st.st_size, 3);
	ck_assert_int_eq(b.ops->close(&b, dfd), 0);
	ck_assert_int_eq(b.ops->open(&b, "d/g", O_RDWR | O_CREAT | O_EXCL,
				     0600),
			 -EEXIST);
	ck_assert_int_eq(b.ops->open(&b, "nope/g", O_RDONLY, 0), -ENOENT);

	ck_assert_int_eq(b.ops->rename(&b, "d/g", "d/h"), 0);
	ck_assert_int_eq(unit_file_size(unit_path("d/g")), -1);
	ck_assert_int_eq(unit_file_size(unit_path("d/h")), 3);
	ck_assert_int_eq(b.ops->fsync_dir(&b, "."), 0);
	ck_assert_int_eq(b.ops->fsync_dir(&b, "d"), 0);
	ck_assert_int_eq(b.ops->fsync_dir(&b, "nope"), -ENOENT);
	ck_assert_int_eq(b.ops->statvfs(&b, &sv), 0);
	ck_assert_uint_gt(sv.f_bsize, 0);
	ck_assert_int_eq(b.ops->syncfs(&b), 0);

	ck_assert_int_eq(b.ops->unlink(&b, "d", AT_REMOVEDIR), -ENOTEMPTY);
	ck_assert_int_eq(b.ops->unlink(&b, "d/h", 0), 0);
	ck_assert_int_eq(b.ops->unlink(&b, "d/h", 0), -ENOENT);
	ck_assert_int_eq(b.ops->unlink(&b, "d", AT_REMOVEDIR), 0);
	ck_assert(!unit_is_dir(unit_path("d")));
}
END_TEST

/* ---- pread_all / pwrite_all ---- */

START_TEST(test_rw_roundtrip)
{
	size_t len = 300000;
	char *out = malloc(len), *in = malloc(len + 100);
	ssize_t n;

	unit_fill(out, len, 0, 1);
	ck_assert_int_eq(backing_pwrite_all(&b, fd, out, len, 12345), 0);
	ck_assert_int_eq(fsize(), 12345 + len);

	memset(in, 0, len + 100);
	n = backing_pread_all(&b, fd, in, len, 12345);
	ck_assert_int_eq(n, len);
	ck_assert(memcmp(in, out, len) == 0);

	/* Short at end of file, then nothing. */
	n = backing_pread_all(&b, fd, in, len + 100, 12345);
	ck_assert_int_eq(n, len);
	ck_assert_int_eq(backing_pread_all(&b, fd, in, 10, 12345 + len), 0);
	/* The gap before the data reads as zeros. */
	ck_assert_int_eq(backing_pread_all(&b, fd, in, 12345, 0), 12345);
	ck_assert_uint_eq(unit_first_nonzero(in, 12345), 12345);
	/* Overwrite in the middle. */
	ck_assert_int_eq(backing_pwrite_all(&b, fd, "abc", 3, 20000), 0);
	ck_assert_int_eq(backing_pread_all(&b, fd, in, 5, 19999), 5);
	ck_assert(memcmp(in + 1, "abc", 3) == 0);
	ck_assert_int_eq(in[0], out[19999 - 12345]);
	ck_assert_int_eq(in[4], out[20003 - 12345]);
	ck_assert_int_eq(fsize(), 12345 + len);
	free(out);
	free(in);
}
END_TEST

START_TEST(test_rw_errors)
{
	char buf[8];
	int rd = b.ops->open(&b, "f", O_RDONLY, 0);

	ck_assert_int_ge(rd, 0);
	ck_assert_int_eq(backing_pwrite_all(&b, rd, "x", 1, 0), -EBADF);
	ck_assert_int_eq(b.ops->close(&b, rd), 0);
	ck_assert_int_eq(backing_pread_all(&b, -1, buf, 1, 0), -EBADF);
	ck_assert_int_eq(b.ops->close(&b, -1), -EBADF);
	/* Zero bytes is a success that touches nothing. */
	ck_assert_int_eq(backing_pwrite_all(&b, fd, "x", 0, 100), 0);
	ck_assert_int_eq(fsize(), 0);
}
END_TEST

/* ---- fault injection ---- */

START_TEST(test_fault_eio_once)
{
	char buf[4] = "";

	ck_assert_int_eq(backing_fault_set(&b, "pwrite", EIO, 0, 1), 0);
	ck_assert_ptr_ne(b.ops, &backing_sys_ops);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "abcd", 4, 0), -EIO);
	ck_assert_int_eq(fsize(), 0);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "abcd", 4, 0), 4);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "efgh", 4, 4), 4);
	ck_assert_int_eq(backing_pread_all(&b, fd, buf, 4, 4), 4);
	ck_assert(memcmp(buf, "efgh", 4) == 0);

	/* Through backing_pwrite_all: the error comes back as is. */
	ck_assert_int_eq(backing_fault_set(&b, "pwrite", ENOSPC, 0, 1), 0);
	ck_assert_int_eq(backing_pwrite_all(&b, fd, "zz", 2, 0), -ENOSPC);
	ck_assert_int_eq(backing_pwrite_all(&b, fd, "zz", 2, 0), 0);
	ck_assert_int_eq(fsize(), 8);
}
END_TEST

START_TEST(test_fault_short)
{
	char out[1001], in[1001];
	int i;

	unit_fill(out, sizeof(out), 0, 2);
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite SHORT 0 1"), 0);
	/* The faulty call writes half... */
	ck_assert_int_eq(b.ops->pwrite(&b, fd, out, 1000, 0), 500);
	ck_assert_int_eq(fsize(), 500);
	/* ...and the next one all of it. */
	ck_assert_int_eq(b.ops->pwrite(&b, fd, out + 500, 500, 500), 500);
	ck_assert_int_eq(fsize(), 1000);

	/* backing_pwrite_all() completes a short write. */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite SHORT 0 1"), 0);
	ck_assert_int_eq(backing_pwrite_all(&b, fd, out, 1000, 0), 0);
	ck_assert_int_eq(fsize(), 1000);
	ck_assert_int_eq(backing_pread_all(&b, fd, in, 1000, 0), 1000);
	ck_assert(memcmp(in, out, 1000) == 0);

	/* Also when several calls in a row are short. */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite SHORT 0 5"), 0);
	ck_assert_int_eq(backing_pwrite_all(&b, fd, out, 1001, 7), 0);
	ck_assert_int_eq(fsize(), 1008);
	backing_fault_clear(&b);
	ck_assert_int_eq(backing_pread_all(&b, fd, in, 1001, 7), 1001);
	ck_assert(memcmp(in, out, 1001) == 0);

	/* Short forever still makes progress: every call writes half. */
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite SHORT 0 -1"), 0);
	ck_assert_int_eq(backing_pwrite_all(&b, fd, out, 1001, 7), 0);
	backing_fault_clear(&b);
	ck_assert_int_eq(backing_pread_all(&b, fd, in, 1001, 7), 1001);
	ck_assert(memcmp(in, out, 1001) == 0);

	/* Short reads are completed by backing_pread_all(). */
	ck_assert_int_eq(backing_fault_parse(&b, "pread SHORT 0 -1"), 0);
	memset(in, 0, sizeof(in));
	ck_assert_int_eq(backing_pread_all(&b, fd, in, 1001, 7), 1001);
	ck_assert(memcmp(in, out, 1001) == 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(b.ops->pread(&b, fd, in, 100, 7), 50);
}
END_TEST

START_TEST(test_fault_skip)
{
	int i;

	ck_assert_int_eq(backing_fault_set(&b, "pwrite", EIO, 2, 1), 0);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), 1);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "b", 1, 1), 1);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "c", 1, 2), -EIO);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "d", 1, 2), 1);
	ck_assert_int_eq(fsize(), 3);

	/* Calls to other operations do not use up the skip count. */
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite EIO 1 2"), 0);
	for (i = 0; i < 5; i++) {
		char c;
		ck_assert_int_eq(b.ops->pread(&b, fd, &c, 1, 0), 1);
		ck_assert_int_eq(b.ops->fsync(&b, fd, 1), 0);
	}
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "e", 1, 0), 1);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "f", 1, 0), -EIO);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "g", 1, 0), -EIO);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "h", 1, 0), 1);

	/* count -1: forever. */
	ck_assert_int_eq(backing_fault_set(&b, "pwrite", ENOSPC, 0, -1), 0);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(b.ops->pwrite(&b, fd, "x", 1, 0), -ENOSPC);
	/* count 0: never. */
	ck_assert_int_eq(backing_fault_set(&b, "pwrite", EIO, 0, 0), 0);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "x", 1, 0), 1);
}
END_TEST

START_TEST(test_fault_ops)
{
	char c;
	int fd2;

	/* Only the named operation fails. */
	ck_assert_int_eq(backing_fault_parse(&b, "pread EIO 0 1"), 0);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), 1);
	ck_assert_int_eq(b.ops->pread(&b, fd, &c, 1, 0), -EIO);
	ck_assert_int_eq(backing_pread_all(&b, fd, &c, 1, 0), 1);

	ck_assert_int_eq(backing_fault_parse(&b, "fsync EIO 0 1"), 0);
	ck_assert_int_eq(b.ops->fsync(&b, fd, 0), -EIO);
	ck_assert_int_eq(b.ops->fsync(&b, fd, 0), 0);

	ck_assert_int_eq(backing_fault_parse(&b, "ftruncate ENOSPC 0 1"), 0);
	ck_assert_int_eq(b.ops->ftruncate(&b, fd, 100), -ENOSPC);
	ck_assert_int_eq(fsize(), 1);
	ck_assert_int_eq(b.ops->ftruncate(&b, fd, 100), 0);
	ck_assert_int_eq(fsize(), 100);

	ck_assert_int_eq(backing_fault_parse(&b, "open EIO 0 1"), 0);
	ck_assert_int_eq(b.ops->open(&b, "g", O_RDWR | O_CREAT, 0644), -EIO);
	ck_assert_int_eq(unit_file_size(unit_path("g")), -1);
	fd2 = b.ops->open(&b, "g", O_RDWR | O_CREAT, 0644);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(b.ops->close(&b, fd2), 0);

	ck_assert_int_eq(backing_fault_parse(&b, "unlink EIO 0 1"), 0);
	ck_assert_int_eq(b.ops->unlink(&b, "g", 0), -EIO);
	ck_assert_int_eq(unit_file_size(unit_path("g")), 0);
	ck_assert_int_eq(b.ops->unlink(&b, "g", 0), 0);
	ck_assert_int_eq(unit_file_size(unit_path("g")), -1);

	ck_assert_int_eq(backing_fault_parse(&b, "fallocate EIO 0 1"), 0);
	ck_assert_int_eq(b.ops->fallocate(&b, fd, 0, 0, 4096), -EIO);

	/* "fsync" covers every way of making things durable. */
	ck_assert_int_eq(backing_fault_parse(&b, "fsync EIO 0 3"), 0);
	ck_assert_int_eq(b.ops->fsync_dir(&b, "."), -EIO);
	ck_assert_int_eq(b.ops->syncfs(&b), -EIO);
	ck_assert_int_eq(b.ops->fsync(&b, fd, 1), -EIO);
	ck_assert_int_eq(b.ops->fsync_dir(&b, "."), 0);
	ck_assert_int_eq(b.ops->syncfs(&b), 0);

	/* "any" hits whatever comes first, and a numeric errno works. */
	ck_assert_int_eq(backing_fault_parse(&b, "any 28 1 1"), 0);
	ck_assert_int_eq(b.ops->pread(&b, fd, &c, 1, 0), 1);
	ck_assert_int_eq(b.ops->fsync(&b, fd, 1), -ENOSPC);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), 1);
	ck_assert_int_eq(backing_fault_parse(&b, "any EIO 0 -1"), 0);
	ck_assert_int_eq(b.ops->pread(&b, fd, &c, 1, 0), -EIO);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), -EIO);
	ck_assert_int_eq(b.ops->open(&b, "f", O_RDONLY, 0), -EIO);
}
END_TEST

START_TEST(test_fault_unknown)
{
	ck_assert_int_eq(backing_fault_set(&b, "bogus", EIO, 0, 1), -EINVAL);
	ck_assert_ptr_eq(b.ops, &backing_sys_ops);
	ck_assert_int_eq(backing_fault_set(&b, "", EIO, 0, 1), -EINVAL);
	ck_assert_int_eq(backing_fault_parse(&b, "bogus EIO 0 1"), -EINVAL);
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite EWHAT 0 1"),
			 -EINVAL);
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite EIO"), -EINVAL);
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite EIO 0"), -EINVAL);
	ck_assert_int_eq(backing_fault_parse(&b, ""), -EINVAL);
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite 0 0 1"), -EINVAL);
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite -5 0 1"), -EINVAL);
	ck_assert_ptr_eq(b.ops, &backing_sys_ops);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), 1);

	/* A bad spec leaves an armed fault armed. */
	ck_assert_int_eq(backing_fault_parse(&b, "pwrite EIO 0 -1"), 0);
	ck_assert_int_eq(backing_fault_parse(&b, "bogus EIO 0 1"), -EINVAL);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), -EIO);
}
END_TEST

START_TEST(test_fault_clear)
{
	ck_assert_int_eq(backing_fault_set(&b, "pwrite", EIO, 0, -1), 0);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), -EIO);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), -EIO);
	backing_fault_clear(&b);
	ck_assert_ptr_eq(b.ops, &backing_sys_ops);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), 1);
	ck_assert_int_eq(backing_pwrite_all(&b, fd, "bc", 2, 1), 0);
	ck_assert_int_eq(fsize(), 3);

	/* A cleared fault can be armed again with new settings. */
	ck_assert_int_eq(backing_fault_set(&b, "pwrite", ENOSPC, 1, 1), 0);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), 1);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), -ENOSPC);
	ck_assert_int_eq(b.ops->pwrite(&b, fd, "a", 1, 0), 1);

	/* A copy of the ops pointer taken before the clear stops failing
	 * too: a thread may hold one. */
	ck_assert_int_eq(backing_fault_set(&b, "pwrite", EIO, 0, -1), 0);
	{
		const struct backing_ops *held = b.ops;
		backing_fault_clear(&b);
		ck_assert_int_eq(held->pwrite(&b, fd, "a", 1, 0), 1);
	}
	/* Clearing twice, or with nothing armed, is harmless. */
	backing_fault_clear(&b);
	backing_fault_clear(&b);
	ck_assert_ptr_eq(b.ops, &backing_sys_ops);
}
END_TEST

/* backing_close() releases the fault state: run under valgrind, a leak
 * here is an error. */
START_TEST(test_fault_close)
{
	struct backing m;

	ck_assert_int_eq(backing_open(&m, unit_dir), 0);
	ck_assert_int_eq(backing_fault_parse(&m, "pwrite EIO 0 1"), 0);
	ck_assert_ptr_nonnull(m.fault);
	backing_close(&m);
	ck_assert_int_eq(m.dirfd, -1);
	ck_assert_ptr_eq(m.ops, &backing_sys_ops);
}
END_TEST

static Suite *backing_suite(void)
{
	Suite *s = suite_create("backing");
	TCase *tc = unit_tcase("open", NULL, NULL);

	tcase_add_test(tc, test_open_missing);
	tcase_add_test(tc, test_open_file);
	tcase_add_test(tc, test_open_close);
	tcase_add_test(tc, test_fault_close);
	suite_add_tcase(s, tc);

	tc = unit_tcase("io", backing_setup, backing_teardown);
	tcase_add_test(tc, test_relative_ops);
	tcase_add_test(tc, test_rw_roundtrip);
	tcase_add_test(tc, test_rw_errors);
	suite_add_tcase(s, tc);

	tc = unit_tcase("fault", backing_setup, backing_teardown);
	tcase_add_test(tc, test_fault_eio_once);
	tcase_add_test(tc, test_fault_short);
	tcase_add_test(tc, test_fault_skip);
	tcase_add_test(tc, test_fault_ops);
	tcase_add_test(tc, test_fault_unknown);
	tcase_add_test(tc, test_fault_clear);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(backing_suite());
}
