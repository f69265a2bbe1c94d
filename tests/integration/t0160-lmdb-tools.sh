#!/bin/bash
# t0160-lmdb-tools: the LMDB tools and the Python binding that people use
# with LMDB work on sparsefs, over a plain directory and over exFAT.
#
# lmdb-utils: an environment with a 1 TiB map and MDB_WRITEMAP, made by
# tests/helpers/lmdb_bulk on the mount; mdb_stat counts its entries and
# shows its map size; mdb_dump of it equals the dump of the same data made
# on the plain file system; mdb_load of that dump into a new environment on
# the mount dumps the same again, and lmdb_bulk verifies every record there
# (also with MDB_WRITEMAP, which grows the loaded data.mdb to 1 TiB);
# mdb_copy (which writes its copy with O_DIRECT) and mdb_copy -c (compacting)
# make copies that dump the same; all of it again after a remount.
#
# Python (Debian's python3-lmdb, for /usr/bin/python3 or any interpreter
# that can `import lmdb`): lmdb.open with map_size 1 TiB, writemap=True and
# False, writes two named databases (one plain, with a few overflow-page
# values, one dupsort) in several transactions and reads every record back
# by lookup and by cursor, again after a remount; mdb_dump -a of it equals
# the dump of the same made on the plain file system, and survives a round
# trip through mdb_load.  Only this part is left out, with a message, when
# no interpreter can import lmdb.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

for prog in mdb_stat mdb_dump mdb_load mdb_copy; do
	command -v $prog >/dev/null 2>&1 ||
		skip "$prog is not installed (Debian package lmdb-utils)"
done
LMDB_BULK=$(helper lmdb_bulk) || exit 1
T=$SFS_TMP
TIB=$((1 << 40))
NREC=20000
NTXN=20
LIMIT=$((64 << 20))

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

# run_ok WHAT CMD [ARGS...]: CMD under a deadline, output in $T/out; fail
# with WHAT and the output when it does not exit 0.
run_ok()
{
	local what=$1 rc=0
	shift

	timeout 60 "$@" >"$T/out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "$what: '$*' exited with status $rc: $(tail -n 5 "$T/out")"
}

# same_dump WHAT GOT WANT: two dump files are equal.
same_dump()
{
	cmp -s -- "$2" "$3" ||
		fail "$1: $2 differs from $3: $(diff -- "$3" "$2" | head -n 8)"
}

# ------------------------------------------------------------- Python

PY=
for cand in /usr/bin/python3 "$(command -v python3 || :)" /usr/bin/python3.*; do
	[ -n "$cand" ] && [ -x "$cand" ] || continue
	if "$cand" -c 'import lmdb' >/dev/null 2>&1; then
		PY=$cand
		break
	fi
done
if [ -n "$PY" ]; then
	note "python: $PY, lmdb $("$PY" -c 'import lmdb; print(lmdb.__version__)' 2>&1)"
else
	note "SKIPPING the Python part: no interpreter here can 'import lmdb' (tried /usr/bin/python3, python3 on PATH, /usr/bin/python3.*; Debian package python3-lmdb)"
fi

cat >"$T/lmdb_py.py" <<'EOF'
"""lmdb_py.py DIR (write|verify) WRITEMAP(0|1): a known data set in two
named databases of an LMDB environment with a 1 TiB map."""
import os
import sys

import lmdb

TIB = 1 << 40
NREC = 5000
NTXN = 10
NDUPKEYS = 500
NDUPS = 4


def fail(msg):
    sys.stderr.write("lmdb_py: %s\n" % msg)
    sys.exit(1)


def key(i):
    return b"key%06d" % i


def val(i):
    n = 5000 if i % 500 == 7 else 40 + i % 150
    return (b"value-%06d-" % i) + bytes(
        97 + (i * 31 + j * 7) % 26 for j in range(n))


def dkey(k):
    return b"dkey%05d" % k


def dval(k, d):
    return (b"dup-%05d-%d-" % (k, d)) + bytes(
        65 + (k * 5 + d * 3 + j) % 26 for j in range(20 + (k + d) % 30))


