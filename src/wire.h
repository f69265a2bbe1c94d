/*
 * wire.h - sparsefs's own reads and writes of /dev/fuse, under libfuse.
 *
 * libfuse 3.14 does not know FUSE_HANDLE_KILLPRIV_V2. Without it the kernel
 * (which never marks a FUSE inode S_NOSEC otherwise) asks the filesystem for
 * security.capability before every write(2): two round trips for each small
 * write instead of one. With it the kernel sets SB_NOSEC, asks once per
 * inode, and leaves clearing setuid/setgid on write, truncate and chown to
 * the filesystem, flagging the requests that must do it: FUSE_WRITE with
 * FUSE_WRITE_KILL_SUIDGID, FUSE_SETATTR with FATTR_KILL_SUIDGID. libfuse
 * 3.14 drops both flags before calling the op.
 *
 * This layer is libfuse's custom I/O (fuse_session_custom_io()): its read
 * notes the kernel's INIT offer and each request's kill flag, its writev adds
 * FUSE_HANDLE_KILLPRIV_V2 to the INIT reply when the kernel offered it.
 * libfuse handles a request in the thread that read it, so the flag is kept
 * per thread and is valid while the op runs.
 *
 * One FUSE session per process: the state is global.
 */
#ifndef SFS_WIRE_H
#define SFS_WIRE_H

#include "sfs.h"

#include <fuse_lowlevel.h>
#include <sys/uio.h>

/*
 * Put the wire layer under @se, which must be mounted (fuse_session_mount())
 * and not yet serving. @killpriv_v2: ask the kernel for
 * FUSE_HANDLE_KILLPRIV_V2 when it offers it. Returns 0 or -errno.
 */
int wire_install(struct fuse_session *se, bool killpriv_v2);

/* True once the kernel has agreed to FUSE_HANDLE_KILLPRIV_V2: the filesystem
 * clears setuid/setgid itself. */
bool wire_killpriv_v2(void);

/* True if the request this thread is handling carries the kernel's "kill
 * setuid/setgid" flag (only ever with FUSE_HANDLE_KILLPRIV_V2). */
bool wire_kill_suidgid(void);

/* The two hooks, exposed for the unit tests: note a request as read from
 * the device; adjust a reply before it is written. */
void wire_note_request(const void *buf, size_t len);
void wire_adjust_reply(struct iovec *iov, int count);

/* Forget everything noted (unit tests). */
void wire_reset(bool killpriv_v2);

#endif
