#!/bin/bash
# t0420-systemd: the systemd user unit sparsefs@.service, run the way
# systemd runs it, without systemd.
#
# The unit that make generates in the build tree has Type=notify,
# NotifyAccess=main, Restart=on-failure, a foreground ExecStart, no
# unsubstituted @VARIABLE@; a copy whose ExecStart runs $SPARSEFS passes
# `systemd-analyze verify` (system and user mode).  Then its lines are
# executed with systemd's rules (specifiers %h %i, EnvironmentFile, "$VAR"
# split into words, "${VAR}" kept as one word, the '-' prefix) for an
# instance whose conf file names a BACKING with a space in it and OPTIONS
# with two words: ExecStartPre, then ExecStart in the background
# with NOTIFY_SOCKET set; READY=1 must arrive from the main process at a
# moment when the mount is already in /proc/mounts; files written persist
# over ExecStop (the daemon exits 0, the mount is gone) and a second start;
# after the daemon is killed (what Restart=on-failure is for) ExecStartPre
# clears the dead mount and ExecStart mounts again with fsync'ed data there.
. "${TESTLIB:?TESTLIB is not set}" || exit 1

T=$SFS_TMP
[ -n "${BUILDDIR:-}" ] || fail "BUILDDIR is not set"
command -v python3 >/dev/null 2>&1 ||
	skip "python3 is not installed (it plays systemd's notify socket)"

# build_make ARGS...: make in the build tree, without the settings of a
# `make check` that may be running us.
build_make()
{
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -s --no-print-directory -C "$BUILDDIR" "$@"
}
printf 'sfs-print-%%:\n\t@echo '"'"'$($*)'"'"'\n' >"$T/print.mk"
make_var()
{
	build_make -f Makefile -f "$T/print.mk" "sfs-print-$1" ||
		fail "cannot read \$($1) from $BUILDDIR/Makefile"
}

# The notify listener runs in the background; end it with the test.
LISTENER=
t0420_cleanup()
{
	local rc=$?

	[ -z "$LISTENER" ] || kill "$LISTENER" 2>/dev/null
	(exit "$rc")
	_sfs_cleanup
}
trap t0420_cleanup EXIT

# --- the generated unit ----------------------------------------------------
GEN=$BUILDDIR/systemd/sparsefs@.service
[ -f "$GEN" ] || fail "$GEN is missing: make did not generate the unit"
bindir=$(make_var bindir)
if grep -n '@[A-Za-z_][A-Za-z0-9_]*@' "$GEN"; then
	fail "$GEN has unsubstituted @VARIABLE@ placeholders (above)"
fi
unit_value()
{
	sed -n "s/^$1=//p" "$GEN"
}
expect_eq "$(unit_value Type)" notify "Type= in $GEN"
expect_eq "$(unit_value Restart)" on-failure "Restart= in $GEN"
case $(unit_value NotifyAccess) in
main | exec | all) ;;
*) fail "NotifyAccess=$(unit_value NotifyAccess) in $GEN: READY=1 from the daemon would be dropped" ;;
esac
execstart=$(unit_value ExecStart)
case $execstart in
"$bindir/sparsefs "*) ;;
*) fail "ExecStart=$execstart in $GEN does not run $bindir/sparsefs" ;;
esac
case " $execstart " in
*" -f "*) ;;
*) fail "ExecStart=$execstart lacks -f: a daemon that forks is not the main process Type=notify waits for" ;;
esac
ok "generated unit: Type=notify, NotifyAccess=$(unit_value NotifyAccess), Restart=on-failure, ExecStart=$execstart"

# A copy that runs the daemon under test.
mkdir -p "$T/units"
UNIT=$T/units/sparsefs@.service
sed "s|$bindir/sparsefs|$SPARSEFS|g" "$GEN" >"$UNIT"
grep -q "^ExecStart=$SPARSEFS " "$UNIT" || fail "cannot point ExecStart at $SPARSEFS"

