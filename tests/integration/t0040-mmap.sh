#!/bin/bash
# t0040-mmap: shared writable mmap works and sees the same bytes as
# pread/pwrite, over a plain directory and over exFAT; the result survives
# a remount.  The checks themselves are in tests/helpers/mmap_check.c.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

MMAP_CHECK=$(helper mmap_check) || exit 1
T=$SFS_TMP

# mmap_suite LABEL BACKING MNT
mmap_suite()
{
	local label=$1 b=$2 m=$3

	mkdir -p "$b" "$m" || fail "mkdir $b $m"
	sfs_mount "$b" "$m"
	timeout 60 "$MMAP_CHECK" "$m/mapped" ||
		fail "$label: mmap_check $m/mapped failed (status $?)"
	mkdir "$m/sub" || fail "mkdir"
	timeout 60 "$MMAP_CHECK" "$m/sub/again" ||
		fail "$label: mmap_check $m/sub/again failed (status $?)"
	ok "$label: shared writable mmap and pread/pwrite agree"
	sfs_umount "$m"
	sfs_mount "$b" "$m"
	timeout 60 "$MMAP_CHECK" --verify "$m/mapped" ||
		fail "$label: mmap_check --verify after remount failed (status $?)"
	timeout 60 "$MMAP_CHECK" --verify "$m/sub/again" ||
		fail "$label: mmap_check --verify sub/again after remount failed"
	ok "$label: what was written through the map is there after a remount"
	sfs_umount "$m"
}

# The helper's own sanity, on the plain file system: a failure here is the
# helper's, not the daemon's.
timeout 60 "$MMAP_CHECK" "$T/reference" || fail "mmap_check fails on ${TMPDIR:-/tmp} itself"

mmap_suite plain "$T/plain/b" "$T/plain/m"

exfat_bed 512M "$T/ex"
mmap_suite exfat "$T/ex/store" "$T/exm"

echo "t0040-mmap: all passed"
exit 0
