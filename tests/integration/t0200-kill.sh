#!/bin/bash
# t0200-kill: the daemon killed with SIGKILL loses nothing it promised.
#
# Over a plain directory and over an exFAT bed, several rounds of: mount
# (foreground daemon), run kill_writer (an LMDB writer with a 1 TiB map,
# --writemap every other round, logging each acknowledged commit to a file
# outside the mount), SIGKILL the daemon after 0.2-2 s, detach the dead
# mount (fusermount3 -uz), remount, which must say "not unmounted cleanly;
# recovering", and verify: every acknowledged transaction is there in full,
# none is torn; then unmount cleanly and fsck.sparsefs -n must say clean.
# The LMDB environment carries on from round to round.  The same again over
# a plain directory mounted with -o writeback_cache.
#
# Killed during a churn of writes, truncates and unlinks (some of files
# still open): after the recovering mount and an unmount, fsck -n is clean.
#
# Plain files: data made durable by fsync (dd conv=fsync, into a new
# directory), fdatasync (an overwrite in the middle), truncate + fsync and
# msync(MS_SYNC) (mmap_check) survives kill -9; fsck -n clean afterwards.
#
# Locks: the lock of a killed daemon does not block the next mount (also
# while its dead mount is still attached); a live daemon's lock does: a
# second mount is refused with a message and the first keeps working.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

KILL_WRITER=$(helper kill_writer) || exit 1
MMAP_CHECK=$(helper mmap_check) || exit 1
FSCK=${FSCK:-$(dirname -- "$SPARSEFS")/fsck.sparsefs}
[ -x "$FSCK" ] || fail "fsck.sparsefs not built (FSCK=$FSCK)"
T=$SFS_TMP
ROUNDS=${SFS_KILL_ROUNDS:-5}
RECOVER_MSG="not unmounted cleanly; recovering"

# mount_recovering BACKING MNT: mount after an unclean stop; the daemon must
# say that it recovers.
mount_recovering()
{
	local log

	sfs_mount "$1" "$2"
	log=$(daemon_log "$2")
	grep -qF "$RECOVER_MSG" "$log" ||
		fail "the mount after kill -9 did not log '$RECOVER_MSG': $(cat "$log")"
}

# fsck_clean BACKING WHAT: fsck.sparsefs -n exits 0.
fsck_clean()
{
	local rc=0

	timeout 60 "$FSCK" -n "$1" >"$T/fsck.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] ||
		fail "$2: fsck.sparsefs -n $1 exited $rc, expected 0: $(cat "$T/fsck.out")"
}

# rand_sleep: 0.2 to 2 s.
rand_sleep()
{
	local ms=$((200 + RANDOM % 1801))

	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
}

# kill_rounds NAME BACKING MNT [SPARSEFS OPTIONS...]
kill_rounds()
{
	local name=$1 b=$2 m=$3 r wm wpid rc log n acked=0
	shift 3

	log=$T/$name.log
	: >"$log"
	sfs_mount "$b" "$m" "$@"
	for ((r = 1; r <= ROUNDS; r++)); do
		wm=
		[ $((r % 2)) = 1 ] && wm=--writemap
		"$KILL_WRITER" $wm write "$m/db" "$log" >"$T/$name.w$r.out" 2>&1 &
		wpid=$!
		rand_sleep
		kill -0 "$wpid" 2>/dev/null ||
			fail "$name round $r: kill_writer $wm ended before the kill: $(cat "$T/$name.w$r.out")"
		kill_daemon "$m"
		# The writer must notice: every call fails once the daemon
		# is gone (with --writemap it may die of SIGBUS instead).
		if ! wait_until 20 pid_gone "$wpid"; then
			kill -KILL "$wpid" 2>/dev/null
			wait "$wpid" 2>/dev/null
			fail "$name round $r: kill_writer still running 20 s after the daemon was killed"
		fi
		rc=0
		wait "$wpid" 2>/dev/null || rc=$?
		[ "$rc" != 0 ] ||
			fail "$name round $r: kill_writer exited 0 although its daemon was killed"
		n=$(wc -l <"$log")
		[ "$n" -gt "$acked" ] ||
			fail "$name round $r: no transaction committed before the kill: $(cat "$T/$name.w$r.out")"
		note "$name round $r ($wm): killed after $((n - acked)) acknowledged commits (writer: exit $rc, $(tail -n 1 "$T/$name.w$r.out"))"
		acked=$n

		mount_recovering "$b" "$m"
		timeout 60 "$KILL_WRITER" verify "$m/db" "$log" >"$T/$name.v$r.out" 2>&1 ||
			fail "$name round $r: verify after kill -9 and remount: $(cat "$T/$name.v$r.out")"
		sfs_umount "$m"
		fsck_clean "$b" "$name round $r, after the recovering mount"
		ok "$name round $r ($wm): $(tail -n 1 "$T/$name.v$r.out" | sed 's/^kill_writer: //'); fsck -n clean"
		[ "$r" = "$ROUNDS" ] || sfs_mount "$b" "$m" "$@"
	done
}

