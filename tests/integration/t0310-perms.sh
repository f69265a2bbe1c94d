#!/bin/bash
# t0310-perms: owners, modes, times and permission checks as Linux makes
# them, over an exFAT bed (which has no owners or modes at all) and over a
# plain directory, mounted with -o allow_other.
#
# Every operation runs on a directory of the test's own file system (ext4
# under /tmp) first and then on each sparsefs mount; each outcome (the
# resulting mode, owner, times, or the error text) goes into a transcript
# and the sparsefs transcripts must equal the ext4 one, line for line.  The
# ext4 transcript must also hold the outcomes that define the behaviour
# (nobody cannot read a 0600 root file...), so the comparison means
# something.  Other users are nobody (65534:65534) and 1234:1234, made with
# setpriv; group 5000 is a group neither belongs to unless given.
#   - chmod (setuid, setgid, sticky), chown and chgrp by root, lchown;
#   - utimensat: nanoseconds, before 1970, UTIME_OMIT (the other time and
#     ctime kept; both omitted: ctime kept), UTIME_NOW; by a non-owner with
#     write access (now/now allowed, explicit times and now/omit EPERM), by
#     a non-owner without write access (EACCES), by the owner;
#   - access: nobody cannot read a 0600 root file, can read 0604 and 0640
#     with its group, cannot create in a 0755 root dir, can in a 0777 one,
#     cannot look inside a 0700 dir, can stat but not list a 0711 one,
#     can run a 0755 program and not a 0744 one, cannot chmod or chown
#     another's file, can chgrp its own file only to a group it is in;
#   - sticky 1777 dir: nobody cannot delete, rename or replace another
#     user's file, can delete its own; the dir's owner and root can;
#   - setgid dir: new files take the dir's group, new subdirs the group
#     and the setgid bit (also nested, also for other users); a setgid
#     file created there by a non-member loses setgid, by a member keeps
#     it; chmod g+s by an owner outside the file's group is ignored;
#   - new files, dirs, symlinks, fifos and sockets are owned by the
#     caller (nobody:nogroup, 1234:1234); mknod of a char device as a
#     non-root user is refused;
#   - setuid/setgid cleared as Linux clears them: a write or truncate
#     (truncate(2), O_TRUNC) by another user or by the non-root owner,
#     not by root; setgid without group-execute is kept; chown by root
#     clears both (directories keep theirs); also fallocate and
#     copy_file_range by another user; file capabilities go on a write,
#     truncate or chown.  (sparsefs takes on this job itself when the
#     kernel hands it over, FUSE_HANDLE_KILLPRIV_V2, see src/wire.h.)
# Without -o allow_other, another user gets EACCES on the mount even in a
# 0777 dir, and root (the mounting user) works.
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # other users, chown, mknod

T=$SFS_TMP
umask 022
# Other users must reach the mount and run the probe.
chmod 0755 "$T" || fail "chmod $T"
PROBE_BUILT=$(helper posix_probe) || exit 1
cp "$PROBE_BUILT" "$T/posix_probe" && chmod 0755 "$T/posix_probe" ||
	fail "copy posix_probe to $T"
PROBE=$T/posix_probe
command -v setpriv >/dev/null 2>&1 || skip "setpriv is not installed (util-linux)"

u1234()
{
	as 1234 1234 "$@"
}

# The transcript of the pass in progress.
TR=
# st WHAT FORMAT PATH: record stat -c FORMAT of PATH.
st()
{
	rec "$1" "$(res stat -c "$2" -- "$3")"
}

# ------------------------------------------------------------ the operations

