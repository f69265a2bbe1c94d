#!/bin/bash
# t0010-cli: the command line and the daemon's life cycle.
#
# --help/--version; every refusal (missing arguments, missing BACKING or
# MOUNTPOINT, a non-empty directory that is not a store, BACKING inside
# MOUNTPOINT and the reverse, a store already served, unknown -o options,
# bad chunk_size values) exits non-zero with a message, mounts nothing and
# writes nothing into BACKING; chunk_size is honoured at creation only; the
# mount.fuse3 argument order, -d and -s work; the daemon exits 0 after
# fusermount3 -u; a store of a newer format or with a damaged superblock is
# refused and left untouched.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

T=$SFS_TMP

# refused WHAT PATTERN MNT BACKING_DIR_OR_EMPTY -- CMD...: CMD must exit
# non-zero (not by timeout) with a message on stderr matching the
# case-insensitive extended regex PATTERN (any message when empty), leave MNT
# unmounted and leave BACKING exactly as it was.
refused()
{
	local what=$1 pattern=$2 mnt=$3 backing=$4 rc=0 before after
	shift 5
	local err="$T/refused.err"

	[ -z "$backing" ] || before=$(dir_state "$backing")
	timeout 30 "$@" </dev/null >"$T/refused.out" 2>"$err" || rc=$?
	# A refused command must not have left a mount behind.
	[ -z "$mnt" ] || register_stray "$mnt"
	[ "$rc" != 124 ] || fail "$what: '$*' hung (killed after 30 s)"
	[ "$rc" != 0 ] || fail "$what: '$*' exited 0, expected a refusal"
	[ -s "$err" ] || fail "$what: '$*' exited $rc without a message on stderr"
	if [ -n "$pattern" ]; then
		grep -Eqi -- "$pattern" "$err" ||
			fail "$what: message does not match /$pattern/: $(cat "$err")"
	fi
	if [ -n "$mnt" ] && is_mounted "$(canon "$mnt")"; then
		fail "$what: '$*' exited $rc but $mnt is mounted"
	fi
	if [ -n "$backing" ]; then
		after=$(dir_state "$backing")
		[ "$before" = "$after" ] ||
			fail "$what: BACKING changed: $(diff <(echo "$before") <(echo "$after"))"
	fi
	ok "$what (exit $rc: $(head -n 1 "$err"))"
}

# --help, --version ----------------------------------------------------------
for opt in --help -h; do
	out=$(timeout 10 "$SPARSEFS" "$opt" 2>&1) || fail "sparsefs $opt exited $?"
	echo "$out" | grep -qi usage || fail "sparsefs $opt says no 'usage': $out"
	echo "$out" | grep -q chunk_size ||
		fail "sparsefs $opt does not document chunk_size: $out"
	ok "sparsefs $opt"
done
for opt in --version -V; do
	out=$(timeout 10 "$SPARSEFS" "$opt" 2>&1) || fail "sparsefs $opt exited $?"
	echo "$out" | grep -qi sparsefs ||
		fail "sparsefs $opt does not name sparsefs: $out"
	ok "sparsefs $opt: $(echo "$out" | head -n 1)"
done

# missing arguments, paths -------------------------------------------------
mkdir -p "$T/b" "$T/m"
refused "no arguments" "" "" "" -- "$SPARSEFS"
refused "one argument" "" "$T/m" "$T/b" -- "$SPARSEFS" "$T/b"
refused "missing BACKING" "$T/nonexistent|no such" "$T/m" "" -- \
	"$SPARSEFS" "$T/nonexistent" "$T/m"
[ ! -e "$T/nonexistent" ] || fail "missing BACKING: it was created"
refused "missing MOUNTPOINT" "$T/nomnt|no such" "" "$T/b" -- \
	"$SPARSEFS" "$T/b" "$T/nomnt"
[ ! -e "$T/nomnt" ] || fail "missing MOUNTPOINT: it was created"
[ -z "$(ls -A "$T/b")" ] || fail "missing MOUNTPOINT: empty BACKING was written"
refused "BACKING is a regular file" "" "$T/m" "" -- \
	"$SPARSEFS" "$T/refused.out" "$T/m"

# a non-empty directory that is not a store --------------------------------
mkdir -p "$T/notstore/sub"
echo "precious" >"$T/notstore/file.txt"
echo "more" >"$T/notstore/sub/x"
ln -s file.txt "$T/notstore/link"
refused "non-store BACKING" "not a sparsefs store" "$T/m" "$T/notstore" -- \
	"$SPARSEFS" "$T/notstore" "$T/m"
refused "non-store BACKING (-f)" "not a sparsefs store" "$T/m" "$T/notstore" -- \
	"$SPARSEFS" -f "$T/notstore" "$T/m"
