#!/bin/bash
# t0400-install: make install and make uninstall with DESTDIR.
#
# `make install DESTDIR=...` in the build tree installs exactly the daemon
# ($bindir/sparsefs), the checker ($sbindir/fsck.sparsefs), every man page
# that the source tree has in man/ (sparsefs.1, and fsck.sparsefs.8 once it
# exists) and the systemd user unit ($systemduserunitdir/sparsefs@.service,
# default $prefix/lib/systemd/user) whose ExecStart runs $bindir/sparsefs;
# the installed programs run and the installed daemon mounts; the man pages
# render without groff warnings; `make uninstall DESTDIR=...` then leaves
# no file behind (empty directories may stay).
. "${TESTLIB:?TESTLIB is not set}" || exit 1

T=$SFS_TMP
D=$T/dest
[ -n "${BUILDDIR:-}" ] || fail "BUILDDIR is not set"
[ -n "${SRCDIR:-}" ] || fail "SRCDIR is not set"
[ -f "$BUILDDIR/Makefile" ] || fail "$BUILDDIR/Makefile is missing (not configured?)"

# build_make ARGS...: make in the build tree, without the settings of a
# `make check` that may be running us (its MAKEFLAGS carry its jobserver and
# command-line variables).
build_make()
{
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -s --no-print-directory -C "$BUILDDIR" "$@"
}

# The installation directories as make expands them.
printf 'sfs-print-%%:\n\t@echo '"'"'$($*)'"'"'\n' >"$T/print.mk"
make_var()
{
	build_make -f Makefile -f "$T/print.mk" "sfs-print-$1" ||
		fail "cannot read \$($1) from $BUILDDIR/Makefile"
}

prefix=$(sed -n 's/^prefix = //p' "$BUILDDIR/Makefile")
[ -n "$prefix" ] || fail "no 'prefix = ' line in $BUILDDIR/Makefile"
expect_eq "$(make_var prefix)" "$prefix" "prefix as make expands it"
bindir=$(make_var bindir)
sbindir=$(make_var sbindir)
mandir=$(make_var mandir)
unitdir=$(make_var systemduserunitdir)
fusermount=$(make_var FUSERMOUNT)
[ -n "$unitdir" ] || fail "systemduserunitdir is empty in $BUILDDIR/Makefile"
note "prefix=$prefix bindir=$bindir sbindir=$sbindir mandir=$mandir unitdir=$unitdir"
# With a default configure these are what the packaging and the docs say.
if ! grep -q -- '--bindir\|--sbindir\|--mandir\|--with-systemduserunitdir' \
	"$BUILDDIR/config.status"; then
	expect_eq "$bindir" "$prefix/bin" "default bindir"
	expect_eq "$sbindir" "$prefix/sbin" "default sbindir"
	expect_eq "$unitdir" "$prefix/lib/systemd/user" "default systemduserunitdir"
fi

# What must be installed: fixed files, then one man page per page in man/.
expected=("$bindir/sparsefs" "$sbindir/fsck.sparsefs"
	"$unitdir/sparsefs@.service")
