#!/bin/bash
# t0120-seek: lseek SEEK_DATA/SEEK_HOLE, compared with ext4.
#
# Each test file is made twice by the same commands: on sparsefs and on the
# test's own file system (ext4, the reference).  The files: empty; all
# hole; data across, at the start and at the end of chunks, unaligned
# inside a chunk and in the last partial chunk; data with whole chunks, a
# part of a chunk, the tail of a chunk and the whole last partial chunk
# punched; a chunk cleared by ZERO_RANGE; a chunk overwritten with zeros
# (zero detection: compared with what was written, not with ext4, which
# keeps written zeros as data); 1 TiB with 4 KiB at 512 GiB.
#
# At offsets around every written range, every chunk boundary, the end of
# file and far past it, sparsefs may report data at chunk granularity (a
# chunk with data reports data from its start to its stored length), but:
#   - at and past the end of file both give ENXIO, exactly where ext4 does;
#   - below it, SEEK_HOLE gives an offset in [off, size], never inside
#     written data;
#   - SEEK_DATA gives ENXIO exactly where ext4 does (the files' last data
#     ends on a 4 KiB block or at the end of file, so that ext4's block
#     granularity cannot tell otherwise); otherwise an offset in [off, size)
#     with no written data in [off, result) (ext4 may report data earlier,
#     in the zeros of a partly written block), inside a chunk that holds
#     written data (never where sparsefs has no chunk).
# A few answers that follow exactly from the design are checked as such.
# Over a plain directory with 1 MiB and with 64 KiB chunks, and over exFAT.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

PROBE=$(helper sparse_probe) || exit 1
KIB=1024
MIB=$((1 << 20))
GIB=$((1 << 30))
TIB=$((1 << 40))
T=$SFS_TMP
REF=$T/ref

mkdir -p "$REF" || fail "mkdir $REF"
case $(stat -f -c %T "$REF") in
ext2/ext3) ;;
*) note "the reference ${TMPDIR:-/tmp} is $(stat -f -c %T "$REF"), not ext4: comparing with it anyway" ;;
esac
head -c $((4 * MIB)) /dev/urandom >"$T/rand" || fail "random data"

# put FILE OFFSET LEN: LEN random bytes at OFFSET of FILE, no truncation.
put()
{
	dd if="$T/rand" of="$1" bs=64K seek="$2" count="$3" oflag=seek_bytes \
		iflag=count_bytes conv=notrunc status=none ||
		fail "dd into $1 at $2"
}

zeros()
{
	dd if=/dev/zero of="$1" bs=64K seek="$2" count="$3" oflag=seek_bytes \
		iflag=count_bytes conv=notrunc status=none ||
		fail "dd zeros into $1 at $2"
}

punch()
{
	local r

	r=$("$PROBE" falloc "$1" punch "$2" "$3")
	[ "$r" = ok ] || fail "punch $2 $3 of $1: $r"
}

zero_range()
{
	local r

	r=$("$PROBE" falloc "$1" zero-keep "$2" "$3")
	[ "$r" = ok ] || fail "zero range $2 $3 of $1: $r"
}

# Recipes: make_NAME DIR makes DIR/NAME; W_NAME is its written data after
# all (pairs "start end", end exclusive).
make_empty()
{
	: >"$1/empty"
}

make_allhole()
{
	truncate -s $((10 * C + 123)) "$1/allhole"
}

make_bounds()
{
	local f=$1/bounds

	truncate -s $((8 * C + 12345)) "$f"
	put "$f" $((C - 4096)) 8192
	put "$f" $((3 * C)) 4096
	put "$f" $((5 * C - 8192)) 8192
	put "$f" $((6 * C + 100)) 4900
	put "$f" $((8 * C + 4096)) 4096
	put "$f" $((8 * C + 12345 - 100)) 100
}

make_punched()
{
	local f=$1/punched

	put "$f" 0 $((4 * C + C / 2))
	punch "$f" $C $C
	punch "$f" $((2 * C + 4096)) 4096
	punch "$f" $((3 * C + C / 2)) $((C / 2))
	punch "$f" $((4 * C)) $((C / 2))
}

make_zeroed()
{
	local f=$1/zeroed

	put "$f" 0 $((3 * C))
	zero_range "$f" $C $C
}

