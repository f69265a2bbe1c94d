/*
 * check_store.c - the store: creation in an empty directory, the
 * superblock (checksum, format, damage), the lock, size parsing.
 */
#include "unit.h"

#include <pthread.h>
#include <sys/file.h>

static char msg[512];

/* FNV-1a 64, as store.c computes the superblock checksum. */
static uint64_t fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A superblock: @body (the lines before "checksum"), then a checksum line
 * that is right for it. Returns the length. */
static size_t make_sb(char *buf, size_t len, const char *body)
{
	int n = snprintf(buf, len, "%s", body);

	n += snprintf(buf + n, len - n, "checksum %016llx\n",
		      (unsigned long long)fnv1a(buf, n));
	ck_assert_uint_lt(n, len);
	return n;
}

static int open_store(struct store *s, const char *path, uint64_t chunk,
		      int flags)
{
	msg[0] = 0;
	return store_open(s, path, chunk, flags, msg, sizeof(msg));
}

/* Create a store in the test's directory and close it. */
static void create_store(uint64_t chunk, char *uuid)
{
	struct store s;
	int r = open_store(&s, unit_dir, chunk, STORE_CREATE | STORE_LOCK);

	ck_assert_msg(r == 0, "store_open: %d (%s)", r, msg);
	if (uuid)
		strcpy(uuid, s.uuid);
	store_close(&s);
}

/* The superblock of the test's store. */
static size_t read_sb(char *buf, size_t len)
{
	size_t n = unit_read_file(unit_path(STORE_SB_NAME), buf, len - 1);

	buf[n] = 0;
	return n;
}

START_TEST(test_create)
{
	struct store s;
	char sb[600], want[600], body[300];
	size_t n;

	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_CREATE | STORE_LOCK),
			 0);
	ck_assert(s.created);
	ck_assert(!s.readonly);
	ck_assert_uint_eq(s.chunk_size, STORE_CHUNK_DEFAULT);
	ck_assert_uint_eq(1ull << s.chunk_shift, STORE_CHUNK_DEFAULT);
	ck_assert_uint_eq(s.format, STORE_FORMAT);
	ck_assert_uint_eq(strlen(s.uuid), 36);
	ck_assert_int_ge(s.lockfd, 0);
	ck_assert_int_ge(s.b.dirfd, 0);
	/* The lock is held: flock on another open file description fails. */
	{
		int fd = open(unit_path(STORE_SB_NAME), O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
		ck_assert_int_eq(errno, EWOULDBLOCK);
		close(fd);
	}
	store_close(&s);

	ck_assert_int_gt(unit_file_size(unit_path(STORE_SB_NAME)), 0);
	ck_assert(unit_is_dir(unit_path(STORE_META_DIR)));
	ck_assert(unit_is_dir(unit_path(STORE_DATA_DIR)));
	ck_assert_int_eq(unit_file_size(unit_path("sparsefs.sb.tmp")), -1);
	unit_list_dir(unit_dir, sb, sizeof(sb));
	ck_assert_str_eq(sb, "data/meta/sparsefs.sb/");

	/* The superblock is exactly the documented text. */
	n = read_sb(sb, sizeof(sb));
	snprintf(body, sizeof(body),
		 "sparsefs store\nformat 1\nchunk_size 1048576\nuuid %s\n",
		 s.uuid);
	ck_assert_uint_eq(n, make_sb(want, sizeof(want), body));
	ck_assert_str_eq(sb, want);
}
END_TEST

START_TEST(test_chunk_sizes)
{
	static const uint64_t sizes[] = {STORE_CHUNK_MIN, 128u << 10,
					 STORE_CHUNK_DEFAULT, 8u << 20,
					 STORE_CHUNK_MAX};
	struct store s;

	for (size_t i = 0; i < SFS_ARRAY_SIZE(sizes); i++) {
		const char *dir = unit_path("s%zu", i);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		ck_assert_int_eq(open_store(&s, dir, sizes[i], STORE_CREATE), 0);
		ck_assert(s.created);
		ck_assert_uint_eq(s.chunk_size, sizes[i]);
		ck_assert_uint_eq(1ull << s.chunk_shift, sizes[i]);
		store_close(&s);
		/* Reopening reads it back, whatever size is asked for. */
		ck_assert_int_eq(open_store(&s, dir, STORE_CHUNK_DEFAULT,
					    STORE_CREATE | STORE_LOCK),
				 0);
		ck_assert(!s.created);
		ck_assert_uint_eq(s.chunk_size, sizes[i]);
		ck_assert_uint_eq(1ull << s.chunk_shift, sizes[i]);
		store_close(&s);
	}
}
END_TEST

