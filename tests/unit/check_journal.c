/*
 * check_journal - the fsync journal's file: records in, the same records
 * out, in order; a damaged or stale record ends it; a reset empties it;
 * the boot id decides whether it was written on this boot.
 */
#include "unit.h"

#include "journal.h"

static struct backing b;
static struct journal j;

static void setup(void)
{
	unit_setup();
	ck_assert_int_eq(backing_open(&b, unit_dir), 0);
	ck_assert_int_eq(journal_open(&j, &b), 0);
}

static void teardown(void)
{
	journal_close(&j);
	backing_close(&b);
	unit_teardown();
}

/* What a scan saw: kinds, ids, offsets, lengths and first data bytes. */
struct seen {
	size_t n;
	struct journal_rec rec[16];
	char first[16];
	int stop_at;
};

static int seen_fn(void *arg, const struct journal_rec *rec)
{
	struct seen *s = arg;

	if (s->stop_at && (int)s->n == s->stop_at)
		return 7;
	ck_assert_uint_lt(s->n, 16);
	s->rec[s->n] = *rec;
	s->first[s->n] = rec->len ? *(const char *)rec->data : 0;
	s->n++;
	return 0;
}

static void append_three(void)
{
	char a[100], c[5000];
	struct journal_rec recs[3] = {
		{JOURNAL_DATA, 5, 1, 11, 4096, sizeof(a), a},
		{JOURNAL_REVOKE, 0, 0, 12, 0, 0, NULL},
		{JOURNAL_DATA, 6, 9, 13, 0, sizeof(c), c},
	};

	memset(a, 'a', sizeof(a));
	memset(c, 'c', sizeof(c));
	ck_assert_int_eq(journal_append(&j, recs, 3), 0);
}

START_TEST(test_crc32c)
{
	/* The standard check value of CRC-32C, and continuation. */
	ck_assert_uint_eq(journal_crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(journal_crc32c(journal_crc32c(0, "1234", 4),
					 "56789", 5),
			  0xE3069283u);
}
END_TEST

START_TEST(test_round_trip)
{
	struct seen s = {0};

	/* A new journal: from no known boot, empty. */
	ck_assert(!journal_same_boot(&j));
	ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_int_eq(journal_reset(&j), 0);
	ck_assert(journal_same_boot(&j));
	ck_assert_uint_eq(journal_used(&j), 0);
	append_three();
	ck_assert_uint_eq(journal_used(&j),
			  journal_size_of(3, 100 + 5000));
	/* Read back by a fresh open, as the next mount does. */
	journal_close(&j);
	ck_assert_int_eq(journal_open(&j, &b), 0);
	ck_assert(journal_same_boot(&j));
	ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_int_eq(s.rec[0].kind, JOURNAL_DATA);
	ck_assert_uint_eq(s.rec[0].ino, 5);
	ck_assert_uint_eq(s.rec[0].idx, 1);
	ck_assert_uint_eq(s.rec[0].id, 11);
	ck_assert_uint_eq(s.rec[0].off, 4096);
	ck_assert_uint_eq(s.rec[0].len, 100);
	ck_assert_int_eq(s.first[0], 'a');
	ck_assert_int_eq(s.rec[1].kind, JOURNAL_REVOKE);
	ck_assert_uint_eq(s.rec[1].id, 12);
	ck_assert_uint_eq(s.rec[2].len, 5000);
	ck_assert_int_eq(s.first[2], 'c');
	/* Appends go on after what the scan found. */
	append_three();
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 0);
	ck_assert_uint_eq(s.n, 6);
	/* A callback's non-zero value stops the scan and is returned. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 7);
	ck_assert_uint_eq(s.n, 2);
}
END_TEST

START_TEST(test_damage_ends_it)
{
	struct seen s = {0};
	int fd;

	ck_assert_int_eq(journal_reset(&j), 0);
	append_three();
	/* One byte of the second DATA record's data. */
	fd = open(unit_path("%s", STORE_JOURNAL_NAME), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "x", 1,
				JOURNAL_HEAD_SIZE +
					journal_size_of(2, 100) +
					JOURNAL_REC_HEAD + 10),
			 1);
	close(fd);
	ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 0);
	ck_assert_uint_eq(s.n, 2);
	/* The next append overwrites the damaged record. */
	append_three();
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 0);
	ck_assert_uint_eq(s.n, 5);
}
END_TEST

START_TEST(test_reset_drops_records)
{
	struct seen s = {0};

	ck_assert_int_eq(journal_reset(&j), 0);
	append_three();
	ck_assert_int_eq(journal_reset(&j), 0);
	ck_assert_uint_eq(journal_used(&j), 0);
	journal_close(&j);
	ck_assert_int_eq(journal_open(&j, &b), 0);
	/* The old records are still in the file, of the old generation. */
	ck_assert_int_gt(unit_file_size(unit_path("%s", STORE_JOURNAL_NAME)),
			 JOURNAL_HEAD_SIZE);
	ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 0);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(test_other_boot)
{
	int fd;

	ck_assert_int_eq(journal_reset(&j), 0);
	append_three();
	journal_close(&j);
	/* The boot id at byte 24 is not covered by the header's CRC. */
	fd = open(unit_path("%s", STORE_JOURNAL_NAME), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "other", 6, 24), 6);
	close(fd);
	ck_assert_int_eq(journal_open(&j, &b), 0);
	ck_assert(!journal_same_boot(&j));
	{
		struct seen s = {0};
		ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 0);
		ck_assert_uint_eq(s.n, 3);
	}
	/* A damaged header: an empty journal from no known boot. */
	journal_close(&j);
	fd = open(unit_path("%s", STORE_JOURNAL_NAME), O_RDWR);
	ck_assert_int_eq(pwrite(fd, "X", 1, 0), 1);
	close(fd);
	ck_assert_int_eq(journal_open(&j, &b), 0);
	ck_assert(!journal_same_boot(&j));
	{
		struct seen s = {0};
		ck_assert_int_eq(journal_scan(&j, seen_fn, &s), 0);
		ck_assert_uint_eq(s.n, 0);
	}
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = unit_tcase("journal", setup, teardown);

	tcase_add_test(tc, test_crc32c);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_damage_ends_it);
	tcase_add_test(tc, test_reset_drops_records);
	tcase_add_test(tc, test_other_boot);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(journal_suite());
}
