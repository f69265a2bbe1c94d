/*
 * check_meta.c - the metadata layer: records, namespace operations
 * (create, link, remove, rename), directory listing cookies, xattrs, the
 * chunk map, orphans and reclaim, map growth, read-only opening.
 */
#include "unit.h"

#include <sys/sysmacros.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define ROOT META_ROOT_INO

static struct unit_fs fs;
static struct meta *m = &fs.m;

static void meta_setup(void)
{
	unit_setup();
	unit_fs_open(&fs, 0);
}

static void meta_teardown(void)
{
	unit_fs_close(&fs);
	unit_teardown();
}

/* ---- helpers ---- */

static uint32_t nlink_of(uint64_t ino)
{
	return unit_inode(m, ino).nlink;
}

/* The inode @name in @dir names, asserting that it exists. */
static uint64_t lookup(uint64_t dir, const char *name)
{
	uint64_t ino = 0;
	int r = unit_lookup(m, dir, name, &ino);

	ck_assert_msg(r == 0, "lookup %s: %d", name, r);
	return ino;
}

static bool exists(uint64_t dir, const char *name)
{
	uint64_t ino;
	int r = unit_lookup(m, dir, name, &ino);

	ck_assert_msg(r == 0 || r == -ENOENT, "lookup %s: %d", name, r);
	return r == 0;
}

static int create(uint64_t dir, const char *name, uint32_t mode,
		  uint64_t *ino)
{
	struct meta_new nw = {.mode = mode, .uid = 1000, .gid = 1000};
	struct meta_inode attr;
	uint64_t dummy;

	return meta_create(m, dir, name, &nw, ino ? ino : &dummy, &attr);
}

static int link_to(uint64_t ino, uint64_t dir, const char *name)
{
	struct meta_inode attr;

	return meta_link(m, ino, dir, name, &attr);
}

static int do_remove(uint64_t dir, const char *name, bool rmdir,
		     bool *gone)
{
	uint64_t ino;
	bool dummy;

	return meta_remove(m, dir, name, rmdir, &ino, gone ? gone : &dummy);
}

static int do_rename(uint64_t dir, const char *name, uint64_t newdir,
		     const char *newname, unsigned flags, uint64_t *gone)
{
	uint64_t dummy;

	return meta_rename(m, dir, name, newdir, newname, flags,
			   gone ? gone : &dummy);
}

/* First orphan >= @from, or 0 when there is none. */
static uint64_t orphan_from(uint64_t from)
{
	struct meta_txn t;
	uint64_t ino = 0;
	int r;

	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	r = meta_orphan_next(&t, from, &ino);
	meta_abort(&t);
	ck_assert_msg(r == 0 || r == -ENOENT, "orphan_next: %d", r);
	return r == 0 ? ino : 0;
}

static int dir_nonempty(uint64_t dir)
{
	struct meta_txn t;
	int r;

	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	r = meta_dir_nonempty(&t, dir);
	meta_abort(&t);
	return r;
}

