/*
 * fuse_ops.c - one function per low-level FUSE operation.
 *
 * Inode numbers are the store's own (root is 1 = FUSE_ROOT_ID). Every
 * reply that hands the kernel an entry counts a lookup in the inode table;
 * FORGET gives them back, and an inode whose last link is gone is
 * reclaimed when the kernel forgets it and no open file holds it.
 * Permissions are checked by the kernel (default_permissions is always
 * on), so the operations here only keep the filesystem's own rules.
 */
#include "sfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "acl.h"
#include "fuse_ops.h"
#include "log.h"
#include "wire.h"
#include "recover.h"

#define XATTR_SIZE_MAX_ 65536

static struct sfs *sfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void reply_err(fuse_req_t req, int r)
{
	fuse_reply_err(req, r < 0 ? -r : r);
}

/* Reclaim @ino if the table says nobody holds it any more. */
static void reclaim(struct sfs *fs, uint64_t ino)
{
	int r = chunk_reclaim(&fs->chunks, ino);
	if (r < 0)
		sfs_err("cannot free inode %llu: %s (it stays an orphan and "
			"is freed at the next mount)",
			(unsigned long long)ino, strerror(-r));
}

/*
 * Too many inodes nobody uses are kept only for their dirty lists (see
 * itable.h): flush all of their chunks together and let them go.
 */
static void flush_kept(struct sfs *fs)
{
	struct itable_left *v;
	uint64_t *ids;
	size_t nids = 0;
	ssize_t n = itable_take_kept(&fs->itable, &v);
	int r = 0, e;

	if (n < 0)
		return; /* they stay kept; the next forget tries again */
	for (ssize_t i = 0; i < n; i++)
		nids += v[i].dirty.n;
	ids = malloc((nids + 1) * sizeof(*ids));
	nids = 0;
	for (ssize_t i = 0; i < n; i++) {
		struct chunk_dirty *d = &v[i].dirty;
		if (d->all || !ids) {
			/* Unlisted (or no memory for the list): one by one. */
			e = chunk_fsync(&fs->chunks, v[i].ino, d);
			r = r ? r : e;
		} else {
			for (size_t k = 0; k < d->n; k++)
				ids[nids++] = d->ents[k].id;
		}
		chunk_dirty_free(d);
	}
	if (nids) {
		e = chunk_flush_ids(&fs->chunks, ids, nids);
		r = r ? r : e;
	}
	if (r < 0)
		sfs_warn("cannot flush the data of %zd closed file%s: %s", n,
			 n == 1 ? "" : "s", strerror(-r));
	free(ids);
	free(v);
}

static void put_inode(struct sfs *fs, struct sfs_inode *in)
{
	uint64_t ino = in->ino;
	if (itable_put(&fs->itable, in))
		reclaim(fs, ino);
	if (itable_over_kept(&fs->itable))
		flush_kept(fs);
}

static void forget_inode(struct sfs *fs, uint64_t ino, uint64_t n)
{
	if (itable_forget(&fs->itable, ino, n))
		reclaim(fs, ino);
	if (itable_over_kept(&fs->itable))
		flush_kept(fs);
}

static void fill_entry(struct sfs *fs, uint64_t ino,
		       const struct meta_inode *attr, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->generation = attr->generation;
	meta_to_stat(&fs->meta, ino, attr, &e->attr);
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
}

static void reply_entry(fuse_req_t req, uint64_t ino,
			const struct meta_inode *attr)
{
	struct sfs *fs = sfs_of(req);
	struct fuse_entry_param e;

	fill_entry(fs, ino, attr, &e);
	if (itable_lookup(&fs->itable, ino) < 0) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_reply_entry(req, &e) != 0)
		forget_inode(fs, ino, 1);
}

/* Is the caller root, or a member of group @gid? (What Linux asks before
 * letting a setgid bit stand: in_group_or_capable().) */
