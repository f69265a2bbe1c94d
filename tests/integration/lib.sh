# lib.sh - shared mount library for the sparsefs integration tests.
#
# Sourced by every tests/integration/tNNNN-*.sh.  The environment is given by
# the Makefile (or by hand):
#
#   SPARSEFS          path of the sparsefs daemon under test
#   HELPERS           directory holding the compiled tests/helpers programs
#   TESTLIB           path of this file
#   SFS_TEST_TIMEOUT  optional: the test's deadline in seconds (default 180);
#                     the watchdog aborts the test 15 s before it
#   SFS_KEEP          optional: 1 keeps the temp dir for a post-mortem
#
# Exit codes follow automake's harness: 0 pass, 1 fail, 77 skip.  skip is only
# for a capability this machine really lacks (/dev/fuse, root, loop devices,
# the exFAT tools); a daemon or helper that was not built is a failure.
#
# Every wait has a deadline; nothing here may hang forever.  A watchdog ends
# the test after SFS_TEST_TIMEOUT seconds.  The EXIT trap unmounts every
# sparsefs and exFAT mount the test made (newest first: a store may live on
# an exFAT bed), waits for or ends their daemons, detaches every loop device
# the test attached and removes the temp dir, also when the test fails.
#
# Mount points are kept in canonical form (symlinks resolved) because that is
# how /proc/mounts shows them; the mounted directory itself is never stat'ed
# while mounted except by the test proper, so a hung daemon cannot hang the
# bookkeeping.

set -u
export LC_ALL=C
export TZ=UTC

SFS_TEST_NAME=$(basename -- "$0" .sh)
SFS_MOUNT_DEADLINE=${SFS_MOUNT_DEADLINE:-20}
SFS_TEST_TIMEOUT=${SFS_TEST_TIMEOUT:-180}

# ------------------------------------------------------------ result protocol

# note MSG...: progress line in the test log.
note()
{
	echo "# $*"
}

# ok MSG...: one passed check.
ok()
{
	echo "ok - $*"
}

# skip REASON...: this machine cannot run the test; exit 77.
skip()
{
	echo "SKIP: $SFS_TEST_NAME: $*" >&2
	exit 77
}

