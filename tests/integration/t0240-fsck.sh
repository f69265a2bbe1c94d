#!/bin/bash
# t0240-fsck: fsck.sparsefs finds what is wrong with an offline store,
# repairs what it can, and never writes with -n.
#
# A store is built with the daemon (files across chunks, a directory tree,
# hard links, a symlink, xattrs), unmounted, and copied for each case; the
# copy is damaged offline (chunk files by hand, metadata with python3-lmdb)
# and then:
#   - clean store: -n exits 0 and leaves every byte and mtime of BACKING as
#     it was (meta/data.mdb and meta/lock.mdb included); -v names the
#     passes; -h, -V, bad usage;
#   - a stray chunk file: -n exits 4 and lists it, -y (and -p) exits 1 and
#     deletes it;
#   - a missing chunk file: reported, -y drops the record (exit 1), the
#     file keeps its size and reads zeros there;
#   - the entry of a file removed: -y moves the inode to /lost+found as
#     #INO, where it shows after a mount with its data and nlink 1;
#   - one name of a hard-linked file removed: the link count is corrected;
#   - the entry of a directory that holds files removed: the directory
#     and everything in it come back under /lost+found, with right link
#     counts (rm -r works on it afterwards);
#   - a wrong nlink (file, directory, the root), a wrong "spent"
#     (st_blocks): fixed;
#   - an entry naming an inode that does not exist: removed;
#   - a chunk file shorter than its record: the record is cut to it;
#   - a chunk record past the end of file: dropped, and a later truncate
#     up reads zeros there;
#   - a file unlinked while open (an orphan): freed by -y, and -n does not
#     call its xattrs those of "an inode that does not exist";
#   - a mounted store: exit 8, nothing written.
# After each -y: a second -n exits 0, the store mounts, shows the data,
# and is still clean after that unmount.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

FSCK=${FSCK:-$(dirname -- "$SPARSEFS")/fsck.sparsefs}
[ -x "$FSCK" ] || fail "fsck.sparsefs not built (FSCK=$FSCK)"
command -v setfattr >/dev/null 2>&1 || skip "setfattr is not installed (package attr)"
PY=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import lmdb' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip "no python3 with the lmdb module (package python3-lmdb)"
T=$SFS_TMP
M=$T/m
P=$T/pristine
MIB=$((1 << 20))
mkdir -p "$M" "$P"

# --- the metadata tool ------------------------------------------------------------
cat >"$T/meta.py" <<'EOF'
# meta.py CMD BACKING ARGS...: read and damage a store's metadata offline.
import struct, sys
import lmdb

INODE = struct.Struct("=IIIIQQQQQqqqqqq")  # struct meta_inode, 104 bytes
CHUNK = struct.Struct("=QII")              # id, len, flags
DIRENT = struct.Struct("=QII")             # ino, mode, pad
be64 = struct.Struct(">Q")

cmd, backing, args = sys.argv[1], sys.argv[2], sys.argv[3:]
env = lmdb.open(backing + "/meta", max_dbs=8, map_size=1 << 30,
                subdir=True, readonly=cmd in ("ino", "chunks", "inode"))
db = {n: env.open_db(n.encode(), create=False) for n in
      ("inodes", "dirents", "symlinks", "chunks", "xattrs", "orphans",
       "info")}

def dirent_key(txn, dir_ino, name):
    """The key of NAME in directory DIR_INO, or None."""
    prefix = be64.pack(dir_ino)
    cur = txn.cursor(db["dirents"])
    if cur.set_range(prefix):
        for k, v in cur:
            if k[:8] != prefix:
                break
            if k[16:] == name:
                return k, DIRENT.unpack(v)[0]
    return None, None

def resolve(txn, path):
    """(parent ino, key of the last entry, ino) of a path like /a/b."""
    ino, parent, key = 1, 1, None
    for part in [p for p in path.split("/") if p]:
        parent = ino
        key, ino = dirent_key(txn, ino, part.encode())
        if key is None:
            sys.exit("meta.py: %s: no such entry" % path)
    return parent, key, ino