make_zerowritten()
{
	local f=$1/zerowritten

	put "$f" 0 $((3 * C))
	zeros "$f" $C $C
}

make_huge()
{
	local f=$1/huge

	truncate -s 1T "$f"
	put "$f" $((512 * GIB)) 4096
}

# The W_ variables are read through ${!var}.
# shellcheck disable=SC2034
set_ranges()
{
	W_empty=""
	W_allhole=""
	W_bounds="$((C - 4096)) $((C + 4096))
$((3 * C)) $((3 * C + 4096))
$((5 * C - 8192)) $((5 * C))
$((6 * C + 100)) $((6 * C + 5000))
$((8 * C + 4096)) $((8 * C + 8192))
$((8 * C + 12345 - 100)) $((8 * C + 12345))"
	W_punched="0 $C
$((2 * C)) $((2 * C + 4096))
$((2 * C + 8192)) $((3 * C + C / 2))"
	W_zeroed="0 $C
$((2 * C)) $((3 * C))"
	W_zerowritten=$W_zeroed
	W_huge="$((512 * GIB)) $((512 * GIB + 4096))"
}

NAMES="empty allhole bounds punched zeroed zerowritten huge"

# offsets_for NAME SIZE: where to probe.
offsets_for()
{
	local name=$1 size=$2 s e k var="W_$1"

	{
		echo 0 1 4095 4096 $((size - 1)) "$size" $((size + 1)) \
			$((size + C)) $TIB $((2 * TIB))
		while read -r s e; do
			[ -n "$s" ] || continue
			echo $((s - 1)) "$s" $((s + 1)) $((e - 1)) "$e" $((e + 1))
		done <<<"${!var}"
		if [ "$size" -le $((64 * C)) ]; then
			for ((k = 1; k * C <= size + C; k++)); do
				echo $((k * C - 1)) $((k * C)) $((k * C + 1))
			done
		else
			k=$((512 * GIB))
			echo $((k - C)) $((k - 1)) "$k" $((k + C))
		fi
	} | tr ' ' '\n' | awk '$1 >= 0' | sort -n -u | tr '\n' ' '
}

# in_written NAME POS: POS lies inside written data of NAME.
in_written()
{
	local s e var="W_$1"

	while read -r s e; do
		[ -n "$s" ] || continue
		[ "$2" -ge "$s" ] && [ "$2" -lt "$e" ] && return 0
	done <<<"${!var}"
	return 1
}

# written_between NAME A B: some written data of NAME lies in [A, B).
written_between()
{
	local s e var="W_$1"

	[ "$2" -lt "$3" ] || return 1
	while read -r s e; do
		[ -n "$s" ] || continue
		[ "$s" -lt "$3" ] && [ "$e" -gt "$2" ] && return 0
	done <<<"${!var}"
	return 1
}

# chunk_has_data NAME POS: the chunk holding POS holds written data.
chunk_has_data()
{
	local s e var="W_$1" k=$(($2 / C))

	while read -r s e; do
		[ -n "$s" ] || continue
		[ $((s / C)) -le "$k" ] && [ $(((e - 1) / C)) -ge "$k" ] && return 0
	done <<<"${!var}"
	return 1
}

isnum()
{
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
}

