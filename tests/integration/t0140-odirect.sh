#!/bin/bash
# t0140-odirect: O_DIRECT opens work on sparsefs and see the right bytes.
#
# Over a plain directory (1 MiB and 64 KiB chunks) and over exFAT:
#   - sparse_probe odirect: aligned O_DIRECT writes at and across chunk
#     boundaries, read back with O_DIRECT and through the page cache, holes
#     between them read as zeros, a buffered write seen by O_DIRECT reads;
#   - dd oflag=direct of 3 MiB + 4 KiB at an offset that crosses chunk
#     boundaries, dd iflag=direct reading it back (and a hole before it)
#     compared with the source; buffered reads agree; a remount keeps it;
#   - O_DIRECT reads of a sparse file's hole read zeros and cost nothing.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

PROBE=$(helper sparse_probe) || exit 1
MIB=$((1 << 20))
T=$SFS_TMP

head -c $((3 * MIB + 4096)) /dev/urandom >"$T/src" || fail "random data"

odirect_suite()
{
	local label=$1 b=$2 m=$3 r
	shift 3

	mkdir -p "$b" "$m" || fail "mkdir"
	sfs_mount "$b" "$m" "$@"

	r=$("$PROBE" odirect "$m/probe" 2>&1) ||
		fail "$label: sparse_probe odirect: $r"
	expect_eq "$r" ok "$label: sparse_probe odirect"
	ok "$label: O_DIRECT writes and reads at and across chunk boundaries"

	# dd with O_DIRECT, 3 MiB + 4 KiB from 1 MiB - 64 KiB on
	dd if="$T/src" of="$m/dd" bs=64K seek=15 oflag=direct status=none ||
		fail "$label: dd oflag=direct"
	expect_eq "$(size_of "$m/dd")" $((15 * 65536 + 3 * MIB + 4096)) \
		"$label: size after dd oflag=direct"
	dd if="$m/dd" bs=64K skip=15 iflag=direct status=none >"$T/back" ||
		fail "$label: dd iflag=direct"
	cmp "$T/back" "$T/src" || fail "$label: dd iflag=direct reads other bytes"
	dd if="$m/dd" bs=64K count=15 iflag=direct status=none | cmp -n $((15 * 65536)) - /dev/zero ||
		fail "$label: the hole before the data does not read zeros with O_DIRECT"
	cmp -i $((15 * 65536)):0 "$m/dd" "$T/src" ||
		fail "$label: buffered reads disagree with what dd oflag=direct wrote"
	# an unaligned O_DIRECT read (in the hole, and across into the data)
	# may fail with EINVAL but must never return other bytes
	if dd if="$m/dd" bs=1000 skip=1 count=1 iflag=direct status=none \
		>"$T/odd" 2>/dev/null; then
		cmp -n 1000 "$T/odd" /dev/zero ||
			fail "$label: an unaligned O_DIRECT read of a hole returned other bytes"
	fi
	if dd if="$m/dd" bs=3000 skip=$((15 * 65536 - 1000)) count=1 \
		iflag=direct,skip_bytes status=none >"$T/odd" 2>/dev/null; then
		cmp -n 1000 "$T/odd" /dev/zero &&
			cmp -n 2000 -i 1000:0 "$T/odd" "$T/src" ||
			fail "$label: an unaligned O_DIRECT read across the start of the data returned other bytes"
	fi
	ok "$label: dd oflag=direct and iflag=direct: data right, holes zeros"

	# O_DIRECT over a big hole
	truncate -s 1T "$m/huge" || fail "truncate"
	dd if="$m/huge" bs=1M skip=$((512 * 1024)) count=16 iflag=direct \
		status=none | cmp -n $((16 * MIB)) - /dev/zero ||
		fail "$label: O_DIRECT read of a hole"
	expect_eq "$(blocks_of "$m/huge")" 0 "$label: st_blocks of the hole read with O_DIRECT"
	ok "$label: O_DIRECT reads of a hole read zeros"

	sfs_umount "$m"
	sfs_mount "$b" "$m"
	dd if="$m/dd" bs=64K skip=15 iflag=direct status=none >"$T/back" ||
		fail "$label: dd iflag=direct after a remount"
	cmp "$T/back" "$T/src" || fail "$label: data after a remount"
	ok "$label: O_DIRECT data stays after a remount"
	rm -f "$m/dd" "$m/probe" "$m/huge"
	sfs_umount "$m"
}

odirect_suite plain "$T/plain/b" "$T/plain/m"
odirect_suite plain-64k "$T/plain64/b" "$T/plain64/m" -o chunk_size=64K
exfat_bed 512M "$T/ex"
odirect_suite exfat "$T/ex/store" "$T/exm"

echo "t0140-odirect: all passed"
exit 0