# A directory with just a stray superblock-like name is no store either.
mkdir -p "$T/notstore2"
: >"$T/notstore2/sparsefs.sb.bak"
refused "non-store BACKING with a look-alike name" "not a sparsefs store" \
	"$T/m" "$T/notstore2" -- "$SPARSEFS" "$T/notstore2" "$T/m"

# nesting ------------------------------------------------------------------
mkdir -p "$T/outer/b"
refused "BACKING inside MOUNTPOINT" "" "$T/outer" "$T/outer" -- \
	"$SPARSEFS" "$T/outer/b" "$T/outer"
mkdir -p "$T/outer2/m"
refused "MOUNTPOINT inside BACKING" "" "$T/outer2/m" "$T/outer2" -- \
	"$SPARSEFS" "$T/outer2" "$T/outer2/m"
refused "BACKING equals MOUNTPOINT" "" "$T/b" "$T/b" -- \
	"$SPARSEFS" "$T/b" "$T/b"

# options ------------------------------------------------------------------
refused "unknown -o option" "nosuchopt" "$T/m" "$T/b" -- \
	"$SPARSEFS" -o nosuchopt=1 "$T/b" "$T/m"
refused "unknown -o option among known ones" "nosuchopt" "$T/m" "$T/b" -- \
	"$SPARSEFS" -o chunk_size=1M,nosuchopt "$T/b" "$T/m"
refused "unknown command line option" "" "$T/m" "$T/b" -- \
	"$SPARSEFS" --no-such-option "$T/b" "$T/m"
for bad in 3000 32K 128M 1X 0 -1M "" 1.5M 96K 1G; do
	refused "chunk_size=$bad" "chunk" "$T/m" "$T/b" -- \
		"$SPARSEFS" -o "chunk_size=$bad" "$T/b" "$T/m"
done
for bad in abc -1 1e9 "" 5s; do
	refused "timeout=$bad" "timeout" "$T/m" "$T/b" -- \
		"$SPARSEFS" -o "timeout=$bad" "$T/b" "$T/m"
done
for bad in abc 0 -1 1e9 "" 5s; do
	refused "journal_idle=$bad" "journal_idle" "$T/m" "$T/b" -- \
		"$SPARSEFS" -o "journal_idle=$bad" "$T/b" "$T/m"
done

# a good mount, in the foreground, with chunk_size --------------------------
# -s (single thread) too; the daemon must exit 0 after fusermount3 -u
# (sfs_umount checks that).
sfs_mount "$T/b" "$T/m" -s -o chunk_size=64K
[ -f "$T/b/sparsefs.sb" ] || fail "no $T/b/sparsefs.sb after the first mount"
[ -d "$T/b/meta" ] || fail "no $T/b/meta/ after the first mount"
[ -d "$T/b/data" ] || fail "no $T/b/data/ after the first mount"
case $(fstype_of "$T/m") in
fuse | fuse.*) ;;
*) fail "mount type is '$(fstype_of "$T/m")', expected fuse or fuse.*" ;;
esac
head -c 256K /dev/urandom >"$T/ref256k"
cp "$T/ref256k" "$T/m/f64k" || fail "write a file on $T/m"
sync "$T/m/f64k" || fail "fsync $T/m/f64k"
n=$(chunk_count "$T/b")
expect_eq "$n" 4 "chunk files for 256 KiB written with chunk_size=64K"
ok "chunk_size=64K: 256 KiB take 4 chunk files"

# a second daemon on the same store -----------------------------------------
mkdir -p "$T/m2"
refused "second mount of a live store" "already (in use|mounted)" "$T/m2" "" -- \
	"$SPARSEFS" "$T/b" "$T/m2"
ln -s b "$T/blink"
refused "second mount through a symlink" "already (in use|mounted)" "$T/m2" "" -- \
	"$SPARSEFS" -f "$T/blink" "$T/m2"
cmp "$T/ref256k" "$T/m/f64k" || fail "first mount broken after a refused second one"
echo "still here" >"$T/m/after-second" || fail "write after a refused second mount"
expect_eq "$(cat "$T/m/after-second")" "still here" "first mount after a refused second"
ok "the first mount keeps working"
sfs_umount "$T/m"
ok "daemon (-f -s) exited 0 after fusermount3 -u"

# chunk_size is a creation-time choice: ignored for an existing store ---------
sfs_mount "$T/b" "$T/m" -o chunk_size=1M
cmp "$T/ref256k" "$T/m/f64k" || fail "data lost across remount"
n=$(chunk_count "$T/b")
cp "$T/ref256k" "$T/m/g64k" && sync "$T/m/g64k" || fail "write g64k"
expect_eq "$(chunk_count "$T/b")" $((n + 4)) "chunk files after another 256 KiB file (store made with 64K)"
ok "chunk_size on an existing store does not change it"
sfs_umount "$T/m"

