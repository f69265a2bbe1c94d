#!/bin/bash
# t0110-fallocate: every fallocate mode, zero detection, and reserving
# space on a backing that is nearly full.
#
# Over a plain directory and over exFAT (1 MiB chunks), each fallocate call
# is made on a sparsefs file and on a reference copy on the test's own file
# system (ext4), and the two must then read the same (cmp, and the size):
#   - mode 0 past the end of file at a chunk boundary and inside the last
#     partial chunk (extends the size, creates and allocates chunk files:
#     more chunk files, more st_blocks, a bigger du of BACKING/data);
#   - KEEP_SIZE past the end (size unchanged, chunk files made), then a
#     truncate up over the reserved range (reads zeros);
#   - PUNCH_HOLE|KEEP_SIZE over whole chunks (their chunk files deleted:
#     fewer files, du of BACKING/data and st_blocks shrink), across a chunk
#     boundary, inside a chunk (on the plain directory, on ext4, the chunk
#     file gets a hole: du of BACKING/data shrinks), inside and past the
#     end of the last partial chunk, and over the whole of a last partial
#     chunk (its chunk file deleted);
#   - ZERO_RANGE inside the file, over a whole chunk (its file deleted) and
#     past the end (extends the size); ZERO_RANGE|KEEP_SIZE past the end
#     (size unchanged);
#   - PUNCH_HOLE without KEEP_SIZE, COLLAPSE_RANGE and INSERT_RANGE fail
#     with EOPNOTSUPP and change nothing;
#   - KEEP_SIZE of 4 MiB over a 100000-byte file (chunks reserved past the
#     end of file);
#   - everything still reads the same after a remount, and fsck.sparsefs
#     -n (when FSCK names it, as make check does) finds the unmounted
#     store clean (a finding is shown at once; the test fails at its end).
# Zero detection: 1 MiB of zeros written over a whole data chunk frees its
# chunk file (also when written in two halves, and only after the second);
# zeros written into a hole make no chunk file; with -o nozero_detect the
# chunk file stays.
# On a small (64 MiB) exFAT bed, with 1 MiB and with 64 KiB chunks, and on
# a 512 MiB one with 1 MiB chunks (a request larger than one of the
# daemon's reservation batches): mode 0 and KEEP_SIZE asking for 64 MiB
# more than the backing's free space fail with ENOSPC up front and leave
# the file (what reads return), the chunk files and the free space as they
# were; on the small beds, after a mode 0 fallocate that fits, the rest of
# the backing is filled to ENOSPC by another file, and writing the reserved
# range still succeeds and reads back right, also after a remount.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

PROBE=$(helper sparse_probe) || exit 1
if [ -n "${FSCK:-}" ]; then
	[ -x "$FSCK" ] || fail "FSCK=$FSCK is not an executable"
else
	note "FSCK is not set: the stores are not checked with fsck.sparsefs"
fi
KIB=1024
MIB=$((1 << 20))
C=$MIB
T=$SFS_TMP
R=$T/ref

mkdir -p "$R" || fail "mkdir $R"
head -c $((8 * MIB)) /dev/urandom >"$T/rand" || fail "random data"

# put SRC FILE OFFSET [LEN]: write LEN bytes (default all) of SRC into FILE
# at OFFSET, no truncation.
put()
{
	local n=${4:-$(size_of "$1")}

	dd if="$1" of="$2" bs=64K seek="$3" count="$n" oflag=seek_bytes \
		iflag=count_bytes conv=notrunc status=none ||
		fail "dd $1 into $2 at $3"
}

# put_both NAME OFFSET LEN: LEN random bytes at OFFSET of NAME, on the
# mount and in the reference.
put_both()
{
	put "$T/rand" "$M/$1" "$2" "$3"
	put "$T/rand" "$R/$1" "$2" "$3"
}

# same NAME WHAT: the sparsefs file and its reference read the same.
same()
{
	expect_eq "$(size_of "$M/$1")" "$(size_of "$R/$1")" "$WHAT: $2: size of $1"
	cmp "$M/$1" "$R/$1" >&2 || fail "$WHAT: $2: $1 differs from its reference on ext4"
}

# falloc FILE MODE OFF LEN: sparse_probe's answer.
falloc()
{
	"$PROBE" falloc "$@"
}