static bool ts_le(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* ---- open, root, records ---- */

START_TEST(test_root)
{
	struct meta_inode root = unit_inode(m, ROOT);
	struct meta_txn t;
	uint64_t ino;

	ck_assert(S_ISDIR(root.mode));
	ck_assert_uint_eq(root.mode & 07777, 0755);
	ck_assert_uint_eq(root.nlink, 2);
	ck_assert_uint_eq(root.parent, ROOT);
	ck_assert_uint_eq(root.size, 0);
	ck_assert_uint_eq(root.uid, getuid());
	ck_assert_uint_eq(root.gid, getgid());
	ck_assert_int_ne(root.mtime.tv_sec, 0);
	ck_assert_int_eq(dir_nonempty(ROOT), 0);
	ck_assert(!m->unclean);
	ck_assert(!m->readonly);
	ck_assert_uint_eq(m->chunk_size, fs.s.chunk_size);
	ck_assert_int_gt(unit_file_size(unit_path("meta/data.mdb")), 0);

	/* Inode numbers are handed out after the root's. */
	ck_assert_int_eq(meta_begin(m, &t, true), 0);
	ck_assert_int_eq(meta_ino_alloc(&t, &ino), 0);
	ck_assert_uint_eq(ino, ROOT + 1);
	ck_assert_int_eq(meta_ino_alloc(&t, &ino), 0);
	ck_assert_uint_eq(ino, ROOT + 2);
	meta_abort(&t);
	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	ck_assert_int_eq(meta_inode_get(&t, 2, &root), -ENOENT);
	meta_abort(&t);
}
END_TEST

static int put_and_fail_fn(struct meta_txn *t, void *arg)
{
	struct meta_inode in = {.mode = S_IFREG | 0600, .nlink = 1};
	int r = meta_inode_put(t, 999, &in);

	return r < 0 ? r : *(int *)arg;
}

/* meta_update() commits on >= 0 and aborts everything on < 0. */
START_TEST(test_update)
{
	struct meta_inode in;
	int ret = -EIO;

	ck_assert_int_eq(meta_update(m, put_and_fail_fn, &ret), -EIO);
	ck_assert_int_eq(unit_inode_get(m, 999, &in), -ENOENT);
	ret = 7;
	ck_assert_int_eq(meta_update(m, put_and_fail_fn, &ret), 7);
	ck_assert_int_eq(unit_inode_get(m, 999, &in), 0);
	ck_assert_uint_eq(in.mode, S_IFREG | 0600);
	ck_assert_uint_eq(in.nlink, 1);
}
END_TEST

START_TEST(test_unclean)
{
	char msg[256];

	/* A store closed without the clean mark says so when reopened. */
	unit_fs_close_layers(&fs);
	ck_assert_int_eq(meta_open(m, &fs.s, 0, msg, sizeof(msg)), 0);
	fs.meta_open = true;
	ck_assert(!m->unclean);
	meta_close(m, false);
	ck_assert_int_eq(meta_open(m, &fs.s, 0, msg, sizeof(msg)), 0);
	ck_assert(m->unclean);
	/* The mark is set again by this open: still unclean without a
	 * clean close. */
	meta_close(m, false);
	ck_assert_int_eq(meta_open(m, &fs.s, 0, msg, sizeof(msg)), 0);
	ck_assert(m->unclean);
	meta_close(m, true);
	ck_assert_int_eq(meta_open(m, &fs.s, 0, msg, sizeof(msg)), 0);
	ck_assert(!m->unclean);
}
END_TEST

START_TEST(test_persist)
{
	struct meta_new nw = {.mode = S_IFLNK | 0777, .symlink = "tgt"};
	struct meta_inode attr, before;
	struct meta_txn t;
	char target[16];
	uint64_t d, f, l, g;

	d = unit_mkdir(m, ROOT, "dir");
	f = unit_mkfile(m, d, "file");
	ck_assert_int_eq(meta_create(m, d, "ln", &nw, &l, &attr), 0);
	before = unit_inode(m, f);
	unit_fs_reopen(&fs);
	ck_assert_uint_eq(lookup(ROOT, "dir"), d);
	ck_assert_uint_eq(lookup(d, "file"), f);
	ck_assert_uint_eq(lookup(d, "ln"), l);
	attr = unit_inode(m, f);
	ck_assert(memcmp(&attr, &before, sizeof(attr)) == 0);
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	ck_assert_int_eq(meta_symlink_get(&t, l, target, sizeof(target)), 3);
	meta_abort(&t);
	ck_assert_str_eq(target, "tgt");
	/* Inode numbers are never handed out twice. */
	g = unit_mkfile(m, ROOT, "new");
	ck_assert_uint_gt(g, l);
	ck_assert_uint_gt(g, f);
	ck_assert_uint_gt(g, d);
}
END_TEST

/* ---- create ---- */

START_TEST(test_create_kinds)
{
	struct meta_new nw = {.mode = S_IFREG | 0640, .uid = 1234, .gid = 567};
	struct meta_inode attr, in, root0 = unit_inode(m, ROOT), root;
	uint64_t f, d, l, c, seen = 0;
	char buf[SFS_SYMLINK_MAX + 1];
	struct meta_txn t;

	ck_assert_int_eq(meta_create(m, ROOT, "file", &nw, &f, &attr), 0);
	ck_assert_uint_eq(attr.mode, S_IFREG | 0640);
	ck_assert_uint_eq(attr.uid, 1234);
	ck_assert_uint_eq(attr.gid, 567);
	ck_assert_uint_eq(attr.nlink, 1);
	ck_assert_uint_eq(attr.size, 0);
	ck_assert_uint_eq(attr.spent, 0);
	ck_assert(ts_le(&root0.mtime, &attr.mtime));
	in = unit_inode(m, f);
	ck_assert(memcmp(&in, &attr, sizeof(in)) == 0);
	ck_assert_uint_eq(lookup(ROOT, "file"), f);
	root = unit_inode(m, ROOT);
	ck_assert_uint_eq(root.nlink, 2);
	ck_assert(ts_le(&root0.mtime, &root.mtime));
	ck_assert(ts_le(&attr.mtime, &root.mtime));

	nw.mode = S_IFDIR | 0700;
	ck_assert_int_eq(meta_create(m, ROOT, "dir", &nw, &d, &attr), 0);
	ck_assert(S_ISDIR(attr.mode));
	ck_assert_uint_eq(attr.nlink, 2);
	ck_assert_uint_eq(attr.parent, ROOT);
	ck_assert_uint_eq(unit_inode(m, d).parent, ROOT);
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_int_eq(dir_nonempty(d), 0);
	ck_assert_int_eq(dir_nonempty(ROOT), 1);

	nw.mode = S_IFLNK | 0777;
	nw.symlink = "some/where/else";
	ck_assert_int_eq(meta_create(m, d, "link", &nw, &l, &attr), 0);
	ck_assert(S_ISLNK(attr.mode));
	ck_assert_uint_eq(attr.size, strlen("some/where/else"));
	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	ck_assert_int_eq(meta_symlink_get(&t, l, buf, sizeof(buf)),
			 (int)strlen("some/where/else"));
	ck_assert_str_eq(buf, "some/where/else");
	/* Too small a buffer for target and NUL. */
	ck_assert_int_eq(meta_symlink_get(&t, l, buf, 15), -ENAMETOOLONG);
	ck_assert_int_eq(meta_symlink_get(&t, f, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(meta_dirent_get(&t, d, "link", 4, &seen), 0);
	meta_abort(&t);
	ck_assert_uint_eq(seen, l);
	ck_assert_uint_eq(nlink_of(d), 2);

	nw.mode = S_IFCHR | 0600;
	nw.symlink = NULL;
	nw.rdev = makedev(1, 3);
	ck_assert_int_eq(meta_create(m, ROOT, "null", &nw, &c, &attr), 0);
	ck_assert_uint_eq(unit_inode(m, c).rdev, makedev(1, 3));
	ck_assert(S_ISCHR(unit_inode(m, c).mode));

	/* All different. */
	ck_assert_uint_ne(f, d);
	ck_assert_uint_ne(f, l);
	ck_assert_uint_ne(d, l);
	ck_assert_uint_ne(l, c);
	ck_assert_uint_ne(f, c);
}
END_TEST

START_TEST(test_create_errors)
{
	uint64_t f, d, ino = 0;

	f = unit_mkfile(m, ROOT, "f");
	d = unit_mkdir(m, ROOT, "d");
	ck_assert_int_eq(create(ROOT, "f", S_IFREG | 0644, NULL), -EEXIST);
	ck_assert_int_eq(create(ROOT, "f", S_IFDIR | 0755, NULL), -EEXIST);
	ck_assert_int_eq(create(ROOT, "d", S_IFDIR | 0755, NULL), -EEXIST);
	ck_assert_int_eq(create(ROOT, "d", S_IFREG | 0644, NULL), -EEXIST);
	/* Failed creates change nothing. */
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_uint_eq(lookup(ROOT, "f"), f);
	ck_assert_uint_eq(lookup(ROOT, "d"), d);
	ck_assert(S_ISREG(unit_inode(m, f).mode));

	ck_assert_int_eq(create(f, "x", S_IFREG | 0644, NULL), -ENOTDIR);
	ck_assert_int_eq(create(f, "x", S_IFDIR | 0755, NULL), -ENOTDIR);
	ck_assert_int_eq(create(12345, "x", S_IFREG | 0644, NULL), -ENOENT);
	/* A removed directory takes no new entries. */
	ck_assert_int_eq(do_remove(ROOT, "d", true, NULL), 0);
	ck_assert_int_eq(create(d, "x", S_IFREG | 0644, NULL), -ENOENT);
	/* The same name in another directory is another entry. */
	d = unit_mkdir(m, ROOT, "d2");
	ck_assert_int_eq(create(d, "f", S_IFREG | 0644, &ino), 0);
	ck_assert_uint_ne(ino, f);
}
END_TEST

START_TEST(test_create_name_length)
{
	char name[300], target[SFS_SYMLINK_MAX + 2], buf[SFS_SYMLINK_MAX + 1];
	struct meta_new nw = {.mode = S_IFLNK | 0777};
	struct meta_inode attr;
	struct meta_txn t;
	uint64_t ino, f;

	memset(name, 'n', sizeof(name));
	name[256] = 0;
	ck_assert_int_eq(create(ROOT, name, S_IFREG | 0644, NULL),
			 -ENAMETOOLONG);
	ck_assert_int_eq(create(ROOT, name, S_IFDIR | 0755, NULL),
			 -ENAMETOOLONG);
	ck_assert_int_eq(dir_nonempty(ROOT), 0);
	name[255] = 0;
	ck_assert_int_eq(create(ROOT, name, S_IFREG | 0644, &f), 0);
	ck_assert_uint_eq(lookup(ROOT, name), f);
	ck_assert_int_eq(create(ROOT, name, S_IFREG | 0644, NULL), -EEXIST);

	name[255] = 'x';
	ck_assert_int_eq(link_to(f, ROOT, name), -ENAMETOOLONG);
	ck_assert_int_eq(do_rename(ROOT, name, ROOT, "y", 0, NULL),
			 -ENAMETOOLONG);
	name[255] = 0;
	ck_assert_int_eq(do_rename(ROOT, name, ROOT, "y", 0, NULL), 0);
	name[255] = 'x';
	ck_assert_int_eq(do_rename(ROOT, "y", ROOT, name, 0, NULL),
			 -ENAMETOOLONG);
	ck_assert_int_eq(do_remove(ROOT, name, false, NULL), -ENAMETOOLONG);
	ck_assert_uint_eq(lookup(ROOT, "y"), f);

	/* Symlink targets: up to SFS_SYMLINK_MAX bytes. */
	memset(target, 't', sizeof(target));
	target[SFS_SYMLINK_MAX + 1] = 0;
	nw.symlink = target;
	ck_assert_int_eq(meta_create(m, ROOT, "l", &nw, &ino, &attr),
			 -ENAMETOOLONG);
	target[SFS_SYMLINK_MAX] = 0;
	ck_assert_int_eq(meta_create(m, ROOT, "l", &nw, &ino, &attr), 0);
	ck_assert_uint_eq(attr.size, SFS_SYMLINK_MAX);
	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	ck_assert_int_eq(meta_symlink_get(&t, ino, buf, sizeof(buf)),
			 SFS_SYMLINK_MAX);
	meta_abort(&t);
	ck_assert_str_eq(buf, target);
}
END_TEST

START_TEST(test_dir_nlink)
{
	uint64_t a, b, c;

	a = unit_mkdir(m, ROOT, "a");
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	b = unit_mkdir(m, ROOT, "b");
	ck_assert_uint_eq(nlink_of(ROOT), 4);
	c = unit_mkdir(m, a, "c");
	ck_assert_uint_eq(nlink_of(a), 3);
	ck_assert_uint_eq(nlink_of(c), 2);
	ck_assert_uint_eq(unit_inode(m, c).parent, a);
	unit_mkfile(m, a, "f");
	ck_assert_uint_eq(nlink_of(a), 3);
	ck_assert_uint_eq(nlink_of(ROOT), 4);

	ck_assert_int_eq(do_remove(a, "c", true, NULL), 0);
	ck_assert_uint_eq(nlink_of(a), 2);
	ck_assert_int_eq(do_remove(ROOT, "b", true, NULL), 0);
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_uint_eq(nlink_of(b), 0);
	ck_assert_int_eq(do_remove(ROOT, "a", true, NULL), -ENOTEMPTY);
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_int_eq(do_remove(a, "f", false, NULL), 0);
	ck_assert_int_eq(do_remove(ROOT, "a", true, NULL), 0);
	ck_assert_uint_eq(nlink_of(ROOT), 2);
}
END_TEST

START_TEST(test_setgid)
{
	struct meta_new nw = {.mode = S_IFDIR | S_ISGID | 0775,
			      .uid = 1000,
			      .gid = 4242};
	struct meta_inode attr;
	uint64_t sg, plain, sub, ino;

	ck_assert_int_eq(meta_create(m, ROOT, "sg", &nw, &sg, &attr), 0);
	ck_assert_uint_eq(attr.gid, 4242);
	ck_assert(attr.mode & S_ISGID);
	/* Root is not setgid: a new entry keeps the creator's group. */
	plain = unit_mknod(m, ROOT, "plain", S_IFDIR | 0755);
	ck_assert_uint_eq(unit_inode(m, plain).gid, 1000);
	ck_assert(!(unit_inode(m, plain).mode & S_ISGID));

	nw.mode = S_IFREG | 0644;
	nw.gid = 100;
	ck_assert_int_eq(meta_create(m, sg, "file", &nw, &ino, &attr), 0);
	ck_assert_uint_eq(attr.gid, 4242);
	ck_assert_uint_eq(unit_inode(m, ino).gid, 4242);
	ck_assert_uint_eq(attr.mode, S_IFREG | 0644);

	nw.mode = S_IFDIR | 0755;
	ck_assert_int_eq(meta_create(m, sg, "sub", &nw, &sub, &attr), 0);
	ck_assert_uint_eq(attr.gid, 4242);
	ck_assert_uint_eq(attr.mode, S_IFDIR | S_ISGID | 0755);
	ck_assert_uint_eq(unit_inode(m, sub).mode, S_IFDIR | S_ISGID | 0755);
	/* And on down the tree. */
	nw.gid = 7;
	ck_assert_int_eq(meta_create(m, sub, "subsub", &nw, &ino, &attr), 0);
	ck_assert_uint_eq(attr.gid, 4242);
	ck_assert(attr.mode & S_ISGID);

	nw.mode = S_IFLNK | 0777;
	nw.symlink = "x";
	ck_assert_int_eq(meta_create(m, sg, "ln", &nw, &ino, &attr), 0);
	ck_assert_uint_eq(attr.gid, 4242);
	ck_assert_uint_eq(attr.mode, S_IFLNK | 0777);

	nw.mode = S_IFREG | 0644;
	nw.symlink = NULL;
	ck_assert_int_eq(meta_create(m, plain, "f", &nw, &ino, &attr), 0);
	ck_assert_uint_eq(attr.gid, 7);
}
END_TEST

/* ---- link and remove ---- */

START_TEST(test_link)
{
	struct meta_inode attr, before;
	uint64_t f, d, sub;

	f = unit_mkfile(m, ROOT, "f");
	d = unit_mkdir(m, ROOT, "d");
	before = unit_inode(m, f);
	ck_assert_int_eq(meta_link(m, f, ROOT, "g", &attr), 0);
	ck_assert_uint_eq(attr.nlink, 2);
	ck_assert(ts_le(&before.ctime, &attr.ctime));
	ck_assert_uint_eq(nlink_of(f), 2);
	ck_assert_uint_eq(lookup(ROOT, "g"), f);
	ck_assert_int_eq(link_to(f, d, "h"), 0);
	ck_assert_uint_eq(nlink_of(f), 3);
	ck_assert_uint_eq(lookup(d, "h"), f);
	/* Links to files do not count in the directory's nlink. */
	ck_assert_uint_eq(nlink_of(d), 2);
	ck_assert_uint_eq(nlink_of(ROOT), 3);

	ck_assert_int_eq(link_to(d, ROOT, "dlink"), -EPERM);
	ck_assert_int_eq(link_to(ROOT, d, "rootlink"), -EPERM);
	ck_assert_int_eq(link_to(f, ROOT, "g"), -EEXIST);
	ck_assert_int_eq(link_to(f, ROOT, "d"), -EEXIST);
	ck_assert_int_eq(link_to(f, f, "x"), -ENOTDIR);
	ck_assert_int_eq(link_to(9999, ROOT, "x"), -ENOENT);
	ck_assert_uint_eq(nlink_of(f), 3);
	ck_assert_uint_eq(nlink_of(d), 2);
	ck_assert(!exists(ROOT, "dlink"));
	ck_assert(!exists(d, "rootlink"));

	sub = unit_mkdir(m, d, "sub");
	ck_assert_int_eq(do_remove(d, "sub", true, NULL), 0);
	ck_assert_int_eq(link_to(f, sub, "x"), -ENOENT);
}
END_TEST

START_TEST(test_unlink)
{
	uint64_t f, ino = 0;
	bool gone = true;

	f = unit_mkfile(m, ROOT, "f");
	ck_assert_int_eq(link_to(f, ROOT, "g"), 0);
	ck_assert_int_eq(meta_remove(m, ROOT, "f", false, &ino, &gone), 0);
	ck_assert_uint_eq(ino, f);
	ck_assert(!gone);
	ck_assert_uint_eq(nlink_of(f), 1);
	ck_assert(!exists(ROOT, "f"));
	ck_assert_uint_eq(orphan_from(0), 0);

	ck_assert_int_eq(meta_remove(m, ROOT, "g", false, &ino, &gone), 0);
	ck_assert_uint_eq(ino, f);
	ck_assert(gone);
	ck_assert(!exists(ROOT, "g"));
	ck_assert_int_eq(dir_nonempty(ROOT), 0);
	/* The inode stays, unlinked, for whoever has it open. */
	ck_assert_uint_eq(nlink_of(f), 0);
	ck_assert_uint_eq(orphan_from(0), f);
	ck_assert_uint_eq(orphan_from(f), f);
	ck_assert_uint_eq(orphan_from(f + 1), 0);

	gone = true;
	ck_assert_int_eq(meta_remove(m, ROOT, "g", false, &ino, &gone),
			 -ENOENT);
	ck_assert(!gone);

	/* Linking an orphan back in (O_TMPFILE) takes it off the list. */
	ck_assert_int_eq(link_to(f, ROOT, "back"), 0);
	ck_assert_uint_eq(nlink_of(f), 1);
	ck_assert_uint_eq(orphan_from(0), 0);
}
END_TEST

START_TEST(test_remove_errors)
{
	uint64_t d, f, e, ino;
	bool gone = true;

	d = unit_mkdir(m, ROOT, "d");
	f = unit_mkfile(m, d, "f");
	e = unit_mkdir(m, ROOT, "e");

	ck_assert_int_eq(do_remove(ROOT, "d", false, &gone), -EISDIR);
	ck_assert(!gone);
	ck_assert_int_eq(do_remove(d, "f", true, NULL), -ENOTDIR);
	ck_assert_int_eq(do_remove(ROOT, "d", true, NULL), -ENOTEMPTY);
	ck_assert_int_eq(do_remove(f, "x", false, NULL), -ENOTDIR);
	ck_assert_int_eq(do_remove(ROOT, "nope", true, NULL), -ENOENT);
	ck_assert_int_eq(do_remove(ROOT, "nope", false, NULL), -ENOENT);
	/* Nothing changed. */
	ck_assert_uint_eq(lookup(ROOT, "d"), d);
	ck_assert_uint_eq(lookup(d, "f"), f);
	ck_assert_uint_eq(nlink_of(ROOT), 4);
	ck_assert_uint_eq(nlink_of(d), 2);
	ck_assert_uint_eq(nlink_of(f), 1);
	ck_assert_uint_eq(orphan_from(0), 0);

	ck_assert_int_eq(meta_remove(m, ROOT, "e", true, &ino, &gone), 0);
	ck_assert_uint_eq(ino, e);
	ck_assert(gone);
	ck_assert_uint_eq(nlink_of(e), 0);
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_uint_eq(orphan_from(0), e);
}
END_TEST

/* ---- rename ---- */

START_TEST(test_rename_same_dir)
{
	struct meta_inode before;
	uint64_t f, gone = 99;

	f = unit_mkfile(m, ROOT, "a");
	before = unit_inode(m, f);
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "b", 0, &gone), 0);
	ck_assert_uint_eq(gone, 0);
	ck_assert(!exists(ROOT, "a"));
	ck_assert_uint_eq(lookup(ROOT, "b"), f);
	ck_assert_uint_eq(nlink_of(f), 1);
	{
		struct meta_inode now = unit_inode(m, f);
		ck_assert(ts_le(&before.ctime, &now.ctime));
	}
	ck_assert_uint_eq(nlink_of(ROOT), 2);

	/* Onto itself: nothing happens. */
	ck_assert_int_eq(do_rename(ROOT, "b", ROOT, "b", 0, &gone), 0);
	ck_assert_uint_eq(lookup(ROOT, "b"), f);
	ck_assert_uint_eq(gone, 0);

	ck_assert_int_eq(do_rename(ROOT, "nope", ROOT, "c", 0, NULL),
			 -ENOENT);
	ck_assert_int_eq(do_rename(f, "x", ROOT, "c", 0, NULL), -ENOTDIR);
	ck_assert_int_eq(do_rename(ROOT, "b", f, "c", 0, NULL), -ENOTDIR);
	ck_assert_uint_eq(lookup(ROOT, "b"), f);
	ck_assert_int_eq(do_rename(ROOT, "b", ROOT, "c", 4, NULL), -EINVAL);
	ck_assert_int_eq(do_rename(ROOT, "b", ROOT, "c",
				   RENAME_NOREPLACE | RENAME_EXCHANGE, NULL),
			 -EINVAL);
	ck_assert_uint_eq(lookup(ROOT, "b"), f);
}
END_TEST

START_TEST(test_rename_across_dirs)
{
	uint64_t d1, d2, x, f;

	d1 = unit_mkdir(m, ROOT, "d1");
	d2 = unit_mkdir(m, ROOT, "d2");
	x = unit_mkdir(m, d1, "x");
	f = unit_mkfile(m, d1, "f");
	ck_assert_uint_eq(nlink_of(d1), 3);

	/* A file: no directory's nlink moves. */
	ck_assert_int_eq(do_rename(d1, "f", d2, "g", 0, NULL), 0);
	ck_assert(!exists(d1, "f"));
	ck_assert_uint_eq(lookup(d2, "g"), f);
	ck_assert_uint_eq(nlink_of(d1), 3);
	ck_assert_uint_eq(nlink_of(d2), 2);

	/* A directory: its ".." moves with it. */
	ck_assert_int_eq(do_rename(d1, "x", d2, "y", 0, NULL), 0);
	ck_assert(!exists(d1, "x"));
	ck_assert_uint_eq(lookup(d2, "y"), x);
	ck_assert_uint_eq(nlink_of(d1), 2);
	ck_assert_uint_eq(nlink_of(d2), 3);
	ck_assert_uint_eq(nlink_of(x), 2);
	ck_assert_uint_eq(unit_inode(m, x).parent, d2);
	ck_assert_uint_eq(nlink_of(ROOT), 4);

	/* Into its own subtree, which the parent pointers now describe. */
	ck_assert_int_eq(do_rename(ROOT, "d2", x, "d2", 0, NULL), -EINVAL);
	ck_assert_int_eq(do_rename(ROOT, "d2", d2, "self", 0, NULL), -EINVAL);
	unit_mkdir(m, x, "deeper");
	ck_assert_int_eq(do_rename(ROOT, "d2", lookup(x, "deeper"), "z", 0,
				   NULL),
			 -EINVAL);
	/* d1 is no ancestor of x any more: this is fine. */
	ck_assert_int_eq(do_rename(ROOT, "d1", x, "d1", 0, NULL), 0);
	ck_assert_uint_eq(unit_inode(m, d1).parent, x);
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_uint_eq(nlink_of(x), 4);
	/* ...and now x may not go under d1. */
	ck_assert_int_eq(do_rename(d2, "y", d1, "x", 0, NULL), -EINVAL);
	ck_assert_uint_eq(lookup(d2, "y"), x);
	ck_assert_uint_eq(nlink_of(d2), 3);
}
END_TEST

START_TEST(test_rename_replace_file)
{
	uint64_t a, b, c, gone = 0;
	bool g;

	a = unit_mkfile(m, ROOT, "a");
	b = unit_mkfile(m, ROOT, "b");
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "b", 0, &gone), 0);
	ck_assert_uint_eq(gone, b);
	ck_assert(!exists(ROOT, "a"));
	ck_assert_uint_eq(lookup(ROOT, "b"), a);
	ck_assert_uint_eq(nlink_of(a), 1);
	ck_assert_uint_eq(nlink_of(b), 0);
	ck_assert_uint_eq(orphan_from(0), b);

	/* A target with another link is not gone. */
	c = unit_mkfile(m, ROOT, "c");
	ck_assert_int_eq(link_to(c, ROOT, "c2"), 0);
	ck_assert_int_eq(do_rename(ROOT, "b", ROOT, "c", 0, &gone), 0);
	ck_assert_uint_eq(gone, 0);
	ck_assert_uint_eq(lookup(ROOT, "c"), a);
	ck_assert_uint_eq(nlink_of(c), 1);
	ck_assert_uint_eq(lookup(ROOT, "c2"), c);
	ck_assert_uint_eq(orphan_from(b + 1), 0);
	ck_assert_int_eq(meta_remove(m, ROOT, "c2", false, &gone, &g), 0);
	ck_assert(g);
}
END_TEST

