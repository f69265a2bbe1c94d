#!/bin/bash
# t0230-corrupt: a damaged or unusable store is refused with a message that
# names the problem, a non-zero exit, no mount and not one byte written.
#
# A store is built with the daemon (a few files, and 20000 empty ones so
# that data.mdb holds far more than one page of data), unmounted, and copied
# for each case:
#   - a corrupted superblock (one byte flipped), a truncated superblock, a
#     superblock of format 2 with a valid checksum, a data.mdb whose first
#     8 KiB are garbage, a data.mdb cut to 4096 bytes: the mount is refused
#     with a message naming the superblock or the metadata database; fsck
#     -n and -y exit 4 (8 for the newer format) with a message and do not
#     write either;
#   - a read-only BACKING (a read-only bind mount): the mount is refused
#     saying read-only; fsck -n works (0) and fsck -y exits 8 saying
#     read-only;
#   - nonsense options (-o nonsense, chunk_size=3): refused.
# "Nothing written" is checked on a listing of every file of BACKING with
# its size, mode, mtime and SHA-256 (dir_state), taken before and after.
# Last, the pristine store still mounts and holds its files.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

FSCK=${FSCK:-$(dirname -- "$SPARSEFS")/fsck.sparsefs}
[ -x "$FSCK" ] || fail "fsck.sparsefs not built (FSCK=$FSCK)"
PY=/usr/bin/python3
T=$SFS_TMP
M=$T/m
PRISTINE=$T/pristine
mkdir -p "$M" "$PRISTINE"

# --- the store --------------------------------------------------------------------
head -c 3000000 /dev/urandom >"$T/data1"
sfs_mount "$PRISTINE" "$M"
cp "$T/data1" "$M/data1" || fail "write data1"
echo "hello" >"$M/hello" || fail "write hello"
mkdir "$M/many" || fail "mkdir many"
(cd "$M/many" && seq -f 'file%05.0f' 1 20000 | xargs touch) ||
	fail "create 20000 files"
sfs_umount "$M"
mdb_size=$(size_of "$PRISTINE/meta/data.mdb")
note "data.mdb of the pristine store: $mdb_size bytes"
[ "$mdb_size" -gt 4096 ] || fail "data.mdb is only $mdb_size bytes"

# fresh NAME: a copy of the pristine store in $T/NAME (timestamps kept).
fresh()
{
	rm -rf "${T:?}/$1"
	cp -a "$PRISTINE" "$T/$1" || fail "copy the store to $T/$1"
	echo "$T/$1"
}

mounted_or_gone()
{
	pid_gone "$1" || is_mounted "$(canon "$2")"
}

# refused WHAT PATTERN BACKING [OPTIONS...]: sparsefs -f OPTIONS BACKING $M
# exits non-zero with a message matching PATTERN (extended regex, any case),
# mounts nothing and leaves BACKING exactly as it was.
refused()
{
	local what=$1 pattern=$2 b=$3 rc=0 before after pid
	shift 3

	before=$(dir_state "$b")
	"$SPARSEFS" -f "$@" "$b" "$M" </dev/null >"$T/out" 2>"$T/err" &
	pid=$!
	wait_until 30 mounted_or_gone "$pid" "$M"
	if ! pid_gone "$pid"; then
		# It mounted (or hangs): let the cleanup take it down.
		_sfs_register sparsefs "$(canon "$M")" "$pid" "$T/err" 1
		is_mounted "$(canon "$M")" &&
			fail "$what: sparsefs mounted it: $(cat "$T/err"); the store now holds: $(ls -A "$M" | head -n 5 | tr '\n' ' ')"
		fail "$what: sparsefs neither mounted nor exited within 30 s"
	fi
	wait "$pid" || rc=$?
	[ "$rc" != 0 ] || fail "$what: sparsefs exited 0, expected a refusal"
	! is_mounted "$(canon "$M")" || fail "$what: sparsefs exited $rc but $M is mounted"
	[ -s "$T/err" ] || fail "$what: sparsefs exited $rc without a message on stderr"
	grep -Eqi -- "$pattern" "$T/err" ||
		fail "$what: the message does not match /$pattern/: $(cat "$T/err")"
	after=$(dir_state "$b")
	[ "$before" = "$after" ] ||
		fail "$what: the refused mount wrote to BACKING: $(diff <(echo "$before") <(echo "$after"))"
	ok "$what: refused (exit $rc: $(head -n 1 "$T/err"))"
}