# both NAME MODE OFF LEN: the same fallocate on both files, both must say
# ok, then the files must read the same.
both()
{
	local what="fallocate $2 $3 $4 on $1"

	expect_eq "$(falloc "$M/$1" "$2" "$3" "$4")" ok "$WHAT: $what"
	expect_eq "$(falloc "$R/$1" "$2" "$3" "$4")" ok \
		"$WHAT: $what on the reference file system (${TMPDIR:-/tmp})"
	same "$1" "$what"
}

chunks_are()
{
	[ "$(chunk_count "$1")" -eq "$2" ]
}

# expect_chunks N WHAT: the store holds N chunk files.
expect_chunks()
{
	wait_until 10 chunks_are "$B" "$2" ||
		fail "$WHAT: $3: $(chunk_count "$B") chunk files in $B/data, expected $2"
}

# check_fsck BACKING: fsck.sparsefs -n (when FSCK names it) must find the
# unmounted store clean.  A finding is reported at once and fails the test
# at its end, so that the checks after it still run.
FSCK_FAILED=
check_fsck()
{
	local rc=0

	[ -n "${FSCK:-}" ] || return 0
	"$FSCK" -n "$1" >"$T/fsck.out" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		ok "$WHAT: fsck.sparsefs -n finds the store clean"
		return 0
	fi
	echo "not ok - $WHAT: fsck.sparsefs -n $1 exited with status $rc:"
	sed 's/^/#   /' "$T/fsck.out" | head -n 20
	FSCK_FAILED="$FSCK_FAILED $WHAT"
}

data_kib()
{
	sync -f "$1"
	du -sk "$1/data" | cut -f1
}