START_TEST(test_rename_noreplace)
{
	uint64_t a, b, gone = 7;

	a = unit_mkfile(m, ROOT, "a");
	b = unit_mkfile(m, ROOT, "b");
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "b", RENAME_NOREPLACE,
				   &gone),
			 -EEXIST);
	ck_assert_uint_eq(gone, 0);
	ck_assert_uint_eq(lookup(ROOT, "a"), a);
	ck_assert_uint_eq(lookup(ROOT, "b"), b);
	ck_assert_uint_eq(nlink_of(b), 1);
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "c", RENAME_NOREPLACE,
				   &gone),
			 0);
	ck_assert_uint_eq(lookup(ROOT, "c"), a);
	ck_assert(!exists(ROOT, "a"));
}
END_TEST

START_TEST(test_rename_exchange)
{
	uint64_t a, b, d1, d2, sub, f, gone = 7;

	a = unit_mkfile(m, ROOT, "a");
	b = unit_mkfile(m, ROOT, "b");
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "b", RENAME_EXCHANGE,
				   &gone),
			 0);
	ck_assert_uint_eq(gone, 0);
	ck_assert_uint_eq(lookup(ROOT, "a"), b);
	ck_assert_uint_eq(lookup(ROOT, "b"), a);
	ck_assert_uint_eq(nlink_of(a), 1);
	ck_assert_uint_eq(nlink_of(b), 1);
	/* And back, naming them the other way round. */
	ck_assert_int_eq(do_rename(ROOT, "b", ROOT, "a", RENAME_EXCHANGE,
				   &gone),
			 0);
	ck_assert_uint_eq(lookup(ROOT, "a"), a);
	ck_assert_uint_eq(lookup(ROOT, "b"), b);
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "nope", RENAME_EXCHANGE,
				   NULL),
			 -ENOENT);
	ck_assert_uint_eq(lookup(ROOT, "a"), a);

	/* A directory and a file in different directories. */
	d1 = unit_mkdir(m, ROOT, "d1");
	d2 = unit_mkdir(m, ROOT, "d2");
	sub = unit_mkdir(m, d1, "sub");
	f = unit_mkfile(m, d2, "f");
	ck_assert_int_eq(do_rename(d1, "sub", d2, "f", RENAME_EXCHANGE, NULL),
			 0);
	ck_assert_uint_eq(lookup(d1, "sub"), f);
	ck_assert_uint_eq(lookup(d2, "f"), sub);
	ck_assert_uint_eq(unit_inode(m, sub).parent, d2);
	ck_assert_uint_eq(nlink_of(d1), 2);
	ck_assert_uint_eq(nlink_of(d2), 3);
	ck_assert_uint_eq(nlink_of(sub), 2);
	ck_assert_uint_eq(nlink_of(f), 1);
	/* The other way: the file is the source now. */
	ck_assert_int_eq(do_rename(d1, "sub", d2, "f", RENAME_EXCHANGE, NULL),
			 0);
	ck_assert_uint_eq(lookup(d1, "sub"), sub);
	ck_assert_uint_eq(lookup(d2, "f"), f);
	ck_assert_uint_eq(unit_inode(m, sub).parent, d1);
	ck_assert_uint_eq(nlink_of(d1), 3);
	ck_assert_uint_eq(nlink_of(d2), 2);
	/* Two directories. */
	ck_assert_int_eq(do_rename(ROOT, "d1", ROOT, "d2", RENAME_EXCHANGE,
				   NULL),
			 0);
	ck_assert_uint_eq(lookup(ROOT, "d1"), d2);
	ck_assert_uint_eq(lookup(ROOT, "d2"), d1);
	ck_assert_uint_eq(nlink_of(ROOT), 4);
	ck_assert_uint_eq(unit_inode(m, d1).parent, ROOT);
	ck_assert_uint_eq(unit_inode(m, d2).parent, ROOT);
	ck_assert_int_eq(do_rename(d1, "sub", d2, "f", RENAME_EXCHANGE, NULL),
			 0);
	ck_assert_uint_eq(nlink_of(d1), 2);
	ck_assert_uint_eq(nlink_of(d2), 3);
	ck_assert_uint_eq(unit_inode(m, sub).parent, d2);
}
END_TEST