static bool caller_in_group(fuse_req_t req, gid_t gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[64];
	int n;

	if (ctx->uid == 0 || ctx->gid == gid)
		return true;
	n = fuse_req_getgroups(req, SFS_ARRAY_SIZE(groups), groups);
	for (int i = 0; i < SFS_MIN(n, (int)SFS_ARRAY_SIZE(groups)); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * What a write, truncate or chown by the caller takes from a file's mode.
 * Linux clears setuid, and setgid with group execute, unless the caller has
 * CAP_FSETID (chown: always). With FUSE_HANDLE_KILLPRIV_V2 (wire.h) the
 * kernel leaves that to us and flags the requests (@kernel_says); without it
 * the kernel does it itself. ext4 also clears a setgid without group execute
 * when the caller is outside the file's group: that case is always ours.
 */
static bool must_drop_sgid(fuse_req_t req, const struct meta_inode *attr)
{
	return (attr->mode & (S_ISGID | S_IXGRP)) == S_ISGID &&
	       !caller_in_group(req, attr->gid);
}

static mode_t privs_to_kill(fuse_req_t req, const struct meta_inode *attr,
			    bool kernel_says)
{
	mode_t bits = 0;

	if (S_ISDIR(attr->mode))
		return 0;
	if (kernel_says)
		bits |= S_ISUID | (attr->mode & S_IXGRP ? S_ISGID : 0);
	if (S_ISREG(attr->mode) && must_drop_sgid(req, attr))
		bits |= S_ISGID;
	return bits & attr->mode;
}

/*
 * fallocate and copy_file_range change data without a flag from the kernel:
 * with FUSE_HANDLE_KILLPRIV_V2 the kernel's own clearing is skipped for them
 * too, so they count as flagged for any caller but root (the one caller
 * known to hold CAP_FSETID).
 */
static bool data_change_kills(fuse_req_t req)
{
	return wire_killpriv_v2() && fuse_req_ctx(req)->uid != 0;
}

struct kill_privs_arg {
	uint64_t ino;
	struct meta_inode *attr;
	mode_t bits;
};

static int kill_privs_fn(struct meta_txn *t, void *arg)
{
	struct kill_privs_arg *a = arg;
	int r = meta_inode_get(t, a->ino, a->attr);

	if (r < 0)
		return r;
	if (!(a->attr->mode & a->bits))
		return 0;
	a->attr->mode &= ~a->bits;
	meta_now(&a->attr->ctime);
	return meta_inode_put(t, a->ino, a->attr);
}

/* Clear @bits of @ino's mode (ctime moves); @attr gets the new attributes.
 * The kernel caches the mode, so it is told. */
static int kill_privs(struct sfs *fs, uint64_t ino, struct meta_inode *attr,
		      mode_t bits)
{
	struct kill_privs_arg a = {ino, attr, bits};
	int r = meta_update(&fs->meta, kill_privs_fn, &a);

	if (r == 0)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	return r;
}

static bool name_ok(fuse_req_t req, const char *name)
{
	if (strlen(name) > SFS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return false;
	}
	return true;
}

static void sfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct sfs *fs = userdata;

	/* The kernel clears setuid/setgid on write and chown by itself when
	 * we do not claim to. */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* O_TRUNC then arrives as a setattr of the size, which is where
	 * truncation (and dropping setuid) is handled. */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want |= FUSE_CAP_EXPORT_SUPPORT;
	if (fs->acl) {
		if (!(conn->capable & FUSE_CAP_POSIX_ACL)) {
			sfs_err("the kernel does not support POSIX ACLs on "
				"FUSE; mounting without them");
			fs->acl = false;
		} else {
			/* We apply the umask or the default ACL. */
			conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
		}
	}
	/* The writeback cache only on request (-o writeback_cache): the
	 * kernel then answers write() from its page cache and hands the data
	 * over later, so an error of the backing (a full disk) shows up at
	 * fsync() or close(), not at the write(), and data not yet handed
	 * over dies with a killed daemon. SEEK_DATA/SEEK_HOLE flush first
	 * (sfs_lseek()); setuid files are written through (KILLPRIV_V2). */
	if (fs->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
}

static void sfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct sfs *fs = sfs_of(req);
	struct meta_inode attr;
	struct meta_txn t;
	uint64_t ino;
	int r;

	if (!name_ok(req, name))
		return;
	r = meta_begin(&fs->meta, &t, false);
	if (r < 0)
		goto out;
	r = meta_dirent_get(&t, parent, name, strlen(name), &ino);
	if (r == 0)
		r = meta_inode_get(&t, ino, &attr);
	meta_abort(&t);
out:
	if (r < 0)
		reply_err(req, r);
	else
		reply_entry(req, ino, &attr);
}

static void sfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct sfs *fs = sfs_of(req);

	forget_inode(fs, ino, nlookup);
	fuse_reply_none(req);
}

static void sfs_forget_multi(fuse_req_t req, size_t count,
			     struct fuse_forget_data *forgets)
{
	struct sfs *fs = sfs_of(req);