# fsck_says WHAT WANT_RC PATTERN BACKING OPTION: fsck.sparsefs OPTION BACKING
# exits WANT_RC (a regex: 4|8) with output matching PATTERN and writes
# nothing.
fsck_says()
{
	local what=$1 want=$2 pattern=$3 b=$4 opt=$5 rc=0 before after

	before=$(dir_state "$b")
	timeout 60 "$FSCK" "$opt" "$b" >"$T/fsck.out" 2>&1 || rc=$?
	[[ "$rc" =~ ^($want)$ ]] ||
		fail "$what: fsck.sparsefs $opt exited $rc, expected $want: $(cat "$T/fsck.out")"
	grep -Eqi -- "$pattern" "$T/fsck.out" ||
		fail "$what: fsck.sparsefs $opt says nothing matching /$pattern/: $(cat "$T/fsck.out")"
	after=$(dir_state "$b")
	[ "$before" = "$after" ] ||
		fail "$what: fsck.sparsefs $opt wrote to BACKING: $(diff <(echo "$before") <(echo "$after"))"
	ok "$what: fsck.sparsefs $opt exits $rc: $(head -n 1 "$T/fsck.out")"
}

SB_PAT='sparsefs\.sb|superblock'
MDB_PAT='data\.mdb|metadata'

# --- a corrupted superblock --------------------------------------------------------------
b=$(fresh sbflip)
# Flip one byte of the chunk size digits ("chunk_size 1048576").
off=$(grep -abo 'chunk_size 1' "$b/sparsefs.sb" | cut -d: -f1)
[ -n "$off" ] || fail "no chunk_size line in the superblock: $(cat "$b/sparsefs.sb")"
printf '2' | dd of="$b/sparsefs.sb" bs=1 seek=$((off + 11)) conv=notrunc status=none ||
	fail "flip a byte of the superblock"
touch -r "$PRISTINE/sparsefs.sb" "$b/sparsefs.sb"
refused "corrupted superblock" "$SB_PAT" "$b"
fsck_says "corrupted superblock" 4 "$SB_PAT" "$b" -n
fsck_says "corrupted superblock" 4 "$SB_PAT" "$b" -y

# A flipped byte in the magic line.
b=$(fresh sbmagic)
printf 'S' | dd of="$b/sparsefs.sb" bs=1 seek=0 conv=notrunc status=none || fail "flip the magic"
refused "superblock with a damaged magic" "$SB_PAT" "$b"
fsck_says "superblock with a damaged magic" 4 "$SB_PAT" "$b" -n

# --- a truncated superblock ---------------------------------------------------------------
b=$(fresh sbtrunc)
truncate -s 30 "$b/sparsefs.sb" || fail "truncate the superblock"
refused "truncated superblock" "$SB_PAT" "$b"
fsck_says "truncated superblock" 4 "$SB_PAT" "$b" -n
fsck_says "truncated superblock" 4 "$SB_PAT" "$b" -y
b=$(fresh sbempty)
: >"$b/sparsefs.sb"
refused "empty superblock" "$SB_PAT" "$b"
fsck_says "empty superblock" 4 "$SB_PAT" "$b" -n

# --- a newer format ---------------------------------------------------------------------
b=$(fresh format2)
"$PY" - "$b/sparsefs.sb" <<'EOF' || fail "write a format 2 superblock"
import sys
path = sys.argv[1]
text = open(path, "rb").read()
body = text[:text.index(b"checksum ")].replace(b"\nformat 1\n", b"\nformat 2\n")
h = 0xcbf29ce484222325
for c in body:
    h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
open(path, "wb").write(body + b"checksum %016x\n" % h)
EOF
grep -q '^format 2$' "$b/sparsefs.sb" || fail "the superblock does not say format 2"
refused "a store of format 2" "format 2|newer|upgrade" "$b"
fsck_says "a store of format 2" 8 "format 2|newer|upgrade" "$b" -n
fsck_says "a store of format 2" 8 "format 2|newer|upgrade" "$b" -y