# --- systemd-analyze verify --------------------------------------------------
H=$T/home
mkdir -p "$H" "$T/run"
chmod 700 "$T/run"
if command -v systemd-analyze >/dev/null 2>&1; then
	rc=0
	timeout 60 systemd-analyze verify "$UNIT" >"$T/verify.out" 2>&1 || rc=$?
	cat "$T/verify.out"
	[ "$rc" = 0 ] || fail "systemd-analyze verify $UNIT exited $rc (output above)"
	! grep -q 'sparsefs@' "$T/verify.out" ||
		fail "systemd-analyze verify complains about the unit (output above)"
	ok "systemd-analyze verify (system manager)"
	rc=0
	HOME=$H XDG_RUNTIME_DIR=$T/run timeout 60 \
		systemd-analyze --user verify "$UNIT" >"$T/verify.out" 2>&1 || rc=$?
	cat "$T/verify.out"
	if grep -q 'Failed to initialize manager' "$T/verify.out"; then
		note "systemd-analyze --user cannot start a user manager here: user-mode verify not run"
	else
		[ "$rc" = 0 ] || fail "systemd-analyze --user verify $UNIT exited $rc (output above)"
		! grep -q 'sparsefs@' "$T/verify.out" ||
			fail "systemd-analyze --user verify complains about the unit (output above)"
		ok "systemd-analyze --user verify (user manager)"
	fi
else
	note "systemd-analyze is not installed: the unit is not verified"
fi

# --- the unit's lines, as systemd would run them ---------------------------
# unitexec.py UNIT INSTANCE HOME OUTDIR: expand the unit for one instance.
# Writes OUTDIR/conditions (ConditionPathExists= paths, one a line),
# OUTDIR/env (the EnvironmentFile= assignments, NUL-separated) and, per
# command, OUTDIR/<ExecKey>.<n>: NUL-separated flags ('-' when failure is
# ignored), the program, argv[0], the arguments.
cat >"$T/unitexec.py" <<'EOF'
import os, pwd, re, shlex, sys

unit_path, instance, home, outdir = sys.argv[1:5]
unit_name = os.path.basename(unit_path).replace("@.", "@" + instance + ".")
prefix = unit_name.split("@")[0]
user = pwd.getpwuid(os.getuid())

def die(msg):
    sys.exit("unitexec: " + msg)

def unescape(s):
    s = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), s)
    return s.replace("-", "/")

def specifiers(s):
    table = {"h": home, "i": instance, "I": unescape(instance),
             "n": unit_name, "N": unit_name.rsplit(".", 1)[0],
             "p": prefix, "P": unescape(prefix), "u": user.pw_name,
             "U": str(os.getuid()), "t": os.environ["XDG_RUNTIME_DIR"],
             "%": "%"}
    def one(m):
        if m.group(1) not in table:
            die("specifier %%%s is not supported by this test" % m.group(1))
        return table[m.group(1)]
    return re.sub(r"%(.)", one, s)

# [Section] key=value with systemd's comment and continuation rules.
entries, section, pending = [], None, ""
for raw in open(unit_path):
    line = raw.rstrip("\n")
    if not pending and line.strip()[:1] in ("#", ";"):
        continue
    if line.endswith("\\"):
        pending += line[:-1] + " "
        continue
    line, pending = (pending + line).strip(), ""
    if not line:
        continue
    if line.startswith("["):
        section = line.strip("[]")
        continue
    if "=" not in line:
        die("cannot parse: " + line)
    key, value = line.split("=", 1)
    entries.append((section, key.strip(), value.strip()))

