#!/bin/bash
# t0030-sparse: holes cost nothing, st_blocks and du tell the truth, chunks
# are freed by truncate and unlink; over a plain directory and over exFAT,
# which has no sparse files of its own.
#
# For each backing: a 1 TiB file made by truncate stores nothing; 4 KiB
# written at 512 GiB cost at most one chunk (st_blocks <= 2048 for 1 MiB
# chunks, du small, du --apparent-size 1 TiB); holes read zeros; truncate
# down frees the chunks past the end and zeroes the cut tail of the last one;
# unlink frees every chunk (for a file still open, on the last close); a
# 5 GiB file written at and across 4 GiB works; all of it after a remount.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

MIB=$((1 << 20))
GIB=$((1 << 30))
TIB=$((1 << 40))
T=$SFS_TMP

head -c 4096 /dev/urandom >"$T/4k"
head -c $MIB /dev/urandom >"$T/1m"
head -c 8192 /dev/urandom >"$T/8k"

# put SRC FILE OFFSET: write SRC into FILE at byte OFFSET, no truncation.
put()
{
	dd if="$1" of="$2" bs=64K seek="$3" oflag=seek_bytes conv=notrunc \
		status=none || fail "dd $1 into $2 at $3"
}

# same FILE OFFSET SRC: FILE holds SRC at OFFSET.
same()
{
	cmp -i "$2:0" -n "$(size_of "$3")" "$1" "$3" ||
		fail "$1 at $2 does not hold $(basename "$3")"
}

# zeros FILE OFFSET LEN: FILE reads zeros in [OFFSET, OFFSET + LEN).
zeros()
{
	cmp -i "$2:0" -n "$3" "$1" /dev/zero ||
		fail "$1 does not read zeros in [$2, $(($2 + $3)))"
}

chunks_are()
{
	[ "$(chunk_count "$1")" -eq "$2" ]
}

# expect_chunks BACKING N WHAT: the store holds N chunk files, or comes to
# within a few seconds (freeing may wait for the kernel to forget an inode).
expect_chunks()
{
	wait_until 10 chunks_are "$1" "$2" ||
		fail "$3: $(chunk_count "$1") chunk files in $1/data, expected $2"
}

# The checks that must hold before and after a remount.
check_huge()
{
	local f=$1 blocks

	expect_eq "$(size_of "$f")" $TIB "size of the 1 TiB file"
	blocks=$(blocks_of "$f")
	[ "$blocks" -le 2048 ] ||
		fail "1 TiB file with 4 KiB written: st_blocks $blocks > 2048 (1 MiB)"
	[ "$blocks" -ge 8 ] ||
		fail "1 TiB file with 4 KiB written and fsynced: st_blocks $blocks < 8 (4 KiB)"
	[ "$(du -k "$f" | cut -f1)" -le 1024 ] ||
		fail "du of the 1 TiB file: $(du -k "$f" | cut -f1) KiB > 1024"
	expect_eq "$(du --apparent-size -B1 "$f" | cut -f1)" $TIB "du --apparent-size"
	zeros "$f" 0 $MIB
	zeros "$f" $((512 * GIB - MIB)) $MIB
	same "$f" $((512 * GIB)) "$T/4k"
	zeros "$f" $((512 * GIB + 4096)) $((MIB - 4096))
	zeros "$f" $((700 * GIB)) $MIB
	zeros "$f" $((TIB - MIB)) $MIB
	expect_eq "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" 00 "last byte"
	expect_eq "$(dd if="$f" bs=4096 skip=$TIB iflag=skip_bytes count=1 status=none | wc -c)" \
		0 "bytes read at end of file"
}

check_cut()
{
	local f=$1

	expect_eq "$(size_of "$f")" $((20 * MIB)) "size of the truncated file"
	same "$f" 0 "$T/1m"
	# [10 MiB, 10 MiB + 2 KiB) kept, the cut tail up to 10 MiB + 4 KiB zero
	cmp -n 2048 -i $((10 * MIB)):0 "$f" "$T/4k" || fail "kept half of the cut chunk"
	zeros "$f" $((10 * MIB + 2048)) $((20 * MIB - 10 * MIB - 2048))
	zeros "$f" $MIB $((9 * MIB))
}

check_five()
{
	local f=$1

	expect_eq "$(size_of "$f")" $((5 * GIB)) "size of the 5 GiB file"
	same "$f" $((4 * GIB + GIB / 2)) "$T/4k"
	same "$f" $((4 * GIB - 4096)) "$T/8k"
	zeros "$f" $((4 * GIB - MIB)) $((MIB - 4096))
	zeros "$f" $((4 * GIB + 4096)) $((MIB - 4096))
	zeros "$f" $((5 * GIB - MIB)) $MIB
	# 12 KiB in three chunks: at most three chunks' worth
	[ "$(blocks_of "$f")" -le 6144 ] ||
		fail "5 GiB file with 12 KiB written in 3 chunks: st_blocks $(blocks_of "$f") > 6144"
}

