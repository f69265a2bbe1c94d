#!/bin/bash
# t0220-faults: errors of the backing reach the program as the right errno,
# leave the file as it was and the store consistent.
#
# With -o fault_injection, root sets the xattr trusted.sparsefs.fault on the
# mount's root to "OP ERR SKIP COUNT" (or "clear") to make the backing's OP
# fail.  Over a plain directory:
#   - pwrite EIO: an overwrite, an append and a first write to a new file
#     fail with EIO ("Input/output error"); the daemon stays up; the files
#     keep their old content and size;
#   - pwrite EIO after one good call: an append spanning chunks fails half
#     way; the size stays, and the bytes the failed write left past the end
#     of file never show (neither after a truncate up nor after a later
#     write further on in that chunk);
#   - pwrite SHORT: short writes are retried by the backing layer; writes
#     succeed in full with the right content, for a few short calls, for
#     50 in a row and forever (these last, at the end);
#   - pread EIO (on a cold cache): reads fail with EIO, and work again after
#     "clear";
#   - open EIO: a cold read fails with EIO;
#   - fsync EIO: fsync (dd conv=fsync) fails with EIO;
#   - pwrite ENOSPC (by name and as the number 28), fallocate ENOSPC: the
#     program gets ENOSPC;
#   - unlink EIO: rm still works; the daemon logs the chunk files it could
#     not delete, fsck -n lists exactly those and fsck -y removes them;
#   - bad fault strings are refused (EINVAL), and a non-root-directory or
#     a mount without the option does not take them;
#   - after every case, unmount (daemon exit 0) and fsck.sparsefs -n clean
#     (but after unlink EIO, see above).
. "${TESTLIB:?TESTLIB is not set}" || exit 1

FSCK=${FSCK:-$(dirname -- "$SPARSEFS")/fsck.sparsefs}
[ -x "$FSCK" ] || fail "fsck.sparsefs not built (FSCK=$FSCK)"
require_root
command -v setfattr >/dev/null 2>&1 || skip "setfattr is not installed (package attr)"
T=$SFS_TMP
B=$T/b
M=$T/m
MIB=$((1 << 20))
EIO_MSG="Input/output error"
ENOSPC_MSG="No space left on device"
XATTR=trusted.sparsefs.fault
mkdir -p "$B" "$M"

fault()
{
	setfattr -n "$XATTR" -v "$1" "$M" || fail "setfattr $XATTR='$1' on $M failed"
}

daemon_alive()
{
	local i pid

	i=$(_sfs_index "$(canon "$M")") || fail "$1: no daemon registered on $M"
	pid=${_SFS_PID[i]}
	kill -0 "$pid" 2>/dev/null || fail "$1: the daemon (pid $pid) died"
	timeout 20 ls "$M" >/dev/null || fail "$1: ls $M failed or hung"
}

# must_fail WHAT MSG CMD...: CMD fails, not by timeout, saying MSG.
must_fail()
{
	local what=$1 msg=$2 rc=0
	shift 2

	if declare -F "$1" >/dev/null; then
		# A shell function: run it in a shell of its own, under timeout.
		timeout 60 bash -c "$(declare -f "$1")"'; "$@"' _ "$@" \
			>"$T/cmd.out" 2>&1 || rc=$?
	else
		timeout 60 "$@" >"$T/cmd.out" 2>&1 || rc=$?
	fi
	[ "$rc" != 124 ] || fail "$what: '$*' hung"
	[ "$rc" != 0 ] || fail "$what: '$*' succeeded, expected '$msg'"
	grep -qF "$msg" "$T/cmd.out" ||
		fail "$what: '$*' exited $rc, expected '$msg', said: $(cat "$T/cmd.out")"
}

# put SRC FILE OFFSET [dd flags]: write SRC into FILE at OFFSET, no truncation.
put()
{
	local src=$1 file=$2 off=$3
	shift 3
	dd if="$src" of="$file" bs=256K seek="$off" oflag=seek_bytes \
		conv=notrunc "$@" status=none
}

