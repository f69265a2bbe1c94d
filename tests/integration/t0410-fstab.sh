#!/bin/bash
# t0410-fstab: mounting from fstab lines, and as a normal user.
#
# A temporary fstab (mount -T) with the line
#   BACKING MOUNTPOINT fuse.sparsefs OPTIONS 0 0
# mounts through mount(8) -> mount.fuse3 -> `sparsefs` found by name, both
# with `mount -T F MOUNTPOINT` and with `mount -T F -a`; the daemon serving
# it is $SPARSEFS; files written are there at the next mount; it unmounts
# with umount and with fusermount3 -u, and the daemon exits each time.
# Options that fstab, mount(8) and systemd use are accepted or ignored, by
# way of mount(8) and given to sparsefs directly: nofail, _netdev, noauto
# (mount -a skips the line, mount -T F M mounts it), user, users,
# x-systemd.automount, x-systemd.requires=foo, x-gvfs-show, defaults, rw,
# allow_other; ro gives a read-only mount (writes fail with EROFS, reads
# work); an unknown option fails with "unknown option" naming it, a
# non-zero exit, no mount, and nothing written to the store.  As user
# nobody, with BACKING and MOUNTPOINT its own, a mount through the setuid
# fusermount3 works and unmounts with fusermount3 -u; allow_other without
# user_allow_other in /etc/fuse.conf is refused with a message naming it.
#
# util-linux's mount(8) runs helpers without PATH, so mount.fuse3's
# `/bin/sh -c sparsefs ...` searches the shell's default path.  To make that
# find $SPARSEFS without touching the machine, the test runs in a private
# mount namespace and overlays a directory holding a `sparsefs` symlink on
# the first directory of that default path (there only).

if [ -z "${SFS_T0410_NS:-}" ] && [ "$(id -u)" = 0 ] &&
	command -v unshare >/dev/null 2>&1 &&
	unshare --mount --propagation slave true 2>/dev/null; then
	SFS_T0410_NS=1 exec unshare --mount --propagation slave bash "$0" "$@"
fi
if [ -n "${SFS_T0410_NS:-}" ]; then
	# The namespace starts with a copy of every mount there was, other
	# tests' FUSE mounts among them; where the root is not shared, their
	# unmounts do not reach the copies, which would keep those daemons
	# alive. Drop the copies here (only in this namespace).
	awk '$3 ~ /^fuse/ { print $2 }' /proc/self/mounts | sort -r |
		while IFS= read -r m; do
			umount -l "$(printf '%b' "$m")" 2>/dev/null
		done
fi
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # mount -T is for root only

T=$SFS_TMP
F=$T/fstab
B=$T/b
mkdir -p "$B" "$T/m"
M=$(canon "$T/m")
FSCK=${FSCK:-${BUILDDIR:+$BUILDDIR/src/fsck.sparsefs}}
for prog in mount umount; do
	command -v "$prog" >/dev/null 2>&1 || skip "$prog is not installed"
done
command -v mount.fuse3 >/dev/null 2>&1 || [ -x /sbin/mount.fuse3 ] ||
	skip "mount.fuse3 is not installed (package fuse3)"

# --- `sparsefs` by name --------------------------------------------------------
mkdir -p "$T/bin"
ln -s "$SPARSEFS" "$T/bin/sparsefs" || fail "ln -s $SPARSEFS $T/bin/sparsefs"
export PATH="$T/bin:$PATH"

# sh_finds: the program `sh -c sparsefs` runs with no PATH, resolved.
sh_finds()
{
	local p

	p=$(env -u PATH /bin/sh -c 'command -v sparsefs' 2>/dev/null) || return 0
	realpath -e -- "$p" 2>/dev/null
}

OVERLAY=
DEVFUSE_BOUND=
if [ "$(sh_finds)" != "$SPARSEFS" ]; then
	[ -n "${SFS_T0410_NS:-}" ] ||
		skip "cannot make mount.fuse3 find \$SPARSEFS by name: no private mount namespace (unshare -m)"
	for dir in $(env -u PATH /bin/sh -c 'echo "$PATH"' | tr : ' '); do
		[ -d "$dir" ] && break
	done
	mount -t overlay sfs-t0410-path -o "lowerdir=$T/bin:$dir" "$dir" \
		2>"$T/overlay.err" ||
		skip "cannot overlay $dir (in a private namespace) to put sparsefs on mount.fuse3's path: $(cat "$T/overlay.err")"
	OVERLAY=$dir
	[ "$(sh_finds)" = "$SPARSEFS" ] ||
		fail "sh -c sparsefs finds '$(sh_finds)' even with $T/bin overlaid on $dir"
	note "overlaid $T/bin on $dir in this test's mount namespace"