	for (size_t i = 0; i < count; i++)
		forget_inode(fs, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static int get_attr(struct sfs *fs, uint64_t ino, struct meta_inode *attr)
{
	struct meta_txn t;
	int r = meta_begin(&fs->meta, &t, false);

	if (r < 0)
		return r;
	r = meta_inode_get(&t, ino, attr);
	meta_abort(&t);
	return r;
}

static void reply_attr(fuse_req_t req, uint64_t ino,
		       const struct meta_inode *attr)
{
	struct stat st;

	meta_to_stat(&sfs_of(req)->meta, ino, attr, &st);
	fuse_reply_attr(req, &st, sfs_of(req)->timeout);
}

static void sfs_getattr(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct meta_inode attr;
	int r = get_attr(sfs_of(req), ino, &attr);

	if (r < 0)
		reply_err(req, r);
	else
		reply_attr(req, ino, &attr);
}

struct setattr_arg {
	uint64_t ino;
	const struct stat *st;
	int to_set;
	struct meta_inode *attr;
	bool acl;
	fuse_req_t req;
	/* The kernel's "kill setuid/setgid" flag (wire_kill_suidgid()). */
	bool kernel_says;
	/* A truncate that takes bits from the mode (privs_to_kill()). */
	mode_t size_kill;
};

static int setattr_fn(struct meta_txn *t, void *arg)
{
	struct setattr_arg *a = arg;
	struct meta_inode *in = a->attr;
	struct timespec now;
	mode_t kill = 0;
	int r;

	r = meta_inode_get(t, a->ino, in);
	if (r < 0)
		return r;
	meta_now(&now);
	if (a->to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_UID |
			 FUSE_SET_ATTR_GID))
		kill = privs_to_kill(a->req, in, a->kernel_says);
	if (a->to_set & FUSE_SET_ATTR_MODE)
		in->mode = (in->mode & S_IFMT) | (a->st->st_mode & 07777);
	if (a->to_set & FUSE_SET_ATTR_UID)
		in->uid = a->st->st_uid;
	if (a->to_set & FUSE_SET_ATTR_GID)
		in->gid = a->st->st_gid;
	in->mode &= ~kill;
	if (a->to_set & FUSE_SET_ATTR_ATIME_NOW)
		in->atime = now;
	else if (a->to_set & FUSE_SET_ATTR_ATIME)
		in->atime = a->st->st_atim;
	if (a->to_set & FUSE_SET_ATTR_MTIME_NOW)
		in->mtime = now;
	else if (a->to_set & FUSE_SET_ATTR_MTIME)
		in->mtime = a->st->st_mtim;
	in->ctime = now;
	if (a->to_set & FUSE_SET_ATTR_CTIME)
		in->ctime = a->st->st_ctim;
	if (a->acl && (a->to_set & FUSE_SET_ATTR_MODE)) {
		/* chmod rewrites the ACL's owner, mask and other entries. */
		char acl[4096];
		r = meta_xattr_get(t, a->ino, ACL_XATTR_ACCESS, acl,
				   sizeof(acl));
		if (r > 0 && (size_t)r <= sizeof(acl)) {
			acl_chmod(acl, r, in->mode);
			r = meta_xattr_put(t, a->ino, ACL_XATTR_ACCESS, acl, r);
			if (r < 0)
				return r;
		}
	}
	return meta_inode_put(t, a->ino, in);
}

static void sfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *st,
			int to_set, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_of(req);
	struct meta_inode attr;
	struct setattr_arg a = {ino,	 st,  to_set, &attr,
				fs->acl, req, wire_kill_suidgid(), 0};
	int r = 0;

	if (to_set & FUSE_SET_ATTR_SIZE) {
		struct sfs_inode *in = itable_get(&fs->itable, ino);
		if (!in) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		r = get_attr(fs, ino, &attr);
		if (r == 0 && S_ISDIR(attr.mode))
			r = -EISDIR;
		else if (r == 0 && !S_ISREG(attr.mode))
			r = -EINVAL;
		if (r == 0) {
			a.size_kill = privs_to_kill(req, &attr, a.kernel_says);
			pthread_rwlock_wrlock(&in->lock);
			r = chunk_truncate(&fs->chunks, ino, st->st_size,
					   &attr);
			pthread_rwlock_unlock(&in->lock);
		}
		put_inode(fs, in);
	}
	/* Nothing but the size is done already; anything else, or nothing
	 * at all (chown(f, -1, -1): ctime moves, as on ext4), goes here. */
	if (r == 0 && (to_set & ~FUSE_SET_ATTR_SIZE || !to_set || a.size_kill))
		r = meta_update(&fs->meta, setattr_fn, &a);
	if (r < 0)
		reply_err(req, r);
	else
		reply_attr(req, ino, &attr);
}

static void sfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct sfs *fs = sfs_of(req);
	char buf[SFS_SYMLINK_MAX + 1];
	struct meta_txn t;
	int r;

	r = meta_begin(&fs->meta, &t, false);
	if (r == 0) {
		r = meta_symlink_get(&t, ino, buf, sizeof(buf));
		meta_abort(&t);
	}
	if (r == -ENOENT)
		r = -EINVAL;
	if (r < 0)
		reply_err(req, r);
	else
		fuse_reply_readlink(req, buf);
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev, const char *target)
{
	struct sfs *fs = sfs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct meta_new nw = {mode,	   ctx->uid, ctx->gid,
			      rdev,	   target,   fs->acl,
			      ctx->umask};
	struct meta_inode attr;
	uint64_t ino;
	int r;

	if (!name_ok(req, name))
		return;
	r = meta_create(&fs->meta, parent, name, &nw, &ino, &attr);
	if (r < 0)
		reply_err(req, r);
	else
		reply_entry(req, ino, &attr);
}

static void sfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFIFO: case S_IFSOCK: case S_IFCHR: case S_IFBLK:
		break;
	case 0:
		mode |= S_IFREG;
		break;
	default:
		fuse_reply_err(req, EINVAL);
		return;
	}
	make_node(req, parent, name, mode, rdev, NULL);
}

static void sfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