# The suite over one backing: WHAT label, B backing, M mount point.
falloc_suite()
{
	local n blocks du0 du1

	mkdir -p "$B" "$M" || fail "mkdir"
	sfs_mount "$B" "$M"
	rm -f "${R:?}"/*

	# a: 3.5 MiB of data, 3 full chunks and a partial one
	put_both a 0 $((3 * C + C / 2))
	same a "written"
	sync "$M/a"
	n=$(chunk_count "$B")
	expect_eq "$n" 4 "$WHAT: chunk files of a 3.5 MiB file"
	blocks=$(blocks_of "$M/a")
	du0=$(data_kib "$B")

	# mode 0 past the end, from a chunk boundary: two new chunk files
	both a alloc $((4 * C)) $((2 * C))
	expect_eq "$(size_of "$M/a")" $((6 * C)) "$WHAT: size after alloc to 6 MiB"
	expect_chunks "$B" $((n + 2)) "alloc of two whole chunks"
	[ "$(blocks_of "$M/a")" -ge $((blocks + 2 * C / 512)) ] ||
		fail "$WHAT: st_blocks $(blocks_of "$M/a") after reserving 2 MiB, was $blocks"
	du1=$(data_kib "$B")
	[ "$du1" -ge $((du0 + 2048)) ] ||
		fail "$WHAT: du of $B/data ${du1} KiB after reserving 2 MiB, was ${du0} KiB"
	ok "$WHAT: mode 0 past the end: size 6 MiB, 2 chunk files, st_blocks $blocks -> $(blocks_of "$M/a"), du ${du0} -> ${du1} KiB"

	# b: 2 MiB + 100 KiB; mode 0 inside and past its last partial chunk
	put_both b 0 $((2 * C + 100 * KIB))
	n=$(chunk_count "$B")
	both b alloc $((2 * C + 50 * KIB)) $((100 * KIB))
	expect_eq "$(size_of "$M/b")" $((2 * C + 150 * KIB)) "$WHAT: size after alloc in the last chunk"
	expect_chunks "$B" "$n" "alloc inside the last partial chunk"
	ok "$WHAT: mode 0 in the last partial chunk extends the size, no new chunk file"

	# KEEP_SIZE past the end: size unchanged, chunk files made
	blocks=$(blocks_of "$M/b")
	both b keep $((3 * C)) $((2 * C))
	expect_eq "$(size_of "$M/b")" $((2 * C + 150 * KIB)) "$WHAT: size after KEEP_SIZE"
	expect_chunks "$B" $((n + 2)) "KEEP_SIZE of two chunks past the end"
	[ "$(blocks_of "$M/b")" -ge $((blocks + 2 * C / 512)) ] ||
		fail "$WHAT: st_blocks $(blocks_of "$M/b") after reserving 2 MiB past the end, was $blocks"
	truncate -s $((4 * C + 10)) "$M/b" "$R/b" || fail "truncate up b"
	same b "truncate up over the reserved range"
	ok "$WHAT: KEEP_SIZE past the end keeps the size, makes chunk files; the range reads zeros once inside the file"

	# punch whole chunks: their chunk files go, du and st_blocks shrink
	n=$(chunk_count "$B")
	blocks=$(blocks_of "$M/a")
	du0=$(data_kib "$B")
	both a punch $C $((2 * C))
	expect_chunks "$B" $((n - 2)) "punch of two whole chunks"
	du1=$(data_kib "$B")
	[ "$du1" -le $((du0 - 2048)) ] ||
		fail "$WHAT: du of $B/data ${du1} KiB after punching 2 MiB, was ${du0} KiB"
	[ "$(blocks_of "$M/a")" -le $((blocks - 2 * C / 512)) ] ||
		fail "$WHAT: st_blocks $(blocks_of "$M/a") after punching 2 MiB, was $blocks"
	expect_eq "$(size_of "$M/a")" $((6 * C)) "$WHAT: size after punch"
	ok "$WHAT: punch of whole chunks deletes their chunk files: du ${du0} -> ${du1} KiB, st_blocks $blocks -> $(blocks_of "$M/a")"

	# punch across a chunk boundary, unaligned: both chunks stay
	n=$(chunk_count "$B")
	both a punch $((3 * C - 4096 - 7)) $((8192 + 12))
	both a punch $((C / 2 + 123)) $((C / 2 + 4096))
	expect_chunks "$B" "$n" "punch of parts of chunks"
	ok "$WHAT: unaligned punch across chunk boundaries reads zeros, chunk files stay"

	# a partial punch punches the chunk file too where the backing can
	# (the plain directory is on ext4): the store's du shrinks
	put_both p 0 $C
	sync "$M/p"
	n=$(chunk_count "$B")
	du0=$(data_kib "$B")
	both p punch $((C / 4)) $((C / 2))
	du1=$(data_kib "$B")
	expect_chunks "$B" "$n" "punch inside a chunk"
	if [ "$WHAT" = plain ]; then
		[ "$du1" -le $((du0 - C / 2048 + 16)) ] ||
			fail "$WHAT: du of $B/data ${du1} KiB after punching 512 KiB inside a chunk, was ${du0} KiB: no hole punched in the chunk file"
		ok "$WHAT: punch inside a chunk punches its chunk file: du ${du0} -> ${du1} KiB"
	else
		ok "$WHAT: punch inside a chunk reads zeros (du ${du0} -> ${du1} KiB)"
	fi

	# punch in the last partial chunk, through and past the end
	both b punch $((4 * C - 100)) 50
	both b punch $((4 * C + 3)) $C
	expect_eq "$(size_of "$M/b")" $((4 * C + 10)) "$WHAT: size after punch past the end"
	put_both c 0 $((C + 5000))
	n=$(chunk_count "$B")
	both c punch $C 5000
	expect_chunks "$B" $((n - 1)) "punch of all of the last partial chunk"
	expect_eq "$(size_of "$M/c")" $((C + 5000)) "$WHAT: size of c after punch"
	ok "$WHAT: punch in and past the last partial chunk; punching all of it deletes its chunk file"

	# ZERO_RANGE: inside, a whole chunk, past the end
	both a zero 100 $((200 * KIB))
	n=$(chunk_count "$B")
	both a zero $((3 * C)) $C
	expect_chunks "$B" $((n - 1)) "zero range over a whole chunk"
	both a zero $((6 * C - 1000)) $((C + 2000))
	expect_eq "$(size_of "$M/a")" $((7 * C + 1000)) "$WHAT: size after ZERO_RANGE past the end"
	both a zero-keep $((7 * C)) $((2 * C))
	expect_eq "$(size_of "$M/a")" $((7 * C + 1000)) "$WHAT: size after ZERO_RANGE|KEEP_SIZE past the end"
	both b zero-keep $((2 * C + 4096)) 4096
	ok "$WHAT: ZERO_RANGE reads zeros, frees whole chunks, extends the size unless KEEP_SIZE"

	# what sparsefs refuses, changing nothing
	for mode in punch-nokeep collapse insert; do
		expect_eq "$(falloc "$M/a" $mode $C $C)" EOPNOTSUPP \
			"$WHAT: fallocate $mode"
		same a "after a refused fallocate $mode"
	done
	ok "$WHAT: PUNCH_HOLE without KEEP_SIZE, COLLAPSE_RANGE, INSERT_RANGE: EOPNOTSUPP"

	# zero detection
	n=$(chunk_count "$B")
	put_both z 0 $((3 * C))
	expect_chunks "$B" $((n + 3)) "3 MiB written"
	du0=$(data_kib "$B")
	put /dev/zero "$M/z" $C $C
	put /dev/zero "$R/z" $C $C
	same z "1 MiB of zeros over chunk 1"
	expect_chunks "$B" $((n + 2)) "1 MiB of zeros written over a whole chunk"
	du1=$(data_kib "$B")
	[ "$du1" -le $((du0 - 1024)) ] ||
		fail "$WHAT: du of $B/data ${du1} KiB after zeroing a chunk, was ${du0} KiB"
	put /dev/zero "$M/z" $((2 * C)) $((C / 2))
	put /dev/zero "$R/z" $((2 * C)) $((C / 2))
	expect_chunks "$B" $((n + 2)) "zeros over half of a chunk"
	put /dev/zero "$M/z" $((2 * C + C / 2)) $((C / 2))
	put /dev/zero "$R/z" $((2 * C + C / 2)) $((C / 2))
	expect_chunks "$B" $((n + 1)) "zeros over the other half of the chunk"
	put /dev/zero "$M/z" $((10 * C)) $((2 * C))
	put /dev/zero "$R/z" $((10 * C)) $((2 * C))
	expect_chunks "$B" $((n + 1)) "zeros written into a hole"
	same z "zero detection"
	ok "$WHAT: zero detection: zeros over a whole chunk free its chunk file (du ${du0} -> ${du1} KiB), zeros into a hole store nothing"

	# KEEP_SIZE past the end of a small file: reserved chunks past the
	# end of file, which the store must hold as legitimately as ext4
	# holds blocks past the end (fsck must not call them damage)
	put_both k 0 100000
	both k keep 0 $((4 * C))
	expect_eq "$(size_of "$M/k")" 100000 "$WHAT: size after KEEP_SIZE of 4 MiB"

	# everything again after a remount, and fsck finds the store clean
	sfs_umount "$M"
	check_fsck "$B"
	sfs_mount "$B" "$M"
	for f in a b c k p z; do
		same $f "after a remount"
	done
	ok "$WHAT: every file reads the same after a remount"
	rm -f "${M:?}"/* || fail "rm"
	expect_chunks "$B" 0 "after removing every file"
	sfs_umount "$M"
}

# nozero_detect: zeros over a data chunk keep its chunk file.
nozero_suite()
{
	local n

	mkdir -p "$B" "$M" || fail "mkdir"
	sfs_mount "$B" "$M" -o nozero_detect
	rm -f "${R:?}"/*
	put_both z 0 $((3 * C))
	n=$(chunk_count "$B")
	expect_eq "$n" 3 "$WHAT: chunk files of 3 MiB"
	put /dev/zero "$M/z" $C $C
	put /dev/zero "$R/z" $C $C
	same z "zeros over chunk 1"
	expect_chunks "$B" 3 "1 MiB of zeros over a chunk with -o nozero_detect"
	put /dev/zero "$M/z" $((5 * C)) $C
	put /dev/zero "$R/z" $((5 * C)) $C
	same z "zeros into a hole"
	expect_chunks "$B" 4 "1 MiB of zeros into a hole with -o nozero_detect"
	ok "$WHAT: with -o nozero_detect chunks of zeros are stored"
	sfs_umount "$M"
}

# free_kib DIR: the free space of DIR's file system.
free_kib()
{
	df -Pk "$1" | awk 'NR == 2 { print $4 }'
}

# enospc_suite BED FILL [SPARSEFS OPTIONS...]: ENOSPC up front on the
# exFAT bed mounted on BED; with FILL 1, reserved space usable once the
# backing is full.  B, M as above.
enospc_suite()
{
	local bed=$1 fill=$2 sum n free0 free1 want r
	shift 2

	mkdir -p "$B" "$M" || fail "mkdir"
	sfs_mount "$B" "$M" "$@"
	put "$T/rand" "$M/r" 0 $MIB
	sync "$M/r"
	sum=$(cksum <"$M/r")
	n=$(chunk_count "$B")
	free0=$(free_kib "$bed")
	note "$WHAT: backing free space ${free0} KiB"
	want=$((free0 * 1024 + 64 * MIB))
	for mode in alloc keep; do
		r=$(falloc "$M/r" $mode $((2 * MIB)) $want)
		expect_eq "$r" ENOSPC "$WHAT: fallocate $mode of $((want / MIB)) MiB on a backing with $((free0 / 1024)) MiB free"
		# st_size may be the kernel's cached one: count what reads give
		expect_eq "$(cat "$M/r" | wc -c)" $MIB \
			"$WHAT: bytes read from the file (1 MiB before) after a failed fallocate $mode of $((want / MIB)) MiB at 2 MiB"
		expect_eq "$(cksum <"$M/r")" "$sum" "$WHAT: content after a failed fallocate $mode"
		expect_eq "$(chunk_count "$B")" "$n" "$WHAT: chunk files after a failed fallocate $mode"
		free1=$(free_kib "$bed")
		[ "$free1" -ge $((free0 - 1024)) ] ||
			fail "$WHAT: backing free space ${free1} KiB after a failed fallocate $mode, was ${free0} KiB"
	done
	ok "$WHAT: fallocate beyond the free space: ENOSPC up front, file and backing unchanged"
	if [ "$fill" = 0 ]; then
		rm -f "$M/r"
		sfs_umount "$M"
		return 0
	fi

	# reserve 16 MiB, fill the rest of the backing, then write the range
	expect_eq "$(falloc "$M/r" alloc $((2 * MIB)) $((16 * MIB)))" ok \
		"$WHAT: fallocate alloc of 16 MiB with $((free0 / 1024)) MiB free"
	expect_eq "$(size_of "$M/r")" $((18 * MIB)) "$WHAT: size after alloc"
	head -c $((free0 * 1024)) /dev/urandom >"$T/fill.src" || fail "random"
	dd if="$T/fill.src" of="$M/fill" bs=1M conv=fsync status=none 2>"$T/fill.err" &&
		fail "$WHAT: filling the backing did not run out of space"
	grep -q 'No space left on device' "$T/fill.err" ||
		fail "$WHAT: filling the backing failed otherwise: $(cat "$T/fill.err")"
	note "$WHAT: backing filled: $(free_kib "$bed") KiB free, fill file $(size_of "$M/fill") bytes"
	put "$T/rand" "$M/r" $((2 * MIB)) $((8 * MIB))
	put "$T/rand" "$M/r" $((10 * MIB)) $((8 * MIB))
	sync "$M/r" || fail "$WHAT: fsync of the writes into the reserved range"
	cmp -i $((2 * MIB)):0 -n $((8 * MIB)) "$M/r" "$T/rand" ||
		fail "$WHAT: reserved range after writing it on a full backing"
	cmp -i $((10 * MIB)):0 -n $((8 * MIB)) "$M/r" "$T/rand" ||
		fail "$WHAT: reserved range after writing it on a full backing"
	sfs_umount "$M"
	sfs_mount "$B" "$M"
	cmp -n $MIB "$M/r" "$T/rand" || fail "$WHAT: r after a remount"
	cmp -i $((2 * MIB)):0 -n $((8 * MIB)) "$M/r" "$T/rand" ||
		fail "$WHAT: reserved range after a remount"
	cmp -i $((10 * MIB)):0 -n $((8 * MIB)) "$M/r" "$T/rand" ||
		fail "$WHAT: reserved range after a remount"
	ok "$WHAT: writes into a reserved range succeed on a full backing, and stay"
	rm -f "$M/r" "$M/fill" "$T/fill.src"
	sfs_umount "$M"
}

WHAT=plain B=$T/plain/b M=$T/plain/m falloc_suite
WHAT=plain-nozero B=$T/plainnz/b M=$T/plainnz/m nozero_suite

exfat_bed 1G "$T/ex"
WHAT=exfat B=$T/ex/store M=$T/exm falloc_suite
WHAT=exfat-nozero B=$T/ex/storenz M=$T/exmnz nozero_suite

exfat_bed 64M "$T/small"
WHAT=small-exfat B=$T/small/store M=$T/smallm enospc_suite "$T/small" 1
exfat_bed 64M "$T/small64"
WHAT=small-exfat-64k B=$T/small64/store M=$T/smallm64 \
	enospc_suite "$T/small64" 1 -o chunk_size=64K
# sparsefs reserves in batches of chunks (256 at a time): a request larger
# than one batch (256 MiB of 1 MiB chunks) must fail up front too.
exfat_bed 512M "$T/mid"
WHAT=mid-exfat B=$T/mid/store M=$T/midm enospc_suite "$T/mid" 0

[ -z "$FSCK_FAILED" ] ||
	fail "fsck.sparsefs -n found problems in the stores of:$FSCK_FAILED (see above)"
echo "t0110-fallocate: all passed"
exit 0
