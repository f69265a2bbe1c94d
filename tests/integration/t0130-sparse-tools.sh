#!/bin/bash
# t0130-sparse-tools: the usual tools copy sparse files on sparsefs as
# sparse files, quickly, and right.
#
# The source: apparent size 1 TiB, 1 MiB of random data in four pieces (at
# 0, across 1 GiB, unaligned at 512 GiB, and up to the end of file).  Never
# is a whole 1 TiB file read: data is compared piece by piece with cmp,
# holes by sampling.  Over a plain directory and over exFAT:
#   - cp --sparse=auto on the mount: the copy takes about the source's
#     space (st_blocks, chunk files), the data is right, holes read zeros;
#     the time is printed and must stay under 20 s;
#   - cp --sparse=auto from the mount to ext4 and back: sparse both ways;
#   - copy_file_range (sparse_probe copy) on the mount: the same checks;
#   - tar -S: the archive is small, the extracted file sparse and right;
#   - rsync -S (which reads every byte, so on a file of 1 GiB and 4 MiB
#     with two of the pieces): sparse, right (skipped with a note when
#     rsync is not installed);
#   - fallocate -d on a file written in full (zeros and data, on a store
#     mounted -o nozero_detect so that the zeros are stored): the chunk
#     files of the all-zero chunks are deleted, the content unchanged.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

PROBE=$(helper sparse_probe) || exit 1
for prog in tar fallocate; do
	command -v $prog >/dev/null 2>&1 || fail "$prog is not installed"
done
KIB=1024
MIB=$((1 << 20))
GIB=$((1 << 30))
TIB=$((1 << 40))
T=$SFS_TMP
LIMIT=20

head -c $MIB /dev/urandom >"$T/rand" || fail "random data"

# The pieces of data: offset, length (their lengths add up to 1 MiB).
PIECES="0 $((256 * KIB))
$((GIB - 100 * KIB)) $((256 * KIB))
$((512 * GIB + 12345)) $((256 * KIB))
$((TIB - 256 * KIB)) $((256 * KIB))"
# Offsets in holes, to sample.
HOLES="$((256 * KIB + 4096)) $((GIB + 200 * KIB)) $((300 * GIB)) $((700 * GIB)) $((TIB - 2 * MIB))"

# put FILE OFFSET LEN: LEN bytes of rand at OFFSET of FILE, no truncation.
put()
{
	dd if="$T/rand" of="$1" bs=64K seek="$2" count="$3" oflag=seek_bytes \
		iflag=count_bytes conv=notrunc status=none ||
		fail "dd into $1 at $2"
}

make_source()
{
	local f=$1 off len i=0

	truncate -s "$2" "$f" || fail "truncate $f"
	while read -r off len; do
		[ "$((off + len))" -le "$2" ] || continue
		dd if="$T/rand" of="$f" bs=64K skip=$((i * 64 * KIB)) \
			seek="$off" count="$len" iflag=skip_bytes,count_bytes \
			oflag=seek_bytes conv=notrunc status=none ||
			fail "dd into $f at $off"
		i=$((i + 1))
	done <<<"$PIECES"
}

# check_copy WHAT SRC DST [SLACK_KIB]: same size, same data in the pieces,
# zeros in the hole samples, and DST takes no more than SRC's space plus
# SLACK (default 1 MiB).
check_copy()
{
	local what=$1 src=$2 dst=$3 slack=${4:-1024} off len size sb db

	sync "$dst" || fail "$what: fsync $dst"
	size=$(size_of "$src")
	expect_eq "$(size_of "$dst")" "$size" "$what: size"
	while read -r off len; do
		[ "$((off + len))" -le "$size" ] || continue
		cmp -n "$len" -i "$off:$off" "$src" "$dst" ||
			fail "$what: data at $off differs"
	done <<<"$PIECES"
	for off in $HOLES; do
		[ "$((off + MIB))" -le "$size" ] || continue
		cmp -n $MIB -i "$off:0" "$dst" /dev/zero ||
			fail "$what: the hole at $off does not read zeros"
	done
	sb=$(blocks_of "$src")
	db=$(blocks_of "$dst")
	[ "$db" -le $((sb + slack * 2)) ] ||
		fail "$what: the copy takes $db blocks, the source $sb: not sparse"
	[ "$db" -gt 0 ] || fail "$what: the copy takes no blocks at all"
	note "$what: source $((sb / 2)) KiB, copy $((db / 2)) KiB (du: $(du -k "$dst" | cut -f1) KiB)"
}