def get_inode(txn, ino):
    return list(INODE.unpack(txn.get(be64.pack(ino), db=db["inodes"])))

def put_inode(txn, ino, f):
    txn.put(be64.pack(ino), INODE.pack(*f), db=db["inodes"])

with env.begin(write=cmd not in ("ino", "chunks", "inode")) as txn:
    if cmd == "ino":             # ino PATH
        print(resolve(txn, args[0])[2])
    elif cmd == "inode":         # inode PATH: mode uid gid nlink rdev size spent
        print(*get_inode(txn, resolve(txn, args[0])[2])[:7])
    elif cmd == "chunks":        # chunks PATH: "idx id len" lines
        ino = resolve(txn, args[0])[2]
        cur = txn.cursor(db["chunks"])
        if cur.set_range(be64.pack(ino)):
            for k, v in cur:
                if be64.unpack(k[:8])[0] != ino:
                    break
                cid, ln, _ = CHUNK.unpack(v)
                print(be64.unpack(k[8:16])[0], cid, ln)
    elif cmd == "deldirent":     # deldirent PATH
        _, key, _ = resolve(txn, args[0])
        txn.delete(key, db=db["dirents"])
    elif cmd == "setnlink":      # setnlink PATH N
        ino = resolve(txn, args[0])[2]
        f = get_inode(txn, ino)
        f[3] = int(args[1])
        put_inode(txn, ino, f)
    elif cmd == "setspent":      # setspent PATH N
        ino = resolve(txn, args[0])[2]
        f = get_inode(txn, ino)
        f[6] = int(args[1])
        put_inode(txn, ino, f)
    elif cmd == "addchunk":      # addchunk PATH IDX ID LEN
        ino = resolve(txn, args[0])[2]
        txn.put(be64.pack(ino) + be64.pack(int(args[1])),
                CHUNK.pack(int(args[2]), int(args[3]), 0), db=db["chunks"])
        nxt = struct.unpack("=Q", txn.get(b"next_chunk", db=db["info"]))[0]
        if int(args[2]) >= nxt:
            txn.put(b"next_chunk", struct.pack("=Q", int(args[2]) + 1),
                    db=db["info"])
    elif cmd == "orphan":        # orphan PATH: unlinked while open
        _, key, ino = resolve(txn, args[0])
        txn.delete(key, db=db["dirents"])
        f = get_inode(txn, ino)
        f[3] = 0
        put_inode(txn, ino, f)
        txn.put(be64.pack(ino), b"", db=db["orphans"])
    else:
        sys.exit("meta.py: unknown command " + cmd)
EOF

meta()
{
	"$PY" "$T/meta.py" "$@" || fail "meta.py $*"
}

# chunk_file_of BACKING ID: the path of chunk file ID (as chunk_path()).
chunk_file_of()
{
	printf '%s/data/%x/%03x/%03x' "$1" $(($2 >> 24)) $((($2 >> 12) & 0xfff)) $(($2 & 0xfff))
}

# --- the store ------------------------------------------------------------------
head -c $((3 * MIB + 5000)) /dev/urandom >"$T/a"
head -c 70000 /dev/urandom >"$T/b"
head -c $((2 * MIB)) /dev/urandom >"$T/x"
head -c 10000 /dev/urandom >"$T/z"
sfs_mount "$P" "$M"
cp "$T/a" "$M/a" && cp "$T/b" "$M/b" || fail "write a, b"
mkdir -p "$M/dir1/sub" "$M/empty" || fail "mkdir"
cp "$T/x" "$M/dir1/x" && cp "$T/z" "$M/dir1/sub/z" || fail "write x, z"
echo "linked" >"$M/hard1" && ln "$M/hard1" "$M/hard2" || fail "hard link"
ln -s a "$M/sym" || fail "symlink"
setfattr -n user.color -v blue "$M/b" || fail "setfattr b"
setfattr -n user.color -v red "$M/dir1" || fail "setfattr dir1"
sfs_umount "$M"

