/*
 * check_wire - the custom I/O layer under libfuse (src/wire.c): which
 * requests it notes and the one reply it changes.
 */
#include "unit.h"

#include <linux/fuse.h>
#include <pthread.h>

#include "wire.h"

/* A request: the header, then the op's argument. */
struct request {
	struct fuse_in_header h;
	union {
		struct fuse_init_in init;
		struct fuse_write_in write;
		struct fuse_setattr_in setattr;
	} arg;
};

static size_t request(struct request *r, uint32_t opcode, uint64_t unique,
		      size_t arglen)
{
	memset(r, 0, sizeof(*r));
	r->h.len = (uint32_t)(sizeof(r->h) + arglen);
	r->h.opcode = opcode;
	r->h.unique = unique;
	return r->h.len;
}

/* Send an INIT with @kflags from the kernel; answer it as libfuse does,
 * with @unique and @error; return the flags the kernel would get. */
static uint32_t init_exchange(uint32_t kflags, uint64_t req_unique,
			      uint64_t reply_unique, int32_t error)
{
	struct request r;
	struct fuse_out_header oh = {0};
	struct fuse_init_out out = {0};
	struct iovec iov[2];
	size_t len = request(&r, FUSE_INIT, req_unique, sizeof(r.arg.init));

	r.arg.init.major = 7;
	r.arg.init.minor = 31;
	r.arg.init.flags = kflags;
	wire_note_request(&r, len);
	oh.unique = reply_unique;
	oh.error = error;
	oh.len = sizeof(oh) + (error ? 0 : sizeof(out));
	out.major = 7;
	out.minor = 31;
	out.flags = 0x4040f031;
	iov[0] = (struct iovec){&oh, sizeof(oh)};
	iov[1] = (struct iovec){&out, sizeof(out)};
	wire_adjust_reply(iov, 2);
	return out.flags;
}

START_TEST(test_init_offered)
{
	wire_reset(true);
	ck_assert(!wire_killpriv_v2());
	ck_assert_uint_eq(init_exchange(0x73fffffb, 2, 2, 0),
			  0x4040f031 | FUSE_HANDLE_KILLPRIV_V2);
	ck_assert(wire_killpriv_v2());
}
END_TEST

START_TEST(test_init_not_offered)
{
	wire_reset(true);
	ck_assert_uint_eq(init_exchange(0x73fffffb & ~FUSE_HANDLE_KILLPRIV_V2,
					2, 2, 0),
			  0x4040f031);
	ck_assert(!wire_killpriv_v2());
}
END_TEST

START_TEST(test_init_not_wanted)
{
	wire_reset(false);
	ck_assert_uint_eq(init_exchange(0x73fffffb, 2, 2, 0), 0x4040f031);
	ck_assert(!wire_killpriv_v2());
}
END_TEST

START_TEST(test_init_other_replies)
{
	/* A reply to another request, or an INIT refused, is not touched;
	 * only the first INIT reply ever is. */
	wire_reset(true);
	ck_assert_uint_eq(init_exchange(0x73fffffb, 2, 4, 0), 0x4040f031);
	ck_assert(!wire_killpriv_v2());
	wire_reset(true);
	ck_assert_uint_eq(init_exchange(0x73fffffb, 2, 2, -EPROTO),
			  0x4040f031);
	ck_assert(!wire_killpriv_v2());
}
END_TEST

START_TEST(test_single_iovec)
{
	struct request r;
	struct fuse_out_header oh = {.unique = 2};
	struct iovec iov = {&oh, sizeof(oh)};
	size_t len = request(&r, FUSE_INIT, 2, sizeof(r.arg.init));

	wire_reset(true);
	r.arg.init.flags = FUSE_HANDLE_KILLPRIV_V2;
	wire_note_request(&r, len);
	wire_adjust_reply(&iov, 1);
	ck_assert(!wire_killpriv_v2());
}
END_TEST

START_TEST(test_write_flag)
{
	struct request r;
	size_t len = request(&r, FUSE_WRITE, 10, sizeof(r.arg.write));

	wire_reset(true);
	r.arg.write.write_flags = FUSE_WRITE_KILL_SUIDGID;
	wire_note_request(&r, len);
	ck_assert(wire_kill_suidgid());
	/* The next request starts clean. */
	r.arg.write.write_flags = FUSE_WRITE_LOCKOWNER;
	wire_note_request(&r, len);
	ck_assert(!wire_kill_suidgid());
}
END_TEST

START_TEST(test_setattr_flag)
{
	struct request r;
	size_t len = request(&r, FUSE_SETATTR, 12, sizeof(r.arg.setattr));

	wire_reset(true);
	r.arg.setattr.valid = FATTR_SIZE | FATTR_KILL_SUIDGID;
	wire_note_request(&r, len);
	ck_assert(wire_kill_suidgid());
	request(&r, FUSE_GETATTR, 14, 16);
	wire_note_request(&r, len);
	ck_assert(!wire_kill_suidgid());
}
END_TEST

START_TEST(test_short_requests)
{
	struct request r;
	size_t len = request(&r, FUSE_WRITE, 10, sizeof(r.arg.write));

	wire_reset(true);
	r.arg.write.write_flags = FUSE_WRITE_KILL_SUIDGID;
	/* Cut before write_flags: nothing is read past the end. */
	wire_note_request(&r, sizeof(r.h) +
				  offsetof(struct fuse_write_in, write_flags));
	ck_assert(!wire_kill_suidgid());
	wire_note_request(&r, 3);
	ck_assert(!wire_kill_suidgid());
	wire_note_request(&r, len);
	ck_assert(wire_kill_suidgid());
}
END_TEST

static void *other_thread(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)wire_kill_suidgid();
}

START_TEST(test_flag_per_thread)
{
	struct request r;
	size_t len = request(&r, FUSE_WRITE, 10, sizeof(r.arg.write));
	pthread_t th;
	void *seen;

	wire_reset(true);
	r.arg.write.write_flags = FUSE_WRITE_KILL_SUIDGID;
	wire_note_request(&r, len);
	ck_assert_int_eq(pthread_create(&th, NULL, other_thread, NULL), 0);
	ck_assert_int_eq(pthread_join(th, &seen), 0);
	ck_assert(!seen);
	ck_assert(wire_kill_suidgid());
}
END_TEST

static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = unit_tcase("init", NULL, NULL);

	tcase_add_test(tc, test_init_offered);
	tcase_add_test(tc, test_init_not_offered);
	tcase_add_test(tc, test_init_not_wanted);
	tcase_add_test(tc, test_init_other_replies);
	tcase_add_test(tc, test_single_iovec);
	suite_add_tcase(s, tc);

	tc = unit_tcase("flags", NULL, NULL);
	tcase_add_test(tc, test_write_flag);
	tcase_add_test(tc, test_setattr_flag);
	tcase_add_test(tc, test_short_requests);
	tcase_add_test(tc, test_flag_per_thread);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(wire_suite());
}