START_TEST(test_rename_exchange_subtree)
{
	uint64_t a, x;

	a = unit_mkdir(m, ROOT, "a");
	x = unit_mkdir(m, a, "x");
	unit_mkfile(m, x, "f");
	/* a would end up at a/x/f: inside itself. */
	ck_assert_int_eq(do_rename(ROOT, "a", x, "f", RENAME_EXCHANGE, NULL),
			 -EINVAL);
	ck_assert_int_eq(do_rename(x, "f", ROOT, "a", RENAME_EXCHANGE, NULL),
			 -EINVAL);
	ck_assert_int_eq(do_rename(ROOT, "a", a, "x", RENAME_EXCHANGE, NULL),
			 -EINVAL);
	ck_assert_uint_eq(lookup(ROOT, "a"), a);
	ck_assert_uint_eq(lookup(a, "x"), x);
	ck_assert_uint_eq(unit_inode(m, x).parent, a);
}
END_TEST

START_TEST(test_rename_dirs)
{
	uint64_t a, b, c, e, gone = 0;

	a = unit_mkdir(m, ROOT, "a");
	b = unit_mkdir(m, ROOT, "b");
	unit_mkfile(m, b, "f");
	ck_assert_uint_eq(nlink_of(ROOT), 4);

	/* Over a non-empty directory. */
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "b", 0, &gone),
			 -ENOTEMPTY);
	ck_assert_uint_eq(lookup(ROOT, "a"), a);
	ck_assert_uint_eq(lookup(ROOT, "b"), b);
	ck_assert_uint_eq(nlink_of(ROOT), 4);
	/* File over directory, directory over file. */
	ck_assert_int_eq(do_rename(b, "f", ROOT, "a", 0, NULL), -EISDIR);
	ck_assert_int_eq(do_rename(ROOT, "a", b, "f", 0, NULL), -ENOTDIR);
	ck_assert_uint_eq(nlink_of(a), 2);
	ck_assert_uint_eq(nlink_of(b), 2);

	/* Over an empty directory in the same directory. */
	c = unit_mkdir(m, ROOT, "c");
	ck_assert_uint_eq(nlink_of(ROOT), 5);
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "c", 0, &gone), 0);
	ck_assert_uint_eq(gone, c);
	ck_assert_uint_eq(lookup(ROOT, "c"), a);
	ck_assert_uint_eq(nlink_of(ROOT), 4);
	ck_assert_uint_eq(nlink_of(c), 0);
	ck_assert_uint_eq(orphan_from(0), c);

	/* Over an empty directory in another directory. */
	e = unit_mkdir(m, b, "e");
	ck_assert_uint_eq(nlink_of(b), 3);
	ck_assert_int_eq(do_rename(ROOT, "c", b, "e", 0, &gone), 0);
	ck_assert_uint_eq(gone, e);
	ck_assert_uint_eq(lookup(b, "e"), a);
	ck_assert_uint_eq(unit_inode(m, a).parent, b);
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_uint_eq(nlink_of(b), 3);
	ck_assert_uint_eq(nlink_of(e), 0);
	ck_assert_uint_eq(orphan_from(c + 1), e);
}
END_TEST

START_TEST(test_rename_hardlinks)
{
	uint64_t f, gone = 7;

	f = unit_mkfile(m, ROOT, "a");
	ck_assert_int_eq(link_to(f, ROOT, "b"), 0);
	/* rename(2) between two links of one file does nothing. */
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "b", 0, &gone), 0);
	ck_assert_uint_eq(gone, 0);
	ck_assert_uint_eq(lookup(ROOT, "a"), f);
	ck_assert_uint_eq(lookup(ROOT, "b"), f);
	ck_assert_uint_eq(nlink_of(f), 2);
	ck_assert_uint_eq(orphan_from(0), 0);
	ck_assert_int_eq(do_rename(ROOT, "a", ROOT, "b", RENAME_EXCHANGE,
				   &gone),
			 0);
	ck_assert_uint_eq(lookup(ROOT, "a"), f);
	ck_assert_uint_eq(lookup(ROOT, "b"), f);
	ck_assert_uint_eq(nlink_of(f), 2);
}
END_TEST

/* ---- directory listing ---- */

#define LIST_MAX 4096

/* What one listing pass collected. */
struct listing {
	size_t page;	  /* entries to take per call; 0: all */
	size_t taken;	  /* in this call */
	size_t n;
	uint64_t last;	  /* cookie of the last entry taken */
	bool bad_order;
	char *names[LIST_MAX];
	uint64_t inos[LIST_MAX], cookies[LIST_MAX];
	uint32_t modes[LIST_MAX];
};

static int listing_fn(void *arg, const char *name, size_t len, uint64_t ino,
		      uint32_t mode, uint64_t cookie)
{
	struct listing *l = arg;

	if (l->page && l->taken == l->page)
		return 1; /* full: this one comes again next time */
	if (l->n == LIST_MAX)
		return -E2BIG;
	if (cookie < META_COOKIE_FIRST || (l->n && cookie <= l->last))
		l->bad_order = true;
	l->names[l->n] = strndup(name, len);
	l->inos[l->n] = ino;
	l->modes[l->n] = mode;
	l->cookies[l->n] = cookie;
	l->n++;
	l->taken++;
	l->last = cookie;
	return 0;
}

/* One call of meta_dir_list() resuming after the last entry taken;
 * returns what it returned. */
static int list_page(uint64_t dir, struct listing *l)
{
	struct meta_txn t;
	int r;

	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	l->taken = 0;
	r = meta_dir_list(&t, dir, l->n ? l->last : 0, listing_fn, l);
	meta_abort(&t);
	ck_assert_msg(r == 0 || r == 1, "meta_dir_list: %d", r);
	ck_assert(!l->bad_order);
	return r;
}

static struct listing *listing_new(size_t page)
{
	struct listing *l = calloc(1, sizeof(*l));

	ck_assert_ptr_nonnull(l);
	l->page = page;
	return l;
}

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l);
}

/* Index of the entry named "e%05u" that @name is, or -1. */
static int entry_index(const char *name)
{
	unsigned i;
	char end;

	if (sscanf(name, "e%5u%c", &i, &end) != 1)
		return -1;
	return (int)i;
}

/* Two names whose hashes collide (found by search): each keeps its own
 * cookie, a listing resumed after either returns the other, and lookup,
 * rename and removal find the right one. */