# --- a damaged data.mdb ------------------------------------------------------------------
b=$(fresh mdbgarbage)
head -c 8192 /dev/urandom | dd of="$b/meta/data.mdb" bs=8192 conv=notrunc status=none ||
	fail "overwrite the head of data.mdb"
refused "data.mdb with 8 KiB of garbage at its head" "$MDB_PAT" "$b"
fsck_says "data.mdb with 8 KiB of garbage at its head" 4 "$MDB_PAT" "$b" -n
fsck_says "data.mdb with 8 KiB of garbage at its head" 4 "$MDB_PAT" "$b" -y

# --- a truncated data.mdb ----------------------------------------------------------------
b=$(fresh mdbtrunc)
truncate -s 4096 "$b/meta/data.mdb" || fail "truncate data.mdb"
refused "data.mdb cut to 4096 bytes" "$MDB_PAT" "$b"
fsck_says "data.mdb cut to 4096 bytes" 4 "$MDB_PAT" "$b" -n
fsck_says "data.mdb cut to 4096 bytes" 4 "$MDB_PAT" "$b" -y

# --- a read-only BACKING -------------------------------------------------------------------
b=$(fresh rw)
RO=$T/ro
mkdir -p "$RO"
mount --bind "$b" "$RO" || skip "cannot make a bind mount here"
# The lib's cleanup unmounts every registered mount, newest first.
_sfs_register bind "$(canon "$RO")" 0 /dev/null 0
mount -o remount,bind,ro "$RO" || fail "cannot remount the bind mount read-only"
touch "$RO/probe" 2>/dev/null && fail "the read-only bind mount $RO takes writes"
refused "read-only BACKING" "read-only" "$RO"
fsck_says "read-only BACKING" 0 "clean" "$RO" -n
fsck_says "read-only BACKING" 8 "read-only" "$RO" -y
mkdir -p "$T/emptyro" "$T/emptyro.ro"
mount --bind "$T/emptyro" "$T/emptyro.ro" || fail "bind mount emptyro"
_sfs_register bind "$(canon "$T/emptyro.ro")" 0 /dev/null 0
mount -o remount,bind,ro "$T/emptyro.ro" || fail "remount emptyro read-only"
refused "empty read-only BACKING" "read-only|writable" "$T/emptyro.ro"

# --- nonsense options -----------------------------------------------------------------------
b=$(fresh opts)
refused "-o nonsense" "nonsense|unknown|invalid" "$b" -o nonsense
refused "-o chunk_size=3" "chunk_size" "$b" -o chunk_size=3
refused "-o chunk_size=3 on an empty BACKING" "chunk_size" "$T/emptyro" -o chunk_size=3
[ -z "$(ls -A "$T/emptyro")" ] || fail "a refused mount wrote into an empty BACKING"

# --- the pristine store is fine ----------------------------------------------------------------
fsck_says "the pristine store" 0 "clean" "$PRISTINE" -n
sfs_mount "$PRISTINE" "$M"
cmp "$T/data1" "$M/data1" || fail "data1 in the pristine store"
expect_eq "$(cat "$M/hello")" hello "hello in the pristine store"
expect_eq "$(ls "$M/many" | wc -l)" 20000 "files in many/"
sfs_umount "$M"
ok "the pristine store mounts and holds its files"

# --- a lost data.mdb ---------------------------------------------------------------------------
# A store that has chunk files but an empty or no data.mdb is no new store:
# mounting it as an empty file system would hand out chunk ids from 1 again
# and overwrite the old chunk files.
b=$(fresh mdbempty)
: >"$b/meta/data.mdb"
refused "empty data.mdb in a store with data" "$MDB_PAT" "$b"
fsck_says "empty data.mdb in a store with data" 4 "$MDB_PAT" "$b" -n
b=$(fresh mdbmissing)
rm -f "$b/meta/data.mdb" "$b/meta/lock.mdb"
refused "missing data.mdb in a store with data" "$MDB_PAT" "$b"
fsck_says "missing data.mdb in a store with data" "4|8" "$MDB_PAT" "$b" -n

echo "t0230-corrupt: all passed"
exit 0