root_changes()
{
	local p=$D/rc start mode

	mkdir "$p" && echo data >"$p/f" && ln -s f "$p/l" || fail "$LABEL: rc set-up"
	for mode in 4755 2755 1755 6777 0000 0644; do
		chmod "$mode" "$p/f"
		st "root chmod $mode" %a "$p/f"
	done
	chown 1234:5678 "$p/f"
	st "root chown 1234:5678" %u:%g "$p/f"
	chown 42 "$p/f"
	st "root chown 42" %u:%g "$p/f"
	chgrp 43 "$p/f"
	st "root chgrp 43" %u:%g "$p/f"
	chown -h 7:8 "$p/l"
	st "root lchown 7:8: link" %u:%g "$p/l"
	st "root lchown 7:8: target" %u:%g "$p/f"
	mkdir "$p/d" && chmod 3777 "$p/d"
	st "root chmod 3777 dir" %a "$p/d"
	chown 9:10 "$p/d"
	st "root chown 9:10 of a 3777 dir" "%a %u:%g" "$p/d"

	touch "$p/t" && chmod 0666 "$p/t"
	try "utimens 1000000000.123456789 omit" "$PROBE" utimens "$p/t" 1000000000.123456789 omit
	touch -m -d "2001-02-03 04:05:06.7" "$p/t"
	try "utimens -1.000000001 2000000000.999999999" \
		"$PROBE" utimens "$p/t" -1.000000001 2000000000.999999999
	st "times after explicit ns" "%x|%y" "$p/t"
	sleep 0.05
	local c0
	c0=$(stat -c %z "$p/t")
	try "utimens omit omit" "$PROBE" utimens "$p/t" omit omit
	st "times after omit omit" "%x|%y" "$p/t"
	rec "ctime changed by omit omit" "$([ "$(stat -c %z "$p/t")" = "$c0" ] && echo no || echo yes)"
	start=$(date +%s)
	sleep 0.05
	try "utimens now omit" "$PROBE" utimens "$p/t" now omit
	rec "atime recent, mtime kept after now omit" \
		"$([ "$(stat -c %X "$p/t")" -ge "$start" ] && echo yes || echo no) $(stat -c %y "$p/t")"
	rec "ctime changed by now omit" "$([ "$(stat -c %z "$p/t")" = "$c0" ] && echo no || echo yes)"
	try "utimens omit 1234567890.000000001" "$PROBE" utimens "$p/t" omit 1234567890.000000001
	st "mtime after omit/explicit" %y "$p/t"
	try "utimens now now" "$PROBE" utimens "$p/t" now now
	rec "both recent after now now" \
		"$([ "$(stat -c %X "$p/t")" -ge "$start" ] && [ "$(stat -c %Y "$p/t")" -ge "$start" ] && echo yes || echo no)"
	try "utimens of a symlink itself" "$PROBE" utimens "$p/l" 111.000000222 333.000000444 nofollow
	st "symlink times" "%x|%y" "$p/l"

	# As others.
	try "nobody utimens now now, 0666 root file" nobody "$PROBE" utimens "$p/t" now now
	try "nobody utimens explicit, 0666 root file" nobody "$PROBE" utimens "$p/t" 5.000000000 5.000000000
	try "nobody utimens now omit, 0666 root file" nobody "$PROBE" utimens "$p/t" now omit
	try "nobody utimens omit omit, 0666 root file" nobody "$PROBE" utimens "$p/t" omit omit
	chmod 0644 "$p/t"
	try "nobody utimens now now, 0644 root file" nobody "$PROBE" utimens "$p/t" now now
	chown 1234:1234 "$p/t"
	try "owner utimens explicit" u1234 "$PROBE" utimens "$p/t" 77.000000077 88.000000088
	st "times set by the owner" "%x|%y" "$p/t"
	try "nobody chmod a root file" nobody chmod 0777 "$p/f"
	touch "$p/nob" && chown 65534:65534 "$p/nob"
	try "nobody chown its file to 1234" nobody chown 1234 "$p/nob"
	try "nobody chgrp its file to 5000 (not a member)" nobody chgrp 5000 "$p/nob"
	try "nobody chgrp its file to 5000 (a member)" as_member 65534 65534 5000 chgrp 5000 "$p/nob"
	st "owner after chgrp by a member" %u:%g "$p/nob"
	try "nobody chmod its own file 0640" nobody chmod 0640 "$p/nob"
	st "mode after chmod by the owner" %a "$p/nob"
	chgrp 6000 "$p/nob"
	try "nobody chmod g+s of its file in group 6000" nobody chmod 2755 "$p/nob"
	st "mode after chmod 2755 by an owner outside the group" %a "$p/nob"
	try "nobody chmod u+s of its file" nobody chmod 4755 "$p/nob"
	st "mode after chmod 4755 by the owner" %a "$p/nob"
}