# ---------------------------------------------------------------- LMDB rounds
mkdir -p "$T/plain/b" "$T/plain/m"
kill_rounds plain "$T/plain/b" "$T/plain/m"

exfat_bed 1G "$T/ex"
mkdir -p "$T/ex/store" "$T/exm"
kill_rounds exfat "$T/ex/store" "$T/exm"

# With the writeback cache the kernel holds written pages back, but a commit
# (fdatasync, msync) hands them over before it returns.
mkdir -p "$T/wb/b" "$T/wb/m"
kill_rounds writeback "$T/wb/b" "$T/wb/m" -o writeback_cache

# ------------------------------------------- kill during writes, truncates, unlinks
# What recovery is for: chunk files written but not yet named, records past
# a truncated end of file, files unlinked while open.  After the recovering
# mount and a clean unmount, fsck must find nothing.
# churn MNT: run in a subshell of its own.  It works relative to its cwd
# in the mount: once the dead mount is detached, a path would lead to the
# empty directory under it, and the loop would never fail.
churn()
{
	local i=0

	cd "$1" || exit 1
	while :; do
		dd if=/dev/urandom of="c$((i % 4))" bs=256K count=12 status=none \
			2>/dev/null || exit 0
		truncate -s $((100000 + i)) "c$(((i + 1) % 4))" 2>/dev/null
		# Keep it open while it is unlinked: an orphan.
		exec 4<"c$(((i + 3) % 4))" 2>/dev/null
		rm -f "c$(((i + 3) % 4))" 2>/dev/null
		i=$((i + 1))
	done
}
head -c $((3 * 1048576 + 12345)) /dev/urandom >"$T/big"
B=$T/plain/b
M=$T/plain/m
for ((r = 1; r <= 3; r++)); do
	sfs_mount "$B" "$M"
	churn "$M" &
	cpid=$!
	rand_sleep
	kill_daemon "$M"
	wait_until 20 pid_gone "$cpid" || {
		kill -KILL "$cpid"
		fail "churn round $r: the writer still runs 20 s after the daemon was killed"
	}
	wait "$cpid" 2>/dev/null
	mount_recovering "$B" "$M"
	ls -la "$M" >/dev/null || fail "churn round $r: ls after the recovering mount"
	for f in "$M"/c*; do
		[ -e "$f" ] || continue
		cat "$f" >/dev/null || fail "churn round $r: read $f after the recovering mount"
	done
	sfs_umount "$M"
	fsck_clean "$B" "churn round $r, after the recovering mount"
	ok "churn round $r: killed during writes, truncates and unlinks; after the recovering mount fsck -n is clean ($(chunk_count "$B") chunk files)"
done

# ------------------------------------------------- fsync, then kill: plain files
B=$T/plain/b
M=$T/plain/m
head -c 100000 /dev/urandom >"$T/patch"
head -c $((2 * 1048576)) /dev/urandom >"$T/base"
sfs_mount "$B" "$M"
cp "$T/base" "$M/overwritten" && sync "$M/overwritten" || fail "write overwritten"
cp "$T/base" "$M/truncated" && sync "$M/truncated" || fail "write truncated"
sfs_umount "$M"
sfs_mount "$B" "$M"
mkdir "$M/newdir" || fail "mkdir newdir"
dd if="$T/big" of="$M/newdir/fsynced" bs=256K conv=fsync status=none ||
	fail "dd conv=fsync"