# the mount.fuse3 order: BACKING MOUNTPOINT -o opts, daemonizing -------------
mkdir -p "$T/b3" "$T/m3"
sfs_daemonize "$(canon "$T/m3")" "$SPARSEFS" "$T/b3" "$T/m3" -o chunk_size=128K
ok "sparsefs BACKING MNT -o chunk_size=128K returned 0 with the mount live"
cp "$T/ref256k" "$T/m3/f" && sync "$T/m3/f" || fail "write on the mount.fuse3-order mount"
expect_eq "$(chunk_count "$T/b3")" 2 "chunk files for 256 KiB with chunk_size=128K"
sfs_umount "$T/m3"
ok "daemonized sparsefs went away after fusermount3 -u"

# through mount.fuse3 itself, if it is installed
if command -v mount.fuse3 >/dev/null 2>&1; then
	mkdir -p "$T/b4" "$T/m4"
	sfs_daemonize "$(canon "$T/m4")" mount.fuse3 "$SPARSEFS#$T/b4" "$T/m4" \
		-o chunk_size=64K
	echo hi >"$T/m4/x" || fail "write through a mount.fuse3 mount"
	[ -f "$T/b4/sparsefs.sb" ] || fail "mount.fuse3: no store made in $T/b4"
	sfs_umount "$T/m4"
	ok "mount.fuse3 $SPARSEFS#BACKING MNT -o chunk_size=64K"
else
	note "mount.fuse3 not installed: not tried"
fi

# -d: debug, stays in the foreground ---------------------------------------
sfs_spawn "$(canon "$T/m")" "$SPARSEFS" -d "$T/b" "$T/m"
i=$(_sfs_index "$(canon "$T/m")")
pid_gone "${_SFS_PID[i]}" && fail "sparsefs -d did not stay in the foreground"
cat "$T/m/after-second" >/dev/null || fail "read under -d"
sfs_umount "$T/m"
[ -s "${_SFS_LOG[i]}" ] || fail "sparsefs -d printed nothing"
ok "-d stays in the foreground, logs, exits 0"

# a store made by the daemonizing form is reusable by -f and vice versa
sfs_mount_daemon "$T/b3" "$T/m3"
cmp "$T/ref256k" "$T/m3/f" || fail "b3 data after remount"
sfs_umount "$T/m3"
ok "remount of a store made in the mount.fuse3 order"

# superblocks this daemon must not trust ----------------------------------------
# fnv1a64 FILE: the superblock's checksum (FNV-1a 64, as src/store.c says)
fnv1a64()
{
	local h=$((0xcbf29ce484222325)) byte

	for byte in $(od -An -v -tu1 "$1"); do
		h=$(((h ^ byte) * 0x100000001b3))
	done
	printf '%016x\n' "$h"
}
cp -a "$T/b3" "$T/newer" || fail "copy a store"
grep -q '^format 1$' "$T/newer/sparsefs.sb" && grep -q '^checksum ' "$T/newer/sparsefs.sb" ||
	fail "superblock not in the format src/store.c describes: $(cat "$T/newer/sparsefs.sb")"
sed -e '/^checksum /,$d' -e 's/^format 1$/format 999/' "$T/b3/sparsefs.sb" >"$T/sb.body"
{ cat "$T/sb.body"; echo "checksum $(fnv1a64 "$T/sb.body")"; } >"$T/newer/sparsefs.sb"
sed -e '/^checksum /,$d' "$T/b3/sparsefs.sb" >"$T/sb.orig"
expect_eq "checksum $(fnv1a64 "$T/sb.orig")" "$(grep '^checksum ' "$T/b3/sparsefs.sb")" \
	"FNV-1a 64 of the original superblock (the test's own arithmetic)"
refused "store of a newer format" "newer|format" "$T/m" "$T/newer" -- \
	"$SPARSEFS" "$T/newer" "$T/m"
cp -a "$T/b3" "$T/corrupt" || fail "copy a store"
sed -i 's/^chunk_size .*/chunk_size 65536/' "$T/corrupt/sparsefs.sb"
refused "superblock with a bad checksum" "" "$T/m" "$T/corrupt" -- \
	"$SPARSEFS" "$T/corrupt" "$T/m"
echo "garbage" >"$T/corrupt/sparsefs.sb"
refused "superblock that is garbage" "" "$T/m" "$T/corrupt" -- \
	"$SPARSEFS" "$T/corrupt" "$T/m"
: >"$T/corrupt/sparsefs.sb"
refused "empty superblock" "" "$T/m" "$T/corrupt" -- \
	"$SPARSEFS" "$T/corrupt" "$T/m"

echo "t0010-cli: all passed"
exit 0