START_TEST(test_dir_cookie_collision)
{
	static const char *const names[] = {"e42NCDCqXCD", "V-uFmoQJzQD"};
	struct listing *l = listing_new(1);
	uint64_t dir, ino[2];

	ck_assert_uint_eq(meta_name_cookie(names[0], strlen(names[0])),
			  meta_name_cookie(names[1], strlen(names[1])));
	ck_assert_int_eq(create(META_ROOT_INO, "d", S_IFDIR | 0755, &dir), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(create(dir, names[i], S_IFREG | 0644, &ino[i]),
				 0);
	/* One entry per call: every resume point is between them. */
	while (list_page(dir, l) == 1)
		;
	ck_assert_uint_eq(l->n, 2);
	ck_assert_uint_ne(l->cookies[0], l->cookies[1]);
	for (int i = 0; i < 2; i++)
		ck_assert_uint_eq(lookup(dir, names[i]), ino[i]);
	ck_assert_int_eq(do_rename(dir, names[0], dir, "other", 0, NULL), 0);
	ck_assert_uint_eq(lookup(dir, names[1]), ino[1]);
	ck_assert_int_eq(do_rename(dir, "other", dir, names[0], 0, NULL), 0);
	ck_assert_uint_eq(lookup(dir, names[0]), ino[0]);
	ck_assert_uint_eq(lookup(dir, names[1]), ino[1]);
	ck_assert_int_eq(do_remove(dir, names[1], false, NULL), 0);
	ck_assert(!exists(dir, names[1]));
	ck_assert_uint_eq(lookup(dir, names[0]), ino[0]);
	listing_free(l);
}
END_TEST

#define NENTRIES 2000

START_TEST(test_dir_list)
{
	static uint64_t inos[NENTRIES];
	struct listing *l;
	uint64_t d, other;
	char name[32];
	int count[NENTRIES] = {0};
	int r, calls = 0;

	d = unit_mkdir(m, ROOT, "d");
	other = unit_mkdir(m, ROOT, "other");
	for (unsigned i = 0; i < NENTRIES; i++) {
		snprintf(name, sizeof(name), "e%05u", i);
		inos[i] = unit_mknod(m, d, name,
				     i % 3 ? S_IFREG | 0644 : S_IFDIR | 0755);
		if (i % 100 == 0)
			unit_mkfile(m, other, name);
	}

	/* In one go. */
	l = listing_new(0);
	ck_assert_int_eq(list_page(d, l), 0);
	ck_assert_uint_eq(l->n, NENTRIES);
	for (size_t i = 0; i < l->n; i++) {
		int k = entry_index(l->names[i]);
		ck_assert_int_ge(k, 0);
		count[k]++;
		ck_assert_uint_eq(l->inos[i], inos[k]);
		ck_assert_uint_eq(l->modes[i] & S_IFMT,
				  k % 3 ? S_IFREG : S_IFDIR);
	}
	for (int k = 0; k < NENTRIES; k++)
		ck_assert_int_eq(count[k], 1);
	/* Nothing after the last cookie. */
	{
		struct listing *tail = listing_new(0);
		struct meta_txn t;
		ck_assert_int_eq(meta_begin(m, &t, false), 0);
		ck_assert_int_eq(meta_dir_list(&t, d, l->last, listing_fn,
					       tail),
				 0);
		ck_assert_int_eq(meta_dir_list(&t, d, UINT64_MAX, listing_fn,
					       tail),
				 0);
		meta_abort(&t);
		ck_assert_uint_eq(tail->n, 0);
		listing_free(tail);
	}

	/* In pages of 37, resuming from the cookie: the same sequence. */
	{
		struct listing *p = listing_new(37);
		do {
			r = list_page(d, p);
			ck_assert_int_le(++calls, NENTRIES / 37 + 2);
		} while (r == 1);
		ck_assert_uint_eq(p->n, NENTRIES);
		for (size_t i = 0; i < l->n; i++) {
			ck_assert_str_eq(p->names[i], l->names[i]);
			ck_assert_uint_eq(p->cookies[i], l->cookies[i]);
		}
		listing_free(p);
	}
	/* One at a time. */
	{
		struct listing *p = listing_new(1);
		while (list_page(d, p) == 1)
			;
		ck_assert_uint_eq(p->n, NENTRIES);
		listing_free(p);
	}
	listing_free(l);

	/* The other directory holds only its own. */
	l = listing_new(0);
	list_page(other, l);
	ck_assert_uint_eq(l->n, NENTRIES / 100);
	listing_free(l);
	/* An empty directory, and the root. */
	l = listing_new(0);
	list_page(lookup(d, "e00000"), l);
	ck_assert_uint_eq(l->n, 0);
	list_page(ROOT, l);
	ck_assert_uint_eq(l->n, 2);
	listing_free(l);
}
END_TEST

START_TEST(test_dir_list_cookie_stable)
{
	struct listing *a = listing_new(0), *b = listing_new(0);
	char name[32];
	uint64_t d = unit_mkdir(m, ROOT, "d");

	for (unsigned i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "e%05u", i);
		unit_mkfile(m, d, name);
	}
	list_page(d, a);
	/* Churn around the survivors. */
	for (unsigned i = 0; i < 200; i += 2) {
		snprintf(name, sizeof(name), "e%05u", i);
		ck_assert_int_eq(do_remove(d, name, false, NULL), 0);
		snprintf(name, sizeof(name), "e%05u", 1000 + i);
		unit_mkfile(m, d, name);
	}
	ck_assert_int_eq(do_rename(d, "e00001", d, "moved", 0, NULL), 0);
	ck_assert_int_eq(do_rename(d, "moved", d, "e00001", 0, NULL), 0);
	unit_fs_reopen(&fs);
	list_page(d, b);
	ck_assert_uint_eq(b->n, 200);
	for (size_t i = 0; i < a->n; i++) {
		int k = entry_index(a->names[i]);
		if (k % 2 == 0)
			continue;
		for (size_t j = 0; j < b->n; j++)
			if (!strcmp(a->names[i], b->names[j]))
				ck_assert_uint_eq(a->cookies[i],
						  b->cookies[j]);
	}
	listing_free(a);
	listing_free(b);
}
END_TEST

/*
 * Entries come and go between the calls of a listing: every entry that is
 * there all along comes exactly once, none comes twice, none that was
 * removed before the listing reached it comes at all.
 */
START_TEST(test_dir_list_mutating)
{
	enum { INITIAL = NENTRIES, ADDED = 600 };
	static bool present[INITIAL + ADDED], removed_unseen[INITIAL + ADDED];
	static bool ever[INITIAL + ADDED], stayed[INITIAL + ADDED];
	static int count[INITIAL + ADDED];
	struct listing *l = listing_new(50);
	unsigned next_new = INITIAL, rnd = 12345;
	char name[32];
	uint64_t d;
	int r;

	d = unit_mkdir(m, ROOT, "d");
	for (unsigned i = 0; i < INITIAL; i++) {
		snprintf(name, sizeof(name), "e%05u", i);
		unit_mkfile(m, d, name);
		present[i] = ever[i] = stayed[i] = true;
	}
	do {
		r = list_page(d, l);
		/* Remove 5 entries (seen or not) and add 5 between calls. */
		for (int k = 0; k < 5 && r == 1; k++) {
			unsigned victim;
			rnd = rnd * 1103515245 + 12345;
			victim = (rnd >> 8) % next_new;
			if (present[victim]) {
				bool seen = false;
				snprintf(name, sizeof(name), "e%05u", victim);
				ck_assert_int_eq(do_remove(d, name, false,
							   NULL),
						 0);
				present[victim] = false;
				stayed[victim] = false;
				for (size_t i = 0; i < l->n; i++)
					if (!strcmp(l->names[i], name))
						seen = true;
				if (!seen)
					removed_unseen[victim] = true;
			}
			if (next_new < INITIAL + ADDED) {
				snprintf(name, sizeof(name), "e%05u",
					 next_new);
				unit_mkfile(m, d, name);
				present[next_new] = ever[next_new] = true;
				next_new++;
			}
		}
	} while (r == 1);

	for (size_t i = 0; i < l->n; i++) {
		int k = entry_index(l->names[i]);
		ck_assert_int_ge(k, 0);
		ck_assert_int_lt(k, INITIAL + ADDED);
		count[k]++;
	}
	for (unsigned k = 0; k < next_new; k++) {
		ck_assert_msg(count[k] <= 1, "e%05u listed %d times", k,
			      count[k]);
		ck_assert_msg(ever[k] || count[k] == 0, "e%05u never existed",
			      k);
		if (k < INITIAL && stayed[k])
			ck_assert_msg(count[k] == 1, "e%05u was not listed",
				      k);
		if (removed_unseen[k])
			ck_assert_msg(count[k] == 0,
				      "e%05u listed after its removal", k);
	}
	listing_free(l);
}
END_TEST

/* ---- xattrs ---- */

static int xattr_get(uint64_t ino, const char *name, void *buf, size_t len)
{
	struct meta_txn t;
	int r;

	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	r = meta_xattr_get(&t, ino, name, buf, len);
	meta_abort(&t);
	return r;
}

static int xattr_list(uint64_t ino, char *buf, size_t len)
{
	struct meta_txn t;
	int r;

	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	r = meta_xattr_list(&t, ino, buf, len);
	meta_abort(&t);
	return r;
}

struct xattr_op {
	uint64_t ino;
	const char *name;
	const void *val;
	size_t len;
	bool del;
};

static int xattr_op_fn(struct meta_txn *t, void *arg)
{
	struct xattr_op *op = arg;

	if (op->del)
		return meta_xattr_del(t, op->ino, op->name);
	return meta_xattr_put(t, op->ino, op->name, op->val, op->len);
}

static int xattr_put(uint64_t ino, const char *name, const void *val,
		     size_t len)
{
	struct xattr_op op = {ino, name, val, len, false};

	return meta_update(m, xattr_op_fn, &op);
}

static int xattr_del(uint64_t ino, const char *name)
{
	struct xattr_op op = {ino, name, NULL, 0, true};

	return meta_update(m, xattr_op_fn, &op);
}

