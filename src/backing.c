/*
 * backing.c - system-call table for the backing directory, and a fault
 * injecting table layered over it (after s3backer's test_io).
 */
#include "sfs.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backing.h"

static int sys_open(struct backing *b, const char *path, int flags,
		    mode_t mode)
{
	int fd = openat(b->dirfd, path, flags | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}

static int sys_close(struct backing *b, int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static ssize_t sys_pread(struct backing *b, int fd, void *buf, size_t len,
			 off_t off)
{
	ssize_t n = pread(fd, buf, len, off);
	return n < 0 ? -errno : n;
}

static ssize_t sys_pwrite(struct backing *b, int fd, const void *buf,
			  size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);
	return n < 0 ? -errno : n;
}

static int sys_fsync(struct backing *b, int fd, int datasync)
{
	int r = datasync ? fdatasync(fd) : fsync(fd);
	return r < 0 ? -errno : 0;
}

static int sys_ftruncate(struct backing *b, int fd, off_t len)
{
	return ftruncate(fd, len) < 0 ? -errno : 0;
}

static int sys_fallocate(struct backing *b, int fd, int mode, off_t off,
			 off_t len)
{
	return fallocate(fd, mode, off, len) < 0 ? -errno : 0;
}

static int sys_fstat(struct backing *b, int fd, struct stat *st)
{
	return fstat(fd, st) < 0 ? -errno : 0;
}

static int sys_stat(struct backing *b, const char *path, struct stat *st)
{
	return fstatat(b->dirfd, path, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
								      : 0;
}

static int sys_unlink(struct backing *b, const char *path, int flags)
{
	return unlinkat(b->dirfd, path, flags) < 0 ? -errno : 0;
}

static int sys_mkdir(struct backing *b, const char *path, mode_t mode)
{
	return mkdirat(b->dirfd, path, mode) < 0 ? -errno : 0;
}

static int sys_rename(struct backing *b, const char *from, const char *to)
{
	return renameat(b->dirfd, from, b->dirfd, to) < 0 ? -errno : 0;
}

static int sys_statvfs(struct backing *b, struct statvfs *st)
{
	return fstatvfs(b->dirfd, st) < 0 ? -errno : 0;
}

static int sys_fsync_dir(struct backing *b, const char *path)
{
	int fd = openat(b->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	/* Some backings (FUSE ones among them) cannot fsync a directory. */
	return r == -EINVAL || r == -ENOSYS ? 0 : r;
}

static int sys_syncfs(struct backing *b)
{
	return syncfs(b->dirfd) < 0 ? -errno : 0;
}

const struct backing_ops backing_sys_ops = {
	.open = sys_open,
	.close = sys_close,
	.pread = sys_pread,
	.pwrite = sys_pwrite,
	.fsync = sys_fsync,
	.ftruncate = sys_ftruncate,
	.fallocate = sys_fallocate,
	.fstat = sys_fstat,
	.stat = sys_stat,
	.unlink = sys_unlink,
	.mkdir = sys_mkdir,
	.rename = sys_rename,
	.statvfs = sys_statvfs,
	.fsync_dir = sys_fsync_dir,
	.syncfs = sys_syncfs,
};

int backing_open(struct backing *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	b->dirfd = fd;
	b->ops = &backing_sys_ops;
	b->fault = NULL;
	return 0;
}

static void fault_free(struct backing *b);

void backing_close(struct backing *b)
{
	/* No thread is inside the table any more. */
	b->ops = &backing_sys_ops;
	fault_free(b);
	if (b->dirfd >= 0)
		close(b->dirfd);
	b->dirfd = -1;
}

int backing_pwrite_all(struct backing *b, int fd, const void *buf,
		       size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = b->ops->pwrite(b, fd, p, len, off);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

ssize_t backing_pread_all(struct backing *b, int fd, void *buf, size_t len,
			  off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = b->ops->pread(b, fd, (char *)buf + done,
					  len - done, off + done);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/* ---- fault injection ---- */

enum fault_op {
	FAULT_OPEN,
	FAULT_PREAD,
	FAULT_PWRITE,
	FAULT_FSYNC,
	FAULT_FTRUNCATE,
	FAULT_FALLOCATE,
	FAULT_UNLINK,
	FAULT_ANY,
};

static const char *const fault_names[] = {
	"open",	     "pread",	  "pwrite", "fsync",
	"ftruncate", "fallocate", "unlink", "any",
};

struct backing_fault {
	pthread_mutex_t lock;
	enum fault_op op;
	int err;
	long skip;
	long count;
};

/* Returns 0 to let the call through, -errno to fail it, 1 for short. */
static int fault_hit(struct backing *b, enum fault_op op)
{
	struct backing_fault *f = b->fault;
	int r = 0;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	if (f->op == op || f->op == FAULT_ANY) {
		if (f->skip > 0) {
			f->skip--;
		} else if (f->count != 0) {
			if (f->count > 0)
				f->count--;
			r = f->err ? -f->err : 1;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int fault_open(struct backing *b, const char *path, int flags,
		      mode_t mode)
{
	int r = fault_hit(b, FAULT_OPEN);
	return r < 0 ? r : sys_open(b, path, flags, mode);
}

static ssize_t fault_pread(struct backing *b, int fd, void *buf, size_t len,
			   off_t off)
{
	int r = fault_hit(b, FAULT_PREAD);
	if (r < 0)
		return r;
	return sys_pread(b, fd, buf, r == 1 && len > 1 ? len / 2 : len, off);
}

static ssize_t fault_pwrite(struct backing *b, int fd, const void *buf,
			    size_t len, off_t off)
{
	int r = fault_hit(b, FAULT_PWRITE);
	if (r < 0)
		return r;
	if (r == 1) /* short, but never nothing: that would be an error */
		return sys_pwrite(b, fd, buf, (len + 1) / 2, off);
	return sys_pwrite(b, fd, buf, len, off);
}

static int fault_fsync(struct backing *b, int fd, int datasync)
{
	int r = fault_hit(b, FAULT_FSYNC);
	return r < 0 ? r : sys_fsync(b, fd, datasync);
}

static int fault_ftruncate(struct backing *b, int fd, off_t len)
{
	int r = fault_hit(b, FAULT_FTRUNCATE);
	return r < 0 ? r : sys_ftruncate(b, fd, len);
}

static int fault_fallocate(struct backing *b, int fd, int mode, off_t off,
			   off_t len)
{
	int r = fault_hit(b, FAULT_FALLOCATE);
	return r < 0 ? r : sys_fallocate(b, fd, mode, off, len);
}

static int fault_syncfs(struct backing *b)
{
	int r = fault_hit(b, FAULT_FSYNC);
	return r < 0 ? r : sys_syncfs(b);
}

static int fault_fsync_dir(struct backing *b, const char *path)
{
	int r = fault_hit(b, FAULT_FSYNC);
	return r < 0 ? r : sys_fsync_dir(b, path);
}

static int fault_unlink(struct backing *b, const char *path, int flags)
{
	int r = fault_hit(b, FAULT_UNLINK);
	return r < 0 ? r : sys_unlink(b, path, flags);
}

static const struct backing_ops backing_fault_ops = {
	.open = fault_open,
	.close = sys_close,
	.pread = fault_pread,
	.pwrite = fault_pwrite,
	.fsync = fault_fsync,
	.ftruncate = fault_ftruncate,
	.fallocate = fault_fallocate,
	.fstat = sys_fstat,
	.stat = sys_stat,
	.unlink = fault_unlink,
	.mkdir = sys_mkdir,
	.rename = sys_rename,
	.statvfs = sys_statvfs,
	.fsync_dir = fault_fsync_dir,
	.syncfs = fault_syncfs,
};

static void fault_free(struct backing *b)
{
	if (b->fault) {
		pthread_mutex_destroy(&b->fault->lock);
		free(b->fault);
		b->fault = NULL;
	}
}

int backing_fault_set(struct backing *b, const char *op, int err, long skip,
		      long count)
{
	struct backing_fault *f;
	size_t i;

	for (i = 0; i < SFS_ARRAY_SIZE(fault_names); i++)
		if (strcmp(op, fault_names[i]) == 0)
			break;
	if (i == SFS_ARRAY_SIZE(fault_names))
		return -EINVAL;
	if (!b->fault) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		pthread_mutex_init(&f->lock, NULL);
		b->fault = f;
	}
	f = b->fault;
	pthread_mutex_lock(&f->lock);
	f->op = (enum fault_op)i;
	f->err = err;
	f->skip = skip;
	f->count = count;
	pthread_mutex_unlock(&f->lock);
	b->ops = &backing_fault_ops;
	return 0;
}

int backing_fault_parse(struct backing *b, const char *text)
{
	char op[16], err[16];
	long skip, count;
	int e;

	if (sscanf(text, "%15s %15s %ld %ld", op, err, &skip, &count) != 4)
		return -EINVAL;
	if (strcmp(err, "EIO") == 0)
		e = EIO;
	else if (strcmp(err, "ENOSPC") == 0)
		e = ENOSPC;
	else if (strcmp(err, "SHORT") == 0)
		e = 0;
	else if ((e = atoi(err)) <= 0)
		return -EINVAL;
	return backing_fault_set(b, op, e, skip, count);
}

void backing_fault_clear(struct backing *b)
{
	/* The state stays allocated: a thread may be inside fault_hit(). */
	b->ops = &backing_sys_ops;
	if (b->fault) {
		pthread_mutex_lock(&b->fault->lock);
		b->fault->count = 0;
		pthread_mutex_unlock(&b->fault->lock);
	}
}