START_TEST(test_reopen)
{
	char uuid[40], before[600], after[600];
	struct store s;

	create_store(STORE_CHUNK_MIN, uuid);
	read_sb(before, sizeof(before));
	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_CREATE | STORE_LOCK),
			 0);
	ck_assert(!s.created);
	ck_assert_str_eq(s.uuid, uuid);
	ck_assert_uint_eq(s.chunk_size, STORE_CHUNK_MIN);
	ck_assert_uint_eq(s.format, STORE_FORMAT);
	store_close(&s);
	/* Without STORE_CREATE, and for checking only. */
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), 0);
	ck_assert_str_eq(s.uuid, uuid);
	store_close(&s);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_RDONLY), 0);
	ck_assert_str_eq(s.uuid, uuid);
	ck_assert(!s.created);
	store_close(&s);
	/* Opening never rewrites the superblock. */
	read_sb(after, sizeof(after));
	ck_assert_str_eq(after, before);
}
END_TEST

START_TEST(test_two_stores_differ)
{
	char uuid1[40], uuid2[40];
	struct store s;

	ck_assert_int_eq(mkdir(unit_path("a"), 0755), 0);
	ck_assert_int_eq(mkdir(unit_path("b"), 0755), 0);
	ck_assert_int_eq(open_store(&s, unit_path("a"), STORE_CHUNK_DEFAULT,
				    STORE_CREATE),
			 0);
	strcpy(uuid1, s.uuid);
	store_close(&s);
	ck_assert_int_eq(open_store(&s, unit_path("b"), STORE_CHUNK_DEFAULT,
				    STORE_CREATE),
			 0);
	strcpy(uuid2, s.uuid);
	store_close(&s);
	ck_assert_str_ne(uuid1, uuid2);
}
END_TEST

START_TEST(test_not_a_store)
{
	char before[600], after[600], data[16];
	struct store s;

	ck_assert_int_eq(mkdir(unit_path("sub"), 0755), 0);
	unit_write_file(unit_path("precious"), "keep me", 7);
	unit_list_dir(unit_dir, before, sizeof(before));

	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_CREATE | STORE_LOCK),
			 -ENOTEMPTY);
	ck_assert_str_ne(msg, "");
	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT, 0),
			 -ENOTEMPTY);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_RDONLY),
			 -ENOTEMPTY);
	/* Even a bad chunk size does not get past the emptiness check. */
	ck_assert_int_eq(open_store(&s, unit_dir, 12345, STORE_CREATE),
			 -ENOTEMPTY);

	unit_list_dir(unit_dir, after, sizeof(after));
	ck_assert_str_eq(after, before);
	ck_assert_str_eq(after, "precious/sub/");
	ck_assert_uint_eq(unit_read_file(unit_path("precious"), data,
					 sizeof(data)),
			  7);
	ck_assert(memcmp(data, "keep me", 7) == 0);
	unit_list_dir(unit_path("sub"), after, sizeof(after));
	ck_assert_str_eq(after, "");
}
END_TEST

/* A lone dotfile counts too: only lost+found is ignored. */
START_TEST(test_not_a_store_dotfile)
{
	char listing[100];
	struct store s;

	unit_write_file(unit_path(".hidden"), "", 0);
	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_CREATE),
			 -ENOTEMPTY);
	unit_list_dir(unit_dir, listing, sizeof(listing));
	ck_assert_str_eq(listing, ".hidden/");
}
END_TEST

