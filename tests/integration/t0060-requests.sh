#!/bin/bash
# t0060-requests: what the kernel asks the daemon for a run of small writes,
# counted in the daemon's debug log (-d).
#
# Without FUSE_HANDLE_KILLPRIV_V2 the kernel asks for security.capability
# (GETXATTR) before every write(2): two round trips per write.  sparsefs
# takes that flag where the kernel offers it (src/wire.h), so 200 writes of
# 4 KiB are 200 WRITE requests and at most one GETXATTR.  Whether the
# setuid/setgid and capability rules still hold is t0310's job.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

T=$SFS_TMP
B=$T/b
M=$T/m
mkdir -p "$B" "$M"
LOG=$SFS_TMP/daemon.${#_SFS_KIND[@]}.log
sfs_mount "$B" "$M" -d
[ -f "$LOG" ] || fail "no daemon log at $LOG"

# The kernel's INIT flags are the first flags= line of the log.
kflags=$(sed -n 's/^flags=0x\([0-9a-f]*\)$/\1/p' "$LOG" | head -n 1)
[ -n "$kflags" ] || fail "no INIT flags in the debug log"
if (((0x$kflags & (1 << 28)) == 0)); then
	sfs_umount "$M"
	skip "the kernel ($(uname -r)) does not offer FUSE_HANDLE_KILLPRIV_V2"
fi

count()
{
	grep -c "opcode: $1 " "$LOG"
}

dd if=/dev/zero of="$M/f" bs=4k count=1 status=none || fail "create f"
w0=$(count WRITE)
x0=$(count GETXATTR)
dd if=/dev/urandom of="$M/f" bs=4k count=200 conv=notrunc status=none ||
	fail "200 writes"
w=$(($(count WRITE) - w0))
x=$(($(count GETXATTR) - x0))
note "200 writes of 4 KiB: $w WRITE, $x GETXATTR requests"
[ "$w" -ge 200 ] || fail "200 writes made only $w WRITE requests"
[ "$x" -le 1 ] ||
	fail "200 writes made $x GETXATTR requests: the kernel still asks for security.capability before each write"
ok "200 writes of 4 KiB: $w WRITE requests, $x GETXATTR"

# Still after the mode has changed (an attribute refresh): one at most.
chmod 0600 "$M/f" || fail chmod
x0=$(count GETXATTR)
dd if=/dev/urandom of="$M/f" bs=4k count=50 conv=notrunc status=none ||
	fail "50 writes"
x=$(($(count GETXATTR) - x0))
[ "$x" -le 1 ] || fail "50 writes after a chmod made $x GETXATTR requests"
ok "50 writes after a chmod: $x GETXATTR"
sfs_umount "$M"

# Without the flag (-o no_killpriv_v2), as with a kernel that does not
# offer it: a GETXATTR before every write.
LOG=$SFS_TMP/daemon.${#_SFS_KIND[@]}.log
sfs_mount "$B" "$M" -d -o no_killpriv_v2
x0=$(count GETXATTR)
dd if=/dev/urandom of="$M/f" bs=4k count=50 conv=notrunc status=none ||
	fail "50 writes without KILLPRIV_V2"
x=$(($(count GETXATTR) - x0))
[ "$x" -ge 50 ] ||
	fail "50 writes with -o no_killpriv_v2 made only $x GETXATTR requests (expected one each: is the count right?)"
ok "-o no_killpriv_v2: 50 writes, $x GETXATTR requests"
sfs_umount "$M"