static void sfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			const char *name)
{
	if (strlen(link) > SFS_SYMLINK_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	make_node(req, parent, name, S_IFLNK | 0777, 0, link);
}

static void after_unlink(struct sfs *fs, uint64_t ino)
{
	if (itable_unlinked(&fs->itable, ino))
		reclaim(fs, ino);
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
			 bool rmdir)
{
	struct sfs *fs = sfs_of(req);
	uint64_t ino;
	bool gone;
	int r;

	if (!name_ok(req, name))
		return;
	r = meta_remove(&fs->meta, parent, name, rmdir, &ino, &gone);
	if (r == 0 && gone)
		after_unlink(fs, ino);
	reply_err(req, r);
}

static void sfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, false);
}

static void sfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, true);
}

static void sfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname,
		       unsigned int flags)
{
	struct sfs *fs = sfs_of(req);
	uint64_t gone;
	int r;

	if (!name_ok(req, name) || !name_ok(req, newname))
		return;
	r = meta_rename(&fs->meta, parent, name, newparent, newname, flags,
			&gone);
	if (r == 0 && gone)
		after_unlink(fs, gone);
	reply_err(req, r);
}

static void sfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		     const char *newname)
{
	struct sfs *fs = sfs_of(req);
	struct meta_inode attr;
	int r;

	if (!name_ok(req, newname))
		return;
	r = meta_link(&fs->meta, ino, newparent, newname, &attr);
	if (r < 0)
		reply_err(req, r);
	else
		reply_entry(req, ino, &attr);
}

/* ---- files ---- */

static struct sfs_inode *file_of(struct fuse_file_info *fi)
{
	return (struct sfs_inode *)(uintptr_t)fi->fh;
}

static void sfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_of(req);
	struct sfs_inode *in = itable_get(&fs->itable, ino);

	if (!in) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)in;
	/* Nothing changes the store behind the kernel's back. */
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0)
		put_inode(fs, in);
}

static void sfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct meta_new nw = {S_IFREG | (mode & 07777),
			      ctx->uid,
			      ctx->gid,
			      0,
			      NULL,
			      fs->acl,
			      ctx->umask};
	struct fuse_entry_param e;
	struct meta_inode attr;
	struct sfs_inode *in;
	uint64_t ino;
	int r;

	if (!name_ok(req, name))
		return;
	r = meta_create(&fs->meta, parent, name, &nw, &ino, &attr);
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	in = itable_get(&fs->itable, ino);
	if (!in || itable_lookup(&fs->itable, ino) < 0) {
		if (in)
			put_inode(fs, in);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fill_entry(fs, ino, &attr, &e);
	fi->fh = (uintptr_t)in;
	fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) != 0) {
		forget_inode(fs, ino, 1);
		put_inode(fs, in);
	}
}

static void sfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_of(req);
	struct sfs_inode *in = file_of(fi);
	char *buf = malloc(size ? size : 1);
	ssize_t n;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_rwlock_rdlock(&in->lock);
	n = chunk_read(&fs->chunks, ino, buf, size, off);
	pthread_rwlock_unlock(&in->lock);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void sfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		      size_t size, off_t off, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_of(req);
	struct sfs_inode *in = file_of(fi);
	struct meta_inode attr;
	ssize_t n;

	pthread_rwlock_wrlock(&in->lock);
	n = chunk_write(&fs->chunks, ino, buf, size, off, &in->dirty, &attr);
	if (n > 0) {
		mode_t bits = privs_to_kill(req, &attr, wire_kill_suidgid());
		if (bits)
			kill_privs(fs, ino, &attr, bits);
	}
	pthread_rwlock_unlock(&in->lock);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_write(req, n);
}

static void sfs_release(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	put_inode(sfs_of(req), file_of(fi));
	fuse_reply_err(req, 0);
}

static void sfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		      struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_of(req);
	struct sfs_inode *in = file_of(fi);
	int r;

	pthread_rwlock_wrlock(&in->lock);
	r = chunk_fsync(&fs->chunks, ino, &in->dirty);
	pthread_rwlock_unlock(&in->lock);
	reply_err(req, r);
}

static void sfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		      struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_of(req);
	struct sfs_inode *in = file_of(fi);
	int64_t r;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		/* The kernel handles the others itself. */
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (off < 0) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	/* With the writeback cache, data may still be in the kernel's page
	 * cache: have it written to us (the kernel writes dirty pages back
	 * before it drops them; other threads take those WRITEs) so that
	 * the answer sees it. Only what lies at or past @off matters. */
	if (fs->writeback)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, off, 0);
	pthread_rwlock_rdlock(&in->lock);
	r = chunk_seek(&fs->chunks, ino, off, whence);
	pthread_rwlock_unlock(&in->lock);
	if (r < 0)
		reply_err(req, (int)r);
	else
		fuse_reply_lseek(req, r);
}