access_checks()
{
	local p=$D/ac

	mkdir "$p" && echo secret >"$p/secret" || fail "$LABEL: ac set-up"
	chmod 0600 "$p/secret"
	try "nobody reads a 0600 root file" nobody cat "$p/secret"
	try "1234 reads a 0600 root file" u1234 cat "$p/secret"
	try "root reads a 0600 root file" cat "$p/secret"
	try "nobody writes a 0600 root file" nobody "$PROBE" open "$p/secret" wronly
	chmod 0604 "$p/secret"
	try "nobody reads a 0604 root file" nobody cat "$p/secret"
	chmod 0640 "$p/secret" && chgrp 65534 "$p/secret"
	try "nobody reads a 0640 root:nogroup file" nobody cat "$p/secret"
	try "1234 reads a 0640 root:nogroup file" u1234 cat "$p/secret"
	try "1234 (member of nogroup) reads it" as_member 1234 1234 65534 cat "$p/secret"
	chmod 0646 "$p/secret"
	try "nobody appends to a 0646 root:nogroup file (its group: r)" nobody sh -c 'echo more >>"$1"' sh "$p/secret"
	try "root reads it back" cat "$p/secret"

	mkdir "$p/d755" "$p/d777" "$p/d700" "$p/d711" || fail "$LABEL: mkdir"
	chmod 0755 "$p/d755" && chmod 0777 "$p/d777" && chmod 0700 "$p/d700" &&
		chmod 0711 "$p/d711"
	echo in >"$p/d700/f" && echo in >"$p/d711/f" && echo in >"$p/d777/rootf"
	try "nobody creates in a 0755 root dir" nobody touch "$p/d755/x"
	try "nobody mkdir in a 0755 root dir" nobody mkdir "$p/d755/x"
	try "nobody lists a 0755 root dir" nobody ls "$p/d755"
	try "nobody creates in a 0777 root dir" nobody touch "$p/d777/x"
	st "owner of nobody's file" %u:%g "$p/d777/x"
	try "nobody deletes root's file in a 0777 dir" nobody rm -f "$p/d777/rootf"
	try "nobody stats inside a 0700 dir" nobody stat -c %s "$p/d700/f"
	try "nobody lists a 0711 dir" nobody ls "$p/d711"
	try "nobody reads a known file in a 0711 dir" nobody cat "$p/d711/f"
	cp /bin/true "$p/true" || fail "$LABEL: cp /bin/true"
	chmod 0755 "$p/true"
	# Through sh: setpriv itself still holds root's capabilities when it
	# calls execve, and CAP_DAC_OVERRIDE runs a file with any x bit.
	try "nobody runs a 0755 program" nobody sh -c '"$1"' sh "$p/true"
	chmod 0744 "$p/true"
	try "nobody runs a 0744 program" nobody sh -c '"$1"' sh "$p/true"
	try "root runs a 0744 program" "$p/true"
	chmod 0644 "$p/true"
	try "root runs a 0644 program" "$p/true"
}