START_TEST(test_lost_found)
{
	char listing[100];
	struct store s;

	ck_assert_int_eq(mkdir(unit_path("lost+found"), 0700), 0);
	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_CREATE | STORE_LOCK),
			 0);
	ck_assert(s.created);
	store_close(&s);
	unit_list_dir(unit_dir, listing, sizeof(listing));
	ck_assert_str_eq(listing, "data/lost+found/meta/sparsefs.sb/");
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), 0);
	ck_assert(!s.created);
	store_close(&s);
}
END_TEST

START_TEST(test_lost_found_and_more)
{
	char listing[100];
	struct store s;

	ck_assert_int_eq(mkdir(unit_path("lost+found"), 0700), 0);
	unit_write_file(unit_path("x"), "", 0);
	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_CREATE),
			 -ENOTEMPTY);
	unit_list_dir(unit_dir, listing, sizeof(listing));
	ck_assert_str_eq(listing, "lost+found/x/");
}
END_TEST

START_TEST(test_bad_chunk_size)
{
	static const uint64_t bad[] = {
		0,	   1,	       4096,	 STORE_CHUNK_MIN - 1,
		STORE_CHUNK_MIN / 2,  STORE_CHUNK_MIN + 1, 96u << 10,
		3u << 20,  STORE_CHUNK_MAX + 1, STORE_CHUNK_MAX * 2ull,
		1ull << 40, UINT64_MAX,
	};
	char listing[100];
	struct store s;

	for (size_t i = 0; i < SFS_ARRAY_SIZE(bad); i++) {
		int r = open_store(&s, unit_dir, bad[i],
				   STORE_CREATE | STORE_LOCK);
		ck_assert_msg(r == -EINVAL, "chunk size %llu: %d",
			      (unsigned long long)bad[i], r);
		ck_assert_str_ne(msg, "");
		unit_list_dir(unit_dir, listing, sizeof(listing));
		ck_assert_str_eq(listing, "");
	}
}
END_TEST

START_TEST(test_missing_and_file)
{
	struct store s;

	ck_assert_int_eq(open_store(&s, unit_path("missing"),
				    STORE_CHUNK_DEFAULT, STORE_CREATE),
			 -ENOENT);
	ck_assert_str_ne(msg, "");
	ck_assert_int_eq(unit_file_size(unit_path("missing")), -1);
	unit_write_file(unit_path("file"), "x", 1);
	ck_assert_int_eq(open_store(&s, unit_path("file"),
				    STORE_CHUNK_DEFAULT, STORE_CREATE),
			 -ENOTDIR);
	ck_assert_str_ne(msg, "");
	ck_assert_int_eq(unit_file_size(unit_path("file")), 1);
}
END_TEST

/* An empty directory is no store unless asked to create one. */
START_TEST(test_empty_no_create)
{
	char listing[100];
	struct store s;

	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_LOCK),
			 -ENOENT);
	ck_assert_str_ne(msg, "");
	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_CREATE | STORE_RDONLY),
			 -ENOENT);
	unit_list_dir(unit_dir, listing, sizeof(listing));
	ck_assert_str_eq(listing, "");
}
END_TEST

/* Flip one bit in every byte of the superblock in turn (all but the final
 * newline, which nothing depends on): every change must be noticed. */
START_TEST(test_damaged_sb)
{
	char sb[600], bad[600];
	struct store s;
	size_t n;

	create_store(STORE_CHUNK_DEFAULT, NULL);
	n = read_sb(sb, sizeof(sb));
	ck_assert_int_eq(sb[n - 1], '\n');
	for (size_t i = 0; i + 1 < n; i++) {
		int r;
		memcpy(bad, sb, n);
		bad[i] ^= 0x01;
		unit_write_file(unit_path(STORE_SB_NAME), bad, n);
		r = open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
			       STORE_CREATE | STORE_LOCK);
		ck_assert_msg(r == -EUCLEAN,
			      "byte %zu ('%c' -> '%c'): got %d (%s)", i,
			      sb[i], bad[i], r, msg);
		ck_assert_str_ne(msg, "");
	}
	/* Put back, it opens again: the store was left alone. */
	unit_write_file(unit_path(STORE_SB_NAME), sb, n);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), 0);
	store_close(&s);
}
END_TEST