# Checksums of what the mount shows; every case compares the files it did
# not touch with this.
manifest()
{
	(cd "$1" && find . -path ./lost+found -prune -o -type f -print0 | sort -z |
		xargs -0 -r sha256sum)
}
sfs_mount "$P" "$M"
manifest "$M" >"$T/manifest"
A_BLOCKS=$(blocks_of "$M/a")
sfs_umount "$M"

# fresh NAME: a copy of the pristine store.
fresh()
{
	rm -rf "${T:?}/$1"
	cp -a "$P" "$T/$1" || fail "copy the store"
	echo "$T/$1"
}

# fsck_rc WHAT WANT OPTION BACKING [PATTERN...]: fsck.sparsefs exits WANT and
# its output matches every PATTERN (extended regex); -n must write nothing.
fsck_rc()
{
	local what=$1 want=$2 opt=$3 b=$4 rc=0 before after pat
	shift 4

	[ "$opt" != -n ] || before=$(dir_state "$b")
	timeout 60 "$FSCK" $opt "$b" >"$T/fsck.out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] ||
		fail "$what: fsck.sparsefs $opt exited $rc, expected $want: $(head -n 20 "$T/fsck.out")"
	for pat in "$@"; do
		grep -Eq -- "$pat" "$T/fsck.out" ||
			fail "$what: fsck.sparsefs $opt does not say /$pat/: $(head -n 20 "$T/fsck.out")"
	done
	if [ "$opt" = -n ]; then
		after=$(dir_state "$b")
		[ "$before" = "$after" ] ||
			fail "$what: fsck.sparsefs -n wrote to the store: $(diff <(echo "$before") <(echo "$after"))"
	fi
}

# after_repair WHAT BACKING [EXCLUDE_REGEX]: a second -n is clean; the
# store mounts; every file of the manifest not matching EXCLUDE_REGEX reads
# as before; the case's own check (function case_check, run with the mount
# live) passes; after the unmount -n is still clean.
after_repair()
{
	local what=$1 b=$2 exclude=${3:-^$}

	fsck_rc "$what: the second -n" 0 -n "$b" clean
	sfs_mount "$b" "$M"
	manifest "$M" | grep -Ev -- "$exclude" >"$T/manifest.now"
	grep -Ev -- "$exclude" "$T/manifest" | diff - "$T/manifest.now" >"$T/manifest.diff" ||
		fail "$what: after the repair the files read differently: $(cat "$T/manifest.diff")"
	case_check
	sfs_umount "$M"
	fsck_rc "$what: -n after a mount of the repaired store" 0 -n "$b" clean
}

case_check()
{
	:
}

# --- a clean store, usage ----------------------------------------------------------
b=$(fresh clean)
fsck_rc "clean store" 0 -n "$b" clean
fsck_rc "clean store, twice" 0 -n "$b" clean
fsck_rc "clean store, -f" 0 -f "$b" clean
before=$(dir_state "$b")
timeout 60 "$FSCK" -n -v "$b" >"$T/fsck.out" 2>&1 || fail "fsck -n -v on a clean store: $(cat "$T/fsck.out")"
for pass in 1 2 3 4 5 6 7; do
	grep -q "pass $pass" "$T/fsck.out" || fail "fsck -v does not name pass $pass: $(cat "$T/fsck.out")"