env = {}
conditions = []
commands = {}
for section, key, value in entries:
    if section == "Unit" and key == "ConditionPathExists":
        conditions.append(specifiers(value))
    if section != "Service":
        continue
    if key == "EnvironmentFile":
        path = specifiers(value)
        optional = path.startswith("-")
        path = path.lstrip("-")
        if not os.path.exists(path):
            if optional:
                continue
            die("EnvironmentFile %s is missing" % path)
        for fl in open(path):
            fl = fl.strip()
            if not fl or fl[0] in "#;" or "=" not in fl:
                continue
            k, v = fl.split("=", 1)
            k, v = k.strip(), v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            env[k] = v
    elif key == "Environment":
        for word in shlex.split(specifiers(value)):
            k, v = word.split("=", 1)
            env[k] = v
    elif key.startswith("Exec"):
        commands.setdefault(key, []).append(value)

def expand_words(words):
    out = []
    for w in words:
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
        if m:
            out.extend(env.get(m.group(1), "").split())
            continue
        out.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                          lambda m: env.get(m.group(1), ""), w))
    return out

def write_nul(path, items):
    with open(path, "w") as f:
        f.write("".join(i + "\0" for i in items))

for key, values in commands.items():
    for n, value in enumerate(values):
        flags = ""
        while value[:1] in ("-", "@", ":", "+", "!"):
            flags += value[0]
            value = value[1:]
        lex = shlex.shlex(specifiers(value), posix=True)
        lex.whitespace_split = True
        lex.commenters = ""
        words = list(lex)
        if ";" in words:
            die("%s=%s: several commands on one line are not supported" % (key, value))
        if ":" not in flags:
            words = expand_words(words)
        path = words[0]
        if "@" in flags:
            words = words[1:]
        if not path.startswith("/"):
            die("%s=%s: the program is not an absolute path" % (key, value))
        write_nul(os.path.join(outdir, "%s.%d" % (key, n)),
                  ["-" if "-" in flags else "", path] + words)

write_nul(os.path.join(outdir, "env"), ["%s=%s" % kv for kv in env.items()])
with open(os.path.join(outdir, "conditions"), "w") as f:
    f.write("".join(c + "\n" for c in conditions))
EOF

# notify.py SOCKET MOUNTPOINT_AS_IN_PROC_MOUNTS OUT PARENT_PID: systemd's
# end of NOTIFY_SOCKET.  Appends "pid=P mounted=0|1 ASSIGNMENT" to OUT for
# every assignment received, with the sender's pid and whether the mount
# point was in /proc/mounts when the datagram arrived.
cat >"$T/notify.py" <<'EOF'
import os, socket, struct, sys, time

path, mnt, out, parent = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.settimeout(0.5)
open(out + ".ready", "w").close()
deadline = time.time() + 600
while time.time() < deadline:
    try:
        os.kill(parent, 0)
    except OSError:
        break
    try:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    except socket.timeout:
        continue
    with open("/proc/mounts") as f:
        mounted = any(l.split(" ")[1] == mnt for l in f if l.count(" ") >= 2)
    pid = 0
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iii", cdata[:12])[0]
    with open(out, "a") as f:
        for line in data.decode(errors="replace").splitlines():
            f.write("pid=%d mounted=%d %s\n" % (pid, mounted, line))
EOF

NAME=data
# A space in BACKING: ${BACKING} must stay one word.  (Not in MOUNTPOINT:
# lib.sh's is_mounted cannot match a mount point with a space yet.)
B="$T/my store"
M=$T/mnt
mkdir -p "$B" "$M" "$H/.config/sparsefs"
MNT=$(canon "$M")
cat >"$H/.config/sparsefs/$NAME.conf" <<EOF
# written by $SFS_TEST_NAME
BACKING=$B
MOUNTPOINT=$M
OPTIONS=-o chunk_size=64K
EOF
mkdir -p "$T/cmd"
XDG_RUNTIME_DIR=$T/run python3 "$T/unitexec.py" "$UNIT" "$NAME" "$H" "$T/cmd" ||
	fail "cannot expand $UNIT for instance $NAME"