static void sfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			  off_t off, off_t len, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_of(req);
	struct sfs_inode *in = file_of(fi);
	struct meta_inode attr;
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	uint64_t end = (uint64_t)off + len;
	int r;

	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_rwlock_wrlock(&in->lock);
	r = get_attr(fs, ino, &attr);
	if (r < 0)
		goto out;
	switch (mode & ~FALLOC_FL_KEEP_SIZE) {
	case 0:
		r = chunk_reserve(&fs->chunks, ino, off, len, keep, &in->dirty,
				  &attr);
		break;
	case FALLOC_FL_PUNCH_HOLE:
		if (!keep) {
			r = -EOPNOTSUPP;
			break;
		}
		if ((uint64_t)off < attr.size)
			r = chunk_punch(&fs->chunks, ino, off,
					SFS_MIN(end, attr.size) - off,
					UINT64_MAX, &in->dirty, &attr);
		break;
	case FALLOC_FL_ZERO_RANGE:
		if ((uint64_t)off < attr.size)
			r = chunk_punch(&fs->chunks, ino, off,
					SFS_MIN(end, attr.size) - off,
					UINT64_MAX, &in->dirty, &attr);
		if (r == 0 && !keep && end > attr.size)
			r = chunk_truncate(&fs->chunks, ino, end, &attr);
		break;
	default:
		/* COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE... */
		r = -EOPNOTSUPP;
	}
	if (r == 0) {
		mode_t bits = privs_to_kill(req, &attr, data_change_kills(req));
		if (bits)
			r = kill_privs(fs, ino, &attr, bits);
	}
out:
	pthread_rwlock_unlock(&in->lock);
	reply_err(req, r);
}

#define COPY_BLOCK (1u << 20)

/*
 * Copy [off_in, off_in + len) of @src to @off_out of @dst through the data
 * layer, extent by extent: holes in the source become holes in the copy
 * and cost nothing, so a sparse file copies in time proportional to its
 * data. Both locks are held by the caller.
 */
static ssize_t copy_range(struct sfs *fs, uint64_t src, uint64_t off_in,
			  struct sfs_inode *dst, uint64_t off_out, size_t len)
{
	struct meta_inode sattr, dattr;
	char *buf;
	uint64_t pos = off_in, end;
	ssize_t r;

	r = get_attr(fs, src, &sattr);
	if (r < 0)
		return r;
	if (off_in >= sattr.size)
		return 0;
	end = off_in + SFS_MIN(len, sattr.size - off_in);
	buf = malloc(COPY_BLOCK);
	if (!buf)
		return -ENOMEM;
	while (pos < end) {
		int64_t data = chunk_seek(&fs->chunks, src, pos, SEEK_DATA);
		uint64_t hole_end = data < 0 ? end : SFS_MIN((uint64_t)data, end);
		if (data < 0 && data != -ENXIO) {
			r = data;
			break;
		}
		if (hole_end > pos) {
			/* The copy's range must read as zeros too. */
			uint64_t o = off_out + (pos - off_in);
			r = get_attr(fs, dst->ino, &dattr);
			if (r == 0 && o < dattr.size)
				r = chunk_punch(&fs->chunks, dst->ino, o,
						SFS_MIN(hole_end - pos,
							dattr.size - o),
						UINT64_MAX, &dst->dirty,
						&dattr);
			if (r == 0 && o + (hole_end - pos) > dattr.size)
				r = chunk_truncate(&fs->chunks, dst->ino,
						   o + (hole_end - pos), &dattr);
			if (r < 0)
				break;
			pos = hole_end;
			continue;
		}
		{
			int64_t hole = chunk_seek(&fs->chunks, src, pos,
						  SEEK_HOLE);
			uint64_t stop;
			if (hole < 0) {
				r = hole;
				break;
			}
			stop = SFS_MIN(SFS_MIN((uint64_t)hole, end),
				       pos + COPY_BLOCK);
			r = chunk_read(&fs->chunks, src, buf, stop - pos, pos);
			if (r > 0)
				r = chunk_write(&fs->chunks, dst->ino, buf, r,
						off_out + (pos - off_in),
						&dst->dirty, &dattr);
			if (r <= 0)
				break;
			pos += r;
		}
	}
	free(buf);
	if (r < 0 && pos == off_in)
		return r;
	return pos - off_in;
}

static void sfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
				off_t off_in, struct fuse_file_info *fi_in,
				fuse_ino_t ino_out, off_t off_out,
				struct fuse_file_info *fi_out, size_t len,
				int flags)
{
	struct sfs *fs = sfs_of(req);
	struct sfs_inode *src = file_of(fi_in), *dst = file_of(fi_out);
	ssize_t r;

	if (flags) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off_out + len > (uint64_t)INT64_MAX)
		len = INT64_MAX - off_out;
	/* Lock in inode order; the kernel refuses overlapping copies
	 * within one file. */
	if (src == dst) {
		pthread_rwlock_wrlock(&dst->lock);
	} else if (src->ino < dst->ino) {
		pthread_rwlock_rdlock(&src->lock);
		pthread_rwlock_wrlock(&dst->lock);
	} else {
		pthread_rwlock_wrlock(&dst->lock);
		pthread_rwlock_rdlock(&src->lock);
	}
	r = copy_range(fs, ino_in, off_in, dst, off_out, len);
	if (r > 0) {
		struct meta_inode attr;
		mode_t bits = 0;
		if (get_attr(fs, ino_out, &attr) == 0)
			bits = privs_to_kill(req, &attr,
					     data_change_kills(req));
		if (bits)
			kill_privs(fs, ino_out, &attr, bits);
	}
	pthread_rwlock_unlock(&dst->lock);
	if (src != dst)
		pthread_rwlock_unlock(&src->lock);
	if (r < 0)
		reply_err(req, (int)r);
	else
		fuse_reply_write(req, r);
}