fi
ok "mount.fuse3's 'sh -c sparsefs' runs $SPARSEFS"

t0410_cleanup()
{
	local rc=$?

	# Unmount ours first: the overlay's lower layer is in the temp dir.
	[ -z "$OVERLAY" ] || umount "$OVERLAY" 2>/dev/null || umount -l "$OVERLAY"
	[ -z "$DEVFUSE_BOUND" ] || umount /dev/fuse 2>/dev/null || umount -l /dev/fuse
	(exit "$rc")
	_sfs_cleanup
}
trap t0410_cleanup EXIT

# --- helpers -----------------------------------------------------------------
# fstab_line OPTIONS [BACKING]: the fstab holds one line for M.
fstab_line()
{
	printf '%s %s fuse.sparsefs %s 0 0\n' "$(_mnt_escape "${2:-$B}")" \
		"$(_mnt_escape "$M")" "$1" >"$F"
}

# unmount_with CMD...: unmount M with CMD, then wait for the daemon to exit
# (and require status 0 when it is our child).
unmount_with()
{
	local i pid rc

	i=$(_sfs_index "$M") || fail "unmount_with: $M is not ours"
	pid=${_SFS_PID[i]}
	timeout 20 "$@" || fail "'$*' failed"
	! is_mounted "$M" || fail "$M still mounted after '$*'"
	if [ "$pid" != 0 ]; then
		wait_until 20 pid_gone "$pid" ||
			fail "daemon $pid still running 20 s after '$*'"
		if [ "${_SFS_CHILD[i]}" = 1 ]; then
			rc=0
			wait "$pid" || rc=$?
			[ "$rc" = 0 ] || fail "daemon exited with status $rc after '$*'"
		fi
	fi
	_SFS_KIND[i]='done'
}

# store_clean: fsck.sparsefs finds the store consistent (the daemon that
# just exited closed it cleanly).
store_clean()
{
	local rc=0

	[ -x "${FSCK:-}" ] || return 0
	timeout 60 "$FSCK" -n "$B" >"$T/fsck.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "fsck.sparsefs -n $B exited $rc after '$1': $(tail -n 20 "$T/fsck.out")"
}

# use_mount WHAT: the files of every earlier mount are there; write one more.
NFILES=0
use_mount()
{
	local n

	for ((n = 1; n <= NFILES; n++)); do
		[ "$(cat "$M/file.$n" 2>&1)" = "content $n" ] ||
			fail "$1: $M/file.$n holds '$(cat "$M/file.$n" 2>&1)', expected 'content $n'"
	done
	n=$((NFILES + 1))
	echo "content $n" >"$M/file.$n" || fail "$1: cannot write $M/file.$n"
	expect_eq "$(cat "$M/file.$n")" "content $n" "$1: $M/file.$n read back"
	NFILES=$n
}

# mount_options: the options /proc/mounts shows for M.
mount_options()
{
	MNT_WANT=$(_mnt_escape "$M") awk '$2 == ENVIRON["MNT_WANT"] { o = $4 } END { print o }' /proc/mounts
}

# refused WHAT PATTERN... -- CMD...: CMD exits non-zero with a message
# matching every PATTERN (extended regex, case-insensitive), mounts nothing
# and leaves $B as it was.
refused()
{
	local what=$1 before rc=0 p
	local patterns=()
	shift
	while [ "$1" != -- ]; do
		patterns+=("$1")
		shift
	done
	shift

	before=$(dir_state "$B")
	timeout 30 "$@" </dev/null >"$T/refused.out" 2>"$T/refused.err" || rc=$?
	register_stray "$M"
	[ "$rc" != 124 ] || fail "$what: '$*' hung"
	[ "$rc" != 0 ] || fail "$what: '$*' exited 0, expected a refusal"
	! is_mounted "$M" || fail "$what: '$*' exited $rc but $M is mounted"
	for p in "${patterns[@]}"; do
		grep -Eqi -- "$p" "$T/refused.err" "$T/refused.out" ||
			fail "$what: no /$p/ in the messages: $(cat "$T/refused.err" "$T/refused.out")"
	done
	[ "$(dir_state "$B")" = "$before" ] || fail "$what: '$*' changed the store in $B"
	ok "$what (exit $rc: $(grep -hi -m 1 'option\|allow_other' "$T/refused.err" "$T/refused.out" | head -n 1))"
}