# end_case WHAT: clear faults, unmount (daemon exits 0), fsck -n clean, mount.
end_case()
{
	local rc=0

	fault clear
	daemon_alive "$1"
	sfs_umount "$M"
	timeout 60 "$FSCK" -n "$B" >"$T/fsck.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] ||
		fail "$1: fsck.sparsefs -n after the unmount exited $rc, expected 0: $(cat "$T/fsck.out")"
	sfs_mount "$B" "$M" -o fault_injection
}

head -c $((3 * MIB / 2)) /dev/urandom >"$T/base"
head -c $((64 * 1024)) /dev/urandom >"$T/64k"
head -c $((3 * MIB)) /dev/urandom >"$T/3m"

# --- the xattr itself ------------------------------------------------------------
sfs_mount "$B" "$M"
rc=0
setfattr -n "$XATTR" -v "pwrite EIO 0 -1" "$M" 2>"$T/sf.err" || rc=$?
cp "$T/64k" "$M/probe" || fail "a mount without -o fault_injection took the fault xattr: writes fail"
cmp "$T/64k" "$M/probe" || fail "probe content"
sfs_umount "$M"
sfs_mount "$B" "$M" -o fault_injection
for bad in "pwrite" "pwrite EIO" "nosuchop EIO 0 1" "pwrite ENOTANERRNO 0 1" \
	"pwrite EIO zero 1" "pwrite -5 0 1"; do
	rc=0
	setfattr -n "$XATTR" -v "$bad" "$M" 2>"$T/sf.err" || rc=$?
	[ "$rc" != 0 ] || fail "the bad fault string '$bad' was accepted"
	grep -qi "invalid argument" "$T/sf.err" ||
		fail "the bad fault string '$bad': expected EINVAL, got: $(cat "$T/sf.err")"
done
cp "$T/64k" "$M/probe2" && cmp "$T/64k" "$M/probe2" ||
	fail "writes fail after refused fault strings"
# Only the root directory takes it.
mkdir "$M/sub" || fail "mkdir sub"
setfattr -n "$XATTR" -v "pwrite EIO 0 -1" "$M/sub" 2>/dev/null
cp "$T/64k" "$M/sub/probe3" && cmp "$T/64k" "$M/sub/probe3" ||
	fail "the fault xattr set on a subdirectory made writes fail"
ok "bad fault strings are refused with EINVAL; without -o fault_injection, or on a subdirectory, the xattr does nothing"

# --- pwrite EIO ----------------------------------------------------------------------
cp "$T/base" "$M/old" && sync "$M/old" || fail "write old"
fault "pwrite EIO 0 -1"
must_fail "overwrite with pwrite EIO" "$EIO_MSG" put "$T/64k" "$M/old" 100000
must_fail "append with pwrite EIO" "$EIO_MSG" put "$T/3m" "$M/old" $((3 * MIB / 2))
must_fail "new file with pwrite EIO" "$EIO_MSG" cp "$T/64k" "$M/new"
daemon_alive "after pwrite EIO"
expect_eq "$(size_of "$M/old")" $((3 * MIB / 2)) "size of old after failed writes"
cmp "$T/base" "$M/old" || fail "old changed after failed writes"
[ -e "$M/new" ] && expect_eq "$(size_of "$M/new")" 0 "size of a new file whose first write failed"
fault clear
cmp "$T/base" "$M/old" || fail "old changed after failed writes (after clear)"
end_case "pwrite EIO"
expect_eq "$(size_of "$M/old")" $((3 * MIB / 2)) "size of old after failed writes and a remount"
cmp "$T/base" "$M/old" || fail "old changed after failed writes and a remount"
ok "pwrite EIO: the program gets EIO, the daemon stays up, the file keeps its content and size; fsck -n clean"