/* ---- directories ---- */

static void sfs_opendir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct meta_inode attr;
	int r = get_attr(sfs_of(req), ino, &attr);

	if (r == 0 && !S_ISDIR(attr.mode))
		r = -ENOTDIR;
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

struct dir_fill {
	fuse_req_t req;
	struct sfs *fs;
	struct meta_txn *t;
	char *buf;
	size_t size, used;
	bool plus;
	int err;
};

static int dir_add(struct dir_fill *f, const char *name, uint64_t ino,
		   const struct meta_inode *attr, uint32_t mode, off_t next)
{
	size_t n;

	if (f->plus) {
		struct fuse_entry_param e;
		bool dot = name[0] == '.' &&
			   (!name[1] || (name[1] == '.' && !name[2]));
		fill_entry(f->fs, ino, attr, &e);
		n = fuse_add_direntry_plus(f->req, f->buf + f->used,
					   f->size - f->used, name, &e, next);
		if (n > f->size - f->used)
			return 1;
		/* The kernel counts a lookup for each entry but . and .. */
		if (!dot && itable_lookup(&f->fs->itable, ino) < 0) {
			f->err = -ENOMEM;
			return 1;
		}
	} else {
		struct stat st = {.st_ino = ino, .st_mode = mode & S_IFMT};
		n = fuse_add_direntry(f->req, f->buf + f->used,
				      f->size - f->used, name, &st, next);
		if (n > f->size - f->used)
			return 1;
	}
	f->used += n;
	return 0;
}

static int dir_fill_fn(void *arg, const char *name, size_t len, uint64_t ino,
		       uint32_t mode, uint64_t cookie)
{
	struct dir_fill *f = arg;
	struct meta_inode attr;
	char cname[SFS_NAME_MAX + 1];

	memcpy(cname, name, len);
	cname[len] = 0;
	if (f->plus) {
		int r = meta_inode_get(f->t, ino, &attr);
		if (r < 0) {
			f->err = r;
			return 1;
		}
	}
	return dir_add(f, cname, ino, &attr, mode, cookie);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       bool plus)
{
	struct sfs *fs = sfs_of(req);
	struct dir_fill f = {req, fs, NULL, NULL, size, 0, plus, 0};
	struct meta_inode dir, parent;
	struct meta_txn t;
	int r;

	f.buf = malloc(size);
	if (!f.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = meta_begin(&fs->meta, &t, false);
	if (r < 0)
		goto out;
	f.t = &t;
	r = meta_inode_get(&t, ino, &dir);
	if (r == 0 && off < 1 && dir_add(&f, ".", ino, &dir, dir.mode, 1))
		goto done;
	if (r == 0 && off < 2) {
		r = meta_inode_get(&t, dir.parent, &parent);
		if (r == 0 && dir_add(&f, "..", dir.parent, &parent,
				      parent.mode, 2))
			goto done;
	}
	if (r == 0)
		r = meta_dir_list(&t, ino, SFS_MAX(off, 2), dir_fill_fn, &f);
done:
	meta_abort(&t);
	if (r >= 0)
		r = f.err;
out:
	/* Entries already counted must reach the kernel: an error only
	 * when nothing was added. */
	if (r < 0 && f.used == 0)
		reply_err(req, r);
	else
		fuse_reply_buf(req, f.buf, f.used);
	free(f.buf);
}

static void sfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, false);
}

static void sfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			    off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, true);
}

static void sfs_releasedir(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void sfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			 struct fuse_file_info *fi)
{
	reply_err(req, meta_sync(&sfs_of(req)->meta));
}

static void sfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct sfs *fs = sfs_of(req);
	struct backing *b = &fs->store.b;
	struct statvfs st;
	int r = b->ops->statvfs(b, &st);

	if (r < 0) {
		reply_err(req, r);
		return;
	}
	/* Inodes cost only metadata: report plenty, as btrfs does. */
	st.f_files = UINT32_MAX;
	st.f_ffree = st.f_favail = UINT32_MAX - 1;
	st.f_namemax = SFS_NAME_MAX;
	fuse_reply_statfs(req, &st);
}

/* ---- extended attributes ---- */

static int xattr_name_ok(struct sfs *fs, const char *name)
{
	if (!strcmp(name, ACL_XATTR_ACCESS) || !strcmp(name, ACL_XATTR_DEFAULT))
		return fs->acl ? 0 : -EOPNOTSUPP;
	static const char *const prefixes[] = {"user.", "trusted.",
					       "security."};

	if (strlen(name) > 255)
		return -ERANGE;
	for (size_t i = 0; i < SFS_ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])) &&
		    name[strlen(prefixes[i])])
			return 0;
	return -EOPNOTSUPP;
}

struct xattr_arg {
	uint64_t ino;
	const char *name;
	const char *value;
	size_t size;
	int flags;
	bool remove;
	fuse_req_t req;
};