# --- fstab: mount -T F M, mount -T F -a ------------------------------------
fstab_line 'defaults,nofail,_netdev'
sfs_daemonize "$M" mount -T "$F" "$M"
use_mount "mount -T F M"
unmount_with umount "$M"
store_clean "umount"
ok "fstab 'defaults,nofail,_netdev': mount -T F M, write, umount, daemon gone"

sfs_daemonize "$M" mount -T "$F" -a
use_mount "mount -T F -a"
unmount_with fusermount3 -u "$M"
store_clean "fusermount3 -u"
ok "fstab 'defaults,nofail,_netdev': mount -T F -a, files kept, fusermount3 -u"

# noauto: mount -a passes it by, naming the mount point mounts it.
fstab_line 'noauto'
timeout 30 mount -T "$F" -a >"$T/mount-a.log" 2>&1 ||
	fail "mount -T F -a with only a noauto line exited $?: $(cat "$T/mount-a.log")"
register_stray "$M"
! is_mounted "$M" || fail "mount -a mounted a noauto line"
sfs_daemonize "$M" mount -T "$F" "$M"
use_mount "noauto, mount -T F M"
unmount_with umount "$M"
ok "fstab 'noauto': skipped by mount -a, mounted by mount -T F M"

# Every other option, one line each, alternating the way of unmounting.
n=0
for opts in nofail _netdev user users x-systemd.automount \
	x-systemd.requires=foo x-gvfs-show defaults rw allow_other \
	'rw,user,noauto,x-systemd.automount,x-systemd.requires=foo,x-gvfs-show,allow_other,nofail,_netdev'; do
	fstab_line "$opts"
	sfs_daemonize "$M" mount -T "$F" "$M"
	use_mount "fstab '$opts'"
	if ((n++ % 2)); then
		unmount_with fusermount3 -u "$M"
	else
		unmount_with umount "$M"
	fi
	ok "fstab '$opts': mounts, serves, unmounts"
done

# The same options given to sparsefs directly (what systemd mount units and
# other mount(8) versions pass on).
for opts in defaults nofail _netdev noauto user users x-systemd.automount \
	x-systemd.requires=foo x-gvfs-show rw allow_other \
	'defaults,noauto,user,users,nofail,_netdev,x-systemd.automount,x-gvfs-show'; do
	sfs_mount "$B" "$M" -o "$opts"
	use_mount "sparsefs -o $opts"
	sfs_umount "$M"
	ok "sparsefs -o $opts: accepted, daemon exits 0"
done
store_clean "the direct mounts"

# --- ro ----------------------------------------------------------------------
check_ro()
{
	local what=$1 out

	case ",$(mount_options)," in
	*,ro,*) ;;
	*) fail "$what: $M is not read-only: $(mount_options)" ;;
	esac
	expect_eq "$(cat "$M/file.1")" "content 1" "$what: read"
	if out=$(echo new 2>&1 >"$M/new-file"); then
		fail "$what: creating a file succeeded"
	fi
	case $out in
	*"Read-only file system"*) ;;
	*) fail "$what: creating a file failed with '$out', expected EROFS" ;;
	esac
	if out=$(echo more 2>&1 >>"$M/file.1"); then
		fail "$what: appending succeeded"
	fi
	case $out in
	*"Read-only file system"*) ;;
	*) fail "$what: appending failed with '$out', expected EROFS" ;;
	esac
	if out=$(mkdir "$M/dir" 2>&1); then
		fail "$what: mkdir succeeded"
	fi
	case $out in
	*"Read-only file system"*) ;;
	*) fail "$what: mkdir failed with '$out', expected EROFS" ;;
	esac
	expect_eq "$(cat "$M/file.1")" "content 1" "$what: file.1 after the failed append"
}
fstab_line 'ro,nofail'
sfs_daemonize "$M" mount -T "$F" "$M"
check_ro "fstab 'ro'"
unmount_with umount "$M"
ok "fstab 'ro': read-only, writes fail with EROFS, reads work"
sfs_mount "$B" "$M" -o ro
check_ro "sparsefs -o ro"
sfs_umount "$M"
ok "sparsefs -o ro: read-only, writes fail with EROFS, reads work"

# --- an unknown option -------------------------------------------------------
fstab_line 'defaults,bogusopt'
refused "fstab 'defaults,bogusopt' on a store" 'unknown option' bogusopt -- \
	mount -T "$F" "$M"
refused "sparsefs -o bogusopt on a store" 'unknown option' bogusopt -- \
	"$SPARSEFS" -o bogusopt "$B" "$M"