pages=()
for page in "$SRCDIR"/man/*.[1-8]; do
	[ -f "$page" ] || continue
	name=$(basename -- "$page")
	expected+=("$mandir/man${name##*.}/$name")
	pages+=("$mandir/man${name##*.}/$name")
done
[ -f "$SRCDIR/man/sparsefs.1" ] || fail "$SRCDIR/man/sparsefs.1 is missing"
[ -f "$SRCDIR/man/fsck.sparsefs.8" ] &&
	note "man/fsck.sparsefs.8 exists: it must be installed too"

# --- install -----------------------------------------------------------------
build_make install DESTDIR="$D" >"$T/install.log" 2>&1 ||
	fail "make install DESTDIR=$D failed: $(tail -n 20 "$T/install.log")"
got=$(cd "$D" && find . ! -type d | sed 's|^\.||' | sort)
want=$(printf '%s\n' "${expected[@]}" | sort)
[ "$got" = "$want" ] ||
	fail "make install: the files differ from the expected set (- expected, + installed):
$(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | sed 's/^</-/; s/^>/+/')"
ok "make install DESTDIR installs exactly: ${want//$'\n'/ }"

[ -x "$D$bindir/sparsefs" ] || fail "$bindir/sparsefs is not executable"
[ -x "$D$sbindir/fsck.sparsefs" ] || fail "$sbindir/fsck.sparsefs is not executable"
out=$(timeout 10 "$D$bindir/sparsefs" --version 2>&1) ||
	fail "installed sparsefs --version exited $?: $out"
case $out in
sparsefs\ *) ;;
*) fail "installed sparsefs --version says '$out'" ;;
esac
ver=$(sed -n 's/^PACKAGE_VERSION = //p' "$BUILDDIR/Makefile")
case $out in
*"$ver"*) ;;
*) fail "installed sparsefs --version '$out' does not name version $ver" ;;
esac
out=$(timeout 10 "$D$sbindir/fsck.sparsefs" -V 2>&1) ||
	fail "installed fsck.sparsefs -V exited $?: $out"
case $out in
*"$ver"*) ;;
*) fail "installed fsck.sparsefs -V '$out' does not name version $ver" ;;
esac
ok "installed binaries run: $(timeout 10 "$D$bindir/sparsefs" --version | head -n 1)"

# The installed daemon serves a mount and exits 0 when unmounted.
mkdir -p "$T/b" "$T/m"
sfs_spawn "$(canon "$T/m")" "$D$bindir/sparsefs" -f "$T/b" "$T/m"
echo installed >"$T/m/file" || fail "write through the installed daemon's mount"
expect_eq "$(cat "$T/m/file")" installed "file read back through the installed daemon"
sfs_umount "$T/m"
ok "the installed daemon mounts, serves and exits 0"

# --- the systemd user unit -----------------------------------------------
unit=$D$unitdir/sparsefs@.service
execstart=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$(echo "$execstart" | grep -c .)" = 1 ] ||
	fail "installed unit: expected one ExecStart= line, got: $execstart"
case $execstart in
"$bindir/sparsefs "*) ;;
*) fail "installed unit: ExecStart=$execstart does not run $bindir/sparsefs" ;;
esac
if grep -n '@[A-Za-z_][A-Za-z0-9_]*@' "$unit"; then
	fail "installed unit has unsubstituted @VARIABLE@ placeholders (above)"
fi
# Every absolute program the unit runs, other than ours, exists here.
while IFS= read -r cmd; do
	prog=${cmd%% *}
	prog=${prog#[-@:+!]}
	prog=${prog#[-@:+!]}
	case $prog in
	"$bindir/sparsefs") ;;
	/*) [ -x "$prog" ] || fail "installed unit runs $prog, which is not an executable here" ;;
	*) fail "installed unit runs '$prog', not an absolute path" ;;
	esac
done < <(sed -n 's/^Exec[A-Za-z]*=//p' "$unit")
grep -q "^ExecStop=-\{0,1\}$fusermount -u " "$unit" ||
	fail "installed unit: no ExecStop=$fusermount -u ...: $(grep ^ExecStop "$unit")"
ok "installed unit: ExecStart=$execstart"

# --- man pages ---------------------------------------------------------------
if command -v man >/dev/null 2>&1; then
	for page in "${pages[@]}"; do
		rc=0
		MANWIDTH=80 timeout 30 man --warnings -l "$D$page" \
			>"$T/man.out" 2>"$T/man.err" || rc=$?
		[ "$rc" = 0 ] || fail "man -l $page exited $rc: $(head -n 20 "$T/man.err")"
		[ ! -s "$T/man.err" ] ||
			fail "man --warnings -l $page warns:
$(head -n 20 "$T/man.err")"
		[ -s "$T/man.out" ] || fail "man -l $page rendered nothing"
		ok "man page $page renders without warnings"
	done
else
	note "man is not installed: the man pages' rendering is not checked"
fi

# --- uninstall -----------------------------------------------------------
build_make uninstall DESTDIR="$D" >"$T/uninstall.log" 2>&1 ||
	fail "make uninstall DESTDIR=$D failed: $(tail -n 20 "$T/uninstall.log")"
left=$(cd "$D" && find . ! -type d)
[ -z "$left" ] || fail "make uninstall left files behind: $left"
ok "make uninstall DESTDIR leaves no files"
exit 0
