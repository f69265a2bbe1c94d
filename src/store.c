/*
 * store.c - superblock and lock.
 *
 * The superblock is a small text file so that a human can read it:
 *
 *   sparsefs store
 *   format 1
 *   chunk_size 1048576
 *   uuid 0f1e...-...
 *   checksum 89abcdef01234567
 *
 * where checksum is FNV-1a 64 of every byte before the "checksum" line. It
 * is written once, at creation, to a temporary name that is fsynced and
 * renamed into place. The daemon keeps it open with an exclusive flock():
 * the lock dies with the process, so a killed daemon leaves no stale lock.
 */
#include "sfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "store.h"

#define SB_MAGIC "sparsefs store"
#define SB_TMP_NAME "sparsefs.sb.tmp"

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

static int say(char *msg, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int say(char *msg, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return err;
}

int store_parse_size(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || text[0] == '-')
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (shift && v > (~0ull >> shift))
		return -EINVAL;
	v <<= shift;
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Entries in the directory, not counting ".", ".." and "lost+found".
 * Returns the count or -errno. */
static int count_entries(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* mkfs leaves one at the root of a new filesystem. */
		if (!strcmp(de->d_name, "lost+found"))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static int sb_format(struct store *s, char *buf, size_t len)
{
	int n = snprintf(buf, len, SB_MAGIC "\nformat %u\nchunk_size %llu\n"
				   "uuid %s\n",
			 s->format, (unsigned long long)s->chunk_size, s->uuid);
	n += snprintf(buf + n, len - n, "checksum %016llx\n",
		      (unsigned long long)fnv1a(buf, n));
	return n;
}

static void make_uuid(char *out)
{
	unsigned char r[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, r, sizeof(r)) != sizeof(r)) {
		/* Uniqueness matters little: the UUID only names the store. */
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(rand() ^ getpid());
	}
	if (fd >= 0)
		close(fd);
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	sprintf(out,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x",
		r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		r[10], r[11], r[12], r[13], r[14], r[15]);
}

static int sb_create(struct store *s, char *msg, size_t msglen)
{
	struct backing *b = &s->b;
	char buf[512];
	int len, fd, r;

	s->format = STORE_FORMAT;
	make_uuid(s->uuid);
	len = sb_format(s, buf, sizeof(buf));
	fd = b->ops->open(b, SB_TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return say(msg, msglen, fd, "cannot create the superblock: %s",
			   strerror(-fd));
	r = backing_pwrite_all(b, fd, buf, len, 0);
	if (r == 0)
		r = b->ops->fsync(b, fd, 0);
	b->ops->close(b, fd);
	if (r == 0)
		r = b->ops->mkdir(b, STORE_META_DIR, 0755);
	if (r == 0)
		r = b->ops->mkdir(b, STORE_DATA_DIR, 0755);
	if (r == 0)
		r = b->ops->rename(b, SB_TMP_NAME, STORE_SB_NAME);
	if (r == 0)
		r = b->ops->fsync_dir(b, ".");
	if (r < 0) {
		b->ops->unlink(b, SB_TMP_NAME, 0);
		b->ops->unlink(b, STORE_META_DIR, AT_REMOVEDIR);
		b->ops->unlink(b, STORE_DATA_DIR, AT_REMOVEDIR);
		return say(msg, msglen, r, "cannot create the store: %s",
			   strerror(-r));
	}
	s->created = true;
	return 0;
}

static int sb_parse(struct store *s, const char *buf, size_t len, char *msg,
		    size_t msglen)
{
	const char *ck = strstr(buf, "checksum ");
	unsigned long long chunk, sum;
	unsigned format;

	if (strncmp(buf, SB_MAGIC "\n", sizeof(SB_MAGIC)) != 0)
		return say(msg, msglen, -EUCLEAN,
			   "the superblock " STORE_SB_NAME
			   " is damaged (bad magic); run fsck.sparsefs");
	if (sscanf(buf, SB_MAGIC "\nformat %u\n", &format) != 1)
		return say(msg, msglen, -EUCLEAN,
			   "the superblock " STORE_SB_NAME
			   " is damaged (no format line)");
	if (format > STORE_FORMAT)
		return say(msg, msglen, -EPROTONOSUPPORT,
			   "the store has format %u, newer than this sparsefs "
			   "understands (%u); upgrade sparsefs",
			   format, STORE_FORMAT);
	if (!ck || sscanf(ck, "checksum %llx", &sum) != 1 ||
	    sum != fnv1a(buf, ck - buf))
		return say(msg, msglen, -EUCLEAN,
			   "the superblock " STORE_SB_NAME
			   " is damaged (checksum mismatch); it was changed "
			   "or truncated");
	if (sscanf(buf, SB_MAGIC "\nformat %u\nchunk_size %llu\nuuid %39s\n",
		   &format, &chunk, s->uuid) != 3 ||
	    chunk < STORE_CHUNK_MIN || chunk > STORE_CHUNK_MAX ||
	    (chunk & (chunk - 1)))
		return say(msg, msglen, -EUCLEAN,
			   "the superblock " STORE_SB_NAME
			   " is damaged (bad fields)");
	(void)len;
	s->format = format;
	s->chunk_size = chunk;
	return 0;
}

int store_open(struct store *s, const char *path, uint64_t chunk_size,
	       int flags, char *msg, size_t msglen)
{
	struct backing *b = &s->b;
	char buf[513];
	struct stat st;
	ssize_t n;
	int r, fd;

	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
	b->dirfd = -1;
	r = backing_open(b, path);
	if (r == -ENOENT)
		return say(msg, msglen, r, "%s does not exist", path);
	if (r == -ENOTDIR)
		return say(msg, msglen, r, "%s is not a directory", path);
	if (r < 0)
		return say(msg, msglen, r, "cannot open %s: %s", path,
			   strerror(-r));
	r = b->ops->stat(b, STORE_SB_NAME, &st);
	if (r == -ENOENT) {
		int entries = count_entries(b->dirfd);
		if (entries < 0) {
			r = say(msg, msglen, entries, "cannot read %s: %s",
				path, strerror(-entries));
			goto out;
		}
		if (entries > 0) {
			r = say(msg, msglen, -ENOTEMPTY,
				"%s is not a sparsefs store (no " STORE_SB_NAME
				") and is not empty; refusing to touch it. "
				"Give an empty directory to create a store",
				path);
			goto out;
		}
		if (!(flags & STORE_CREATE) || (flags & STORE_RDONLY)) {
			r = say(msg, msglen, -ENOENT,
				"%s is empty: not a sparsefs store", path);
			goto out;
		}
		if (chunk_size < STORE_CHUNK_MIN ||
		    chunk_size > STORE_CHUNK_MAX ||
		    (chunk_size & (chunk_size - 1))) {
			r = say(msg, msglen, -EINVAL,
				"chunk_size must be a power of two from 64K "
				"to 64M");
			goto out;
		}
		if (faccessat(b->dirfd, ".", W_OK, AT_EACCESS) < 0) {
			r = say(msg, msglen, -errno,
				"%s is not writable (%s); cannot create a "
				"store there",
				path, strerror(errno));
			goto out;
		}
		s->chunk_size = chunk_size;
		r = sb_create(s, msg, msglen);
		if (r < 0)
			goto out;
	} else if (r < 0) {
		r = say(msg, msglen, r, "cannot read %s/" STORE_SB_NAME ": %s",
			path, strerror(-r));
		goto out;
	}

	fd = b->ops->open(b, STORE_SB_NAME, O_RDONLY, 0);
	if (fd < 0) {
		r = say(msg, msglen, fd, "cannot open %s/" STORE_SB_NAME ": %s",
			path, strerror(-fd));
		goto out;
	}
	s->lockfd = fd;
	n = backing_pread_all(b, fd, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		r = say(msg, msglen, (int)n,
			"cannot read %s/" STORE_SB_NAME ": %s", path,
			strerror((int)-n));
		goto out;
	}
	buf[n] = 0;
	r = sb_parse(s, buf, n, msg, msglen);
	if (r < 0)
		goto out;
	s->chunk_shift = __builtin_ctzll(s->chunk_size);
	/* A daemon that was just unmounted may still be closing the store:
	 * give it a moment before calling the store busy. */
	for (int tries = 0; (flags & STORE_LOCK) && tries < 30 &&
			    flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	     tries++)
		usleep(100000);
	if ((flags & STORE_LOCK) && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK
			    ? say(msg, msglen, -EBUSY,
				  "%s is already in use: another sparsefs "
				  "daemon (or fsck.sparsefs) has it; unmount "
				  "it first",
				  path)
			    : say(msg, msglen, -errno,
				  "cannot lock %s/" STORE_SB_NAME ": %s", path,
				  strerror(errno));
		goto out;
	}
	if (faccessat(b->dirfd, ".", W_OK, AT_EACCESS) < 0 ||
	    faccessat(b->dirfd, STORE_META_DIR, W_OK, AT_EACCESS) < 0)
		s->readonly = true;
	if (s->readonly && !(flags & STORE_RDONLY)) {
		r = say(msg, msglen, -EROFS,
			"%s is read-only (%s): sparsefs needs to write its "
			"store; make it writable",
			path, strerror(errno));
		goto out;
	}
	return 0;
out:
	store_close(s);
	return r;
}

void store_close(struct store *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd);
	s->lockfd = -1;
	backing_close(&s->b);
}
