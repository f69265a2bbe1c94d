#!/bin/bash
# t0210-full-disk: a full backing gives ENOSPC, never a crash or a lie.
#
# sparsefs over a 64 MiB exFAT bed (no sparse files, so every byte counts):
#   - files of 4 MiB are written until one fails; the writer (dd) must get
#     ENOSPC ("No space left on device"), the daemon stays up, every file
#     written before reads back intact, and the file cut short holds a
#     correct prefix of what was written to it; a second attempt fails the
#     same way;
#   - LMDB on the full backing (1 TiB map, with and without MDB_WRITEMAP)
#     fails with an error instead of hanging or crashing the daemon;
#   - after deleting files, writing works again;
#   - after the unmount (the daemon exits 0), fsck.sparsefs -n is clean, and
#     a remount shows the same data;
#   - the metadata map cannot grow on a full backing: big xattrs are refused
#     with ENOSPC and the daemon stays up; deleting the xattr holder and two
#     files works, and after an unmount the store still mounts (with less
#     room on the backing than another step of the map would take);
#     deleting every file then leaves a clean store (fsck -n).
. "${TESTLIB:?TESTLIB is not set}" || exit 1

LMDB_BULK=$(helper lmdb_bulk) || exit 1
FSCK=${FSCK:-$(dirname -- "$SPARSEFS")/fsck.sparsefs}
[ -x "$FSCK" ] || fail "fsck.sparsefs not built (FSCK=$FSCK)"
PY=/usr/bin/python3
T=$SFS_TMP
MIB=$((1 << 20))
ENOSPC_MSG="No space left on device"

exfat_bed 64M "$T/ex"
B=$T/ex/store
M=$T/m
mkdir -p "$B" "$M" "$T/src"
sfs_mount "$B" "$M"

# daemon_alive WHAT: the daemon serving $M still runs and answers.
daemon_alive()
{
	local i pid

	i=$(_sfs_index "$(canon "$M")") || fail "$1: no daemon registered on $M"
	pid=${_SFS_PID[i]}
	kill -0 "$pid" 2>/dev/null || fail "$1: the daemon (pid $pid) died"
	is_mounted "$(canon "$M")" || fail "$1: $M is no longer mounted"
	timeout 20 stat "$M" >/dev/null || fail "$1: stat $M failed or hung"
	timeout 20 ls "$M" >/dev/null || fail "$1: ls $M failed or hung"
}

# check_files WHAT: every completely written file reads back as written, the
# one cut short holds a prefix of what was written to it.
check_files()
{
	local f psize

	for f in "${GOOD[@]}"; do
		timeout 30 cmp "$T/src/$f" "$M/$f" ||
			fail "$1: $f does not read back as written"
	done
	if [ -n "$PARTIAL" ]; then
		psize=$(size_of "$M/$PARTIAL")
		timeout 30 cmp -n "$psize" "$T/src/$PARTIAL" "$M/$PARTIAL" ||
			fail "$1: $PARTIAL (cut short at $psize bytes) does not hold a prefix of what was written"
	fi
}

# fill FIRST LAST: write files of 4 MiB until dd fails, which it must with
# ENOSPC; adds the complete ones to GOOD and sets PARTIAL to the last.
fill()
{
	local i f rc

	PARTIAL=
	for ((i = $1; i <= $2; i++)); do
		f=$(printf 'f%02d' "$i")
		head -c $((4 * MIB)) /dev/urandom >"$T/src/$f"
		rc=0
		timeout 60 dd if="$T/src/$f" of="$M/$f" bs=1M status=none \
			2>"$T/dd.err" || rc=$?
		[ "$rc" != 124 ] || fail "dd into $M/$f hung on a filling backing"
		if [ "$rc" = 0 ]; then
			GOOD+=("$f")
			continue
		fi
		grep -qF "$ENOSPC_MSG" "$T/dd.err" ||
			fail "writing $f on a full backing: expected '$ENOSPC_MSG', got: $(cat "$T/dd.err")"
		PARTIAL=$f
		return 0
	done
	fail "wrote $((4 * ($2 - $1 + 1))) MiB to a 64 MiB backing without ENOSPC"
}

mounted_or_gone()
{
	pid_gone "$1" || is_mounted "$(canon "$2")"
}

# fsck_clean WHAT
fsck_clean()
{
	local rc=0

	timeout 60 "$FSCK" -n "$B" >"$T/fsck.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] ||
		fail "$1: fsck.sparsefs -n exited $rc, expected 0: $(head -n 5 "$T/fsck.out"); ...; $(tail -n 1 "$T/fsck.out")"
}

# --- fill with data until ENOSPC -----------------------------------------------
GOOD=()
fill 1 40
[ "${#GOOD[@]}" -ge 5 ] ||
	fail "only ${#GOOD[@]} files of 4 MiB fit on a 64 MiB backing before ENOSPC"
ok "the backing is full after ${#GOOD[@]} files of 4 MiB; dd got ENOSPC: $(head -n 1 "$T/dd.err")"
daemon_alive "after ENOSPC"
check_files "after ENOSPC"
# A second attempt fails the same way (no state left half-done).
rc=0
timeout 60 dd if="$T/src/$PARTIAL" of="$M/again" bs=1M status=none 2>"$T/dd.err" || rc=$?
[ "$rc" != 0 ] && grep -qF "$ENOSPC_MSG" "$T/dd.err" ||
	fail "a second write on the full backing: expected '$ENOSPC_MSG', got exit $rc: $(cat "$T/dd.err")"