sticky_checks()
{
	local p=$D/sticky

	mkdir "$p" && chmod 1777 "$p" || fail "$LABEL: sticky set-up"
	echo r >"$p/r"
	nobody touch "$p/n" && u1234 touch "$p/u" && u1234 touch "$p/u2" ||
		fail "$LABEL: create files in the sticky dir as others"
	try "nobody deletes root's file in 1777" nobody rm -f "$p/r"
	try "nobody deletes 1234's file in 1777" nobody rm -f "$p/u"
	try "nobody renames 1234's file in 1777" nobody mv "$p/u" "$p/moved"
	nobody touch "$p/n2"
	try "nobody replaces 1234's file in 1777 by rename" nobody mv -f "$p/n2" "$p/u2"
	try "nobody deletes its own file in 1777" nobody rm -f "$p/n"
	try "root deletes 1234's file in 1777" rm -f "$p/u"
	try "left in the sticky dir" ls "$p"
	chown 1234 "$p"
	nobody touch "$p/n3"
	try "the dir's owner deletes nobody's file" u1234 rm -f "$p/n3"
	try "user xattr on the sticky dir by a non-owner" nobody "$PROBE" setxattr "$p" user.x v none
}

setgid_checks()
{
	local p=$D/sg

	mkdir "$p" && chgrp 5000 "$p" && chmod 2777 "$p" || fail "$LABEL: sg set-up"
	st "setgid dir" "%a %u:%g" "$p"
	touch "$p/rootf" && mkdir "$p/rootd" && ln -s x "$p/rootl" &&
		mkfifo "$p/rootp" || fail "$LABEL: create in the setgid dir"
	st "root's file in the setgid dir" "%a %u:%g" "$p/rootf"
	st "root's subdir in the setgid dir" "%a %u:%g" "$p/rootd"
	st "root's symlink in the setgid dir" "%u:%g" "$p/rootl"
	st "root's fifo in the setgid dir" "%a %u:%g" "$p/rootp"
	chmod 0777 "$p/rootd"
	st "chmod 0777 of a setgid subdir" %a "$p/rootd"
	chmod 2777 "$p/rootd"
	nobody touch "$p/nobf"
	nobody mkdir "$p/nobd"
	nobody mkdir "$p/rootd/nested"
	st "nobody's file in the setgid dir" "%a %u:%g" "$p/nobf"
	st "nobody's subdir in the setgid dir" "%a %u:%g" "$p/nobd"
	st "nobody's nested subdir" "%a %u:%g" "$p/rootd/nested"
	try "nobody creates a 2755 file (not a member)" nobody "$PROBE" open "$p/nsg" wronly,creat 2755
	st "its mode" "%a %u:%g" "$p/nsg"
	try "nobody creates a 2755 file (a member)" as_member 65534 65534 5000 "$PROBE" open "$p/msg" wronly,creat 2755
	st "its mode" "%a %u:%g" "$p/msg"
	try "nobody mkdir 2755 equivalent in a plain dir" nobody mkdir -m 2755 "$D/ac/d777/sgd"
	st "its mode" "%a %u:%g" "$D/ac/d777/sgd"
	u1234 mkdir "$p/u"
	st "1234's subdir" "%a %u:%g" "$p/u"
}

owner_checks()
{
	local p=$D/own who kind

	mkdir "$p" && chmod 0777 "$p" || fail "$LABEL: own set-up"
	for who in nobody u1234; do
		"$who" touch "$p/$who-f"
		"$who" mkdir "$p/$who-d"
		"$who" ln -s target "$p/$who-l"
		"$who" mkfifo "$p/$who-p"
		"$who" "$PROBE" sock "$p/$who-s" >/dev/null
		"$who" sh -c 'echo x >"$1"' sh "$p/$who-redir"
		for kind in f d l p s redir; do
			st "$who's new $kind" "%F %u:%g" "$p/$who-$kind"
		done
		try "$who mknod chr" "$who" "$PROBE" mknod "$p/$who-c" chr 0644 1 3
		try "$who mknod fifo" "$who" "$PROBE" mknod "$p/$who-m" fifo 0644
		st "$who's mknod fifo" "%F %a %u:%g" "$p/$who-m"
	done
	try "root mknod chr" "$PROBE" mknod "$p/root-c" chr 0644 1 3
	st "root's char node" "%F %a %u:%g %t:%T" "$p/root-c"
}