done
[ "$before" = "$(dir_state "$b")" ] || fail "fsck -n -v wrote to the store"
ok "clean store: -n exits 0 and changes no byte or mtime of BACKING (data.mdb, lock.mdb included); -v names the 7 passes"
"$FSCK" -h >"$T/h.out" 2>&1 || fail "fsck.sparsefs -h exited $?"
grep -qi usage "$T/h.out" || fail "fsck.sparsefs -h: no usage: $(cat "$T/h.out")"
"$FSCK" -V >"$T/v.out" 2>&1 || fail "fsck.sparsefs -V exited $?"
grep -q "fsck.sparsefs" "$T/v.out" || fail "fsck.sparsefs -V: $(cat "$T/v.out")"
rc=0; "$FSCK" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 8 "fsck.sparsefs without arguments"
rc=0; "$FSCK" -n "$b" "$b" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 8 "fsck.sparsefs with two stores"
rc=0; "$FSCK" -Q "$b" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 8 "fsck.sparsefs with an unknown option"
rc=0; "$FSCK" -n "$T/nonexistent" >"$T/fsck.out" 2>&1 || rc=$?
expect_eq "$rc" 8 "fsck.sparsefs on a missing directory"
ok "-h, -V, bad usage (exit 8)"

# --- a stray chunk file -------------------------------------------------------------
for opt in -y -p; do
	b=$(fresh stray$opt)
	mkdir -p "$b/data/0/abc"
	head -c 5000 /dev/urandom >"$b/data/0/abc/def"
	fsck_rc "stray chunk file" 4 -n "$b" "data/0/abc/def"
	fsck_rc "stray chunk file" 1 "$opt" "$b" "data/0/abc/def"
	[ ! -e "$b/data/0/abc/def" ] || fail "fsck $opt left the stray chunk file"
	after_repair "stray chunk file ($opt)" "$b"
	ok "a stray chunk file: -n exits 4 and lists it, $opt exits 1 and deletes it"
done

# --- a missing chunk file -----------------------------------------------------------
b=$(fresh missing)
read -r idx id len < <(meta chunks "$b" /a | sed -n 2p)
[ "$idx" = 1 ] || fail "no chunk 1 of /a: $(meta chunks "$b" /a)"
cf=$(chunk_file_of "$b" "$id")
[ -f "$cf" ] || fail "no chunk file $cf"
rm "$cf"
fsck_rc "missing chunk file" 4 -n "$b" "${cf#"$b"/}"
fsck_rc "missing chunk file" 1 -y "$b" "missing"
[ -z "$(meta chunks "$b" /a | awk '$1 == 1')" ] || fail "fsck -y kept the record of the missing chunk"
case_check()
{
	expect_eq "$(size_of "$M/a")" $((3 * MIB + 5000)) "size of a after its chunk 1 was lost"
	cmp -n $MIB "$T/a" "$M/a" || fail "chunk 0 of a"
	cmp -i $MIB:0 -n $MIB "$M/a" /dev/zero || fail "the lost chunk of a does not read zeros"
	cmp -i $((2 * MIB)) "$T/a" "$M/a" || fail "chunks 2, 3 of a"
	[ "$(blocks_of "$M/a")" -lt "$A_BLOCKS" ] ||
		fail "st_blocks of a did not go down with the lost chunk ($(blocks_of "$M/a"))"
}
after_repair "missing chunk file" "$b" '\./a$'
case_check() { :; }
ok "a missing chunk file: reported, -y drops its record (1), the file reads zeros there"

# --- the entry of a file removed ----------------------------------------------------
b=$(fresh lostfile)
ino=$(meta ino "$b" /b)
meta deldirent "$b" /b
fsck_rc "file without an entry" 4 -n "$b" "inode $ino .*not reachable"
fsck_rc "file without an entry" 1 -y "$b" "lost\+found"
case_check()
{
	[ ! -e "$M/b" ] || fail "b is back under its old name"
	cmp "$T/b" "$M/lost+found/#$ino" || fail "lost+found/#$ino does not hold b's data"
	expect_eq "$(stat -c %h "$M/lost+found/#$ino")" 1 "nlink of lost+found/#$ino"
	expect_eq "$(getfattr --only-values -n user.color "$M/lost+found/#$ino" 2>/dev/null)" blue \
		"the xattr of lost+found/#$ino"
	expect_eq "$(stat -c %h "$M/lost+found")" 2 "nlink of lost+found"
	expect_eq "$(stat -c %h "$M")" 5 "nlink of the root (dir1, empty, lost+found)"
}
after_repair "file without an entry" "$b" '\./b$'
case_check() { :; }
ok "a file without an entry: -y moves it to /lost+found/#$ino, where it shows with its data"