# timed LIMIT WHAT CMD...: run CMD, print its time, fail past LIMIT s.
timed()
{
	local limit=$1 what=$2 t0 t1 ms
	shift 2

	t0=$(date +%s%N)
	"$@" || fail "$what: '$*' failed"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	note "$what: $ms ms"
	[ "$ms" -le $((limit * 1000)) ] ||
		fail "$what took $ms ms (limit $limit s): holes are being read or written"
	ELAPSED_MS=$ms
}

chunks_are()
{
	[ "$(chunk_count "$1")" -eq "$2" ]
}

tools_suite()
{
	local label=$1 b=$2 m=$3 n0 n1 nsrc

	mkdir -p "$b" "$m" "$T/work" || fail "mkdir"
	sfs_mount "$b" "$m"
	make_source "$m/src" $TIB
	sync "$m/src"
	n0=$(chunk_count "$b")
	nsrc=$n0
	note "$label: source: $(blocks_of "$m/src") blocks, $n0 chunk files"

	# cp --sparse=auto on the mount
	timed $LIMIT "$label: cp --sparse=auto of 1 TiB" \
		cp --sparse=auto "$m/src" "$m/cp"
	check_copy "$label: cp --sparse=auto" "$m/src" "$m/cp"
	n1=$(chunk_count "$b")
	[ $((n1 - n0)) -le "$nsrc" ] ||
		fail "$label: cp made $((n1 - n0)) chunk files, the source has $nsrc"
	ok "$label: cp --sparse=auto of a 1 TiB file: sparse, right, ${ELAPSED_MS} ms"

	# to ext4 and back
	timed $LIMIT "$label: cp --sparse=auto to ext4" \
		cp --sparse=auto "$m/src" "$T/work/src"
	check_copy "$label: cp --sparse=auto to ext4" "$m/src" "$T/work/src"
	n0=$(chunk_count "$b")
	timed $LIMIT "$label: cp --sparse=auto from ext4" \
		cp --sparse=auto "$T/work/src" "$m/back"
	check_copy "$label: cp --sparse=auto from ext4" "$T/work/src" "$m/back" 2048
	n1=$(chunk_count "$b")
	note "$label: the copy from ext4 made $((n1 - n0)) chunk files"
	rm -f "$T/work/src" "$m/back"
	ok "$label: cp --sparse=auto to ext4 and back: sparse, right"

	# copy_file_range
	n0=$(chunk_count "$b")
	timed $LIMIT "$label: copy_file_range of 1 TiB" \
		sh -c '"$1" copy "$2" "$3" "$4" >"$5"' sh "$PROBE" "$m/src" \
		"$m/cfr" $TIB "$T/work/cfr.out"
	expect_eq "$(cat "$T/work/cfr.out")" $TIB "$label: bytes copied by copy_file_range"
	check_copy "$label: copy_file_range" "$m/src" "$m/cfr"
	n1=$(chunk_count "$b")
	[ $((n1 - n0)) -le "$nsrc" ] ||
		fail "$label: copy_file_range made $((n1 - n0)) chunk files, the source has $nsrc"
	ok "$label: copy_file_range of a 1 TiB file: sparse, right, ${ELAPSED_MS} ms"

	# tar -S
	timed $LIMIT "$label: tar -cS" tar -C "$m" -cSf "$T/work/a.tar" src
	[ "$(size_of "$T/work/a.tar")" -le $((16 * MIB)) ] ||
		fail "$label: tar -S archive of the 1 TiB file is $(size_of "$T/work/a.tar") bytes"
	mkdir "$m/x" || fail "mkdir"
	timed $LIMIT "$label: tar -x" tar -C "$m/x" -xSf "$T/work/a.tar"
	check_copy "$label: tar -S" "$m/src" "$m/x/src"
	rm -f "$T/work/a.tar"
	ok "$label: tar -S: archive $(du -k "$m/x/src" | cut -f1) KiB on disk, extracted sparse and right"

	# rsync -S reads every byte: a file of 1 GiB and 4 MiB
	if command -v rsync >/dev/null 2>&1; then
		make_source "$m/small" $((GIB + 4 * MIB))
		timed 40 "$label: rsync -S of 1 GiB" \
			rsync -S "$m/small" "$m/rs"
		check_copy "$label: rsync -S" "$m/small" "$m/rs"
		ok "$label: rsync -S: sparse, right"
	else
		note "$label: rsync is not installed: rsync -S not checked"
	fi

	rm -rf "${m:?}"/* || fail "rm"
	wait_until 10 chunks_are "$b" 0 ||
		fail "$label: $(chunk_count "$b") chunk files left after rm"
	sfs_umount "$m"
}

# fallocate -d on a store that keeps written zeros.
dig_suite()
{
	local label=$1 b=$2 m=$3 kb0 kb1

	mkdir -p "$b" "$m" || fail "mkdir"
	sfs_mount "$b" "$m" -o nozero_detect
	# 8 chunks: data in 0, 2 and 5, the first half of 6; zeros elsewhere
	head -c $((8 * MIB)) /dev/zero >"$T/dig" || fail "zeros"
	put "$T/dig" 0 $MIB
	put "$T/dig" $((2 * MIB)) $MIB
	put "$T/dig" $((5 * MIB + 4096)) $((MIB - 8192))
	put "$T/dig" $((6 * MIB)) $((MIB / 2))
	cp "$T/dig" "$m/dig" || fail "cp"
	sync "$m/dig"
	expect_eq "$(chunk_count "$b")" 8 "$label: chunk files of 8 MiB written in full"
	kb0=$(blocks_of "$m/dig")
	fallocate -d "$m/dig" || fail "$label: fallocate -d failed"
	wait_until 10 chunks_are "$b" 4 ||
		fail "$label: fallocate -d left $(chunk_count "$b") chunk files, expected 4 (chunks 0, 2, 5, 6)"
	cmp "$m/dig" "$T/dig" || fail "$label: fallocate -d changed the content"
	kb1=$(blocks_of "$m/dig")
	[ "$kb1" -le $((kb0 - 4 * MIB / 512)) ] ||
		fail "$label: st_blocks $kb1 after fallocate -d, was $kb0"
	expect_eq "$("$PROBE" seek "$m/dig" $MIB data)" $((2 * MIB)) \
		"$label: SEEK_DATA from a dug chunk"
	sfs_umount "$m"
	sfs_mount "$b" "$m"
	cmp "$m/dig" "$T/dig" || fail "$label: content after fallocate -d and a remount"
	ok "$label: fallocate -d deletes the chunk files of all-zero chunks, st_blocks $kb0 -> $kb1"
	rm -f "$m/dig"
	sfs_umount "$m"
}

tools_suite plain "$T/plain/b" "$T/plain/m"
dig_suite plain "$T/plaind/b" "$T/plaind/m"

exfat_bed 1G "$T/ex"
tools_suite exfat "$T/ex/store" "$T/exm"
dig_suite exfat "$T/ex/stored" "$T/exmd"

echo "t0130-sparse-tools: all passed"
exit 0