suid_checks()
{
	local p=$D/suid

	mkdir "$p" && chmod 0777 "$p" || fail "$LABEL: suid set-up"
	suid_file()
	{
		echo data >"$p/$1" && chown "$2" "$p/$1" && chmod "$3" "$p/$1" ||
			fail "$LABEL: make $1"
	}
	suid_file w6777 0:0 6777
	try "nobody writes a 6777 root file" nobody sh -c 'echo x >>"$1"' sh "$p/w6777"
	st "mode after a write by another user" %a "$p/w6777"
	suid_file w6767 0:0 6767
	try "nobody writes a 6767 root file" nobody sh -c 'echo x >>"$1"' sh "$p/w6767"
	st "mode of a 6767 root file after a write by nobody" %a "$p/w6767"
	suid_file t6767 0:0 6767
	try "nobody truncates a 6767 root file" nobody truncate -s 2 "$p/t6767"
	st "mode of a 6767 root file after truncate(2) by nobody" "%a %s" "$p/t6767"
	suid_file o6767 0:0 6767
	try "nobody opens a 6767 root file with O_TRUNC" nobody "$PROBE" open "$p/o6767" wronly,trunc
	st "mode of a 6767 root file after O_TRUNC by nobody" "%a %s" "$p/o6767"
	suid_file m2767 0:5000 2767
	try "a member of its group writes a 2767 root:5000 file" as_member 65534 65534 5000 sh -c 'echo x >>"$1"' sh "$p/m2767"
	st "mode of the 2767 file after a write by a group member" %a "$p/m2767"
	suid_file w2777 0:0 2777
	try "nobody writes a 2777 root file" nobody sh -c 'echo x >>"$1"' sh "$p/w2777"
	st "mode after (setgid with g+x)" %a "$p/w2777"
	suid_file w4757 0:0 4757
	try "nobody writes a 4757 root file" nobody sh -c 'echo x >>"$1"' sh "$p/w4757"
	st "mode after (setuid alone)" %a "$p/w4757"
	suid_file r6777 0:0 6777
	echo x >>"$p/r6777"
	st "mode after a write by root" %a "$p/r6777"
	suid_file o6755 1234:1234 6755
	try "the non-root owner writes its 6755 file" u1234 sh -c 'echo x >>"$1"' sh "$p/o6755"
	st "mode after a write by the owner" %a "$p/o6755"
	suid_file t6777 0:0 6777
	try "nobody truncates a 6777 root file" nobody truncate -s 2 "$p/t6777"
	st "mode after truncate(2) by another user" "%a %s" "$p/t6777"
	suid_file o6777 0:0 6777
	try "nobody opens a 6777 root file with O_TRUNC" nobody "$PROBE" open "$p/o6777" wronly,trunc
	st "mode after O_TRUNC by another user" "%a %s" "$p/o6777"
	suid_file rt6777 0:0 6777
	truncate -s 1 "$p/rt6777"
	st "mode after truncate by root" "%a %s" "$p/rt6777"
	suid_file c6755 0:0 6755
	chown 1234:1234 "$p/c6755"
	st "mode after chown by root" "%a %u:%g" "$p/c6755"
	suid_file s6755 0:0 6755
	chown 0:0 "$p/s6755"
	st "mode after chown by root to the same owner" "%a %u:%g" "$p/s6755"
	suid_file g6755 0:0 6755
	chgrp 5000 "$p/g6755"
	st "mode after chgrp by root" "%a %u:%g" "$p/g6755"
	suid_file x6745 0:0 6745
	chown 1234 "$p/x6745"
	st "mode after chown of a 6745 file (setgid without g+x)" "%a %u:%g" "$p/x6745"
	suid_file f6777 0:0 6777
	try "nobody fallocates a 6777 root file" nobody fallocate -l 8192 "$p/f6777"
	st "mode after fallocate by another user" "%a %s" "$p/f6777"
	suid_file y6777 0:0 6777
	echo abc >"$p/src" && chmod 0644 "$p/src" || fail "$LABEL: make src"
	try "nobody copy_file_range into a 6777 root file" nobody "$PROBE" copyrange "$p/src" "$p/y6777"
	st "mode after copy_file_range by another user" "%a %s" "$p/y6777"
	suid_file yr6777 0:0 6777
	try "root copy_file_range into a 6777 root file" "$PROBE" copyrange "$p/src" "$p/yr6777"
	st "mode after copy_file_range by root" "%a %s" "$p/yr6777"
	suid_file f2767 0:5000 2767
	try "nobody fallocates a 2767 root:5000 file" nobody fallocate -l 8192 "$p/f2767"
	st "mode after fallocate by a non-member (setgid without g+x)" "%a %s" "$p/f2767"
	# File capabilities (security.capability) go on the same events.
	if command -v setcap >/dev/null 2>&1; then
		for how in write truncate chown; do
			suid_file "cap-$how" 0:0 0666
			setcap cap_net_raw+ep "$p/cap-$how" ||
				fail "$LABEL: setcap"
			rec "capability before a $how" "$(getcap "$p/cap-$how" | sed 's/^[^ ]* //')"
		done
		try "nobody writes a root file with a capability" nobody sh -c 'echo x >>"$1"' sh "$p/cap-write"
		try "nobody truncates a root file with a capability" nobody truncate -s 1 "$p/cap-truncate"
		chown 1234 "$p/cap-chown" || fail "$LABEL: chown cap-chown"
		for how in write truncate chown; do
			rec "capability after a $how" "$(getcap "$p/cap-$how" | sed 's/^[^ ]* //')"
		done
	fi
	mkdir "$p/dir" && chmod 6755 "$p/dir" && chown 1234:1234 "$p/dir"
	st "mode of a 6755 dir after chown by root" "%a %u:%g" "$p/dir"
	suid_file n6755 1234:1234 6755
	try "the owner chgrp (member) of its 6755 file" as_member 1234 1234 5000 chgrp 5000 "$p/n6755"
	st "mode after chgrp by the owner" "%a %u:%g" "$p/n6755"
}