# --- one name of a hard link removed ------------------------------------------------
b=$(fresh hardlink)
meta deldirent "$b" /hard2
fsck_rc "a hard link lost one name" 4 -n "$b" "link count 2, should be 1"
fsck_rc "a hard link lost one name" 1 -y "$b"
case_check()
{
	expect_eq "$(stat -c %h "$M/hard1")" 1 "nlink of hard1"
	[ ! -e "$M/hard2" ] || fail "hard2 is back"
}
after_repair "a hard link lost one name" "$b" '\./hard2$'
case_check() { :; }
ok "a hard link that lost a name: its link count is corrected"

# --- wrong link counts ----------------------------------------------------------------
b=$(fresh nlink)
bino=$(meta ino "$b" /b)
dino=$(meta ino "$b" /dir1)
meta setnlink "$b" /b 5
meta setnlink "$b" /dir1 7
fsck_rc "wrong nlink" 4 -n "$b" "inode $bino has link count 5, should be 1" \
	"inode $dino has link count 7, should be 3"
fsck_rc "wrong nlink" 1 -y "$b"
case_check()
{
	expect_eq "$(stat -c %h "$M/b")" 1 "nlink of b"
	expect_eq "$(stat -c %h "$M/dir1")" 3 "nlink of dir1"
}
after_repair "wrong nlink" "$b"
case_check() { :; }
ok "a wrong link count (file, directory): reported and corrected"

# --- an entry naming an inode that does not exist ------------------------------------------
# dead_entry NAME COOKIE: add NAME to the root naming inode 987654 (none);
# COOKIE "name" is the cookie the daemon computes from the name.
dead_entry()
{
	"$PY" - "$b" "$1" "$2" <<'PYEOF' || fail "add an entry to a missing inode"
import struct, sys, lmdb
backing, name, cookie = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
if cookie == "name":    # meta.c name_cookie(): FNV-1a 64, >> 2, + 3
    h = 0xcbf29ce484222325
    for c in name:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    cookie = (h >> 2) + 3
else:
    cookie = int(cookie)
env = lmdb.open(backing + "/meta", max_dbs=8, map_size=1 << 30)
dirents = env.open_db(b"dirents", create=False)
with env.begin(write=True) as txn:
    txn.put(struct.pack(">QQ", 1, cookie) + name,
            struct.pack("=QII", 987654, 0o100644, 0), db=dirents)
PYEOF
}
b=$(fresh deadentry)
dead_entry ghost name
fsck_rc "entry naming a missing inode" 4 -n "$b" "ghost.*does not exist"
fsck_rc "entry naming a missing inode" 1 -y "$b"
case_check()
{
	[ ! -e "$M/ghost" ] || fail "the entry naming a missing inode is still there"
	! ls "$M" | grep -q ghost || fail "readdir still lists ghost"
}
after_repair "entry naming a missing inode" "$b"
case_check() { :; }
ok "an entry naming an inode that does not exist: removed"