# sparse_suite LABEL BACKING MNT
sparse_suite()
{
	local label=$1 b=$2 m=$3 base c

	mkdir -p "$b" "$m" || fail "mkdir $b $m"
	sfs_mount "$b" "$m"
	base=$(chunk_count "$b")

	# ftruncate up stores nothing
	truncate -s 1T "$m/huge" || fail "truncate -s 1T"
	sync -f "$m"
	expect_eq "$(size_of "$m/huge")" $TIB "size after truncate -s 1T"
	expect_eq "$(blocks_of "$m/huge")" 0 "st_blocks after truncate -s 1T"
	expect_chunks "$b" "$base" "after truncate -s 1T"
	zeros "$m/huge" $((300 * GIB)) $MIB
	ok "$label: truncate -s 1T stores nothing, reads zeros"

	# 4 KiB at 512 GiB
	put "$T/4k" "$m/huge" $((512 * GIB))
	sync "$m/huge" || fail "fsync huge"
	check_huge "$m/huge"
	expect_chunks "$b" $((base + 1)) "after 4 KiB at 512 GiB"
	ok "$label: 4 KiB at 512 GiB: st_blocks $(blocks_of "$m/huge"), du $(du -k "$m/huge" | cut -f1) KiB, one chunk file"

	# truncate down frees the chunks past the end
	base=$(chunk_count "$b")
	put "$T/1m" "$m/cut" 0
	put "$T/4k" "$m/cut" $((10 * MIB))
	put "$T/4k" "$m/cut" $((100 * MIB))
	put "$T/4k" "$m/cut" $((512 * GIB))
	sync "$m/cut" || fail "fsync cut"
	expect_chunks "$b" $((base + 4)) "cut: 4 chunks written"
	truncate -s 50M "$m/cut" || fail "truncate -s 50M"
	expect_chunks "$b" $((base + 2)) "cut: after truncate from 512 GiB to 50 MiB"
	same "$m/cut" 0 "$T/1m"
	same "$m/cut" $((10 * MIB)) "$T/4k"
	zeros "$m/cut" $((50 * MIB - MIB)) $MIB
	truncate -s $((10 * MIB + 2048)) "$m/cut" || fail "truncate into a chunk"
	truncate -s 20M "$m/cut" || fail "truncate up to 20M"
	sync "$m/cut" || fail "fsync cut"
	expect_chunks "$b" $((base + 2)) "cut: after truncate into a chunk and up"
	check_cut "$m/cut"
	truncate -s 0 "$m/cut" || fail "truncate -s 0"
	expect_chunks "$b" "$base" "cut: after truncate -s 0"
	expect_eq "$(blocks_of "$m/cut")" 0 "st_blocks after truncate -s 0"
	# again, to keep for the remount checks
	put "$T/1m" "$m/cut" 0
	put "$T/4k" "$m/cut" $((10 * MIB))
	put "$T/4k" "$m/cut" $((30 * MIB))
	truncate -s $((10 * MIB + 2048)) "$m/cut" && truncate -s 20M "$m/cut" ||
		fail "truncate cut"
	sync "$m/cut" || fail "fsync cut"
	expect_chunks "$b" $((base + 2)) "cut: rewritten and cut"
	check_cut "$m/cut"
	ok "$label: truncate down frees chunks past the end and zeroes the cut tail"

	# unlink frees every chunk
	base=$(chunk_count "$b")
	for off in 0 $((5 * MIB)) $((300 * MIB)) $((4 * GIB + GIB / 2)); do
		put "$T/4k" "$m/gone" "$off"
	done
	sync "$m/gone" || fail "fsync gone"
	expect_chunks "$b" $((base + 4)) "gone: 4 chunks written"
	rm "$m/gone" || fail "unlink gone"
	expect_chunks "$b" "$base" "after unlink"
	# ... of a file still open: its data stays until the last close
	put "$T/1m" "$m/open" 0
	put "$T/4k" "$m/open" $((3 * MIB))
	sync "$m/open" || fail "fsync open"
	expect_chunks "$b" $((base + 2)) "open: 2 chunks written"
	exec 3<"$m/open" || fail "open $m/open"
	rm "$m/open" || fail "unlink an open file"
	[ ! -e "$m/open" ] || fail "open file still has its name after unlink"
	cmp -n $MIB - "$T/1m" <&3 || { exec 3<&-; fail "read an unlinked open file"; }
	expect_eq "$(chunk_count "$b")" $((base + 2)) "chunks of an unlinked file still open"
	exec 3<&-
	expect_chunks "$b" "$base" "after the last close of an unlinked file"
	ok "$label: unlink frees every chunk (an open file's on its last close)"

	# a 5 GiB file, written at 4.5 GiB and across 4 GiB
	truncate -s 5G "$m/five" || fail "truncate -s 5G"
	put "$T/4k" "$m/five" $((4 * GIB + GIB / 2))
	put "$T/8k" "$m/five" $((4 * GIB - 4096))
	sync "$m/five" || fail "fsync five"
	check_five "$m/five"
	ok "$label: 5 GiB file written at 4.5 GiB and across 4 GiB"

	# all of it again after a remount (no page cache left to hide behind)
	sync -f "$m"
	c=$(chunk_count "$b")
	sfs_umount "$m"
	expect_eq "$(chunk_count "$b")" "$c" "chunk files across unmount"
	sfs_mount "$b" "$m"
	check_huge "$m/huge"
	check_cut "$m/cut"
	check_five "$m/five"
	[ ! -e "$m/gone" ] && [ ! -e "$m/open" ] || fail "unlinked files back after remount"
	expect_eq "$(chunk_count "$b")" "$c" "chunk files after remount"
	ok "$label: everything the same after a remount"

	# and the store gives it all back
	rm "$m/huge" "$m/cut" "$m/five" || fail "rm"
	expect_chunks "$b" 0 "after removing every file"
	sfs_umount "$m"
}

sparse_suite plain "$T/plain/b" "$T/plain/m"

exfat_bed 1G "$T/ex"
sparse_suite exfat "$T/ex/store" "$T/exm"

echo "t0030-sparse: all passed"
exit 0