# fail MSG...: the test failed; show the daemons' logs, exit 1.
fail()
{
	echo "FAIL: $SFS_TEST_NAME: $*" >&2
	_sfs_dump_logs >&2
	exit 1
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq()
{
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# ------------------------------------------------------------- requirements

require_root()
{
	[ "$(id -u)" = 0 ] || skip "needs root"
}

require_fuse()
{
	[ -c /dev/fuse ] || skip "/dev/fuse is missing (no FUSE in this kernel)"
	command -v fusermount3 >/dev/null 2>&1 ||
		skip "fusermount3 is not installed"
	if [ "$(id -u)" != 0 ]; then
		[ -u "$(command -v fusermount3)" ] ||
			skip "fusermount3 is not setuid and we are not root"
		# libfuse opens /dev/fuse as the user before it tries fusermount3
		[ -r /dev/fuse ] && [ -w /dev/fuse ] ||
			skip "/dev/fuse is not accessible to uid $(id -u)"
	fi
}

# helper NAME: path of a compiled helper; failing if it is not there.
helper()
{
	[ -x "${HELPERS:-}/$1" ] ||
		fail "helper $1 not built (HELPERS=${HELPERS:-unset})"
	echo "$HELPERS/$1"
}

# ------------------------------------------------------------------- waiting

# wait_until SECONDS CMD [ARGS...]: poll CMD every 0.1 s until it succeeds;
# return 1 when the deadline passes.  The caller decides what that means.
wait_until()
{
	local secs=$1
	shift
	local deadline=$((SECONDS + secs))

	while :; do
		"$@" && return 0
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

pid_gone()
{
	! kill -0 "$1" 2>/dev/null
}

# ------------------------------------------------------------------- mounts

# canon PATH: PATH with its parent's symlinks resolved, without touching PATH
# itself (which may be a mount point served by a daemon under test).
canon()
{
	local dir base

	dir=$(realpath -e -- "$(dirname -- "$1")") || return 1
	base=$(basename -- "$1")
	echo "${dir%/}/$base"
}

# The form of a path in /proc/mounts: space, tab, newline and backslash are
# written as octal escapes.
_mnt_escape()
{
	local s=$1

	s=${s//\\/\\134}
	s=${s// /\\040}
	s=${s//$'\t'/\\011}
	s=${s//$'\n'/\\012}
	printf '%s' "$s"
}

# is_mounted CANONICAL_PATH: true if something is mounted there.
is_mounted()
{
	local want

	want=$(_mnt_escape "$1")
	M=$want awk '$2 == ENVIRON["M"] { found = 1 } END { exit !found }' \
		/proc/mounts
}

# fstype_of CANONICAL_PATH: the type /proc/mounts shows (last mount wins).
fstype_of()
{
	local want

	want=$(_mnt_escape "$1")
	M=$want awk '$2 == ENVIRON["M"] { t = $3 } END { print t }' /proc/mounts
}

# Mount bookkeeping, one entry per mount the test made.  KIND is sparsefs,
# exfat or done; CHILD is 1 when PID is our child (so `wait` gives its exit
# status), 0 when the program daemonized and PID was looked up.
_SFS_KIND=()
_SFS_MNT=()
_SFS_PID=()
_SFS_CHILD=()
_SFS_LOG=()
_SFS_LOOPS=()
_SFS_WATCHDOG=

_sfs_register()
{
	local n=${#_SFS_KIND[@]}

	_SFS_KIND[n]=$1
	_SFS_MNT[n]=$2
	_SFS_PID[n]=$3
	_SFS_LOG[n]=$4
	_SFS_CHILD[n]=$5
	# The watchdog runs in another process and reads the list from here.
	printf '%s\n' "$2" >>"$SFS_TMP/.mounts"
}

# _sfs_index CANONICAL_MNT: newest live entry for that mount point.
_sfs_index()
{
	local i

	for ((i = ${#_SFS_KIND[@]} - 1; i >= 0; i--)); do
		if [ "${_SFS_KIND[i]}" != 'done' ] && [ "${_SFS_MNT[i]}" = "$1" ]; then
			echo "$i"
			return 0
		fi
	done
	return 1
}

# find_pid EXE ARG: pid of a running EXE (compared by resolved path) that
# has ARG as one of its arguments.  Exact, no regular expressions.
find_pid()
{
	local exe=$1 arg=$2 real p a

	real=$(realpath -e -- "$exe" 2>/dev/null) || real=$exe
	for p in /proc/[0-9]*; do
		[ "$p/exe" -ef "$real" ] 2>/dev/null || continue
		while IFS= read -r -d '' a; do
			if [ "$a" = "$arg" ]; then
				echo "${p#/proc/}"
				return 0
			fi
		done <"$p/cmdline" 2>/dev/null
	done
	return 1
}

_sfs_dump_logs()
{
	local i

	for ((i = 0; i < ${#_SFS_KIND[@]}; i++)); do
		[ -s "${_SFS_LOG[i]}" ] || continue
		echo "---- ${_SFS_LOG[i]}, for ${_SFS_MNT[i]} (last 40 lines) ----"
		tail -n 40 "${_SFS_LOG[i]}"
	done
}

# _sfs_wait_mounted IDX: poll /proc/mounts until the entry's mount point is
# mounted; fail early if its daemon (our child) exits first.
_sfs_wait_mounted()
{
	local i=$1 rc
	local mnt=${_SFS_MNT[i]} pid=${_SFS_PID[i]}
	local deadline=$((SECONDS + SFS_MOUNT_DEADLINE))

	while :; do
		is_mounted "$mnt" && return 0
		if pid_gone "$pid"; then
			# It may have exited right after mounting (it should not
			# with -f, but then the mount check says so).
			is_mounted "$mnt" && return 0
			rc=0
			wait "$pid" || rc=$?
			_SFS_KIND[i]='done'
			fail "daemon for $mnt exited with status $rc before mounting"
		fi
		[ "$SECONDS" -lt "$deadline" ] ||
			fail "$mnt not mounted within ${SFS_MOUNT_DEADLINE}s"
		sleep 0.1
	done
}

# sfs_spawn MNT CMD [ARGS...]: run a daemon that stays in the foreground
# (sparsefs -f, -d) in the background, log its output, wait until MNT is
# mounted.  MNT must be canonical.
sfs_spawn()
{
	local mnt=$1
	shift
	local log="$SFS_TMP/daemon.${#_SFS_KIND[@]}.log"

	note "spawn: $*"
	"$@" </dev/null >"$log" 2>&1 &
	_sfs_register sparsefs "$mnt" "$!" "$log" 1
	_sfs_wait_mounted $((${#_SFS_KIND[@]} - 1))
}

# sfs_mount BACKING MNT [ARGS...]: mount with `sparsefs -f ARGS BACKING MNT`
# in the background, so that sfs_umount can check the daemon's exit status.
sfs_mount()
{
	local backing=$1 mnt
	mnt=$(canon "$2") || fail "sfs_mount: bad mount point $2"
	shift 2
	sfs_spawn "$mnt" "$SPARSEFS" -f "$@" "$backing" "$mnt"
}

# sfs_daemonize MNT CMD [ARGS...]: run a command that mounts MNT and
# daemonizes (sparsefs without -f, mount.fuse3).  It must exit 0 with the
# mount live at that moment.  The daemon is found by its arguments so that
# sfs_umount can wait for it (its exit status cannot be seen: not our child).
sfs_daemonize()
{
	local mnt=$1
	shift
	local log="$SFS_TMP/daemon.${#_SFS_KIND[@]}.log"
	local rc=0 pid

	note "daemonize: $*"
	timeout 30 "$@" </dev/null >"$log" 2>&1 || rc=$?
	if is_mounted "$mnt"; then
		pid=$(find_pid "$SPARSEFS" "$mnt") || pid=
		_sfs_register sparsefs "$mnt" "${pid:-0}" "$log" 0
	else
		_sfs_register 'done' "$mnt" 0 "$log" 0
	fi
	[ "$rc" = 0 ] || fail "'$*' exited with status $rc"
	is_mounted "$mnt" || fail "'$*' exited 0 but $mnt is not mounted yet"
	[ -n "$pid" ] || fail "cannot find the sparsefs daemon serving $mnt"
}

# sfs_mount_daemon BACKING MNT [ARGS...]: `sparsefs ARGS BACKING MNT`, the
# daemonizing form.
sfs_mount_daemon()
{
	local backing=$1 mnt
	mnt=$(canon "$2") || fail "sfs_mount_daemon: bad mount point $2"
	shift 2
	sfs_daemonize "$mnt" "$SPARSEFS" "$@" "$backing" "$mnt"
}

# sfs_umount MNT: fusermount3 -u, then wait for the daemon to exit and, when
# it is our child, require exit status 0.
sfs_umount()
{
	local mnt i pid rc

	mnt=$(canon "$1") || fail "sfs_umount: bad mount point $1"
	i=$(_sfs_index "$mnt") || fail "sfs_umount: this test did not mount $mnt"
	pid=${_SFS_PID[i]}
	timeout 20 fusermount3 -u "$mnt" ||
		fail "fusermount3 -u $mnt failed"
	! is_mounted "$mnt" || fail "$mnt still mounted after fusermount3 -u"
	if [ "$pid" != 0 ]; then
		wait_until 20 pid_gone "$pid" ||
			fail "daemon $pid still running 20 s after fusermount3 -u $mnt"
		if [ "${_SFS_CHILD[i]}" = 1 ]; then
			rc=0
			wait "$pid" || rc=$?
			_SFS_KIND[i]='done'
			[ "$rc" = 0 ] ||
				fail "daemon exited with status $rc after fusermount3 -u $mnt"
		fi
	fi
	_SFS_KIND[i]='done'
}

# sfs_remount BACKING MNT [ARGS...]: sfs_umount then sfs_mount.
sfs_remount()
{
	sfs_umount "$2"
	sfs_mount "$@"
}

# daemon_log MNT: the log file of the newest daemon mounted on MNT.
daemon_log()
{
	local i

	i=$(_sfs_index "$(canon "$1")") || fail "no daemon on $1"
	echo "${_SFS_LOG[i]}"
}

# kill_daemon MNT: SIGKILL the daemon serving MNT, reap it and detach its
# dead mount, as an administrator would after a crash.
kill_daemon()
{
	local mnt i pid rc=0

	mnt=$(canon "$1") || fail "kill_daemon: bad mount point $1"
	i=$(_sfs_index "$mnt") || fail "kill_daemon: nothing mounted on $mnt"
	pid=${_SFS_PID[i]}
	kill -KILL "$pid" 2>/dev/null || fail "daemon $pid for $mnt was already gone"
	wait "$pid" 2>/dev/null || rc=$?
	_SFS_KIND[i]='done'
	[ "$rc" = 137 ] || fail "daemon $pid exited with status $rc, expected 137 (SIGKILL)"
	timeout 20 fusermount3 -uz "$mnt" 2>/dev/null ||
		timeout 20 umount -l "$mnt" ||
		fail "cannot detach the dead mount $mnt"
	! is_mounted "$mnt" || fail "$mnt still mounted after fusermount3 -uz"
}

# register_stray MNT: make the cleanup unmount MNT if it is mounted, for a
# command that was expected to fail but may have mounted anyway.
register_stray()
{
	local mnt pid

	mnt=$(canon "$1") || return 0
	is_mounted "$mnt" || return 0
	pid=$(find_pid "$SPARSEFS" "$mnt") || pid=0
	_sfs_register sparsefs "$mnt" "$pid" /dev/null 0
}

# ------------------------------------------------------------------ exFAT bed

# exfat_bed SIZE DIR: an exFAT file system of SIZE (truncate syntax) in an
# image on a loop device, mounted on DIR with exfat-fuse.  Skips when this
# machine has no exFAT tools or no loop devices.
exfat_bed()
{
	local size=$1 dir=$2 img dev mnt log pid prog

	require_root
	for prog in mkfs.exfat mount.exfat-fuse losetup; do
		command -v "$prog" >/dev/null 2>&1 ||
			skip "$prog is not installed (packages exfat-fuse, exfatprogs, mount)"
	done
	[ -e /dev/loop-control ] || ls /dev/loop[0-9]* >/dev/null 2>&1 ||
		skip "no loop devices on this machine"

	img="$SFS_TMP/exfat.${#_SFS_LOOPS[@]}.img"
	log="$SFS_TMP/exfat.${#_SFS_LOOPS[@]}.log"
	truncate -s "$size" "$img" || fail "truncate -s $size $img"
	mkfs.exfat "$img" >"$log" 2>&1 || fail "mkfs.exfat $img: $(cat "$log")"
	dev=$(losetup -f --show "$img" 2>>"$log") ||
		skip "cannot attach a loop device: $(tail -n 1 "$log")"
	_SFS_LOOPS+=("$dev")

	mkdir -p "$dir" || fail "mkdir $dir"
	mnt=$(canon "$dir") || fail "exfat_bed: bad dir $dir"
	timeout 30 mount.exfat-fuse "$dev" "$mnt" </dev/null >>"$log" 2>&1 ||
		fail "mount.exfat-fuse $dev $mnt failed: $(cat "$log")"
	wait_until "$SFS_MOUNT_DEADLINE" is_mounted "$mnt" ||
		fail "exFAT on $dev not mounted on $mnt"
	pid=$(find_pid "$(command -v mount.exfat-fuse)" "$mnt") || pid=0
	_sfs_register exfat "$mnt" "$pid" "$log" 0
	note "exFAT bed: $img ($size) on $dev mounted on $mnt"
}

# ----------------------------------------------------------- store helpers

# chunk_count BACKING: number of chunk files the store holds.
chunk_count()
{
	if [ -d "$1/data" ]; then
		find "$1/data" -type f | wc -l
	else
		echo 0
	fi
}

# dir_state DIR: every entry's type, mode, size, mtime, link target and the
# checksum of every regular file; equal output means nothing was written.
dir_state()
{
	(
		cd "$1" || exit 1
		find . -printf '%p\t%y\t%m\t%s\t%T@\t%l\n' | sort
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum
	)
}

# blocks_of FILE, size_of FILE
blocks_of()
{
	stat -c %b -- "$1"
}

size_of()
{
	stat -c %s -- "$1"
}

# ------------------------------------------------ shared by the POSIX tests

# check_store BACKING: fsck.sparsefs -n (when FSCK names it, as make check
# does) must find the unmounted store clean. Uses $LABEL in messages.
check_store()
{
	local out rc=0

	if [ -z "${FSCK:-}" ]; then
		note "FSCK is not set: the store is not checked with fsck.sparsefs"
		return 0
	fi
	[ -x "$FSCK" ] || fail "FSCK=$FSCK is not an executable"
	out=$("$FSCK" -n "$1" 2>&1) || rc=$?
	[ "$rc" = 0 ] ||
		fail "$LABEL: fsck.sparsefs -n $1 exited with $rc: $(echo "$out" | tail -n 20)"
	ok "$LABEL: fsck.sparsefs -n finds the store clean"
}

# as UID GID CMD...: run CMD as that user and group (so its fsuid and
# fsgid), with no supplementary groups.
as()
{
	local uid=$1 gid=$2
	shift 2

	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
}

# as_member UID GID GROUP CMD...: as UID:GID, also a member of GROUP.
as_member()
{
	local uid=$1 gid=$2 group=$3
	shift 3

	setpriv --reuid="$uid" --regid="$gid" --groups="$group" -- "$@"
}

nobody()
{
	as 65534 65534 "$@"
}

# rec WHAT RESULT: one line of the transcript $TR (compared with ext4's).
rec()
{
	printf '%s: %s\n' "$1" "$2" >>"$TR"
}

# res CMD...: what CMD printed (lines joined by '|'), "ok" when it printed
# nothing, or "error: TEXT" with the strerror part of its message.
res()
{
	local out rc=0

	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" = 0 ]; then
		out=${out//$'\n'/|}
		printf '%s' "${out:-ok}"
	else
		out=${out##*$'\n'}
		printf 'error: %s' "${out##*: }"
	fi
}

# try WHAT CMD...: record what CMD gives.
try()
{
	local what=$1
	shift

	rec "$what" "$(res "$@")"
}

# ------------------------------------------------------------------ cleanup

_sfs_unmount_one()
{
	local mnt=$1

	is_mounted "$mnt" || return 0
	timeout 20 fusermount3 -u "$mnt" >/dev/null 2>&1 && return 0
	timeout 20 umount "$mnt" >/dev/null 2>&1 && return 0
	echo "cleanup: lazy unmount of $mnt" >&2
	timeout 20 umount -l "$mnt" >/dev/null 2>&1
}

_sfs_cleanup()
{
	local rc=$? i pid dev left grace

	trap - EXIT
	set +e
	[ -n "$_SFS_WATCHDOG" ] && kill "$_SFS_WATCHDOG" 2>/dev/null
	# Our own cwd and open files must not pin a mount.
	cd / || :
	exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-

	for ((i = ${#_SFS_KIND[@]} - 1; i >= 0; i--)); do
		[ "${_SFS_KIND[i]}" != 'done' ] || continue
		# A daemon whose mount is gone exits by itself; one that never
		# mounted is not worth waiting for.
		grace=1
		if is_mounted "${_SFS_MNT[i]}"; then
			_sfs_unmount_one "${_SFS_MNT[i]}"
			grace=10
		fi
		pid=${_SFS_PID[i]}
		[ "$pid" != 0 ] || continue
		if ! wait_until "$grace" pid_gone "$pid"; then
			echo "cleanup: daemon $pid for ${_SFS_MNT[i]} still running, SIGTERM" >&2
			kill -TERM "$pid" 2>/dev/null
			wait_until 5 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
		fi
		[ "${_SFS_CHILD[i]}" = 1 ] && wait "$pid" 2>/dev/null
	done

	for ((i = ${#_SFS_LOOPS[@]} - 1; i >= 0; i--)); do
		dev=${_SFS_LOOPS[i]}
		timeout 20 losetup -d "$dev" 2>/dev/null
		# losetup -d on a device still open only sets autoclear;
		# wait until it is really free.
		wait_until 10 _loop_detached "$dev" ||
			echo "cleanup: $dev still attached" >&2
	done

	if [ -n "${SFS_TMP:-}" ] && [ -d "$SFS_TMP" ]; then
		left=$(P="$(_mnt_escape "$SFS_TMP")/" \
			awk 'index($2, ENVIRON["P"]) == 1 { print $2 }' /proc/mounts)
		if [ -n "$left" ]; then
			echo "cleanup: still mounted, keeping $SFS_TMP: $left" >&2
		elif [ "${SFS_KEEP:-0}" = 1 ]; then
			echo "cleanup: kept $SFS_TMP" >&2
		else
			rm -rf --one-file-system -- "$SFS_TMP"
		fi
	fi
	exit "$rc"
}

_loop_detached()
{
	local name=${1#/dev/}

	[ ! -e "/sys/block/$name/loop/backing_file" ]
}

# The watchdog: after SFS_TEST_TIMEOUT seconds, abort the FUSE connections of
# our mounts (so that nothing stays blocked in a request), end the test's
# foreground children and signal the test, whose TERM trap fails it and runs
# the cleanup.  It polls so that it also ends soon after the test does.
_sfs_watchdog()
{
	local main=$1 secs=$SFS_TEST_TIMEOUT mnt dev p

	# Fire before an outer `timeout` given the same SFS_TEST_TIMEOUT
	# (tests/run-test) would, so that the cleanup still gets to run.
	[ "$secs" -le 30 ] || secs=$((secs - 15))
	local deadline=$((SECONDS + secs))

	while [ "$SECONDS" -lt "$deadline" ]; do
		sleep 1
		kill -0 "$main" 2>/dev/null || exit 0
	done
	echo "FAIL: $SFS_TEST_NAME: timed out after ${secs}s" >&2
	if [ -d /sys/fs/fuse/connections ] && [ -f "$SFS_TMP/.mounts" ]; then
		while IFS= read -r mnt; do
			dev=$(M="$(_mnt_escape "$mnt")" \
				awk '$5 == ENVIRON["M"] { split($3, d, ":"); print d[2] }' \
				/proc/self/mountinfo)
			for p in $dev; do
				[ -e "/sys/fs/fuse/connections/$p/abort" ] &&
					echo 1 2>/dev/null >"/sys/fs/fuse/connections/$p/abort"
			done
		done <"$SFS_TMP/.mounts"
	fi
	kill -TERM "$main" 2>/dev/null
	for p in $(pgrep -P "$main"); do
		[ "$p" = "$BASHPID" ] || kill -TERM "$p" 2>/dev/null
	done
	exit 0
}

# ------------------------------------------------------------------- set-up

SFS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sfs-$SFS_TEST_NAME-XXXXXX") ||
	{ echo "FAIL: cannot make a temp dir" >&2; exit 1; }
SFS_TMP=$(cd "$SFS_TMP" && pwd -P)
trap _sfs_cleanup EXIT
trap 'fail "terminated by a signal"' TERM INT HUP

# No stdout for the watchdog: nothing should wait for it to close a pipe.
_sfs_watchdog "$$" </dev/null >/dev/null &
_SFS_WATCHDOG=$!

require_fuse
[ -n "${SPARSEFS:-}" ] || fail "SPARSEFS is not set"
[ -x "$SPARSEFS" ] || fail "SPARSEFS=$SPARSEFS is not an executable"
SPARSEFS=$(realpath -e -- "$SPARSEFS")
note "$SFS_TEST_NAME: SPARSEFS=$SPARSEFS tmp=$SFS_TMP"