# --- a chunk file shorter than its record ----------------------------------------------------
b=$(fresh shortchunk)
read -r idx id len < <(meta chunks "$b" /a | sed -n 4p)
[ "$idx" = 3 ] && [ "$len" = 5000 ] || fail "chunk 3 of /a: $(meta chunks "$b" /a)"
truncate -s 1000 "$(chunk_file_of "$b" "$id")"
fsck_rc "chunk file shorter than its record" 4 -n "$b" "shorter \(1000\) than its record \(5000\)"
fsck_rc "chunk file shorter than its record" 1 -y "$b"
expect_eq "$(meta chunks "$b" /a | awk '$1 == 3 { print $3 }')" 1000 "record length after the repair"
case_check()
{
	expect_eq "$(size_of "$M/a")" $((3 * MIB + 5000)) "size of a"
	cmp -n $((3 * MIB + 1000)) "$T/a" "$M/a" || fail "a up to the cut"
	cmp -i $((3 * MIB + 1000)):0 -n 4000 "$M/a" /dev/zero || fail "a past the cut does not read zeros"
}
after_repair "chunk file shorter than its record" "$b" '\./a$'
case_check() { :; }
ok "a chunk file shorter than its record: the record is cut, the rest reads zeros"

# --- wrong spent ------------------------------------------------------------------------
b=$(fresh spent)
ino=$(meta ino "$b" /a)
read -r _ _ _ _ _ _ spent < <(meta inode "$b" /a)
meta setspent "$b" /a 12345
fsck_rc "wrong spent" 4 -n "$b" "inode $ino counts 12345 bytes"
fsck_rc "wrong spent" 1 -y "$b"
read -r _ _ _ _ _ _ now < <(meta inode "$b" /a)
expect_eq "$now" "$spent" "spent of a after fsck -y"
case_check()
{
	expect_eq "$(blocks_of "$M/a")" "$A_BLOCKS" "st_blocks of a"
}
after_repair "wrong spent" "$b"
case_check() { :; }
ok "a wrong spent (st_blocks): reported and corrected"

# --- a chunk record past the end of file ------------------------------------------------
b=$(fresh pasteof)
ino=$(meta ino "$b" /b)
meta addchunk "$b" /b 10 999999 4096
head -c 4096 /dev/urandom >"$T/junk"
cf=$(chunk_file_of "$b" 999999)
mkdir -p "$(dirname "$cf")" && cp "$T/junk" "$cf"
fsck_rc "chunk record past the end of file" 4 -n "$b" "chunk 10 of inode $ino .*past the end"
fsck_rc "chunk record past the end of file" 1 -y "$b"
[ ! -e "$cf" ] || fail "fsck -y left the chunk file of the record past the end of file"
[ -z "$(meta chunks "$b" /b | awk '$1 == 10')" ] || fail "fsck -y kept the record past the end of file"
case_check()
{
	expect_eq "$(size_of "$M/b")" 70000 "size of b"
	truncate -s $((11 * MIB)) "$M/b" || fail "truncate b up"
	cmp -i 70000:0 -n $((11 * MIB - 70000)) "$M/b" /dev/zero ||
		fail "b grown by truncate does not read zeros where the dropped record was"
	truncate -s 70000 "$M/b" || fail "truncate b back"
}
after_repair "chunk record past the end of file" "$b"
case_check() { :; }
ok "a chunk record past the end of file: dropped with its chunk file; a truncate up reads zeros"

# --- a mounted store --------------------------------------------------------------------
b=$(fresh mounted)
sfs_mount "$b" "$M"
before=$(dir_state "$b")
for opt in -n -y; do
	rc=0
	timeout 60 "$FSCK" $opt "$b" >"$T/fsck.out" 2>&1 || rc=$?
	expect_eq "$rc" 8 "fsck.sparsefs $opt on a mounted store"
	grep -Eqi "mounted|in use" "$T/fsck.out" || fail "fsck $opt on a mounted store: $(cat "$T/fsck.out")"
done
[ "$before" = "$(dir_state "$b")" ] || fail "fsck.sparsefs on a mounted store wrote to it"
cmp "$T/a" "$M/a" || fail "the mount after fsck was refused"
sfs_umount "$M"
ok "a mounted store: exit 8 ($(head -n 1 "$T/fsck.out")), nothing written"

