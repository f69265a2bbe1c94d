/*
 * backing.h - the only code that touches BACKING.
 *
 * Every call goes through a table of functions so that tests can put a
 * faulty table under the real stack (see backing_fault_*). All paths are
 * relative to the backing directory's fd. Every function returns 0 (or a
 * byte count for pread/pwrite, an fd for open) on success and -errno on
 * failure; none of them logs. All are safe to call from any thread.
 */
#ifndef SFS_BACKING_H
#define SFS_BACKING_H

#include <sys/stat.h>
#include <sys/statvfs.h>

struct backing;

struct backing_ops {
	/* openat(dirfd, path): returns an fd or -errno. */
	int (*open)(struct backing *b, const char *path, int flags,
		    mode_t mode);
	/* Close an fd from ->open; returns 0 or -errno (the fd is gone). */
	int (*close)(struct backing *b, int fd);
	/* Returns bytes read (0 at end of file, may be short) or -errno. */
	ssize_t (*pread)(struct backing *b, int fd, void *buf, size_t len,
			 off_t off);
	/* Returns bytes written (may be short) or -errno. */
	ssize_t (*pwrite)(struct backing *b, int fd, const void *buf,
			  size_t len, off_t off);
	/* fsync (datasync=0) or fdatasync (datasync=1). */
	int (*fsync)(struct backing *b, int fd, int datasync);
	int (*ftruncate)(struct backing *b, int fd, off_t len);
	/* fallocate(2); -EOPNOTSUPP where the backing cannot. */
	int (*fallocate)(struct backing *b, int fd, int mode, off_t off,
			 off_t len);
	int (*fstat)(struct backing *b, int fd, struct stat *st);
	int (*stat)(struct backing *b, const char *path, struct stat *st);
	int (*unlink)(struct backing *b, const char *path, int flags);
	int (*mkdir)(struct backing *b, const char *path, mode_t mode);
	int (*rename)(struct backing *b, const char *from, const char *to);
	int (*statvfs)(struct backing *b, struct statvfs *st);
	/* fsync the directory @path ("." for the backing itself). */
	int (*fsync_dir)(struct backing *b, const char *path);
	/* syncfs(2) of the filesystem that holds the backing. */
	int (*syncfs)(struct backing *b);
};

struct backing {
	int dirfd;
	const struct backing_ops *ops;
	/* Fault injection state, used only by backing_fault_ops. */
	struct backing_fault *fault;
};

/* The real table: plain system calls. */
extern const struct backing_ops backing_sys_ops;

/*
 * Open the backing directory @path. Returns 0 and fills @b, or -errno
 * (-ENOTDIR when @path is not a directory).
 */
int backing_open(struct backing *b, const char *path);
void backing_close(struct backing *b);

/* Write all of @len bytes at @off, retrying short writes; 0 or -errno
 * (-EIO when the backing keeps writing nothing). */
int backing_pwrite_all(struct backing *b, int fd, const void *buf,
		       size_t len, off_t off);
/* Read up to @len bytes, retrying short reads until end of file; returns
 * bytes read or -errno. */
ssize_t backing_pread_all(struct backing *b, int fd, void *buf, size_t len,
			  off_t off);

/*
 * Fault injection: backing_fault_set() switches @b to a table that makes
 * the operation named @op ("pwrite", "pread", "fsync", "open", "ftruncate",
 * "fallocate", "unlink", "any") fail with -@err (or, for pwrite with
 * err == 0, write short: half the bytes) after @skip successful calls, for
 * @count calls (-1: forever). Returns 0 or -EINVAL for an unknown op.
 * backing_fault_parse() takes the text form "OP ERR SKIP COUNT" where ERR
 * is an errno name (EIO, ENOSPC, SHORT) or number. backing_fault_clear()
 * restores the real table.
 */
int backing_fault_set(struct backing *b, const char *op, int err, long skip,
		      long count);
int backing_fault_parse(struct backing *b, const char *text);
void backing_fault_clear(struct backing *b);

#endif