dd if="$T/patch" of="$M/overwritten" bs=64K seek=1000000 oflag=seek_bytes \
	conv=notrunc,fdatasync status=none || fail "dd conv=fdatasync"
truncate -s 1234567 "$M/truncated" && sync "$M/truncated" ||
	fail "truncate + fsync"
timeout 60 "$MMAP_CHECK" "$M/mapped" >"$T/mmap.out" 2>&1 ||
	fail "mmap_check: $(cat "$T/mmap.out")"
kill_daemon "$M"
mount_recovering "$B" "$M"
cmp "$T/big" "$M/newdir/fsynced" || fail "file written with fsync lost data after kill -9"
cp "$T/base" "$T/want" &&
	dd if="$T/patch" of="$T/want" bs=64K seek=1000000 oflag=seek_bytes \
		conv=notrunc status=none || fail "build the expected overwritten file"
cmp "$T/want" "$M/overwritten" || fail "overwrite made durable with fdatasync lost after kill -9"
head -c 1234567 "$T/base" >"$T/want"
cmp "$T/want" "$M/truncated" || fail "truncate made durable with fsync lost after kill -9 (size $(size_of "$M/truncated"))"
timeout 60 "$MMAP_CHECK" --verify "$M/mapped" >"$T/mmap.out" 2>&1 ||
	fail "data made durable with msync(MS_SYNC) lost after kill -9: $(cat "$T/mmap.out")"
sfs_umount "$M"
fsck_clean "$B" "after fsync + kill -9"
ok "fsync, fdatasync, truncate + fsync and msync(MS_SYNC) data survive kill -9; fsck -n clean"

# ----------------------------------------------------------------------- locks
mkdir -p "$T/m2"
sfs_mount "$B" "$M"
echo "live" >"$M/live" || fail "write on the first mount"
rc=0
timeout 30 "$SPARSEFS" -f "$B" "$T/m2" </dev/null >"$T/second.out" 2>&1 || rc=$?
register_stray "$T/m2"
[ "$rc" != 124 ] || fail "a second mount of a live store hung"
[ "$rc" != 0 ] || fail "a second mount of a live store exited 0"
grep -Eqi "already (in use|mounted)" "$T/second.out" ||
	fail "a second mount of a live store: no message about the lock: $(cat "$T/second.out")"
! is_mounted "$(canon "$T/m2")" || fail "the refused second mount is mounted"
expect_eq "$(cat "$M/live")" live "the first mount after a refused second one"
ok "a live daemon's lock refuses a second mount (exit $rc: $(head -n 1 "$T/second.out"))"

# Killed with its mount still attached: the lock died with it.
i=$(_sfs_index "$(canon "$M")")
pid=${_SFS_PID[i]}
kill -KILL "$pid"
wait "$pid" 2>/dev/null
_SFS_KIND[i]='done'
sfs_mount "$B" "$T/m2"
grep -qF "$RECOVER_MSG" "$(daemon_log "$T/m2")" ||
	fail "a mount after kill -9 did not log '$RECOVER_MSG'"
expect_eq "$(cat "$T/m2/live")" live "the file written before kill -9"
ok "the lock of a killed daemon (mount still attached) does not block the next mount"
timeout 20 fusermount3 -uz "$(canon "$M")" 2>/dev/null || umount -l "$M" ||
	fail "cannot detach the dead mount $M"
sfs_umount "$T/m2"
# And right after a kill -9 and detach, on the same mount point.
sfs_mount "$B" "$M"
kill_daemon "$M"
mount_recovering "$B" "$M"
expect_eq "$(cat "$M/live")" live "the file after a second kill -9"
sfs_umount "$M"
fsck_clean "$B" "after the lock checks"
ok "the lock of a killed daemon does not block a mount on the same mount point"

echo "t0200-kill: all passed"
exit 0