# check_file NAME: compare sparsefs's answers for $M/NAME with ext4's for
# $REF/NAME and with the rules above.
check_file()
{
	local name=$1 size offs off ds hs de he n=0 cmp_ext4=1
	local what="$LABEL: $name"

	size=$(size_of "$M/$name")
	expect_eq "$size" "$(size_of "$REF/$name")" "$what: size"
	# ext4 keeps written zeros as data; sparsefs frees them.
	[ "$name" != zerowritten ] || cmp_ext4=0
	offs=$(offsets_for "$name" "$size")
	# shellcheck disable=SC2086
	paste -d ' ' <("$PROBE" seeks "$M/$name" $offs) \
		<("$PROBE" seeks "$REF/$name" $offs) >"$T/seeks" ||
		fail "$what: sparse_probe seeks"
	while read -r off ds hs _ de he; do
		n=$((n + 1))
		local at="$what: at $off (size $size): sparsefs SEEK_DATA $ds SEEK_HOLE $hs, ext4 $de $he"
		if [ "$off" -ge "$size" ]; then
			[ "$ds" = ENXIO ] && [ "$hs" = ENXIO ] ||
				fail "$at: expected ENXIO for both at or past the end of file"
			[ "$de" = ENXIO ] && [ "$he" = ENXIO ] ||
				fail "$at: the reference does not give ENXIO past its end"
			continue
		fi
		isnum "$hs" || fail "$at: SEEK_HOLE below the end of file must give an offset"
		[ "$hs" -ge "$off" ] && [ "$hs" -le "$size" ] ||
			fail "$at: SEEK_HOLE outside [off, size]"
		! in_written "$name" "$hs" ||
			fail "$at: SEEK_HOLE lands inside written data"
		if [ "$cmp_ext4" = 1 ]; then
			if [ "$de" = ENXIO ]; then
				[ "$ds" = ENXIO ] ||
					fail "$at: SEEK_DATA found data where ext4 gives ENXIO"
			else
				[ "$ds" != ENXIO ] ||
					fail "$at: SEEK_DATA gives ENXIO where ext4 finds data"
			fi
		fi
		if [ "$ds" = ENXIO ]; then
			! written_between "$name" "$off" "$size" ||
				fail "$at: SEEK_DATA gives ENXIO but there is written data after $off"
			continue
		fi
		isnum "$ds" || fail "$at: SEEK_DATA gave neither an offset nor ENXIO"
		[ "$ds" -ge "$off" ] && [ "$ds" -lt "$size" ] ||
			fail "$at: SEEK_DATA outside [off, size)"
		! written_between "$name" "$off" "$ds" ||
			fail "$at: SEEK_DATA skips written data"
		chunk_has_data "$name" "$ds" ||
			fail "$at: SEEK_DATA lands in chunk $((ds / C)), which holds no data"
	done <"$T/seeks"
	ok "$what: $n offsets checked"
}

# The answers that follow from the design exactly, whatever the rules
# above allow.
check_exact()
{
	local f=$M/$1

	expect_eq "$("$PROBE" seek "$f" "$2" "$3")" "$4" "$LABEL: $1: SEEK_${3^^} at $2"
}

seek_suite()
{
	local name

	mkdir -p "$B" "$M" || fail "mkdir"
	sfs_mount "$B" "$M" "$@"
	rm -rf "${REF:?}"/*
	set_ranges
	for name in $NAMES; do
		"make_$name" "$M"
		"make_$name" "$REF"
	done
	sync -f "$M"
	sync -f "$REF"
	for name in $NAMES; do
		check_file "$name"
	done
	check_exact empty 0 data ENXIO
	check_exact empty 0 hole ENXIO
	check_exact allhole 0 data ENXIO
	check_exact allhole $((5 * C + 7)) hole $((5 * C + 7))
	check_exact bounds 0 data 0
	check_exact bounds $((C + 4096)) data $((3 * C))
	check_exact bounds $((C + 4096)) hole $((C + 4096))
	check_exact bounds $((7 * C)) data $((8 * C))
	check_exact punched $C data $((2 * C))
	check_exact punched 0 hole $C
	check_exact punched $((3 * C)) hole $((3 * C + C / 2))
	check_exact punched $((3 * C + C / 2)) data ENXIO
	check_exact zeroed $C data $((2 * C))
	check_exact zerowritten $C data $((2 * C))
	check_exact zerowritten 0 hole $C
	check_exact huge 0 data $((512 * GIB))
	check_exact huge $((512 * GIB)) hole $((512 * GIB + 4096))
	check_exact huge $((512 * GIB + 4096)) data ENXIO
	check_exact huge $TIB data ENXIO
	ok "$LABEL: exact answers: chunks freed by punch, ZERO_RANGE and zero detection are holes"

	# the same after a remount (no cached state)
	sfs_umount "$M"
	sfs_mount "$B" "$M"
	for name in $NAMES; do
		check_file "$name"
	done
	sfs_umount "$M"
}

C=$MIB LABEL=plain B=$T/plain/b M=$T/plain/m seek_suite
C=$((64 * KIB)) LABEL=plain-64k B=$T/plain64/b M=$T/plain64/m \
	seek_suite -o chunk_size=64K
exfat_bed 512M "$T/ex"
C=$MIB LABEL=exfat B=$T/ex/store M=$T/exm seek_suite

echo "t0120-seek: all passed"
exit 0