START_TEST(test_xattr)
{
	uint64_t a = unit_mkfile(m, ROOT, "a"), b = unit_mkfile(m, ROOT, "b");
	uint64_t c = unit_mkfile(m, ROOT, "c");
	char buf[256], name[300];

	ck_assert_int_eq(xattr_get(a, "user.x", buf, sizeof(buf)), -ENODATA);
	ck_assert_int_eq(xattr_list(a, buf, sizeof(buf)), 0);
	ck_assert_int_eq(xattr_list(a, NULL, 0), 0);

	ck_assert_int_eq(xattr_put(a, "user.b", "bee", 3), 0);
	ck_assert_int_eq(xattr_put(a, "user.a", "ay", 2), 0);
	ck_assert_int_eq(xattr_put(a, "user.empty", "", 0), 0);
	ck_assert_int_eq(xattr_put(b, "user.a", "other", 5), 0);
	ck_assert_int_eq(xattr_put(c, "user.c", "cc", 2), 0);

	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(xattr_get(a, "user.a", buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "ay");
	ck_assert_int_eq(xattr_get(a, "user.a", NULL, 0), 2);
	ck_assert_int_eq(xattr_get(a, "user.empty", buf, sizeof(buf)), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(xattr_get(b, "user.a", buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "other");
	ck_assert_int_eq(xattr_get(b, "user.b", buf, sizeof(buf)), -ENODATA);
	/* A short buffer gets a prefix and the full length. */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(xattr_get(b, "user.a", buf, 2), 5);
	ck_assert_str_eq(buf, "ot");

	/* Overwrite. */
	ck_assert_int_eq(xattr_put(a, "user.a", "longer value", 12), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(xattr_get(a, "user.a", buf, sizeof(buf)), 12);
	ck_assert_str_eq(buf, "longer value");

	/* List: every name of this inode, NUL-terminated, none of others. */
	{
		static const char want[] = "user.a\0user.b\0user.empty";
		size_t wlen = sizeof(want);
		ck_assert_int_eq(xattr_list(a, NULL, 0), (int)wlen);
		memset(buf, 'X', sizeof(buf));
		ck_assert_int_eq(xattr_list(a, buf, sizeof(buf)), (int)wlen);
		ck_assert(memcmp(buf, want, wlen) == 0);
		ck_assert_int_eq(xattr_list(a, buf, wlen), (int)wlen);
		ck_assert(memcmp(buf, want, wlen) == 0);
		ck_assert_int_eq(xattr_list(a, buf, wlen - 1), -ERANGE);
		ck_assert_int_eq(xattr_list(a, buf, 1), -ERANGE);
		ck_assert_int_eq(xattr_list(b, buf, sizeof(buf)), 7);
		ck_assert(memcmp(buf, "user.a", 7) == 0);
	}

	ck_assert_int_eq(xattr_del(a, "user.b"), 0);
	ck_assert_int_eq(xattr_get(a, "user.b", buf, sizeof(buf)), -ENODATA);
	ck_assert_int_eq(xattr_del(a, "user.b"), -ENODATA);
	ck_assert_int_eq(xattr_del(a, "user.never"), -ENODATA);
	ck_assert_int_eq(xattr_list(a, NULL, 0), 18);
	ck_assert_int_eq(xattr_get(b, "user.a", NULL, 0), 5);

	/* Names up to 255 bytes. */
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[255] = 0;
	ck_assert_int_eq(xattr_put(a, name, "v", 1), 0);
	ck_assert_int_eq(xattr_get(a, name, NULL, 0), 1);
	name[255] = 'n';
	name[256] = 0;
	ck_assert_int_eq(xattr_put(a, name, "v", 1), -ERANGE);
	ck_assert_int_eq(xattr_get(a, name, NULL, 0), -ERANGE);
}
END_TEST

/* ---- chunk records, orphans ---- */

struct walk_log {
	size_t n, stop_after;
	uint64_t idx[64];
	struct meta_chunk c[64];
};

static int walk_fn(void *arg, uint64_t idx, const struct meta_chunk *c)
{
	struct walk_log *w = arg;

	if (w->stop_after && w->n == w->stop_after)
		return 42;
	if (w->n == 64)
		return -E2BIG;
	w->idx[w->n] = idx;
	w->c[w->n] = *c;
	w->n++;
	return 0;
}

START_TEST(test_chunk_records)
{
	static const uint64_t idxs[] = {0, 1, 5, 100, UINT64_MAX >> 1};
	struct meta_chunk c, got;
	struct walk_log w;
	struct meta_txn t;
	uint64_t ino = 50, idx, next;

	ck_assert_int_eq(meta_begin(m, &t, true), 0);
	for (size_t i = 0; i < SFS_ARRAY_SIZE(idxs); i++) {
		c = (struct meta_chunk){.id = 1000 + i, .len = 10 * i + 1};
		ck_assert_int_eq(meta_chunk_put(&t, ino, idxs[i], &c), 0);
	}
	/* Neighbours on both sides. */
	c = (struct meta_chunk){.id = 7, .len = 7};
	ck_assert_int_eq(meta_chunk_put(&t, ino - 1, 3, &c), 0);
	ck_assert_int_eq(meta_chunk_put(&t, ino + 1, 0, &c), 0);
	ck_assert_int_eq(meta_commit(&t), 0);

	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	ck_assert_int_eq(meta_chunk_get(&t, ino, 5, &got), 0);
	ck_assert_uint_eq(got.id, 1002);
	ck_assert_uint_eq(got.len, 21);
	ck_assert_int_eq(meta_chunk_get(&t, ino, 2, &got), -ENOENT);
	ck_assert_int_eq(meta_chunk_get(&t, ino + 2, 0, &got), -ENOENT);

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(meta_chunk_walk(&t, ino, 0, UINT64_MAX, walk_fn, &w),
			 0);
	ck_assert_uint_eq(w.n, SFS_ARRAY_SIZE(idxs));
	for (size_t i = 0; i < w.n; i++) {
		ck_assert_uint_eq(w.idx[i], idxs[i]);
		ck_assert_uint_eq(w.c[i].id, 1000 + i);
		ck_assert_uint_eq(w.c[i].len, 10 * i + 1);
	}
	/* [from, to) */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(meta_chunk_walk(&t, ino, 1, 100, walk_fn, &w), 0);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_uint_eq(w.idx[0], 1);
	ck_assert_uint_eq(w.idx[1], 5);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(meta_chunk_walk(&t, ino, 6, 100, walk_fn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_int_eq(meta_chunk_walk(&t, ino, 5, 5, walk_fn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	/* Stopped by the callback, whose value comes back. */
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	ck_assert_int_eq(meta_chunk_walk(&t, ino, 0, UINT64_MAX, walk_fn, &w),
			 42);
	ck_assert_uint_eq(w.n, 2);
	/* An inode without chunks, between two with. */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(meta_chunk_walk(&t, ino - 2, 0, UINT64_MAX, walk_fn,
					 &w),
			 0);
	ck_assert_uint_eq(w.n, 0);

	ck_assert_int_eq(meta_chunk_next(&t, ino, 0, &idx, &got), 0);
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(meta_chunk_next(&t, ino, 2, &idx, &got), 0);
	ck_assert_uint_eq(idx, 5);
	ck_assert_uint_eq(got.id, 1002);
	ck_assert_int_eq(meta_chunk_next(&t, ino, 101, &idx, NULL), 0);
	ck_assert_uint_eq(idx, UINT64_MAX >> 1);
	ck_assert_int_eq(meta_chunk_next(&t, ino, (UINT64_MAX >> 1) + 1, &idx,
					 &got),
			 -ENOENT);
	ck_assert_int_eq(meta_chunk_next(&t, ino + 2, 0, &idx, &got),
			 -ENOENT);
	meta_abort(&t);

	ck_assert_int_eq(meta_begin(m, &t, true), 0);
	ck_assert_int_eq(meta_chunk_del(&t, ino, 5), 0);
	ck_assert_int_eq(meta_chunk_del(&t, ino, 5), -ENOENT);
	ck_assert_int_eq(meta_chunk_del(&t, ino, 6), -ENOENT);
	ck_assert_int_eq(meta_chunk_next(&t, ino, 2, &idx, &got), 0);
	ck_assert_uint_eq(idx, 100);
	/* Overwrite a record. */
	c = (struct meta_chunk){.id = 77, .len = 65536};
	ck_assert_int_eq(meta_chunk_put(&t, ino, 100, &c), 0);
	ck_assert_int_eq(meta_commit(&t), 0);
	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	ck_assert_int_eq(meta_chunk_get(&t, ino, 100, &got), 0);
	ck_assert_uint_eq(got.id, 77);
	ck_assert_uint_eq(got.len, 65536);
	ck_assert_int_eq(meta_chunk_get(&t, ino - 1, 3, &got), 0);
	ck_assert_int_eq(meta_chunk_get(&t, ino + 1, 0, &got), 0);

	/* The chunk id counter only goes up. */
	ck_assert_int_eq(meta_chunk_id_get(&t, &next), 0);
	ck_assert_uint_eq(next, 1);
	meta_abort(&t);
	ck_assert_int_eq(meta_begin(m, &t, true), 0);
	ck_assert_int_eq(meta_chunk_id_raise(&t, 500), 0);
	ck_assert_int_eq(meta_chunk_id_raise(&t, 300), 0);
	ck_assert_int_eq(meta_chunk_id_get(&t, &next), 0);
	ck_assert_uint_eq(next, 500);
	ck_assert_int_eq(meta_commit(&t), 0);
}
END_TEST

START_TEST(test_orphans)
{
	struct meta_txn t;
	uint64_t ino;

	ck_assert_uint_eq(orphan_from(0), 0);
	ck_assert_int_eq(meta_begin(m, &t, true), 0);
	ck_assert_int_eq(meta_orphan_put(&t, 10), 0);
	ck_assert_int_eq(meta_orphan_put(&t, 5), 0);
	ck_assert_int_eq(meta_orphan_put(&t, 7), 0);
	ck_assert_int_eq(meta_orphan_put(&t, 7), 0);
	ck_assert_int_eq(meta_orphan_put(&t, 1ull << 40), 0);
	ck_assert_int_eq(meta_commit(&t), 0);
	ck_assert_uint_eq(orphan_from(0), 5);
	ck_assert_uint_eq(orphan_from(5), 5);
	ck_assert_uint_eq(orphan_from(6), 7);
	ck_assert_uint_eq(orphan_from(8), 10);
	ck_assert_uint_eq(orphan_from(11), 1ull << 40);
	ck_assert_uint_eq(orphan_from((1ull << 40) + 1), 0);
	ck_assert_int_eq(meta_begin(m, &t, true), 0);
	ck_assert_int_eq(meta_orphan_del(&t, 7), 0);
	ck_assert_int_eq(meta_orphan_next(&t, 6, &ino), 0);
	ck_assert_uint_eq(ino, 10);
	ck_assert_int_eq(meta_commit(&t), 0);
	ck_assert_uint_eq(orphan_from(6), 10);
}
END_TEST

/* ---- reclaim ---- */

struct drops {
	size_t n, cap;
	uint64_t *ids;
};

static void drop_fn(void *arg, uint64_t id)
{
	struct drops *d = arg;

	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->ids = realloc(d->ids, d->cap * sizeof(*d->ids));
	}
	d->ids[d->n++] = id;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct put_chunks {
	uint64_t ino, id0;
	size_t n;
};

static int put_chunks_fn(struct meta_txn *t, void *arg)
{
	struct put_chunks *p = arg;

	for (size_t i = 0; i < p->n; i++) {
		struct meta_chunk c = {.id = p->id0 + i, .len = 4096};
		int r = meta_chunk_put(t, p->ino, i * 3, &c);
		if (r < 0)
			return r;
	}
	return 0;
}

static void put_chunks(uint64_t ino, uint64_t id0, size_t n)
{
	struct put_chunks p = {ino, id0, n};

	ck_assert_int_eq(meta_update(m, put_chunks_fn, &p), 0);
}

static size_t count_chunks(uint64_t ino)
{
	struct meta_txn t;
	uint64_t idx, from = 0;
	size_t n = 0;

	ck_assert_int_eq(meta_begin(m, &t, false), 0);
	while (meta_chunk_next(&t, ino, from, &idx, NULL) == 0) {
		n++;
		from = idx + 1;
	}
	meta_abort(&t);
	return n;
}

START_TEST(test_reclaim)
{
	struct drops d = {0};
	struct meta_inode in;
	uint64_t f, before, after, l, ino;
	char buf[16];
	bool gone;

	before = unit_mkfile(m, ROOT, "before");
	f = unit_mkfile(m, ROOT, "f");
	after = unit_mkfile(m, ROOT, "after");
	put_chunks(before, 100, 3);
	put_chunks(f, 1000, 10);
	put_chunks(after, 2000, 3);
	ck_assert_int_eq(xattr_put(before, "user.a", "1", 1), 0);
	ck_assert_int_eq(xattr_put(f, "user.a", "1", 1), 0);
	ck_assert_int_eq(xattr_put(f, "user.b", "2", 1), 0);
	ck_assert_int_eq(xattr_put(f, "trusted.c", "3", 1), 0);
	ck_assert_int_eq(xattr_put(after, "user.a", "1", 1), 0);

	ck_assert_int_eq(meta_remove(m, ROOT, "f", false, &ino, &gone), 0);
	ck_assert(gone);
	ck_assert_uint_eq(orphan_from(0), f);
	ck_assert_int_eq(meta_reclaim(m, f, drop_fn, &d), 0);

	ck_assert_uint_eq(d.n, 10);
	qsort(d.ids, d.n, sizeof(d.ids[0]), cmp_u64);
	for (size_t i = 0; i < d.n; i++)
		ck_assert_uint_eq(d.ids[i], 1000 + i);
	ck_assert_int_eq(unit_inode_get(m, f, &in), -ENOENT);
	ck_assert_uint_eq(count_chunks(f), 0);
	ck_assert_int_eq(xattr_list(f, NULL, 0), 0);
	ck_assert_int_eq(xattr_get(f, "user.a", buf, sizeof(buf)), -ENODATA);
	ck_assert_uint_eq(orphan_from(0), 0);
	/* The neighbours keep everything. */
	ck_assert_uint_eq(count_chunks(before), 3);
	ck_assert_uint_eq(count_chunks(after), 3);
	ck_assert_int_eq(xattr_get(before, "user.a", NULL, 0), 1);
	ck_assert_int_eq(xattr_get(after, "user.a", NULL, 0), 1);
	ck_assert_int_eq(unit_inode_get(m, before, &in), 0);
	ck_assert_int_eq(unit_inode_get(m, after, &in), 0);

	/* The last inode's records are the last in their databases. */
	d.n = 0;
	ck_assert_int_eq(do_remove(ROOT, "after", false, &gone), 0);
	ck_assert(gone);
	ck_assert_int_eq(meta_reclaim(m, after, drop_fn, &d), 0);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_uint_eq(count_chunks(after), 0);
	ck_assert_int_eq(xattr_list(after, NULL, 0), 0);
	ck_assert_uint_eq(count_chunks(before), 3);

	/* A symlink's target goes too. */
	{
		struct meta_new nw = {.mode = S_IFLNK | 0777,
				      .symlink = "target"};
		struct meta_inode attr;
		struct meta_txn t;
		ck_assert_int_eq(meta_create(m, ROOT, "ln", &nw, &l, &attr), 0);
		ck_assert_int_eq(do_remove(ROOT, "ln", false, &gone), 0);
		ck_assert_int_eq(meta_reclaim(m, l, drop_fn, &d), 0);
		ck_assert_int_eq(meta_begin(m, &t, false), 0);
		ck_assert_int_eq(meta_symlink_get(&t, l, buf, sizeof(buf)),
				 -ENOENT);
		meta_abort(&t);
	}
	free(d.ids);
}
END_TEST

/* More chunks than one reclaim transaction takes. */
START_TEST(test_reclaim_many)
{
	enum { N = 9000 };
	struct drops d = {0};
	struct meta_inode in;
	uint64_t f, g;
	bool gone;

	f = unit_mkfile(m, ROOT, "f");
	g = unit_mkfile(m, ROOT, "g");
	put_chunks(f, 1, N);
	put_chunks(g, N + 1, 5);
	ck_assert_int_eq(do_remove(ROOT, "f", false, &gone), 0);
	ck_assert(gone);
	ck_assert_int_eq(meta_reclaim(m, f, drop_fn, &d), 0);
	ck_assert_uint_eq(d.n, N);
	qsort(d.ids, d.n, sizeof(d.ids[0]), cmp_u64);
	for (size_t i = 0; i < d.n; i++)
		ck_assert_uint_eq(d.ids[i], 1 + i);
	ck_assert_uint_eq(count_chunks(f), 0);
	ck_assert_uint_eq(count_chunks(g), 5);
	ck_assert_int_eq(unit_inode_get(m, f, &in), -ENOENT);
	ck_assert_uint_eq(orphan_from(0), 0);
	free(d.ids);
}
END_TEST

/* ---- map growth, read-only ---- */

/* Counts the entries of a listing, @page per call. */
struct counter {
	size_t page, taken;
	uint64_t last;
	bool bad_order;
};

static int count_fn(void *arg, const char *name, size_t len, uint64_t ino,
		    uint32_t mode, uint64_t cookie)
{
	struct counter *c = arg;

	(void)name;
	(void)len;
	(void)ino;
	(void)mode;
	if (c->taken == c->page)
		return 1;
	if (cookie <= c->last || cookie < META_COOKIE_FIRST)
		c->bad_order = true;
	c->last = cookie;
	c->taken++;
	return 0;
}

#define MAP_INITIAL (16ull << 20)
#define NDIRENTS 200000

START_TEST(test_grow_dirents)
{
	struct counter c = {.page = 1000};
	char name[32];
	uint64_t d, first = 0, ino;
	int r, total = 0;

	d = unit_mkdir(m, ROOT, "d");
	for (unsigned i = 0; i < NDIRENTS; i++) {
		snprintf(name, sizeof(name), "entry-number-%07u", i);
		r = create(d, name, S_IFREG | 0644, &ino);
		ck_assert_msg(r == 0, "create %s: %d", name, r);
		if (i == 0)
			first = ino;
		else
			ck_assert_uint_eq(ino, first + i);
	}
	ck_assert_uint_gt(m->mapsize, MAP_INITIAL);
	unit_fs_reopen(&fs);
	ck_assert_int_gt(unit_file_size(unit_path("meta/data.mdb")),
			 MAP_INITIAL);
	for (unsigned i = 0; i < NDIRENTS; i++) {
		snprintf(name, sizeof(name), "entry-number-%07u", i);
		r = unit_lookup(m, d, name, &ino);
		ck_assert_msg(r == 0, "lookup %s: %d", name, r);
		ck_assert_uint_eq(ino, first + i);
	}
	ck_assert_int_eq(unit_inode_get(m, first + NDIRENTS - 1,
					 &(struct meta_inode){0}),
			 0);
	/* Count them through the listing, a page at a time. */
	do {
		struct meta_txn t;
		ck_assert_int_eq(meta_begin(m, &t, false), 0);
		c.taken = 0;
		r = meta_dir_list(&t, d, c.last, count_fn, &c);
		meta_abort(&t);
		ck_assert(!c.bad_order);
		total += c.taken;
	} while (r == 1);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(total, NDIRENTS);
	/* Still writable after the growth and reopen. */
	unit_mkfile(m, d, "one-more");
}
END_TEST

START_TEST(test_grow_xattrs)
{
	enum { NX = 48, VLEN = 512 << 10 };
	char *val = malloc(VLEN), *got = malloc(VLEN), name[32];
	uint64_t f = unit_mkfile(m, ROOT, "f");

	for (int i = 0; i < NX; i++) {
		unit_fill(val, VLEN, 0, i);
		snprintf(name, sizeof(name), "user.big%02d", i);
		ck_assert_int_eq(xattr_put(f, name, val, VLEN), 0);
	}
	ck_assert_uint_gt(m->mapsize, MAP_INITIAL);
	unit_fs_reopen(&fs);
	for (int i = 0; i < NX; i++) {
		unit_fill(val, VLEN, 0, i);
		snprintf(name, sizeof(name), "user.big%02d", i);
		memset(got, 0, VLEN);
		ck_assert_int_eq(xattr_get(f, name, got, VLEN), VLEN);
		ck_assert_msg(memcmp(got, val, VLEN) == 0, "%s differs", name);
	}
	free(val);
	free(got);
}
END_TEST

START_TEST(test_readonly)
{
	struct meta_inode attr;
	struct meta_txn t;
	char msg[256];
	uint64_t d, f, ino;
	int r;

	d = unit_mkdir(m, ROOT, "d");
	f = unit_mkfile(m, d, "f");
	ck_assert_int_eq(xattr_put(f, "user.a", "1", 1), 0);
	put_chunks(f, 10, 2);
	unit_fs_close(&fs);

	r = store_open(&fs.s, unit_dir, 0, STORE_RDONLY, msg, sizeof(msg));
	ck_assert_msg(r == 0, "store_open: %d (%s)", r, msg);
	fs.store_open = true;
	r = meta_open(m, &fs.s, META_RDONLY, msg, sizeof(msg));
	ck_assert_msg(r == 0, "meta_open: %d (%s)", r, msg);
	fs.meta_open = true;
	ck_assert(m->readonly);
	ck_assert_uint_eq(lookup(ROOT, "d"), d);
	ck_assert_uint_eq(lookup(d, "f"), f);
	ck_assert_uint_eq(nlink_of(ROOT), 3);
	ck_assert_int_eq(xattr_get(f, "user.a", NULL, 0), 1);
	ck_assert_uint_eq(count_chunks(f), 2);
	{
		struct listing *l = listing_new(0);
		list_page(ROOT, l);
		ck_assert_uint_eq(l->n, 1);
		listing_free(l);
	}
	/* Nothing can be written. */
	ck_assert_int_eq(create(ROOT, "new", S_IFREG | 0644, &ino), -EROFS);
	ck_assert_int_eq(meta_link(m, f, ROOT, "l", &attr), -EROFS);
	ck_assert_int_eq(xattr_put(f, "user.b", "1", 1), -EROFS);
	ck_assert_int_ne(meta_begin(m, &t, true), 0);
	ck_assert_int_eq(meta_sync(m), 0);
	unit_fs_close(&fs);

	/* And the store is as it was. */
	unit_fs_open(&fs, 0);
	ck_assert_uint_eq(lookup(d, "f"), f);
	ck_assert(!exists(ROOT, "new"));
}
END_TEST

/* The metadata cannot grow because the backing is full: writes fail with
 * ENOSPC, cleanly, and everything committed stays. */
START_TEST(test_grow_enospc)
{
	char name[32];
	uint64_t d, ino;
	unsigned made = 0;
	int r = 0;

	d = unit_mkdir(m, ROOT, "d");
	ck_assert_int_eq(backing_fault_parse(&fs.s.b, "fallocate ENOSPC 0 -1"),
			 0);
	while (made < 1000000) {
		snprintf(name, sizeof(name), "entry-number-%07u", made);
		r = create(d, name, S_IFREG | 0644, &ino);
		if (r < 0)
			break;
		made++;
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_uint_gt(made, 1000);
	ck_assert_uint_eq(m->mapsize, MAP_INITIAL);
	/* The failed create left nothing behind; reads go on. */
	snprintf(name, sizeof(name), "entry-number-%07u", made);
	ck_assert(!exists(d, name));
	for (unsigned i = 0; i < made; i += 97) {
		snprintf(name, sizeof(name), "entry-number-%07u", i);
		ck_assert_int_eq(unit_lookup(m, d, name, &ino), 0);
	}
	ck_assert_uint_eq(nlink_of(d), 2);

	/* Room again: it grows. */
	backing_fault_clear(&fs.s.b);
	for (unsigned i = made; i < made + 1000; i++) {
		snprintf(name, sizeof(name), "entry-number-%07u", i);
		ck_assert_int_eq(create(d, name, S_IFREG | 0644, &ino), 0);
	}
	ck_assert_uint_gt(m->mapsize, MAP_INITIAL);
	unit_fs_reopen(&fs);
	for (unsigned i = 0; i < made + 1000; i += 101) {
		snprintf(name, sizeof(name), "entry-number-%07u", i);
		ck_assert_int_eq(unit_lookup(m, d, name, &ino), 0);
	}
}
END_TEST

struct big_xattrs {
	uint64_t ino;
	int n;
	const char *val;
	size_t len;
};

static int big_xattrs_fn(struct meta_txn *t, void *arg)
{
	struct big_xattrs *x = arg;
	char name[32];

	snprintf(name, sizeof(name), "user.big%03d", x->n);
	return meta_xattr_put(t, x->ino, name, x->val, x->len);
}

/* Two stores open in one process: each grows its own metadata file. */
START_TEST(test_grow_two_stores)
{
	struct store sa, sb;
	struct meta ma, mb;
	char msg[256], *val;
	off_t b_before;
	struct big_xattrs x = {.ino = ROOT, .len = 512 << 10};
	int r;

	unit_fs_close(&fs);
	ck_assert_int_eq(mkdir(unit_path("a"), 0755), 0);
	ck_assert_int_eq(mkdir(unit_path("b"), 0755), 0);
	r = store_open(&sa, unit_path("a"), STORE_CHUNK_DEFAULT,
		       STORE_CREATE | STORE_LOCK, msg, sizeof(msg));
	ck_assert_msg(r == 0, "%s", msg);
	r = store_open(&sb, unit_path("b"), STORE_CHUNK_DEFAULT,
		       STORE_CREATE | STORE_LOCK, msg, sizeof(msg));
	ck_assert_msg(r == 0, "%s", msg);
	ck_assert_int_eq(meta_open(&ma, &sa, 0, msg, sizeof(msg)), 0);
	ck_assert_int_eq(meta_open(&mb, &sb, 0, msg, sizeof(msg)), 0);
	b_before = unit_file_size(unit_path("b/meta/data.mdb"));

	val = calloc(1, x.len);
	x.val = val;
	for (x.n = 0; x.n < 48; x.n++) {
		r = meta_update(&ma, big_xattrs_fn, &x);
		if (r < 0)
			break;
	}
	free(val);
	meta_close(&mb, true);
	meta_close(&ma, true);
	store_close(&sb);
	store_close(&sa);
	ck_assert_int_eq(r, 0);
	ck_assert_int_gt(unit_file_size(unit_path("a/meta/data.mdb")),
			 MAP_INITIAL);
	ck_assert_int_eq(unit_file_size(unit_path("b/meta/data.mdb")),
			 b_before);
}
END_TEST

/* Copy file @from to @to. */
static void copy_file(const char *from, const char *to)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	ck_assert_int_ge(in, 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	close(out);
}

/* A damaged or truncated data.mdb is refused, not mapped. */
START_TEST(test_damaged_mdb)
{
	const char *mdb = unit_path("meta/data.mdb");
	char msg[256], saved[PATH_MAX], junk[8192];
	uint64_t d;
	int fd;

	snprintf(saved, sizeof(saved), "%s", unit_path("saved.mdb"));
	d = unit_mkdir(m, ROOT, "d");
	for (int i = 0; i < 300; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		unit_mkfile(m, d, name);
	}
	unit_fs_close_layers(&fs);
	copy_file(mdb, saved);

	/* Cut short: refused before it is mapped, and left as it is. */
	ck_assert_int_eq(truncate(mdb, 8192), 0);
	msg[0] = 0;
	ck_assert_int_eq(meta_open(m, &fs.s, META_RDONLY, msg, sizeof(msg)),
			 -EUCLEAN);
	ck_assert_str_ne(msg, "");
	ck_assert_int_eq(meta_open(m, &fs.s, 0, msg, sizeof(msg)), -EUCLEAN);
	ck_assert_int_eq(unit_file_size(mdb), 8192);
	/* Its headers overwritten. */
	copy_file(saved, mdb);
	memset(junk, 0xab, sizeof(junk));
	fd = open(mdb, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), 0), sizeof(junk));
	close(fd);
	msg[0] = 0;
	ck_assert_int_eq(meta_open(m, &fs.s, 0, msg, sizeof(msg)), -EUCLEAN);
	ck_assert_str_ne(msg, "");

	/* Put back, it opens with everything in it. */
	copy_file(saved, mdb);
	unit_fs_open_layers(&fs, 0);
	ck_assert_uint_eq(lookup(ROOT, "d"), d);
	ck_assert(exists(d, "f299"));
}
END_TEST

/* ---- ACLs on create ---- */

struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_MASK 0x10
#define TAG_OTHER 0x20

/* The xattr form of an ACL (version 2, little-endian as on x86). */
static size_t acl_value(char *buf, const struct acl_ent *e, size_t n)
{
	uint32_t version = 2;

	memcpy(buf, &version, 4);
	memcpy(buf + 4, e, n * sizeof(*e));
	return 4 + n * sizeof(*e);
}

static int create_acl(uint64_t dir, const char *name, uint32_t mode,
		      uint32_t umask, bool acl, uint64_t *ino)
{
	struct meta_new nw = {.mode = mode,
			      .uid = 1000,
			      .gid = 1000,
			      .acl = acl,
			      .umask = umask};
	struct meta_inode attr;

	if (S_ISLNK(mode))
		nw.symlink = "target";
	return meta_create(m, dir, name, &nw, ino, &attr);
}

START_TEST(test_acl_create)
{
	static const struct acl_ent full[] = {
		{TAG_USER_OBJ, 7, 0}, {TAG_USER, 7, 1234},
		{TAG_GROUP_OBJ, 5, 0}, {TAG_MASK, 7, 0},
		{TAG_OTHER, 5, 0},
	};
	static const struct acl_ent minimal[] = {
		{TAG_USER_OBJ, 7, 0}, {TAG_GROUP_OBJ, 5, 0}, {TAG_OTHER, 0, 0},
	};
	char dacl[64], got[64];
	struct acl_ent want[5];
	uint64_t plain, withacl, mini, f, sub, l;
	size_t dlen;

	plain = unit_mkdir(m, ROOT, "plain");
	withacl = unit_mkdir(m, ROOT, "acl");
	mini = unit_mkdir(m, ROOT, "mini");
	dlen = acl_value(dacl, full, 5);
	ck_assert_int_eq(xattr_put(withacl, "system.posix_acl_default", dacl,
				   dlen),
			 0);
	ck_assert_int_eq(xattr_put(mini, "system.posix_acl_default", dacl,
				   acl_value(dacl, minimal, 3)),
			 0);
	dlen = acl_value(dacl, full, 5);

	/* No default ACL: the umask applies. */
	ck_assert_int_eq(create_acl(plain, "f", S_IFREG | 0666, 022, true, &f),
			 0);
	ck_assert_uint_eq(unit_inode(m, f).mode, S_IFREG | 0644);
	ck_assert_int_eq(xattr_get(f, "system.posix_acl_access", NULL, 0),
			 -ENODATA);
	/* Without -o acl the mode is taken as given. */
	ck_assert_int_eq(create_acl(withacl, "raw", S_IFREG | 0666, 022, false,
				    &f),
			 0);
	ck_assert_uint_eq(unit_inode(m, f).mode, S_IFREG | 0666);
	ck_assert_int_eq(xattr_get(f, "system.posix_acl_access", NULL, 0),
			 -ENODATA);

	/* A default ACL replaces the umask and becomes the access ACL. */
	ck_assert_int_eq(create_acl(withacl, "f", S_IFREG | 0666, 077, true,
				    &f),
			 0);
	ck_assert_uint_eq(unit_inode(m, f).mode, S_IFREG | 0664);
	memcpy(want, full, sizeof(want));
	want[0].perm = 6; /* user_obj & mode */
	want[3].perm = 6; /* mask & mode */
	want[4].perm = 4; /* other & mode */
	ck_assert_int_eq(xattr_get(f, "system.posix_acl_access", got,
				   sizeof(got)),
			 (int)dlen);
	ck_assert(memcmp(got + 4, want, sizeof(want)) == 0);
	/* Files get no default ACL. */
	ck_assert_int_eq(xattr_get(f, "system.posix_acl_default", NULL, 0),
			 -ENODATA);

	/* Directories get both, the default one unchanged. */
	ck_assert_int_eq(create_acl(withacl, "sub", S_IFDIR | 0777, 077, true,
				    &sub),
			 0);
	ck_assert_uint_eq(unit_inode(m, sub).mode, S_IFDIR | 0775);
	ck_assert_int_eq(xattr_get(sub, "system.posix_acl_default", got,
				   sizeof(got)),
			 (int)dlen);
	ck_assert(memcmp(got, dacl, dlen) == 0);
	ck_assert_int_eq(xattr_get(sub, "system.posix_acl_access", NULL, 0),
			 (int)dlen);

	/* A minimal default ACL gives mode bits only. */
	ck_assert_int_eq(create_acl(mini, "f", S_IFREG | 0666, 0, true, &f),
			 0);
	ck_assert_uint_eq(unit_inode(m, f).mode, S_IFREG | 0640);
	ck_assert_int_eq(xattr_get(f, "system.posix_acl_access", NULL, 0),
			 -ENODATA);

	/* Symlinks keep 0777 whatever the umask or ACL. */
	ck_assert_int_eq(create_acl(withacl, "ln", S_IFLNK | 0777, 077, true,
				    &l),
			 0);
	ck_assert_uint_eq(unit_inode(m, l).mode, S_IFLNK | 0777);
	ck_assert_int_eq(create_acl(plain, "ln", S_IFLNK | 0777, 077, true,
				    &l),
			 0);
	ck_assert_uint_eq(unit_inode(m, l).mode, S_IFLNK | 0777);
}
END_TEST

static Suite *meta_suite(void)
{
	Suite *s = suite_create("meta");
	TCase *tc = unit_tcase("records", meta_setup, meta_teardown);

	tcase_add_test(tc, test_root);
	tcase_add_test(tc, test_update);
	tcase_add_test(tc, test_unclean);
	tcase_add_test(tc, test_persist);
	tcase_add_test(tc, test_xattr);
	tcase_add_test(tc, test_chunk_records);
	tcase_add_test(tc, test_orphans);
	tcase_add_test(tc, test_reclaim);
	tcase_add_test(tc, test_reclaim_many);
	suite_add_tcase(s, tc);

	tc = unit_tcase("namespace", meta_setup, meta_teardown);
	tcase_add_test(tc, test_create_kinds);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_create_name_length);
	tcase_add_test(tc, test_dir_nlink);
	tcase_add_test(tc, test_setgid);
	tcase_add_test(tc, test_link);
	tcase_add_test(tc, test_unlink);
	tcase_add_test(tc, test_remove_errors);
	tcase_add_test(tc, test_acl_create);
	suite_add_tcase(s, tc);

	tc = unit_tcase("rename", meta_setup, meta_teardown);
	tcase_add_test(tc, test_rename_same_dir);
	tcase_add_test(tc, test_rename_across_dirs);
	tcase_add_test(tc, test_rename_replace_file);
	tcase_add_test(tc, test_rename_noreplace);
	tcase_add_test(tc, test_rename_exchange);
	tcase_add_test(tc, test_rename_exchange_subtree);
	tcase_add_test(tc, test_rename_dirs);
	tcase_add_test(tc, test_rename_hardlinks);
	suite_add_tcase(s, tc);

	tc = unit_tcase("readdir", meta_setup, meta_teardown);
	tcase_add_test(tc, test_dir_list);
	tcase_add_test(tc, test_dir_list_cookie_stable);
	tcase_add_test(tc, test_dir_list_mutating);
	tcase_add_test(tc, test_dir_cookie_collision);
	suite_add_tcase(s, tc);

	tc = unit_tcase("map", meta_setup, meta_teardown);
	tcase_add_test(tc, test_grow_dirents);
	tcase_add_test(tc, test_grow_xattrs);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_grow_enospc);
	tcase_add_test(tc, test_grow_two_stores);
	tcase_add_test(tc, test_damaged_mdb);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(meta_suite());
}
