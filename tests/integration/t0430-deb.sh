#!/bin/bash
# t0430-deb: the Debian package builds, is lintian-clean, installs and works.
#
# A copy of the source tree (the git checkout's tracked and unignored files,
# else `make distdir`) builds with `dpkg-buildpackage -us -uc -b`; lintian
# reports no error (E:) on the .changes; the .deb depends on fuse3 and
# `apt-get install ./sparsefs_*.deb` installs it (and fuse3 if missing);
# /usr/bin/sparsefs --version names the package's upstream version,
# /usr/sbin/fsck.sparsefs runs, the man pages are there, the user unit
# /usr/lib/systemd/user/sparsefs@.service runs /usr/bin/sparsefs; the
# installed daemon mounts, serves and exits 0.  The cleanup purges exactly
# the packages the install added (also when the test fails) and removes the
# build; the test refuses to run over an already installed sparsefs.
#
# About 15 s of CPU; on a busy machine the build, lintian and the man-db
# trigger can take minutes, hence a longer default deadline.
SFS_TEST_TIMEOUT=${SFS_TEST_TIMEOUT:-300}
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # apt-get install

T=$SFS_TMP
[ -n "${SRCDIR:-}" ] || fail "SRCDIR is not set"
for prog in dpkg-buildpackage dpkg-checkbuilddeps dh lintian apt-get dpkg-query rsync flock; do
	command -v "$prog" >/dev/null 2>&1 ||
		skip "$prog is not installed (packages dpkg-dev, debhelper, lintian, apt, rsync, util-linux)"
done

# Without the settings of a `make check` that may be running us.
unset MAKEFLAGS MFLAGS MAKELEVEL

# already_installed: skip when a sparsefs package is on this machine.
already_installed()
{
	local status

	status=$(dpkg-query -W -f '${db:Status-Status}' sparsefs 2>/dev/null) ||
		status=
	case $status in
	'' | not-installed) ;;
	*) skip "the sparsefs package is already on this machine ($status): not replacing it" ;;
	esac
}
already_installed