def main():
    path, mode, writemap = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    if mode == "write":
        os.makedirs(path, exist_ok=True)
    env = lmdb.open(path, map_size=TIB, writemap=writemap, max_dbs=2,
                    subdir=True, create=(mode == "write"))
    if env.info()["map_size"] != TIB:
        fail("env.info() map_size %d, expected %d"
             % (env.info()["map_size"], TIB))
    plain = env.open_db(b"plain")
    dups = env.open_db(b"dups", dupsort=True)

    if mode == "write":
        per = NREC // NTXN
        for t in range(NTXN):
            with env.begin(write=True) as txn:
                for i in range(t * per, (t + 1) * per):
                    if not txn.put(key(i), val(i), db=plain,
                                   overwrite=False):
                        fail("put %r: key exists already" % key(i))
        with env.begin(write=True) as txn:
            for k in range(NDUPKEYS):
                for d in range(NDUPS):
                    txn.put(dkey(k), dval(k, d), db=dups)
        env.sync(True)

    with env.begin() as txn:
        for i in range(NREC):
            got = txn.get(key(i), db=plain)
            if got != val(i):
                fail("get %r: %s, expected %d bytes"
                     % (key(i), "missing" if got is None
                        else "%d bytes %r" % (len(got), got[:24]),
                        len(val(i))))
        want = [(key(i), val(i)) for i in range(NREC)]
        got = list(txn.cursor(db=plain))
        if got != want:
            fail("cursor over 'plain': %d items, expected %d, first "
                 "difference at %s" % (len(got), len(want), next(
                     (i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                     min(len(got), len(want)))))
        want = [(dkey(k), v) for k in range(NDUPKEYS)
                for v in sorted(dval(k, d) for d in range(NDUPS))]
        got = list(txn.cursor(db=dups))
        if got != want:
            fail("cursor over 'dups': %d items, expected %d"
                 % (len(got), len(want)))
        if txn.stat(plain)["entries"] != NREC:
            fail("'plain' has %d entries, expected %d"
                 % (txn.stat(plain)["entries"], NREC))
        if txn.stat(dups)["entries"] != NDUPKEYS * NDUPS:
            fail("'dups' has %d entries, expected %d"
                 % (txn.stat(dups)["entries"], NDUPKEYS * NDUPS))
        names = [k for k, _ in txn.cursor()]
        if names != [b"dups", b"plain"]:
            fail("the main database holds %r, expected the two names"
                 % names)
    env.close()
    print("lmdb_py: %s %s writemap=%s: %d + %d records ok"
          % (mode, path, writemap, NREC, NDUPKEYS * NDUPS))


main()
EOF

# --------------------------------------------------------- references

# The same data sets made on the plain file system: their dumps are what
# every dump on sparsefs must equal, byte for byte.
mkdir -p "$T/ref" || fail "mkdir $T/ref"
run_ok "reference lmdb_bulk on ${TMPDIR:-/tmp}" \
	"$LMDB_BULK" --writemap --mapsize $TIB write "$T/ref/bulk" $NREC $NTXN
run_ok "reference mdb_dump" mdb_dump -f "$T/ref/bulk.dump" "$T/ref/bulk"
if [ -n "$PY" ]; then
	run_ok "reference Python env on ${TMPDIR:-/tmp}" \
		"$PY" "$T/lmdb_py.py" "$T/ref/py" write 0
	run_ok "reference mdb_dump -a" mdb_dump -a -f "$T/ref/py.dump" "$T/ref/py"
	grep -q '^database=plain$' "$T/ref/py.dump" &&
		grep -q '^duplicates=1$' "$T/ref/py.dump" ||
		fail "the reference mdb_dump -a lacks the named or dupsort database"
fi
grep -q "^mapsize=$TIB\$" "$T/ref/bulk.dump" ||
	fail "the reference dump does not record mapsize=$TIB"

# ------------------------------------------------------------- suite

# tools_suite LABEL BACKING MNT
tools_suite()
{
	local label=$1 b=$2 m=$3 d wm

	mkdir -p "$b" "$m" || fail "mkdir $b $m"
	sfs_mount "$b" "$m"

	run_ok "$label: lmdb_bulk --writemap --mapsize 1T write on sparsefs" \
		"$LMDB_BULK" --writemap --mapsize $TIB write "$m/src" $NREC $NTXN
	check_spend "$m/src/data.mdb" $TIB

	run_ok "$label: mdb_stat -e" mdb_stat -e "$m/src"
	grep -q "^  Entries: $NREC\$" "$T/out" ||
		fail "$label: mdb_stat does not count $NREC entries: $(cat "$T/out")"
	grep -q "^  Map size: $TIB\$" "$T/out" ||
		fail "$label: mdb_stat does not show a map size of $TIB: $(cat "$T/out")"
	ok "$label: mdb_stat: $NREC entries, map size 1 TiB"

	run_ok "$label: mdb_dump" mdb_dump -f "$m/src.dump" "$m/src"
	same_dump "$label: mdb_dump of the environment made on sparsefs" \
		"$m/src.dump" "$T/ref/bulk.dump"
	ok "$label: mdb_dump equals the dump of the same data on the plain file system"

	mkdir "$m/loaded" || fail "mkdir $m/loaded"
	run_ok "$label: mdb_load" mdb_load -f "$m/src.dump" "$m/loaded"
	run_ok "$label: mdb_dump of the loaded environment" \
		mdb_dump -f "$m/loaded.dump" "$m/loaded"
	same_dump "$label: dump after mdb_load" "$m/loaded.dump" "$m/src.dump"
	run_ok "$label: lmdb_bulk verify of the loaded environment" \
		"$LMDB_BULK" --mapsize $TIB verify "$m/loaded" $NREC $NTXN
	check_spend "$m/loaded/data.mdb" ""
	run_ok "$label: lmdb_bulk --writemap verify of the loaded environment" \
		"$LMDB_BULK" --writemap --mapsize $TIB verify "$m/loaded" $NREC $NTXN
	check_spend "$m/loaded/data.mdb" $TIB
	ok "$label: mdb_load into a new environment on the mount: same dump, every record verified"

	mkdir "$m/copy" "$m/compact" || fail "mkdir $m/copy $m/compact"
	run_ok "$label: mdb_copy (O_DIRECT writes)" mdb_copy "$m/src" "$m/copy"
	run_ok "$label: mdb_copy -c" mdb_copy -c "$m/src" "$m/compact"
	for d in copy compact; do
		run_ok "$label: mdb_dump of the mdb_copy $d" \
			mdb_dump -f "$m/$d.dump" "$m/$d"
		same_dump "$label: dump of the mdb_copy $d" "$m/$d.dump" "$m/src.dump"
		check_spend "$m/$d/data.mdb" ""
	done
	ok "$label: mdb_copy and mdb_copy -c: same dump"

	if [ -n "$PY" ]; then
		for wm in 1 0; do
			run_ok "$label: Python lmdb.open(map_size=1 TiB, writemap=$wm) write" \
				"$PY" "$T/lmdb_py.py" "$m/py$wm" write $wm
			if [ $wm = 1 ]; then
				check_spend "$m/py$wm/data.mdb" $TIB
			else
				check_spend "$m/py$wm/data.mdb" ""
			fi
			run_ok "$label: mdb_dump -a of the Python env (writemap=$wm)" \
				mdb_dump -a -f "$m/py$wm.dump" "$m/py$wm"
			same_dump "$label: mdb_dump -a of the Python env (writemap=$wm)" \
				"$m/py$wm.dump" "$T/ref/py.dump"
			ok "$label: Python, map_size 1 TiB, writemap=$wm: written, read back, dump equals the reference"
		done
		mkdir "$m/pyloaded" || fail "mkdir $m/pyloaded"
		run_ok "$label: mdb_load of a two-database dump" \
			mdb_load -f "$m/py1.dump" "$m/pyloaded"
		run_ok "$label: mdb_dump -a of the loaded Python env" \
			mdb_dump -a -f "$m/pyloaded.dump" "$m/pyloaded"
		same_dump "$label: dump after mdb_load of the Python env" \
			"$m/pyloaded.dump" "$T/ref/py.dump"
		run_ok "$label: Python verify of the loaded env" \
			"$PY" "$T/lmdb_py.py" "$m/pyloaded" verify 0
		ok "$label: named and dupsort databases survive mdb_dump -a / mdb_load"
	fi

	# Everything again from a fresh daemon.
	sfs_umount "$m"
	sfs_mount "$b" "$m"
	run_ok "$label: lmdb_bulk --writemap verify after a remount" \
		"$LMDB_BULK" --writemap --mapsize $TIB verify "$m/src" $NREC $NTXN
	for d in src loaded copy compact; do
		run_ok "$label: mdb_dump of $d after a remount" \
			mdb_dump -f "$T/again.dump" "$m/$d"
		same_dump "$label: dump of $d after a remount" \
			"$T/again.dump" "$T/ref/bulk.dump"
	done
	if [ -n "$PY" ]; then
		for wm in 1 0; do
			run_ok "$label: Python verify (writemap=$wm) after a remount" \
				"$PY" "$T/lmdb_py.py" "$m/py$wm" verify $wm
		done
		for d in py1 py0 pyloaded; do
			run_ok "$label: mdb_dump -a of $d after a remount" \
				mdb_dump -a -f "$T/again.dump" "$m/$d"
			same_dump "$label: dump of $d after a remount" \
				"$T/again.dump" "$T/ref/py.dump"
		done
	fi
	ok "$label: every environment dumps the same after a remount"
	sfs_umount "$m"
}

tools_suite plain "$T/plain/b" "$T/plain/m"

exfat_bed 2G "$T/ex"
tools_suite exfat "$T/ex/store" "$T/exm"

[ -n "$PY" ] || note "the Python part was skipped: no interpreter can 'import lmdb'"
echo "t0160-lmdb-tools: all passed"
exit 0