rm -f "$M/again" || fail "rm again"
daemon_alive "after a second ENOSPC"
check_files "after a second ENOSPC"
ok "the daemon stays up and the data written before reads back intact"

# --- LMDB on the full backing --------------------------------------------------
for wm in --writemap ""; do
	name=db${wm:+-writemap}
	rc=0
	timeout 60 "$LMDB_BULK" $wm --mapsize 1T write "$M/$name" 200000 20 \
		>"$T/$name.out" 2>&1 || rc=$?
	[ "$rc" != 124 ] || fail "lmdb_bulk $wm on a full backing hung"
	[ "$rc" -lt 128 ] ||
		fail "lmdb_bulk $wm on a full backing died of signal $((rc - 128)): $(tail -n 3 "$T/$name.out")"
	[ "$rc" != 0 ] || fail "lmdb_bulk $wm wrote 200000 records onto a full 64 MiB backing"
	daemon_alive "after LMDB $wm on a full backing"
	ok "LMDB ${wm:-without --writemap} on a full backing fails cleanly (exit $rc: $(tail -n 1 "$T/$name.out"))"
done
check_files "after LMDB on the full backing"

# --- free space, write again -----------------------------------------------------
rm -rf "$M/db-writemap" "$M/db" "$M/${PARTIAL:?}" "$M/${GOOD[0]:?}" "$M/${GOOD[1]:?}" ||
	fail "delete files on a full backing"
PARTIAL=
GOOD=("${GOOD[@]:2}")
f=after
head -c $((4 * MIB)) /dev/urandom >"$T/src/$f"
wrote=
# Chunk files go when the kernel forgets the inodes; give it a moment.
for ((i = 0; i < 50; i++)); do
	if timeout 60 dd if="$T/src/$f" of="$M/$f" bs=1M conv=fsync status=none \
		2>"$T/dd.err"; then
		wrote=1
		break
	fi
	sleep 0.2
done
[ -n "$wrote" ] || fail "writing after deleting files still fails: $(cat "$T/dd.err")"
GOOD+=("$f")
check_files "after deleting and writing again"
ok "after deleting files, a 4 MiB write works again"

sfs_umount "$M"
fsck_clean "after the full-disk run"
ok "fsck.sparsefs -n: $(tail -n 1 "$T/fsck.out")"
sfs_mount "$B" "$M"
check_files "after a remount"
ok "the data is intact after a remount"

# --- the metadata map cannot grow -------------------------------------------------
# Fill the backing again, then the metadata map (16 MiB at first) with big
# xattrs: growing it needs room the backing does not have, so setxattr must
# fail with ENOSPC and the daemon stay up.
"$PY" -c 'import os; os.setxattr' 2>/dev/null ||
	fail "$PY cannot run (needed for setxattr)"
fill 41 80
rm -f "$M/$PARTIAL" || fail "rm $PARTIAL"
PARTIAL=
touch "$M/xattrs" || fail "touch xattrs on a full backing"
rc=0
timeout 60 "$PY" - "$M/xattrs" >"$T/xattr.out" 2>&1 <<'PYEOF' || rc=$?
import errno, os, sys
path = sys.argv[1]
value = os.urandom(60000)
for i in range(4000):     # 4000 * 60000 bytes: far more than 64 MiB
    try:
        os.setxattr(path, "user.big%04d" % i, value)
    except OSError as e:
        print("setxattr #%d: %s" % (i, os.strerror(e.errno)))
        sys.exit(0 if e.errno == errno.ENOSPC else 3)
print("4000 xattrs of 60000 bytes stored on a full backing")
sys.exit(4)
PYEOF
[ "$rc" != 124 ] || fail "setxattr on a full backing hung"
[ "$rc" = 0 ] || fail "big xattrs on a full backing: expected ENOSPC: $(cat "$T/xattr.out")"
daemon_alive "after the metadata map could not grow"
check_files "after the metadata map could not grow"
ok "the metadata map cannot grow on a full backing: $(cat "$T/xattr.out")"
# Deleting files must work in this state, and never leave the store
# unusable: delete the xattr holder and two data files (a few MiB come
# free, less than another step of the metadata map), unmount, and the store
# must mount again.
rm -f "$M/xattrs" || fail "rm the file holding the xattrs"
rm -f "$M/${GOOD[0]:?}" "$M/${GOOD[1]:?}" || fail "rm two files after the metadata filled up"
GOOD=("${GOOD[@]:2}")
daemon_alive "after deleting files with the metadata map full"
check_files "after deleting files with the metadata map full"
free_kib=$(df -k --output=avail "$T/ex" | tail -n 1)
sfs_umount "$M"
rc=0
"$SPARSEFS" -f "$B" "$M" </dev/null >"$T/remount.log" 2>&1 &
pid=$!
wait_until 30 mounted_or_gone "$pid" "$M"
if pid_gone "$pid"; then
	wait "$pid" || rc=$?
	fail "after deleting files with the metadata map full, the store no longer mounts (exit $rc, ${free_kib} KiB free on the backing): $(cat "$T/remount.log")"
fi
_sfs_register sparsefs "$(canon "$M")" "$pid" "$T/remount.log" 1
check_files "after a remount with the metadata map full"
ok "with the metadata map full and ${free_kib} KiB free, deleting files works and the store mounts again"
for f in "${GOOD[@]}"; do
	rm -f "$M/$f" || fail "rm $f after the metadata filled up"
done
GOOD=()
daemon_alive "after deleting everything"
sfs_umount "$M"
fsck_clean "after the metadata filled up and every file was deleted"
ok "after deleting everything, the unmount leaves a clean store"

echo "t0210-full-disk: all passed"
exit 0