# --- cleanup: purge what we installed -------------------------------------------
ADDED=()
t0430_cleanup()
{
	local rc=$?

	if [ "${#ADDED[@]}" -gt 0 ]; then
		cd / || :
		# Unmount first: the daemon runs the installed binary.
		for ((i = ${#_SFS_KIND[@]} - 1; i >= 0; i--)); do
			[ "${_SFS_KIND[i]}" != 'done' ] || continue
			_sfs_unmount_one "${_SFS_MNT[i]}"
		done
		echo "cleanup: apt-get purge ${ADDED[*]}" >&2
		timeout 120 apt-get purge -y -q -o DPkg::Lock::Timeout=60 "${ADDED[@]}" \
			>"$T/purge.log" 2>&1 ||
			{ echo "cleanup: apt-get purge failed:" >&2; cat "$T/purge.log" >&2; }
	fi
	(exit "$rc")
	_sfs_cleanup
}
trap t0430_cleanup EXIT

# --- the source tree ---------------------------------------------------------
version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$SRCDIR/debian/changelog")
upstream=${version%-*}
[ -n "$upstream" ] || fail "cannot read the version from $SRCDIR/debian/changelog"
PKG=$T/pkg
S=$PKG/sparsefs-$upstream
mkdir -p "$S"
# Only when SRCDIR is the top of a checkout: a tarball unpacked inside
# some other repository (make distcheck) is not one.
top=$(git -C "$SRCDIR" -c safe.directory="$SRCDIR" rev-parse --show-toplevel \
	2>/dev/null) || top=
if [ -n "$top" ] && [ "$(realpath -e -- "$top")" = "$(realpath -e -- "$SRCDIR")" ]; then
	git -C "$SRCDIR" -c safe.directory="$SRCDIR" ls-files -z -co --exclude-standard |
		rsync -a --from0 --files-from=- --ignore-missing-args "$SRCDIR/" "$S/" ||
		fail "cannot copy the git checkout $SRCDIR to $S"
	note "source: the git checkout $SRCDIR ($(find "$S" -type f | wc -l) files)"
else
	[ -n "${BUILDDIR:-}" ] || fail "BUILDDIR is not set"
	rmdir "$S"
	make -s --no-print-directory -C "$BUILDDIR" distdir distdir="$S" \
		>"$T/distdir.log" 2>&1 ||
		fail "make distdir failed (a file the Makefile distributes is missing?): $(tail -n 20 "$T/distdir.log")"
	note "source: make distdir from $BUILDDIR ($(find "$S" -type f | wc -l) files)"
fi
[ -f "$S/debian/control" ] || fail "the copied tree has no debian/control"

(cd "$S" && dpkg-checkbuilddeps) >"$T/builddeps.log" 2>&1 ||
	skip "the build dependencies are not installed: $(cat "$T/builddeps.log")"

# --- build ---------------------------------------------------------------------
note "dpkg-buildpackage -us -uc -b in $S"
(cd "$S" && timeout 300 dpkg-buildpackage -us -uc -b -J"$(nproc)") \
	</dev/null >"$T/build.log" 2>&1 ||
	fail "dpkg-buildpackage failed: $(tail -n 40 "$T/build.log")"
arch=$(dpkg --print-architecture)
DEB=$PKG/sparsefs_${version}_$arch.deb
CHANGES=$PKG/sparsefs_${version}_$arch.changes
[ -f "$DEB" ] || fail "no $DEB after the build: $(ls "$PKG")"
[ -f "$CHANGES" ] || fail "no $CHANGES after the build: $(ls "$PKG")"
ok "dpkg-buildpackage -us -uc -b (${SECONDS} s): $(cd "$PKG" && ls ./*.deb | tr '\n' ' ')"

# --- lintian -----------------------------------------------------------------
rc=0
timeout 300 lintian "$CHANGES" >"$T/lintian.log" 2>&1 || rc=$?
sed 's/^/lintian: /' "$T/lintian.log"
if grep -q '^E: ' "$T/lintian.log"; then
	fail "lintian reports errors (above)"
fi
[ "$rc" = 0 ] || fail "lintian exited $rc (above)"
ok "lintian: no errors ($(grep -c '^W: ' "$T/lintian.log") warnings) (${SECONDS} s)"

# --- the package's metadata and contents -----------------------------------------
depends=$(dpkg-deb -f "$DEB" Depends)
case ", $depends," in
*", fuse3"[\ ,\(]*) ;;
*) fail "the package does not depend on fuse3: Depends: $depends" ;;
esac
dpkg-deb -c "$DEB" >"$T/contents"
for f in ./usr/bin/sparsefs ./usr/sbin/fsck.sparsefs \
	./usr/lib/systemd/user/sparsefs@.service ./usr/share/man/man1/sparsefs.1.gz; do
	grep -q " $f\$" "$T/contents" || fail "the package has no $f: $(cat "$T/contents")"
done
for page in "$S"/man/*.[1-8]; do
	[ -f "$page" ] || continue
	name=$(basename -- "$page")
	grep -q " ./usr/share/man/man${name##*.}/$name.gz\$" "$T/contents" ||
		fail "the package lacks the man page $name"
done
ok "Depends: $depends; contents as expected"

# --- install -------------------------------------------------------------------
# One test at a time installs the package on this machine.
exec 9>"${TMPDIR:-/tmp}/sparsefs-t0430-deb.lock"
flock -w 90 9 || fail "another t0430 holds ${TMPDIR:-/tmp}/sparsefs-t0430-deb.lock"
already_installed

installed_packages()
{
	dpkg-query -W -f '${db:Status-Status} ${Package}:${Architecture}\n' |
		awk '$1 != "not-installed" { print $2 }' | sort
}
installed_packages >"$T/before"
rc=0
timeout 300 apt-get install -y -q -o DPkg::Lock::Timeout=60 "$DEB" \
	</dev/null >"$T/install.log" 2>&1 || rc=$?
installed_packages >"$T/after"
mapfile -t ADDED < <(comm -13 "$T/before" "$T/after")
cat "$T/install.log"
[ "$rc" = 0 ] || fail "apt-get install $DEB exited $rc (above)"
note "installed: ${ADDED[*]}"
expect_eq "$(dpkg-query -W -f '${db:Status-Status}' sparsefs)" installed "sparsefs status"
expect_eq "$(dpkg-query -W -f '${db:Status-Status}' fuse3)" installed "fuse3 status"
ok "apt-get install ./$(basename "$DEB"): sparsefs and fuse3 installed (${SECONDS} s)"

out=$(timeout 10 /usr/bin/sparsefs --version 2>&1) ||
	fail "/usr/bin/sparsefs --version exited $?: $out"
case $out in
"sparsefs $upstream "*) ;;
*) fail "/usr/bin/sparsefs --version says '$out', expected version $upstream" ;;
esac
[ -x /usr/sbin/fsck.sparsefs ] || fail "/usr/sbin/fsck.sparsefs is missing"
timeout 10 /usr/sbin/fsck.sparsefs -V >"$T/fsck.out" 2>&1 ||
	fail "/usr/sbin/fsck.sparsefs -V exited $?: $(cat "$T/fsck.out")"
UNIT=/usr/lib/systemd/user/sparsefs@.service
[ -f "$UNIT" ] || fail "$UNIT is missing"
grep -q '^ExecStart=/usr/bin/sparsefs ' "$UNIT" ||
	fail "$UNIT does not run /usr/bin/sparsefs: $(grep '^ExecStart' "$UNIT")"
if grep -n '@[A-Za-z_][A-Za-z0-9_]*@' "$UNIT"; then
	fail "$UNIT has unsubstituted @VARIABLE@ placeholders (above)"
fi
ok "installed: $out; fsck.sparsefs; $UNIT runs /usr/bin/sparsefs"

# The installed daemon mounts, serves and exits 0.
mkdir -p "$T/b" "$T/m"
sfs_spawn "$(canon "$T/m")" /usr/bin/sparsefs -f "$T/b" "$T/m"
echo "from the package" >"$T/m/file" || fail "write through the packaged daemon"
expect_eq "$(cat "$T/m/file")" "from the package" "file read back"
sfs_umount "$T/m"
timeout 60 /usr/sbin/fsck.sparsefs -n "$T/b" >"$T/fsck.out" 2>&1 ||
	fail "the packaged fsck.sparsefs -n finds the store unclean: $(cat "$T/fsck.out")"
ok "the packaged sparsefs mounts, serves, exits 0; its fsck finds the store clean"
exit 0