mkdir -p "$T/empty"
fstab_line 'bogusopt,nofail' "$T/empty"
rc=0
timeout 30 mount -T "$F" "$M" >"$T/empty.log" 2>&1 || rc=$?
register_stray "$M"
[ "$rc" != 0 ] || fail "fstab 'bogusopt' on an empty BACKING exited 0"
[ -z "$(ls -A "$T/empty")" ] ||
	fail "fstab 'bogusopt' wrote into the empty BACKING: $(ls -A "$T/empty")"
ok "fstab 'bogusopt,nofail' on an empty BACKING: exit $rc, nothing written"

# --- as a normal user ----------------------------------------------------------
U=65534
AS_USER=(setpriv --reuid="$U" --regid="$U" --clear-groups)
if ! command -v setpriv >/dev/null 2>&1; then
	note "setpriv is not installed: the normal-user checks are not run"
	exit 0
fi
chmod 755 "$T"
UB=$T/ub
mkdir -p "$UB" "$T/um"
chown "$U:$U" "$UB" "$T/um"
UM=$(canon "$T/um")
USFS=$SPARSEFS
if ! "${AS_USER[@]}" test -x "$SPARSEFS"; then
	# The build tree is not readable by nobody: a copy is.
	mkdir -p "$T/ubin"
	cp "$SPARSEFS" "$T/ubin/sparsefs" && chmod 755 "$T/ubin/sparsefs" ||
		fail "copy $SPARSEFS for user $U"
	USFS=$T/ubin/sparsefs
fi
cd "$T" || fail "cd $T"

# libfuse opens /dev/fuse as the user first and only falls back to
# fusermount3 when it does not exist; normal machines have it mode 0666.
# Where it is not (a container), our namespace gets a 0666 node for it.
user_can_open_fuse()
{
	"${AS_USER[@]}" sh -c 'exec 3<>/dev/fuse' 2>/dev/null
}
user_fuse=yes
if ! user_can_open_fuse; then
	user_fuse=no
	dev=$(stat -c '%t %T' /dev/fuse)
	if [ -n "${SFS_T0410_NS:-}" ] &&
		mknod -m 666 "$T/fuse-dev" c "$((16#${dev% *}))" "$((16#${dev#* }))" \
			2>/dev/null &&
		mount --bind "$T/fuse-dev" /dev/fuse 2>/dev/null; then
		DEVFUSE_BOUND=1
		if user_can_open_fuse; then
			user_fuse=yes
			note "/dev/fuse is not open to users here: a mode 0666 node is bound over it in this test's namespace"
		fi
	fi
fi

if [ "$user_fuse" = no ]; then
	note "/dev/fuse is not open to users and cannot be made so: user mounts are not checked"
elif [ -u "$(command -v fusermount3)" ]; then
	sfs_spawn "$UM" "${AS_USER[@]}" "$USFS" -f "$UB" "$UM"
	"${AS_USER[@]}" sh -c 'echo "by nobody" >"$1/file" && cat "$1/file"' sh "$UM" \
		>"$T/user.out" 2>&1 || fail "user $U cannot write its mount: $(cat "$T/user.out")"
	expect_eq "$(cat "$T/user.out")" "by nobody" "user file read back"
	expect_eq "$("${AS_USER[@]}" stat -c %u "$UM/file")" "$U" "owner of the user's file"
	M=$UM unmount_with "${AS_USER[@]}" fusermount3 -u "$UM"
	sfs_spawn "$UM" "${AS_USER[@]}" "$USFS" -f "$UB" "$UM"
	expect_eq "$("${AS_USER[@]}" cat "$UM/file")" "by nobody" "user file after a remount"
	M=$UM unmount_with "${AS_USER[@]}" fusermount3 -u "$UM"
	ok "user $U: mounts through fusermount3, writes, fusermount3 -u, daemon exits 0"
else
	note "fusermount3 is not setuid root: user mounts are not checked"
fi

if grep -Eq '^[[:space:]]*user_allow_other[[:space:]]*$' /etc/fuse.conf 2>/dev/null; then
	note "/etc/fuse.conf has user_allow_other: the refusal of allow_other without it is not checked"
else
	B=$UB M=$UM refused "user $U: -o allow_other without user_allow_other" \
		user_allow_other -- "${AS_USER[@]}" "$USFS" -o allow_other "$UB" "$UM"
	B=$UB M=$UM refused "user $U: -f -o allow_other without user_allow_other" \
		user_allow_other -- "${AS_USER[@]}" "$USFS" -f -o allow_other "$UB" "$UM"
fi
exit 0