START_TEST(test_damaged_sb_tail)
{
	char sb[700];
	struct store s;
	size_t n;

	create_store(STORE_CHUNK_DEFAULT, NULL);
	n = read_sb(sb, sizeof(sb));
	/* Its lines in another order. */
	{
		char *uuid = strstr(sb, "uuid "), *ck = strstr(sb, "checksum ");
		char swapped[700];
		int k;
		ck_assert_ptr_nonnull(uuid);
		ck_assert_ptr_nonnull(ck);
		k = snprintf(swapped, sizeof(swapped), "%.*s%.*s%s",
			     (int)(ck - uuid), uuid, (int)(uuid - sb), sb, ck);
		ck_assert_int_eq(k, n);
		unit_write_file(unit_path(STORE_SB_NAME), swapped, n);
		ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK),
				 -EUCLEAN);
	}
	/* An empty superblock. */
	unit_write_file(unit_path(STORE_SB_NAME), "", 0);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), -EUCLEAN);
	/* Binary garbage. */
	memset(sb, 0xff, 512);
	unit_write_file(unit_path(STORE_SB_NAME), sb, 512);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), -EUCLEAN);
	/* NUL bytes. */
	memset(sb, 0, 512);
	unit_write_file(unit_path(STORE_SB_NAME), sb, 512);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), -EUCLEAN);
}
END_TEST

START_TEST(test_truncated_sb)
{
	char sb[600];
	struct store s;
	size_t n;

	create_store(STORE_CHUNK_DEFAULT, NULL);
	n = read_sb(sb, sizeof(sb));
	for (size_t len = 0; len + 1 < n; len++) {
		int r;
		ck_assert_int_eq(truncate(unit_path(STORE_SB_NAME), len), 0);
		r = open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
			       STORE_CREATE | STORE_LOCK);
		ck_assert_msg(r == -EUCLEAN, "truncated to %zu of %zu: %d (%s)",
			      len, n, r, msg);
		ck_assert_str_ne(msg, "");
		/* Never "repaired" by writing a new superblock. */
		ck_assert_int_eq(unit_file_size(unit_path(STORE_SB_NAME)),
				 len);
		unit_write_file(unit_path(STORE_SB_NAME), sb, n);
	}
}
END_TEST

/* The checksum this test computes is the one the store accepts. */
START_TEST(test_handmade_sb)
{
	char sb[600];
	struct store s;
	size_t n;

	ck_assert_int_eq(mkdir(unit_path(STORE_META_DIR), 0755), 0);
	ck_assert_int_eq(mkdir(unit_path(STORE_DATA_DIR), 0755), 0);
	n = make_sb(sb, sizeof(sb),
		    "sparsefs store\nformat 1\nchunk_size 131072\n"
		    "uuid 01234567-89ab-4cde-8f01-23456789abcd\n");
	unit_write_file(unit_path(STORE_SB_NAME), sb, n);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), 0);
	ck_assert_uint_eq(s.chunk_size, 131072);
	ck_assert_uint_eq(s.chunk_shift, 17);
	ck_assert_str_eq(s.uuid, "01234567-89ab-4cde-8f01-23456789abcd");
	store_close(&s);

	/* A valid checksum does not make bad fields good. */
	n = make_sb(sb, sizeof(sb),
		    "sparsefs store\nformat 1\nchunk_size 100000\n"
		    "uuid 01234567-89ab-4cde-8f01-23456789abcd\n");
	unit_write_file(unit_path(STORE_SB_NAME), sb, n);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), -EUCLEAN);
	n = make_sb(sb, sizeof(sb),
		    "sparsefs store\nformat 1\nchunk_size 32768\n"
		    "uuid 01234567-89ab-4cde-8f01-23456789abcd\n");
	unit_write_file(unit_path(STORE_SB_NAME), sb, n);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), -EUCLEAN);
	n = make_sb(sb, sizeof(sb),
		    "sparsefs store\nformat 1\nchunk_size 1048576\n");
	unit_write_file(unit_path(STORE_SB_NAME), sb, n);
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_LOCK), -EUCLEAN);
}
END_TEST