static int xattr_set_fn(struct meta_txn *t, void *arg)
{
	struct xattr_arg *a = arg;
	struct meta_inode in;
	int r = meta_inode_get(t, a->ino, &in);

	if (r < 0)
		return r;
	if (!strncmp(a->name, "user.", 5) && !S_ISREG(in.mode) &&
	    !S_ISDIR(in.mode))
		return -EPERM; /* as ext4: no user xattrs on special files */
	if (!strcmp(a->name, ACL_XATTR_ACCESS) && !a->remove) {
		/* The mode follows the ACL; an ACL that says no more than
		 * the mode is not kept. Setting one drops setgid when the
		 * caller is not in the file's group, as on ext4. */
		r = acl_valid(a->value, a->size);
		if (r < 0)
			return r;
		in.mode = acl_mode(a->value, a->size, in.mode);
		if (a->req && !caller_in_group(a->req, in.gid))
			in.mode &= ~S_ISGID;
		if (acl_is_minimal(a->value, a->size)) {
			r = meta_xattr_del(t, a->ino, a->name);
			if (r == -ENODATA)
				r = 0;
		} else {
			r = meta_xattr_put(t, a->ino, a->name, a->value,
					   a->size);
		}
	} else if (!strcmp(a->name, ACL_XATTR_DEFAULT) && !a->remove &&
		   a->size <= 4) {
		r = meta_xattr_del(t, a->ino, a->name);
		if (r == -ENODATA)
			r = 0;
	} else if (a->remove) {
		r = meta_xattr_del(t, a->ino, a->name);
	} else {
		if (!strcmp(a->name, ACL_XATTR_DEFAULT)) {
			r = acl_valid(a->value, a->size);
			if (r < 0)
				return r;
		}
		r = meta_xattr_get(t, a->ino, a->name, NULL, 0);
		if (r >= 0 && (a->flags & XATTR_CREATE))
			return -EEXIST;
		if (r == -ENODATA && (a->flags & XATTR_REPLACE))
			return -ENODATA;
		if (r < 0 && r != -ENODATA)
			return r;
		r = meta_xattr_put(t, a->ino, a->name, a->value, a->size);
	}
	if (r < 0)
		return r;
	meta_now(&in.ctime);
	return meta_inode_put(t, a->ino, &in);
}

#define FAULT_XATTR "trusted.sparsefs.fault"

/* Tests reach the backing's fault injection through an xattr. */
static int set_fault(struct sfs *fs, const char *value, size_t size)
{
	char text[128];

	if (size >= sizeof(text))
		return -EINVAL;
	memcpy(text, value, size);
	text[size] = 0;
	if (!strcmp(text, "clear")) {
		backing_fault_clear(&fs->store.b);
		return 0;
	}
	sfs_warn("fault injection: %s", text);
	return backing_fault_parse(&fs->store.b, text);
}

static void sfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 const char *value, size_t size, int flags)
{
	struct xattr_arg a = {ino, name, value, size, flags, false, req};
	int r = xattr_name_ok(sfs_of(req), name);

	if (sfs_of(req)->fault_injection && ino == FUSE_ROOT_ID &&
	    !strcmp(name, FAULT_XATTR)) {
		reply_err(req, set_fault(sfs_of(req), value, size));
		return;
	}
	if (r == 0 && size > XATTR_SIZE_MAX_)
		r = -E2BIG;
	if (r == 0)
		r = meta_update(&sfs_of(req)->meta, xattr_set_fn, &a);
	reply_err(req, r);
}

static void sfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct xattr_arg a = {ino, name, NULL, 0, 0, true, req};
	int r = xattr_name_ok(sfs_of(req), name);

	if (r == 0)
		r = meta_update(&sfs_of(req)->meta, xattr_set_fn, &a);
	reply_err(req, r);
}

static void sfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 size_t size)
{
	struct sfs *fs = sfs_of(req);
	char *buf = NULL;
	struct meta_txn t;
	int r = xattr_name_ok(sfs_of(req), name);

	if (r == -EOPNOTSUPP)
		r = -ENODATA;
	if (r < 0)
		goto out;
	if (size) {
		buf = malloc(size);
		if (!buf) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = meta_begin(&fs->meta, &t, false);
	if (r < 0)
		goto out;
	r = meta_xattr_get(&t, ino, name, buf, size);
	meta_abort(&t);
	if (r >= 0 && size && (size_t)r > size)
		r = -ERANGE;
out:
	if (r < 0)
		reply_err(req, r);
	else if (size)
		fuse_reply_buf(req, buf, r);
	else
		fuse_reply_xattr(req, r);
	free(buf);
}

/* As ext4: trusted.* names are listed only to the privileged. */
static size_t hide_trusted(char *buf, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len;) {
		size_t n = strlen(buf + i) + 1;
		if (strncmp(buf + i, "trusted.", 8)) {
			memmove(buf + out, buf + i, n);
			out += n;
		}
		i += n;
	}
	return out;
}