# --- pwrite EIO half way: stale bytes past the end of file ----------------------------
cp "$T/base" "$M/half" && sync "$M/half" || fail "write half"
cp "$T/base" "$M/half2" && sync "$M/half2" || fail "write half2"
fault "pwrite EIO 1 -1"
must_fail "append failing at its second chunk" "$EIO_MSG" put "$T/3m" "$M/half" $((3 * MIB / 2)) bs=4M
fault "pwrite EIO 1 -1"
must_fail "append failing at its second chunk (half2)" "$EIO_MSG" put "$T/3m" "$M/half2" $((3 * MIB / 2)) bs=4M
fault clear
daemon_alive "after a write that failed half way"
expect_eq "$(size_of "$M/half")" $((3 * MIB / 2)) "size after an append that failed half way"
cmp "$T/base" "$M/half" || fail "content after an append that failed half way"
truncate -s $((3 * MIB)) "$M/half" || fail "truncate half up"
cmp -n $((3 * MIB / 2)) "$T/base" "$M/half" || fail "half: old bytes after a truncate up"
cmp -i $((3 * MIB / 2)):0 -n $((3 * MIB / 2)) "$M/half" /dev/zero ||
	fail "after an append that failed half way and a truncate up, the bytes past the old end of file are not zeros: the failed write shows"
# A later write further on in the same chunk must not expose them either.
printf 'tail' | dd of="$M/half2" bs=1 seek=$((2 * MIB - 100)) conv=notrunc status=none ||
	fail "write after the failed append"
cmp -n $((3 * MIB / 2)) "$T/base" "$M/half2" || fail "half2: old bytes after a later write"
cmp -i $((3 * MIB / 2)):0 -n $((MIB / 2 - 100)) "$M/half2" /dev/zero ||
	fail "after an append that failed half way and a write further on, the gap does not read zeros: the failed write shows"
end_case "pwrite EIO half way"
cmp -i $((3 * MIB / 2)):0 -n $((3 * MIB / 2)) "$M/half" /dev/zero ||
	fail "after a remount, the bytes of the failed append show past the old end of file"
cmp -i $((3 * MIB / 2)):0 -n $((MIB / 2 - 100)) "$M/half2" /dev/zero ||
	fail "after a remount, the gap before a later write does not read zeros"
ok "a write failing half way: size kept, its bytes never show past the end of file; fsck -n clean"

# --- short writes ------------------------------------------------------------------
# short_writes SPEC: with the fault SPEC, a copy and an overwrite of
# $M/short succeed in full and read right, also after a remount.
short_writes()
{
	local spec=$1 rc=0

	fault "$spec"
	timeout 60 cp "$T/3m" "$M/short" 2>"$T/cp.err" || rc=$?
	[ "$rc" = 0 ] || fail "with '$spec' a write failed (the backing layer must retry short writes): $(cat "$T/cp.err")"
	put "$T/64k" "$M/short" 1000000 2>"$T/cp.err" ||
		fail "with '$spec' an overwrite failed: $(cat "$T/cp.err")"
	fault clear
	cp "$T/3m" "$T/want" && put "$T/64k" "$T/want" 1000000 || fail "build want"
	cmp "$T/want" "$M/short" || fail "with '$spec' the content is wrong"
	end_case "$spec"
	cmp "$T/want" "$M/short" || fail "with '$spec' the content is wrong after a remount"
	ok "$spec: writes succeed in full, content right; fsck -n clean"
}
short_writes "pwrite SHORT 0 5"
short_writes "pwrite SHORT 7 5"

# --- pread EIO, open EIO -------------------------------------------------------------
cp "$T/3m" "$M/cold" || fail "write cold"
end_case "set-up for pread"	# a remount: nothing of cold is cached
fault "pread EIO 0 -1"
must_fail "read with pread EIO" "$EIO_MSG" cat "$M/cold"
daemon_alive "after pread EIO"
fault clear
cmp "$T/3m" "$M/cold" || fail "cold does not read back after clear"
ok "pread EIO: reads fail with EIO, and work after clear"
end_case "pread EIO"
fault "open EIO 0 -1"
must_fail "read with open EIO" "$EIO_MSG" cat "$M/cold"
fault clear
cmp "$T/3m" "$M/cold" || fail "cold does not read back after clear (open)"
end_case "open EIO"
ok "open EIO: a cold read fails with EIO, and works after clear"