START_TEST(test_newer_format)
{
	char sb[600];
	struct store s;
	size_t n;

	ck_assert_int_eq(mkdir(unit_path(STORE_META_DIR), 0755), 0);
	ck_assert_int_eq(mkdir(unit_path(STORE_DATA_DIR), 0755), 0);
	n = make_sb(sb, sizeof(sb),
		    "sparsefs store\nformat 2\nchunk_size 1048576\n"
		    "uuid 01234567-89ab-4cde-8f01-23456789abcd\n");
	unit_write_file(unit_path(STORE_SB_NAME), sb, n);
	ck_assert_int_eq(open_store(&s, unit_dir, STORE_CHUNK_DEFAULT,
				    STORE_CREATE | STORE_LOCK),
			 -EPROTONOSUPPORT);
	ck_assert_ptr_nonnull(strstr(msg, "2"));
	ck_assert_int_eq(open_store(&s, unit_dir, 0, STORE_RDONLY),
			 -EPROTONOSUPPORT);
	/* The newer store is left as it was. */
	{
		char now[600];
		ck_assert_uint_eq(read_sb(now, sizeof(now)), n);
		ck_assert(memcmp(now, sb, n) == 0);
	}
}
END_TEST

START_TEST(test_lock)
{
	struct store s1, s2;

	create_store(STORE_CHUNK_DEFAULT, NULL);
	ck_assert_int_eq(open_store(&s1, unit_dir, 0, STORE_LOCK), 0);
	/* (Each refusal takes a few seconds: the store waits for a daemon
	 * that may be finishing its unmount.) */
	ck_assert_int_eq(open_store(&s2, unit_dir, 0, STORE_LOCK), -EBUSY);
	ck_assert_str_ne(msg, "");
	/* fsck's mode takes the lock too. */
	ck_assert_int_eq(open_store(&s2, unit_dir, 0,
				    STORE_LOCK | STORE_RDONLY),
			 -EBUSY);
	/* Without STORE_LOCK the store opens anyway. */
	ck_assert_int_eq(open_store(&s2, unit_dir, 0, 0), 0);
	store_close(&s2);
	/* The failed opens left the holder's lock alone. */
	{
		int fd = open(unit_path(STORE_SB_NAME), O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
		close(fd);
	}
	store_close(&s1);
	/* The lock goes with the store. */
	ck_assert_int_eq(open_store(&s2, unit_dir, 0, STORE_LOCK), 0);
	store_close(&s2);
}
END_TEST

static void *close_later(void *arg)
{
	usleep(300000);
	store_close(arg);
	return NULL;
}

/* A holder that lets go within a moment (a daemon finishing its unmount)
 * is waited for. */
START_TEST(test_lock_wait)
{
	struct store s1, s2;
	pthread_t th;

	create_store(STORE_CHUNK_DEFAULT, NULL);
	ck_assert_int_eq(open_store(&s1, unit_dir, 0, STORE_LOCK), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, close_later, &s1), 0);
	ck_assert_int_eq(open_store(&s2, unit_dir, 0, STORE_LOCK), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	store_close(&s2);
}
END_TEST

/* Failed opens close whatever they opened. */
START_TEST(test_no_fd_leak)
{
	struct store s1, s2;
	char sb[600];
	size_t n;
	int fds;

	ck_assert_int_eq(mkdir(unit_path("full"), 0755), 0);
	unit_write_file(unit_path("full/x"), "", 0);
	ck_assert_int_eq(mkdir(unit_path("st"), 0755), 0);
	ck_assert_int_eq(open_store(&s1, unit_path("st"), STORE_CHUNK_DEFAULT,
				    STORE_CREATE | STORE_LOCK),
			 0);
	fds = unit_count_fds();
	ck_assert_int_eq(open_store(&s2, unit_path("st"), 0, STORE_LOCK),
			 -EBUSY);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(open_store(&s2, unit_path("full"),
					    STORE_CHUNK_DEFAULT, STORE_CREATE),
				 -ENOTEMPTY);
		ck_assert_int_eq(open_store(&s2, unit_path("missing"), 0,
					    STORE_LOCK),
				 -ENOENT);
		ck_assert_int_eq(open_store(&s2, unit_path("full/x"), 0,
					    STORE_LOCK),
				 -ENOTDIR);
	}
	ck_assert_int_eq(unit_count_fds(), fds);
	store_close(&s1);

	n = unit_read_file(unit_path("st/" STORE_SB_NAME), sb, sizeof(sb));
	sb[3] ^= 1;
	unit_write_file(unit_path("st/" STORE_SB_NAME), sb, n);
	fds = unit_count_fds();
	ck_assert_int_eq(open_store(&s2, unit_path("st"), 0, STORE_LOCK),
			 -EUCLEAN);
	ck_assert_int_eq(unit_count_fds(), fds);
	/* store_close() after a failed open is harmless. */
	store_close(&s2);
}
END_TEST