static void sfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct sfs *fs = sfs_of(req);
	bool privileged = fuse_req_ctx(req)->uid == 0;
	char *buf = NULL;
	struct meta_txn t;
	int r;

	r = meta_begin(&fs->meta, &t, false);
	if (r < 0)
		goto out;
	r = meta_xattr_list(&t, ino, NULL, 0);
	if (r > 0) {
		buf = malloc(r);
		r = buf ? meta_xattr_list(&t, ino, buf, r) : -ENOMEM;
	}
	meta_abort(&t);
	if (r > 0 && !privileged)
		r = (int)hide_trusted(buf, r);
	if (r >= 0 && size && (size_t)r > size)
		r = -ERANGE;
out:
	if (r < 0)
		reply_err(req, r);
	else if (size)
		fuse_reply_buf(req, buf, r);
	else
		fuse_reply_xattr(req, r);
	free(buf);
}

const struct fuse_lowlevel_ops sfs_ops = {
	.init = sfs_init,
	.lookup = sfs_lookup,
	.forget = sfs_forget,
	.forget_multi = sfs_forget_multi,
	.getattr = sfs_getattr,
	.setattr = sfs_setattr,
	.readlink = sfs_readlink,
	.mknod = sfs_mknod,
	.mkdir = sfs_mkdir,
	.symlink = sfs_symlink,
	.unlink = sfs_unlink,
	.rmdir = sfs_rmdir,
	.rename = sfs_rename,
	.link = sfs_link,
	.open = sfs_open,
	.create = sfs_create,
	.read = sfs_read,
	.write = sfs_write,
	/* No .flush: nothing to do on close(), and the ENOSYS libfuse
	 * answers makes the kernel stop asking (a round trip per close). */
	.release = sfs_release,
	.fsync = sfs_fsync,
	.lseek = sfs_lseek,
	.fallocate = sfs_fallocate,
	.copy_file_range = sfs_copy_file_range,
	.opendir = sfs_opendir,
	.readdir = sfs_readdir,
	.readdirplus = sfs_readdirplus,
	.releasedir = sfs_releasedir,
	.fsyncdir = sfs_fsyncdir,
	.statfs = sfs_statfs,
	.setxattr = sfs_setxattr,
	.getxattr = sfs_getxattr,
	.listxattr = sfs_listxattr,
	.removexattr = sfs_removexattr,
};

/* ---- life cycle ---- */

/* Free every orphan: at mount, nothing can hold one open. */
static int reclaim_orphans(struct sfs *fs)
{
	uint64_t ino = 0;
	unsigned n = 0;
	int r;

	for (;;) {
		struct meta_txn t;
		r = meta_begin(&fs->meta, &t, false);
		if (r < 0)
			return r;
		r = meta_orphan_next(&t, ino, &ino);
		meta_abort(&t);
		if (r == -ENOENT)
			break;
		if (r < 0)
			return r;
		r = chunk_reclaim(&fs->chunks, ino);
		if (r < 0)
			return r;
		n++;
		ino++;
	}
	if (n)
		sfs_info("freed %u file%s unlinked while open", n,
			 n == 1 ? "" : "s");
	return 0;
}

/*
 * Use the fsync journal where it pays (or as -o journal/no_journal say).
 * One left by an earlier daemon is always dealt with first, also when it
 * is not to be used now: its records must not outlive later fsyncs.
 */
static int start_journal(struct sfs *fs, char *msg, size_t msglen)
{
	bool want = fs->journal > 0 ||
		    (fs->journal < 0 && !fs->chunks.syncfs_ok);
	int r;

	fs->chunks.journal_idle_ms = fs->journal_idle_ms;
	r = want ? chunk_journal_start(&fs->chunks)
		 : chunk_journal_settle(&fs->chunks);
	if (r < 0)
		snprintf(msg, msglen, "cannot start: the fsync journal: %s",
			 strerror(-r));
	return r;
}

int sfs_start(struct sfs *fs, char *msg, size_t msglen)
{
	int r, e;

	r = meta_open(&fs->meta, &fs->store, 0, msg, msglen);
	if (r < 0)
		return r;
	r = chunk_init(&fs->chunks, &fs->store, &fs->meta);
	if (r == 0)
		r = start_journal(fs, msg, msglen);
	if (r == 0)
		r = itable_init(&fs->itable);
	/* Neither step is needed to serve the store: a failure (a full
	 * backing, say) is logged and left for the next mount or fsck. */
	if (r == 0 && (e = reclaim_orphans(fs)) < 0)
		sfs_warn("cannot free files unlinked while open: %s",
			 strerror(-e));
	if (r == 0 && fs->meta.unclean) {
		sfs_warn("the store was not unmounted cleanly; recovering");
		e = sfs_recover(&fs->meta, &fs->chunks);
		if (e < 0)
			sfs_warn("recovery stopped: %s (run fsck.sparsefs)",
				 strerror(-e));
	}
	if (r < 0) {
		if (!*msg)
			snprintf(msg, msglen, "cannot start: %s",
				 strerror(-r));
		chunk_fini(&fs->chunks);
		meta_close(&fs->meta, false);
	}
	return r;
}

void sfs_stop(struct sfs *fs)
{
	bool clean = reclaim_orphans(fs) == 0;

	itable_fini(&fs->itable);
	chunk_fini(&fs->chunks);
	meta_close(&fs->meta, clean);
}
