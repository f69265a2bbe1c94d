#!/bin/bash
# t0250-stress: many processes and threads at once, then a careful look.
#
# On a store with 64 KiB chunks (so that small files span chunks) over a
# plain directory (and then, for a shorter run, over an exFAT bed), `stress
# run` starts 4 processes x 4 threads that for
# about 20 s create, write, read, append, truncate, rename, unlink, mkdir,
# rmdir, link and fsync on shared names (collisions give only the expected
# errors: ENOENT, EEXIST, ...; EIO, ENOTCONN, ENOSPC and the like fail),
# check private files against in-memory copies, and end with a
# deterministic phase whose result is checked exactly (names, types, sizes,
# bytes, link counts) along with the consistency of the shared tree (every
# file reads st_size bytes, link counts match names and subdirectories).
# The daemon must still run; after the unmount (exit 0) fsck.sparsefs -n is
# clean; after a remount `stress verify` passes again and every file shows
# the same size, link count and bytes as before the unmount; fsck -n is
# clean after that unmount too.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

STRESS=$(helper stress) || exit 1
FSCK=${FSCK:-$(dirname -- "$SPARSEFS")/fsck.sparsefs}
[ -x "$FSCK" ] || fail "fsck.sparsefs not built (FSCK=$FSCK)"
T=$SFS_TMP
M=$T/m
SECS=${SFS_STRESS_SECONDS:-20}
PROCS=${SFS_STRESS_PROCS:-4}
THREADS=${SFS_STRESS_THREADS:-4}
SEED=${SFS_STRESS_SEED:-$RANDOM}
mkdir -p "$M"

# snapshot DIR: path, type, size, link count of everything, and the
# checksum of every file.
snapshot()
{
	(
		cd "$1" || exit 1
		find . -printf '%p\t%y\t%s\t%n\n' | sort
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum
	)
}

fsck_clean()
{
	local rc=0

	timeout 60 "$FSCK" -n "$B" >"$T/fsck.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] ||
		fail "$1: fsck.sparsefs -n exited $rc, expected 0: $(head -n 20 "$T/fsck.out")"
}

# stress_on NAME BACKING SECONDS
stress_on()
{
	local name=$1 secs=$3 rc=0 i
	B=$2

	mkdir -p "$B"
	sfs_mount "$B" "$M" -o chunk_size=64K
	note "$name: $PROCS processes x $THREADS threads, $secs s, seed $SEED"
	timeout $((secs + 60)) "$STRESS" -p "$PROCS" -t "$THREADS" -d "$secs" \
		-s "$SEED" run "$M" >"$T/stress.out" 2>&1 || rc=$?
	cat "$T/stress.out"
	[ "$rc" != 124 ] || fail "$name: stress hung (seed $SEED)"
	[ "$rc" = 0 ] ||
		fail "$name: stress run failed (exit $rc, seed $SEED): $(grep -v '^stress: process' "$T/stress.out" | head -n 20)"
	i=$(_sfs_index "$(canon "$M")")
	kill -0 "${_SFS_PID[i]}" 2>/dev/null || fail "$name: the daemon died during the stress run"
	ok "$name: stress run of $secs s: no unexpected error; final phase and shared tree check out"

	snapshot "$M" >"$T/before" || fail "$name: snapshot of the mount"
	sfs_umount "$M"
	fsck_clean "$name: after the stress run"
	ok "$name: the daemon exited 0; fsck.sparsefs -n: $(tail -n 1 "$T/fsck.out")"

	sfs_mount "$B" "$M"
	timeout 120 "$STRESS" -p "$PROCS" -t "$THREADS" verify "$M" >"$T/verify.out" 2>&1 ||
		fail "$name: stress verify after a remount: $(head -n 20 "$T/verify.out")"
	snapshot "$M" >"$T/after" || fail "$name: snapshot of the mount after the remount"
	diff "$T/before" "$T/after" >"$T/snapshot.diff" ||
		fail "$name: the tree differs after a remount: $(head -n 20 "$T/snapshot.diff")"
	sfs_umount "$M"
	fsck_clean "$name: after the verifying mount"
	ok "$name: after a remount, stress verify passes and every file has the same size, link count and bytes; fsck -n clean"
}

stress_on plain "$T/b" "$SECS"
if [ "${SFS_STRESS_EXFAT:-1}" = 1 ]; then
	exfat_bed 2G "$T/ex"
	stress_on exfat "$T/ex/store" "${SFS_STRESS_EXFAT_SECONDS:-8}"
fi

echo "t0250-stress: all passed"
exit 0
