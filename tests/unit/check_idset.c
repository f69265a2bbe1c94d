/*
 * check_idset - the id set that recovery and fsck collect chunk ids in.
 */
#include "unit.h"

#include "idset.h"

START_TEST(test_empty)
{
	struct idset s = {0};

	idset_sort(&s);
	ck_assert(!idset_has(&s, 0));
	ck_assert(!idset_has(&s, 42));
	idset_free(&s);
	ck_assert_ptr_null(s.v);
}
END_TEST

START_TEST(test_many)
{
	struct idset s = {0};
	const uint64_t n = 5000;

	/* Out of order, past the first growth, with the extremes. */
	for (uint64_t i = 0; i < n; i++)
		ck_assert_int_eq(idset_add(&s, (i * 7919) % n * 2 + 1), 0);
	ck_assert_int_eq(idset_add(&s, UINT64_MAX), 0);
	ck_assert_int_eq(idset_add(&s, 1), 0);
	ck_assert_uint_eq(s.n, n + 2);
	idset_sort(&s);
	for (uint64_t i = 1; i < s.n; i++)
		ck_assert(s.v[i - 1] <= s.v[i]);
	/* The duplicate stays, side by side. */
	ck_assert_uint_eq(s.v[0], 1);
	ck_assert_uint_eq(s.v[1], 1);
	for (uint64_t id = 0; id < 2 * n + 2; id++)
		ck_assert(idset_has(&s, id) == (id % 2 == 1 && id < 2 * n));
	ck_assert(idset_has(&s, UINT64_MAX));
	idset_free(&s);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

static Suite *idset_suite(void)
{
	Suite *s = suite_create("idset");
	TCase *tc = unit_tcase("idset", NULL, NULL);

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(idset_suite());
}