while IFS= read -r cond; do
	[ -e "${cond#!}" ] || fail "ConditionPathExists=$cond does not hold for the conf file written"
done <"$T/cmd/conditions"
[ -f "$T/cmd/ExecStart.0" ] || fail "the unit has no ExecStart="
[ ! -f "$T/cmd/ExecStart.1" ] || fail "the unit has several ExecStart= lines"
[ -f "$T/cmd/ExecStop.0" ] || fail "the unit has no ExecStop="

mapfile -d '' -t SVC_ENV <"$T/cmd/env"
SOCK=$T/notify.sock
SVC_ENV+=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	"HOME=$H" "USER=$(id -un)" "LOGNAME=$(id -un)" "SHELL=/bin/sh"
	"XDG_RUNTIME_DIR=$T/run" "NOTIFY_SOCKET=$SOCK" "MANAGERPID=$$"
	"INVOCATION_ID=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')")

# cmd_argv FILE: the command's argv into CMD_FLAGS, CMD_PATH, CMD_ARGV.
cmd_argv()
{
	local items

	mapfile -d '' -t items <"$1"
	CMD_FLAGS=${items[0]}
	CMD_PATH=${items[1]}
	CMD_ARGV=("${items[@]:2}")
}

# run_cmd KEY: every KEY= command of the unit, in order, in the service's
# environment; a failure fails the test unless the line has the '-' prefix.
run_cmd()
{
	local f rc

	for f in "$T/cmd/$1".*; do
		[ -f "$f" ] || continue
		cmd_argv "$f"
		rc=0
		note "$1: ${CMD_ARGV[*]}"
		(exec -a "${CMD_ARGV[0]}" env -i "${SVC_ENV[@]}" \
			timeout 30 "$CMD_PATH" "${CMD_ARGV[@]:1}") </dev/null || rc=$?
		if [ "$rc" != 0 ]; then
			[ "$CMD_FLAGS" = - ] ||
				fail "$1=${CMD_ARGV[*]} exited $rc"
			note "$1 exited $rc (ignored: '-' prefix)"
		fi
	done
}

# readies: how many READY=1 the notify socket got so far.
readies()
{
	if [ -f "$T/notify.log" ]; then
		grep -c ' READY=1$' "$T/notify.log"
	else
		echo 0
	fi
}

readies_above()
{
	[ "$(readies)" -gt "$1" ]
}

# service_start: what systemd does for `systemctl --user start sparsefs@NAME`
# with Type=notify: ExecStartPre, ExecStart in the background, then wait for
# READY=1 from the main process, which must come with the mount live.
DAEMON=
service_start()
{
	local before i line

	before=$(readies)
	run_cmd ExecStartPre
	! is_mounted "$MNT" ||
		fail "$MNT is still mounted after ExecStartPre: ExecStart would fail"
	# A dead mount left by a killed daemon is gone now.
	while i=$(_sfs_index "$MNT"); do
		_SFS_KIND[i]='done'
	done
	cmd_argv "$T/cmd/ExecStart.0"
	sfs_spawn "$MNT" env -i "${SVC_ENV[@]}" "$CMD_PATH" "${CMD_ARGV[@]:1}"
	i=$(_sfs_index "$MNT") || fail "ExecStart's daemon is not registered"
	DAEMON=${_SFS_PID[i]}
	wait_until 20 readies_above "$before" ||
		fail "no READY=1 on NOTIFY_SOCKET within 20 s of the mount; got: $(cat "$T/notify.log" 2>/dev/null)"
	line=$(grep ' READY=1$' "$T/notify.log" | tail -n 1)
	case $line in
	"pid=$DAEMON mounted=1 READY=1") ;;
	"pid=$DAEMON mounted=0 "*)
		fail "READY=1 arrived before $MNT was in /proc/mounts" ;;
	*)
		fail "READY=1 did not come from the main process $DAEMON (NotifyAccess=main would drop it): $line" ;;
	esac
	ok "started: READY=1 from the main process $DAEMON with the mount live"
}