# The outcomes that define the behaviour; the reference must show them.
expect_in_reference()
{
	local line

	while IFS= read -r line; do
		grep -qxF -- "$line" "$TR" ||
			fail "the reference ($REF_FS) does not show '$line': the test's expectation is wrong here"
	done <<'EOF'
root chmod 4755: 4755
nobody reads a 0600 root file: error: Permission denied
nobody reads a 0604 root file: secret
nobody creates in a 0755 root dir: error: Permission denied
nobody creates in a 0777 root dir: ok
nobody deletes root's file in 1777: error: Operation not permitted
nobody deletes its own file in 1777: ok
root's file in the setgid dir: 644 0:5000
root's subdir in the setgid dir: 2755 0:5000
nobody's file in the setgid dir: 644 65534:5000
nobody's new f: regular empty file 65534:65534
u1234's new d: directory 1234:1234
mode after a write by another user: 777
mode after a write by root: 6777
mode after chown by root: 755 1234:1234
mode after fallocate by another user: 777 8192
mode after copy_file_range by root: 6777 5
capability before a write: cap_net_raw=ep
capability after a write: 
capability after a chown: 
nobody utimens explicit, 0666 root file: EPERM
nobody utimens now now, 0666 root file: ok
nobody utimens now now, 0644 root file: EACCES
EOF
}

run_all()
{
	TR=$1
	: >"$TR"
	chmod 0755 "$D"
	root_changes
	access_checks
	sticky_checks
	setgid_checks
	owner_checks
	suid_checks
}