# --- fsync EIO ---------------------------------------------------------------------
fault "fsync EIO 0 -1"
must_fail "dd conv=fsync with fsync EIO" "$EIO_MSG" \
	dd if="$T/64k" of="$M/synced" bs=64K conv=fsync status=none
printf 'more' >>"$M/synced" || fail "append after a failed fsync"
must_fail "sync FILE with fsync EIO" "$EIO_MSG" sync "$M/synced"
daemon_alive "after fsync EIO"
fault clear
sync "$M/synced" || fail "fsync after clear"
end_case "fsync EIO"
ok "fsync EIO: fsync fails with EIO"

# --- ENOSPC ---------------------------------------------------------------------------
cp "$T/base" "$M/full" && sync "$M/full" || fail "write full"
fault "pwrite ENOSPC 0 -1"
must_fail "write with pwrite ENOSPC" "$ENOSPC_MSG" cp "$T/3m" "$M/nospace"
must_fail "append with pwrite ENOSPC" "$ENOSPC_MSG" put "$T/3m" "$M/full" $((3 * MIB / 2))
fault clear
expect_eq "$(size_of "$M/full")" $((3 * MIB / 2)) "size after an append failed with ENOSPC"
cmp "$T/base" "$M/full" || fail "content after an append failed with ENOSPC"
fault "pwrite 28 0 -1"	# ENOSPC by number
must_fail "write with pwrite 28 (ENOSPC by number)" "$ENOSPC_MSG" cp "$T/64k" "$M/nospace2"
fault clear
fault "fallocate ENOSPC 0 -1"
must_fail "fallocate with fallocate ENOSPC" "$ENOSPC_MSG" fallocate -l $((8 * MIB)) "$M/reserved"
fault clear
end_case "ENOSPC"
ok "pwrite ENOSPC and fallocate ENOSPC: the program gets ENOSPC; fsck -n clean"

# --- unlink EIO --------------------------------------------------------------------
# The name goes (metadata); the chunk files that cannot be deleted stay
# behind, the daemon says so, and fsck.sparsefs finds and removes them.
cp "$T/3m" "$M/doomed" && sync "$M/doomed" || fail "write doomed"
fault "unlink EIO 0 -1"
rm "$M/doomed" || fail "rm with unlink EIO failed (the name is metadata only)"
[ ! -e "$M/doomed" ] || fail "doomed still there after rm"
daemon_alive "after unlink EIO"
fault clear
sfs_umount "$M"
log=$T/daemon.$((${#_SFS_LOG[@]} - 1)).log
wait_until 5 grep -q "cannot delete chunk file" "$log" ||
	fail "unlink EIO: the daemon did not log the chunk files it could not delete"
nleft=$(grep -c "cannot delete chunk file" "$log")
rc=0
timeout 60 "$FSCK" -n "$B" >"$T/fsck.out" 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "unlink EIO: fsck -n exited $rc, expected 4 (stray chunk files): $(cat "$T/fsck.out")"
expect_eq "$(grep -c 'named by no record' "$T/fsck.out")" "$nleft" \
	"unlink EIO: stray chunk files fsck -n reports (the daemon logged $nleft)"
rc=0
timeout 60 "$FSCK" -y "$B" >"$T/fsck.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "unlink EIO: fsck -y exited $rc, expected 1: $(cat "$T/fsck.out")"
rc=0
timeout 60 "$FSCK" -n "$B" >"$T/fsck.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "unlink EIO: fsck -n after fsck -y exited $rc, expected 0: $(cat "$T/fsck.out")"
sfs_mount "$B" "$M" -o fault_injection
cmp "$T/want" "$M/short" || fail "short after unlink EIO and fsck -y"
ok "unlink EIO: rm works; the $nleft chunk files left are logged, and fsck -y removes them"

# --- many short writes in a row (each retry shorter than the last) ---------------
short_writes "pwrite SHORT 3 50"
short_writes "pwrite SHORT 0 -1"

echo "t0220-faults: all passed"
exit 0
