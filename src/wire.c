/*
 * wire.c - the custom I/O under libfuse; see wire.h for why.
 *
 * What is read: a request is a struct fuse_in_header followed by the op's
 * argument struct, laid out as in <linux/fuse.h>. Only three are looked
 * into: FUSE_INIT (flags: is FUSE_HANDLE_KILLPRIV_V2 offered), FUSE_WRITE
 * (write_flags & FUSE_WRITE_KILL_SUIDGID) and FUSE_SETATTR (valid &
 * FATTR_KILL_SUIDGID). Fields are copied out with memcpy: the buffer is
 * libfuse's, its alignment is not ours to assume.
 *
 * What is written: libfuse sends the INIT reply as two iovecs, the struct
 * fuse_out_header and the struct fuse_init_out; the reply whose unique
 * matches the INIT request and carries no error gets the flag added.
 * Everything else passes through unchanged.
 */
#include "sfs.h"

#include <linux/fuse.h>
#include <stdatomic.h>
#include <string.h>

#include "log.h"
#include "wire.h"

static bool want_killpriv_v2;
/* Set while an INIT that offers the flag waits for its reply. */
static atomic_bool init_offered;
static atomic_uint_fast64_t init_unique;
static atomic_bool killpriv_v2;
static _Thread_local bool kill_suidgid;

#define FIELD(buf, len, type, member, out)                                   \
	((len) >= offsetof(type, member) + sizeof(out) &&                    \
	 (memcpy(&(out), (const char *)(buf) + offsetof(type, member),       \
		 sizeof(out)),                                               \
	  true))

void wire_note_request(const void *buf, size_t len)
{
	struct fuse_in_header h;
	const char *arg = (const char *)buf + sizeof(h);
	size_t alen;
	uint32_t u32;

	kill_suidgid = false;
	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	alen = len - sizeof(h);
	switch (h.opcode) {
	case FUSE_INIT:
		if (want_killpriv_v2 &&
		    FIELD(arg, alen, struct fuse_init_in, flags, u32) &&
		    (u32 & FUSE_HANDLE_KILLPRIV_V2)) {
			atomic_store(&init_unique, h.unique);
			atomic_store(&init_offered, true);
		}
		break;
	case FUSE_WRITE:
		if (FIELD(arg, alen, struct fuse_write_in, write_flags, u32))
			kill_suidgid = u32 & FUSE_WRITE_KILL_SUIDGID;
		break;
	case FUSE_SETATTR:
		if (FIELD(arg, alen, struct fuse_setattr_in, valid, u32))
			kill_suidgid = u32 & FATTR_KILL_SUIDGID;
		break;
	}
}

void wire_adjust_reply(struct iovec *iov, int count)
{
	struct fuse_out_header h;
	uint32_t flags;
	char *out;

	if (!atomic_load(&init_offered) || count < 2 ||
	    iov[0].iov_len < sizeof(h))
		return;
	memcpy(&h, iov[0].iov_base, sizeof(h));
	if (h.unique != atomic_load(&init_unique))
		return;
	atomic_store(&init_offered, false);
	if (h.error != 0 ||
	    !FIELD(iov[1].iov_base, iov[1].iov_len, struct fuse_init_out,
		   flags, flags))
		return;
	flags |= FUSE_HANDLE_KILLPRIV_V2;
	out = (char *)iov[1].iov_base + offsetof(struct fuse_init_out, flags);
	memcpy(out, &flags, sizeof(flags));
	atomic_store(&killpriv_v2, true);
}

static ssize_t wire_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);

	(void)userdata;
	if (n > 0)
		wire_note_request(buf, (size_t)n);
	return n;
}

static ssize_t wire_writev(int fd, struct iovec *iov, int count,
			   void *userdata)
{
	(void)userdata;
	wire_adjust_reply(iov, count);
	return writev(fd, iov, count);
}

int wire_install(struct fuse_session *se, bool want)
{
	const struct fuse_custom_io io = {.read = wire_read,
					  .writev = wire_writev};

	wire_reset(want);
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

bool wire_killpriv_v2(void)
{
	return atomic_load(&killpriv_v2);
}

bool wire_kill_suidgid(void)
{
	return kill_suidgid;
}

void wire_reset(bool want)
{
	want_killpriv_v2 = want;
	atomic_store(&init_offered, false);
	atomic_store(&init_unique, 0);
	atomic_store(&killpriv_v2, false);
	kill_suidgid = false;
}