# ------------------------------------------------------------------ passes

REF_FS=$(df --output=fstype "$T" | tail -n 1 | tr -d ' ')
LABEL="reference ($REF_FS)"
D=$T/ref
mkdir "$D" || fail "mkdir $D"
run_all "$T/ref.tr"
expect_in_reference
note "reference transcript: $(wc -l <"$T/ref.tr") outcomes"

DIFFS=0
# sparse_pass LABEL BACKING [OPTIONS]: the same operations on a sparsefs
# mount with -o allow_other[,OPTIONS]; the transcript must equal the
# reference's.  Then, on the same store without allow_other, another user
# is refused.
sparse_pass()
{
	local b=$2 m=$T/m out

	LABEL=$1
	mkdir -p "$b" "$m" || fail "mkdir $b $m"
	sfs_mount "$b" "$m" -o "allow_other${3:+,$3}"
	D=$m/t
	mkdir "$D" || fail "$LABEL: mkdir"
	run_all "$T/sfs.tr"
	if ! diff -u "$T/ref.tr" "$T/sfs.tr" >"$T/tr.diff"; then
		echo "# $LABEL differs from the reference ($REF_FS):"
		grep '^[-+][^-+]' "$T/tr.diff" | sed 's/^/#   /'
		DIFFS=$((DIFFS + 1))
	else
		ok "$LABEL: $(wc -l <"$T/sfs.tr") outcomes the same as on $REF_FS"
	fi
	# The same after a remount: modes, owners and times come from LMDB.
	find "$D" -printf '%p %m %U:%G %T@ %A@\n' | sort >"$T/before"
	sfs_umount "$m"

	sfs_mount "$b" "$m"
	find "$D" -printf '%p %m %U:%G %T@ %A@\n' | sort >"$T/after"
	cmp -s "$T/before" "$T/after" ||
		fail "$LABEL: modes, owners or times changed across remount: $(diff "$T/before" "$T/after" | head)"
	ok "$LABEL: modes, owners and times the same after remount"
	mkdir "$m/open" && chmod 0777 "$m/open" && echo hi >"$m/open/f" &&
		chmod 0666 "$m/open/f" || fail "$LABEL: set-up without allow_other"
	out=$(res nobody stat -c %a "$m/open")
	expect_eq "$out" "error: Permission denied" "$LABEL, no allow_other: nobody stats a 0777 dir"
	out=$(res nobody cat "$m/open/f")
	expect_eq "$out" "error: Permission denied" "$LABEL, no allow_other: nobody reads a 0666 file"
	out=$(res nobody touch "$m/open/x")
	expect_eq "$out" "error: Permission denied" "$LABEL, no allow_other: nobody creates in a 0777 dir"
	out=$(res u1234 ls "$m")
	expect_eq "$out" "error: Permission denied" "$LABEL, no allow_other: 1234 lists the root"
	out=$(res touch "$m/open/byroot")
	expect_eq "$out" ok "$LABEL, no allow_other: root creates"
	expect_eq "$(cat "$m/open/f")" hi "$LABEL, no allow_other: root reads"
	ok "$LABEL: without allow_other only the mounting user gets in"
	sfs_umount "$m"
	check_store "$b"
}

sparse_pass "sparsefs on a plain dir" "$T/b"
# What a kernel without FUSE_HANDLE_KILLPRIV_V2 (before 5.11) gets: the
# kernel clears setuid/setgid, sparsefs only ext4's extra setgid case.
sparse_pass "sparsefs on a plain dir, -o no_killpriv_v2" "$T/b2" no_killpriv_v2
exfat_bed 256M "$T/x"
sparse_pass "sparsefs on exFAT" "$T/x/b"

[ "$DIFFS" = 0 ] || fail "$DIFFS sparsefs pass(es) differ from $REF_FS (diffs above)"
echo "t0310-perms: all passed"
exit 0