# --- the entry of a directory with files removed ------------------------------------
b=$(fresh lostdir)
dino=$(meta ino "$b" /dir1)
meta deldirent "$b" /dir1
fsck_rc "directory without an entry" 4 -n "$b" "inode $dino .*not reachable"
fsck_rc "directory without an entry" 1 -y "$b" "lost\+found"
case_check()
{
	local d=$M/lost+found/#$dino

	[ ! -e "$M/dir1" ] || fail "dir1 is back under its old name"
	[ -d "$d" ] || fail "no directory $d: $(ls -la "$M/lost+found")"
	cmp "$T/x" "$d/x" || fail "$d/x"
	cmp "$T/z" "$d/sub/z" || fail "$d/sub/z"
	expect_eq "$(stat -c %h "$d")" 3 "nlink of the recovered directory (., .., sub)"
	expect_eq "$(stat -c %h "$M/lost+found")" 3 "nlink of lost+found holding a directory"
	expect_eq "$(stat -c %h "$M")" 4 "nlink of the root (empty, lost+found)"
	expect_eq "$(getfattr --only-values -n user.color "$d" 2>/dev/null)" red \
		"the xattr of the recovered directory"
	expect_eq "$(stat -c %i "$d/..")" "$(stat -c %i "$M/lost+found")" \
		"the parent of the recovered directory"
	find "$d" >/dev/null || fail "find in the recovered directory"
}
after_repair "directory without an entry" "$b" '\./dir1/'
sfs_mount "$b" "$M"
rm -r "$M/lost+found/#$dino" || fail "rm -r of the recovered directory"
rmdir "$M/lost+found" || fail "rmdir lost+found"
expect_eq "$(stat -c %h "$M")" 3 "nlink of the root after rmdir lost+found"
sfs_umount "$M"
case_check() { :; }
fsck_rc "after removing the recovered directory" 0 -n "$b" clean
ok "a directory without an entry: it and its files come back under /lost+found with right link counts"

# --- a wrong link count of the root -----------------------------------------------------
b=$(fresh rootnlink)
meta setnlink "$b" / 9
fsck_rc "wrong nlink of the root" 4 -n "$b" "inode 1 has link count 9, should be 4"
fsck_rc "wrong nlink of the root" 1 -y "$b"
case_check()
{
	expect_eq "$(stat -c %h "$M")" 4 "nlink of the root (dir1, empty)"
}
after_repair "wrong nlink of the root" "$b"
case_check() { :; }
ok "a wrong link count of the root: reported and corrected"

# --- a file unlinked while open ---------------------------------------------------------
b=$(fresh orphan)
ino=$(meta ino "$b" /b)
ids=$(meta chunks "$b" /b | awk '{ print $2 }')
meta orphan "$b" /b
fsck_rc "an orphan" 4 -n "$b" "inode $ino has no name \(unlinked while open\)"
grep -E "inode $ino that does not exist" "$T/fsck.out" &&
	fail "fsck -n calls the records of orphan inode $ino those of an inode that does not exist (it exists: it is an orphan waiting to be freed)"
fsck_rc "an orphan" 1 -y "$b"
for id in $ids; do
	[ ! -e "$(chunk_file_of "$b" "$id")" ] || fail "fsck -y left chunk file $id of the freed orphan"
done
after_repair "an orphan" "$b" '\./b$'
ok "a file unlinked while open: -n reports it, -y frees it and its chunk files"

# --- an entry whose key does not match its name -------------------------------------------
# The same, but the entry's cookie (key bytes 8..15) is not the hash of its
# name, as after a damaged key: -y must remove the very key it found, not
# claim a fix it did not make.
b=$(fresh badcookie)
dead_entry phantom 12345
fsck_rc "entry with a wrong cookie naming a missing inode" 4 -n "$b" "phantom.*does not exist"
fsck_rc "entry with a wrong cookie naming a missing inode" 1 -y "$b"
after_repair "entry with a wrong cookie naming a missing inode" "$b"
ok "an entry with a wrong cookie naming a missing inode: removed"

echo "t0240-fsck: all passed"
exit 0