START_TEST(test_parse_size)
{
	static const struct {
		const char *text;
		uint64_t want;
	} good[] = {
		{"0", 0},
		{"1", 1},
		{"4096", 4096},
		{"64K", 65536},
		{"64k", 65536},
		{"1M", 1048576},
		{"1m", 1048576},
		{"1MiB", 1048576},
		{"1MB", 1048576},
		{"2G", 2ull << 30},
		{"16M", 16ull << 20},
		{"1024K", 1048576},
	};
	static const char *const bad[] = {
		"bad", "", "M", "-1", "1X", "1MM", "1 M", "1.5M",
		"99999999999999999999",
	};
	uint64_t v;

	for (size_t i = 0; i < SFS_ARRAY_SIZE(good); i++) {
		v = 12345;
		ck_assert_msg(store_parse_size(good[i].text, &v) == 0, "%s",
			      good[i].text);
		ck_assert_msg(v == good[i].want, "%s: %llu", good[i].text,
			      (unsigned long long)v);
	}
	for (size_t i = 0; i < SFS_ARRAY_SIZE(bad); i++) {
		v = 12345;
		ck_assert_msg(store_parse_size(bad[i], &v) == -EINVAL, "%s",
			      bad[i]);
		ck_assert_uint_eq(v, 12345);
	}
}
END_TEST

/* A size whose suffix overflows 64 bits is not a (wrapped) small one. */
START_TEST(test_parse_size_overflow)
{
	static const char *const big[] = {
		"17179869184G", /* 2^34 GiB = 2^64: wraps to 0 */
		"18014398509481985K",
		"18446744073709551615M",
	};
	uint64_t v;

	for (size_t i = 0; i < SFS_ARRAY_SIZE(big); i++) {
		v = 12345;
		ck_assert_msg(store_parse_size(big[i], &v) == -EINVAL,
			      "%s parsed as %llu", big[i],
			      (unsigned long long)v);
	}
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = unit_tcase("create", NULL, NULL);

	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_chunk_sizes);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_two_stores_differ);
	tcase_add_test(tc, test_not_a_store);
	tcase_add_test(tc, test_not_a_store_dotfile);
	tcase_add_test(tc, test_lost_found);
	tcase_add_test(tc, test_lost_found_and_more);
	tcase_add_test(tc, test_bad_chunk_size);
	tcase_add_test(tc, test_missing_and_file);
	tcase_add_test(tc, test_empty_no_create);
	suite_add_tcase(s, tc);

	tc = unit_tcase("superblock", NULL, NULL);
	tcase_add_test(tc, test_damaged_sb);
	tcase_add_test(tc, test_damaged_sb_tail);
	tcase_add_test(tc, test_truncated_sb);
	tcase_add_test(tc, test_handmade_sb);
	tcase_add_test(tc, test_newer_format);
	suite_add_tcase(s, tc);

	tc = unit_tcase("lock", NULL, NULL);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_lock_wait);
	tcase_add_test(tc, test_no_fd_leak);
	suite_add_tcase(s, tc);

	tc = unit_tcase("parse_size", NULL, NULL);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_parse_size_overflow);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(store_suite());
}
