#!/bin/bash
# t0070-writeback: -o writeback_cache, where the kernel gathers writes in its
# page cache and hands them to the daemon later.
#
#   - it is in effect: 1000 writes of 4 KiB reach the daemon as far fewer
#     WRITE requests (counted in the debug log), and read back right after
#     a remount;
#   - SEEK_DATA/SEEK_HOLE see data the kernel still holds: a file written
#     with a hole and copied at once with cp --sparse=always copies the
#     data (not zeros) and keeps the hole;
#   - mtime moves on a write and is kept across a remount;
#   - setuid/setgid still go when another user writes (such files are
#     written through);
#   - a full backing (a 64 MiB exFAT bed): what cannot be written is
#     reported to the writer, at the latest by fsync (dd conv=fsync fails
#     with ENOSPC), files written before stay intact, and after freeing
#     space writing works again.
# Commits surviving kill -9 with the cache on: t0200.  The randomized
# model with the cache on: t0100.
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # other users

T=$SFS_TMP
MIB=$((1 << 20))
ENOSPC_MSG="No space left on device"
PROBE=$(helper sparse_probe) || exit 1

count()
{
	grep -ac "opcode: $1 " "$2"
}

# ---------------------------------------------------------- in effect
B=$T/plain/b
M=$T/plain/m
mkdir -p "$B" "$M"
# Another user must reach the mount.
chmod 0755 "$T" "$T/plain" || fail "chmod $T"
LOG=$SFS_TMP/daemon.${#_SFS_KIND[@]}.log
sfs_mount "$B" "$M" -o writeback_cache,allow_other -d
head -c $((4 * MIB)) /dev/urandom >"$T/data"
w0=$(count WRITE "$LOG")
dd if="$T/data" of="$M/small" bs=4k status=none || fail "1000 writes of 4 KiB"
sync "$M/small" || fail "fsync small"
w=$(($(count WRITE "$LOG") - w0))
note "1024 writes of 4 KiB: $w WRITE requests"
[ "$w" -ge 1 ] && [ "$w" -le 256 ] ||
	fail "1024 writes of 4 KiB made $w WRITE requests: the writeback cache is not in effect"
cmp "$T/data" "$M/small" || fail "small reads back wrong"
ok "1024 writes of 4 KiB: $w WRITE requests; data right"

# ------------------------------------------------ SEEK_DATA on cached data
# Data at 0-64 KiB and at 5 MiB, a hole between; copied at once, before
# anything is synced.
dd if="$T/data" of="$M/holey" bs=64k count=1 status=none || fail "write holey"
dd if="$T/data" of="$M/holey" bs=64k count=1 seek=80 conv=notrunc status=none ||
	fail "write holey at 5 MiB"
expect_eq "$("$PROBE" seek "$M/holey" 1048576 data)" 5242880 \
	"SEEK_DATA from 1 MiB of a file just written (data at 5 MiB still in the page cache)"
cp --sparse=always "$M/holey" "$M/holey.copy" || fail "cp --sparse=always"
cmp "$M/holey" "$M/holey.copy" || fail "cp --sparse=always copied the cached data wrong"
dd if="$M/holey.copy" bs=64k skip=80 count=1 status=none | cmp -s - <(head -c 65536 "$T/data") ||
	fail "the copy holds zeros where the original had data still in the page cache"
blocks=$(blocks_of "$M/holey.copy")
[ "$blocks" -lt $((4 * MIB / 512)) ] ||
	fail "the copy is not sparse: $blocks blocks"
ok "SEEK_DATA and cp --sparse=always see data still in the page cache; the copy keeps the hole"

# ------------------------------------------------------------ times, setuid
touch -d '2001-01-01' "$M/small" || fail "touch"
m0=$(stat -c %Y "$M/small")
sleep 1.1
dd if="$T/data" of="$M/small" bs=4k count=1 conv=notrunc status=none || fail "overwrite"
m1=$(stat -c %Y "$M/small")
[ "$m1" -gt "$m0" ] || fail "mtime did not move on a write ($m0 -> $m1)"
echo data >"$M/suid" && chmod 6777 "$M/suid" || fail "make suid"
nobody sh -c 'echo x >>"$1"' sh "$M/suid" || fail "nobody writes the 6777 file"
expect_eq "$(stat -c %a "$M/suid")" 777 "mode of a 6777 root file after a write by nobody"
sfs_umount "$M"
sfs_mount "$B" "$M"
expect_eq "$(stat -c %Y "$M/small")" "$m1" "mtime after a remount"
expect_eq "$(stat -c %a "$M/suid")" 777 "mode after a remount"
cmp "$T/data" "$M/holey.copy" -n 65536 || fail "holey.copy after a remount"
ok "mtime moves on a write and is kept; setuid/setgid go on another user's write"
sfs_umount "$M"

# ---------------------------------------------------------- a full backing
exfat_bed 64M "$T/ex"
B=$T/ex/store
M=$T/exm
mkdir -p "$B" "$M"
sfs_mount "$B" "$M" -o writeback_cache
head -c $((8 * MIB)) /dev/urandom >"$T/keep"
dd if="$T/keep" of="$M/keep" bs=1M conv=fsync status=none || fail "write keep"
rc=0
timeout 120 dd if=/dev/urandom of="$M/big" bs=1M count=100 conv=fsync \
	status=none 2>"$T/dd.err" || rc=$?
[ "$rc" != 124 ] || fail "dd of 100 MiB into a 64 MiB backing hung"
[ "$rc" != 0 ] || fail "dd conv=fsync of 100 MiB into a 64 MiB backing succeeded"
grep -qF "$ENOSPC_MSG" "$T/dd.err" ||
	fail "100 MiB into 64 MiB: expected '$ENOSPC_MSG', got: $(cat "$T/dd.err")"
ok "100 MiB into a 64 MiB backing: the writer gets ENOSPC ($(head -n 1 "$T/dd.err"))"
cmp "$T/keep" "$M/keep" || fail "keep changed on a full backing"
rm -f "$M/big" || fail "rm big"
# The chunk files go when the kernel forgets the inode, which it does
# after its cached pages are dropped: soon, not at once.
room()
{
	[ "$(df -k --output=avail "$T/ex" | tail -n 1)" -ge $((16 * 1024)) ]
}
wait_until 20 room ||
	fail "20 s after rm big the backing has only $(df -k --output=avail "$T/ex" | tail -n 1) KiB free"
dd if="$T/keep" of="$M/again" bs=1M conv=fsync status=none ||
	fail "write after freeing space"
cmp "$T/keep" "$M/again" || fail "again reads back wrong"
sfs_umount "$M"
sfs_mount "$B" "$M"
cmp "$T/keep" "$M/keep" && cmp "$T/keep" "$M/again" ||
	fail "files differ after a remount"
ok "files written before the backing filled are intact; after freeing space writing works again, also after a remount"
sfs_umount "$M"

echo "t0070-writeback: all passed"
exit 0
