#!/bin/bash
# t0050-lmdb-exfat: the reason sparsefs exists.  LMDB with a 1 TiB map and
# MDB_WRITEMAP truncates data.mdb to 1 TiB; on exFAT (no sparse files, a
# 2 GiB volume) that fails.  On sparsefs over the same exFAT it works:
# 100000 records in 100 transactions, verified after a remount, data.mdb
# 1 TiB long but spending less than 64 MiB; then the same without
# MDB_WRITEMAP (LMDB then writes with pwrite and reads through a read-only
# map, which must agree).
. "${TESTLIB:?TESTLIB is not set}" || exit 1

LMDB_BULK=$(helper lmdb_bulk) || exit 1
T=$SFS_TMP
TIB=$((1 << 40))
MAPSIZE=$TIB
NREC=100000
NTXN=100
LIMIT=$((64 << 20))

exfat_bed 2G "$T/ex"

# --- directly on exFAT: must fail ----------------------------------------------
mkdir -p "$T/ex/direct" || fail "mkdir on exFAT"
rc=0
timeout 120 "$LMDB_BULK" --writemap --mapsize $MAPSIZE write "$T/ex/direct" 1000 1 \
	>"$T/direct.out" 2>&1 || rc=$?
[ "$rc" != 124 ] || fail "lmdb_bulk directly on exFAT hung (killed after 120 s)"
[ "$rc" != 0 ] ||
	fail "lmdb_bulk --writemap with a 1 TiB map succeeded directly on exFAT; this bed no longer reproduces the problem"
ok "directly on exFAT, LMDB with a 1 TiB map and MDB_WRITEMAP fails: $(tail -n 1 "$T/direct.out")"
rm -rf "$T/ex/direct" || fail "rm the failed LMDB directory on exFAT"

# --- on sparsefs over that exFAT ------------------------------------------------
B=$T/ex/store
M=$T/m
mkdir -p "$B" "$M"
sfs_mount "$B" "$M"

# check_spend FILE WANT_SIZE: size as given (empty: any), spending < LIMIT.
check_spend()
{
	local f=$1 want=$2 size blocks

	size=$(size_of "$f") || fail "stat $f"
	blocks=$(blocks_of "$f")
	[ -z "$want" ] || expect_eq "$size" "$want" "st_size of $f"
	[ $((blocks * 512)) -lt $LIMIT ] ||
		fail "$f: st_blocks $blocks (= $((blocks * 512)) bytes), expected < $LIMIT"
	note "$f: st_size $size, st_blocks $blocks ($((blocks / 2048)) MiB)"
}

# lmdb_case NAME WANT_SIZE [--writemap]
lmdb_case()
{
	local name=$1 want=$2 used
	shift 2
	local db=$M/$name

	timeout 120 "$LMDB_BULK" "$@" --mapsize $MAPSIZE write "$db" $NREC $NTXN ||
		fail "$name: lmdb_bulk $* write on sparsefs over exFAT failed"
	check_spend "$db/data.mdb" "$want"
	timeout 120 "$LMDB_BULK" "$@" --mapsize $MAPSIZE verify "$db" $NREC $NTXN ||
		fail "$name: lmdb_bulk $* verify before remount failed"
	sfs_umount "$M"
	sfs_mount "$B" "$M"
	timeout 120 "$LMDB_BULK" "$@" --mapsize $MAPSIZE verify "$db" $NREC $NTXN ||
		fail "$name: lmdb_bulk $* verify after remount failed"
	check_spend "$db/data.mdb" "$want"
	if command -v mdb_stat >/dev/null 2>&1; then
		mdb_stat "$db" >"$T/$name.stat" 2>&1 ||
			fail "$name: mdb_stat failed: $(cat "$T/$name.stat")"
		grep -q "Entries: $NREC\$" "$T/$name.stat" ||
			fail "$name: mdb_stat does not count $NREC entries: $(cat "$T/$name.stat")"
	fi
	# What the exFAT volume really spends on the chunk files stays small.
	used=$(du -sB1 "$B/data" | cut -f1)
	[ "$used" -lt $((2 * LIMIT)) ] ||
		fail "$name: the store takes $used bytes on exFAT, expected < $((2 * LIMIT))"
	ok "$name: $NREC records in $NTXN txns, verified after a remount; data.mdb $(size_of "$db/data.mdb") bytes long, $(($(blocks_of "$db/data.mdb") / 2048)) MiB spent; store on exFAT $((used >> 20)) MiB"
}

lmdb_case writemap $TIB --writemap
lmdb_case pwrite ""

sfs_umount "$M"
echo "t0050-lmdb-exfat: all passed"
exit 0