# service_stop: ExecStop, then the main process must exit 0 by itself and
# the mount must be gone (else systemd would kill it and, with
# Restart=on-failure, start it again).
service_stop()
{
	local i rc

	i=$(_sfs_index "$MNT") || fail "service_stop: no daemon for $MNT"
	run_cmd ExecStop
	! is_mounted "$MNT" || fail "$MNT is still mounted after ExecStop"
	wait_until 20 pid_gone "$DAEMON" ||
		fail "the main process $DAEMON still runs 20 s after ExecStop"
	rc=0
	wait "$DAEMON" || rc=$?
	_SFS_KIND[i]='done'
	[ "$rc" = 0 ] || fail "the main process exited with status $rc after ExecStop (the unit would fail and restart)"
	ok "stopped: ExecStop unmounted, the main process exited 0"
}

python3 "$T/notify.py" "$SOCK" "$(_mnt_escape "$MNT")" "$T/notify.log" "$$" \
	</dev/null >"$T/notify.err" 2>&1 &
LISTENER=$!
wait_until 20 test -e "$T/notify.log.ready" ||
	fail "the notify listener did not start: $(cat "$T/notify.err")"

# --- start, write, stop ------------------------------------------------------
head -c 200000 /dev/urandom >"$T/ref.bin" || fail "make reference data"
service_start
echo "through the unit" >"$MNT/hello" || fail "write $MNT/hello"
cp "$T/ref.bin" "$MNT/data.bin" || fail "copy 200 kB into $MNT"
cmp "$T/ref.bin" "$MNT/data.bin" || fail "data.bin reads back different"
service_stop
# OPTIONS=-o chunk_size=64K reached the daemon as two words: 200 kB of
# random data in 64 KiB chunks is four chunk files, in 1 MiB chunks one.
n=$(chunk_count "$B")
[ "$n" -ge 4 ] ||
	fail "store has $n chunk files for 200 kB: OPTIONS='-o chunk_size=64K' was not applied"
ok "\$OPTIONS split into words: chunk_size=64K applied ($n chunk files)"

# --- start again: the files persist ------------------------------------------
service_start
expect_eq "$(cat "$MNT/hello")" "through the unit" "hello after a restart"
cmp "$T/ref.bin" "$MNT/data.bin" || fail "data.bin differs after a restart"
ok "files persist over stop and start"

# --- the daemon dies: Restart=on-failure ---------------------------------------
echo "before the crash" | dd of="$MNT/synced" conv=fsync status=none ||
	fail "write and fsync $MNT/synced"
i=$(_sfs_index "$MNT")
kill -KILL "$DAEMON"
wait_until 20 pid_gone "$DAEMON" || fail "daemon $DAEMON survived SIGKILL"
wait "$DAEMON" 2>/dev/null
_SFS_KIND[i]='done'
is_mounted "$MNT" || fail "no dead mount left behind by the killed daemon (expected one)"
# The dead mount stays registered for the cleanup until ExecStartPre clears it.
_sfs_register sparsefs "$MNT" 0 /dev/null 0
note "daemon killed; $MNT is a dead mount; restarting as Restart=on-failure would"
service_start
expect_eq "$(cat "$MNT/synced")" "before the crash" "fsync'ed file after the crash and restart"
expect_eq "$(cat "$MNT/hello")" "through the unit" "hello after the crash and restart"
cmp "$T/ref.bin" "$MNT/data.bin" || fail "data.bin differs after the crash and restart"
ok "after SIGKILL, ExecStartPre clears the dead mount and ExecStart mounts again"
service_stop

n=$(readies)
expect_eq "$n" 3 "READY=1 messages for three starts"
grep -q "STOPPING=1" "$T/notify.log" && note "the daemon also sends STOPPING=1"
exit 0
