#!/bin/bash
# t0150-lmdb-multi: LMDB with one writer and three readers, each its own
# process, on one environment on sparsefs with a 1 TiB map, with and without
# MDB_WRITEMAP, over a plain directory and over exFAT.  The processes share
# lock.mdb (its reader table and process-shared mutexes) through the mount,
# and data.mdb through the mount's page cache: the readers must see only
# committed transactions, whole (tests/helpers/lmdb_multi.c holds the
# checks).  Then: everything is there after a remount; reopening with a
# 2 TiB map works (and a transaction committed under it survives another
# remount); data.mdb stays cheap throughout: 1 or 2 TiB long with
# MDB_WRITEMAP, spending less than 64 MiB.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

LMDB_MULTI=$(helper lmdb_multi) || exit 1
T=$SFS_TMP
TIB=$((1 << 40))
NTXN=200
BATCH=150
READERS=3
LIMIT=$((64 << 20))
SHAPE=(--txns $NTXN --batch $BATCH --readers $READERS --seconds 40)

# multi ARGS...: lmdb_multi under a deadline, its output in the log.
multi()
{
	timeout 50 "$LMDB_MULTI" "${SHAPE[@]}" "$@"
}

# check_spend FILE WANT_SIZE: size as given (empty: any), spending < LIMIT.
check_spend()
{
	local f=$1 want=$2 size blocks

	size=$(size_of "$f") || fail "stat $f"
	blocks=$(blocks_of "$f") || fail "stat $f"
	[ -z "$want" ] || expect_eq "$size" "$want" "st_size of $f"
	[ $((blocks * 512)) -lt $LIMIT ] ||
		fail "$f: st_blocks $blocks (= $((blocks * 512)) bytes), expected < $LIMIT"
	note "$f: st_size $size, st_blocks $blocks ($((blocks / 2048)) MiB)"
}

# stored_mapsize DIR: the map size the environment records (mdb_stat opens
# it without setting one); empty when mdb_stat is not installed.
stored_mapsize()
{
	command -v mdb_stat >/dev/null 2>&1 || return 0
	mdb_stat -e "$1" >"$T/stat.out" 2>&1 ||
		fail "mdb_stat -e $1 failed: $(cat "$T/stat.out")"
	sed -n 's/^  Map size: //p' "$T/stat.out"
}

# The helper's own sanity on the plain file system: a failure here is the
# helper's (or LMDB's), not the daemon's.
multi --mapsize 1G run "$T/reference" >"$T/reference.out" 2>&1 ||
	fail "lmdb_multi run fails on ${TMPDIR:-/tmp} itself: $(cat "$T/reference.out")"
ok "reference run on the plain file system: $(tail -n 1 "$T/reference.out")"

# multi_suite LABEL BACKING MNT
multi_suite()
{
	local label=$1 b=$2 m=$3 mode flags want want2 got

	mkdir -p "$b" "$m" || fail "mkdir $b $m"
	sfs_mount "$b" "$m"

	for mode in writemap pwrite; do
		flags=()
		want=
		if [ $mode = writemap ]; then
			flags=(--writemap)
			want=$TIB
		fi
		multi "${flags[@]}" --mapsize $TIB run "$m/$mode" ||
			fail "$label/$mode: lmdb_multi ${flags[*]} --mapsize $TIB run: 1 writer and $READERS readers on sparsefs (status $?)"
		check_spend "$m/$mode/data.mdb" "$want"
		ok "$label/$mode: 1 writer, $READERS readers, $NTXN txns, 1 TiB map: every snapshot consistent"
	done

	sfs_umount "$m"
	sfs_mount "$b" "$m"
	for mode in writemap pwrite; do
		flags=()
		want=
		want2=
		if [ $mode = writemap ]; then
			flags=(--writemap)
			want=$TIB
			want2=$((2 * TIB))
		fi
		multi "${flags[@]}" --mapsize $TIB verify "$m/$mode" ||
			fail "$label/$mode: lmdb_multi verify after a remount failed (status $?)"
		check_spend "$m/$mode/data.mdb" "$want"
		got=$(stored_mapsize "$m/$mode")
		[ -z "$got" ] || expect_eq "$got" $TIB "$label/$mode: map size recorded in the environment"
		ok "$label/$mode: all $NTXN txns there after a remount"

		multi "${flags[@]}" --mapsize $((2 * TIB)) grow "$m/$mode" ||
			fail "$label/$mode: lmdb_multi grow: reopening with a 2 TiB map failed (status $?)"
		check_spend "$m/$mode/data.mdb" "$want2"
		ok "$label/$mode: reopened with a 2 TiB map, verified, one more txn committed"
	done

	sfs_umount "$m"
	sfs_mount "$b" "$m"
	for mode in writemap pwrite; do
		flags=()
		want2=
		if [ $mode = writemap ]; then
			flags=(--writemap)
			want2=$((2 * TIB))
		fi
		multi "${flags[@]}" --mapsize $((2 * TIB)) --txns $((NTXN + 1)) \
			verify "$m/$mode" ||
			fail "$label/$mode: lmdb_multi verify of $((NTXN + 1)) txns with a 2 TiB map after a remount failed (status $?)"
		check_spend "$m/$mode/data.mdb" "$want2"
		got=$(stored_mapsize "$m/$mode")
		[ -z "$got" ] || expect_eq "$got" $((2 * TIB)) "$label/$mode: map size recorded in the environment after growing"
		ok "$label/$mode: $((NTXN + 1)) txns and the 2 TiB map there after a remount"
	done
	sfs_umount "$m"
}

multi_suite plain "$T/plain/b" "$T/plain/m"

exfat_bed 2G "$T/ex"
multi_suite exfat "$T/ex/store" "$T/exm"
# What the exFAT volume really spends on the chunk files stays small.
used=$(du -sB1 "$T/ex/store/data" | cut -f1)
[ "$used" -lt $((4 * LIMIT)) ] ||
	fail "exfat: the store takes $used bytes on exFAT, expected < $((4 * LIMIT))"
ok "exfat: the store spends $((used >> 20)) MiB on exFAT for two 1-2 TiB environments"

echo "t0150-lmdb-multi: all passed"
exit 0
