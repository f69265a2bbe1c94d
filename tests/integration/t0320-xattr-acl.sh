#!/bin/bash
# t0320-xattr-acl: extended attributes and POSIX ACLs, kept in LMDB, over an
# exFAT bed (which has neither) and over a plain directory.
#
# As in t0310, every operation runs on a directory of the test's own file
# system (ext4 under /tmp) first and then on each sparsefs mount, and the
# transcripts of outcomes must be equal; the ext4 transcript must show the
# outcomes that define the behaviour.  Other users: nobody and 1234, made
# with setpriv.
# xattrs (sparsefs -o allow_other):
#   - user., trusted. and security. names set, read, listed, replaced and
#     removed; XATTR_CREATE on an existing name (EEXIST), XATTR_REPLACE on
#     a missing one (ENODATA); an empty value; a 255-byte name, 256 refused
#     (ERANGE); a buffer too small (ERANGE) and the size query, for get
#     and list; xattrs shared by hard links, kept by rename, on dirs;
#   - trusted.* neither listed nor readable for nobody (ENODATA) nor
#     settable (EPERM); security.* not settable by nobody (EPERM);
#     user.* needs write access to set (EACCES) and read access to get;
#   - user.* on a symlink and a FIFO: EPERM to set, ENODATA to get;
#     trusted.* on a symlink allowed; a non-owner cannot set user.* on a
#     sticky dir (EPERM);
#   - sizes, sparsefs only (ext4 keeps one block of xattrs and answers
#     ENOSPC): a 65536-byte value is kept whole, 65537 is E2BIG (from the
#     kernel, as on ext4), 100 values of 1000 bytes on one file; every
#     value and list the same after a remount.
# POSIX ACLs (sparsefs -o acl,allow_other), getfacl -n output compared with
# ext4's after each change:
#   - setfacl -m/-x of named users and groups, and access enforced by them:
#     nobody reads by a named entry, is refused by a named entry with no
#     rights though "other" may read, writes through a named group it is a
#     member of, loses access when the entry is removed;
#   - only the owner sets an ACL (EPERM for nobody); setting one drops
#     setgid when the owner is outside the file's group, not for a member;
#   - chmod rewrites the mask (and the effective rights: nobody refused a
#     write the entry grants), the mode's group bits show the mask;
#   - default ACLs inherited by new files, subdirs (which get the default
#     too), nested files, fifos; umask ignored under a default ACL and
#     applied without one; setfacl -k;
#   - setfacl -b and an ACL equal to the mode: no ACL xattr kept, no '+'
#     in ls -l; every ACL the same after a remount.
# Without -o acl: setfacl fails with EOPNOTSUPP; an ACL stored under -o acl
# is not shown (getxattr ENODATA, the kernel's answer for every FUSE mount
# without FUSE_POSIX_ACL) and not enforced.
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # other users, trusted.*, security.*

T=$SFS_TMP
umask 022
chmod 0755 "$T" || fail "chmod $T"
PROBE_BUILT=$(helper posix_probe) || exit 1
cp "$PROBE_BUILT" "$T/posix_probe" && chmod 0755 "$T/posix_probe" ||
	fail "copy posix_probe to $T"
PROBE=$T/posix_probe
for prog in setpriv setfacl getfacl getfattr; do
	command -v "$prog" >/dev/null 2>&1 ||
		skip "$prog is not installed (packages util-linux, acl, attr)"
done

TR=
# acl WHAT PATH: record the ACL (numeric, no header) and ls -l's mode field.
acl()
{
	rec "$1" "$(res getfacl -n -p --omit-header -- "$2") $(ls -ld -- "$2" | cut -d' ' -f1)"
}

# ------------------------------------------------------------------ xattrs

xattr_ops()
{
	local p=$D/xa n250 n251

	mkdir "$p" && chmod 0777 "$p" && echo data >"$p/f" || fail "$LABEL: xa set-up"
	try "set user.a" "$PROBE" setxattr "$p/f" user.a hello none
	try "get user.a" "$PROBE" getxattr "$p/f" user.a
	try "XATTR_CREATE of an existing name" "$PROBE" setxattr "$p/f" user.a x create
	try "XATTR_REPLACE of a missing name" "$PROBE" setxattr "$p/f" user.b x replace
	try "XATTR_REPLACE of user.a" "$PROBE" setxattr "$p/f" user.a "second value" replace
	try "XATTR_CREATE of user.b" "$PROBE" setxattr "$p/f" user.b bee create
	try "get user.a after replace" "$PROBE" getxattr "$p/f" user.a
	try "set an empty value" "$PROBE" setxattr "$p/f" user.empty "" none
	try "get the empty value" "$PROBE" getxattr "$p/f" user.empty
	try "set trusted.t" "$PROBE" setxattr "$p/f" trusted.t tee none
	try "set security.s" "$PROBE" setxattr "$p/f" security.s ess none
	try "list as root" "$PROBE" listxattr "$p/f"
	try "list size query" "$PROBE" listxattr "$p/f" 0
	try "list into a 10-byte buffer" "$PROBE" listxattr "$p/f" 10
	try "get size query" "$PROBE" getxattr "$p/f" user.a 0
	try "get into a 3-byte buffer" "$PROBE" getxattr "$p/f" user.a 3
	try "get trusted.t as root" "$PROBE" getxattr "$p/f" trusted.t
	try "get security.s as root" "$PROBE" getxattr "$p/f" security.s
	try "get a missing name" "$PROBE" getxattr "$p/f" user.missing
	try "remove user.b" "$PROBE" removexattr "$p/f" user.b
	try "remove user.b again" "$PROBE" removexattr "$p/f" user.b
	try "get removed user.b" "$PROBE" getxattr "$p/f" user.b
	try "getfattr -d" sh -c 'cd "$1" && getfattr -d f' sh "$p"
	try "unknown namespace" "$PROBE" setxattr "$p/f" other.x v none
	try "name without a namespace" "$PROBE" setxattr "$p/f" plain v none
	n250=$(printf 'n%.0s' $(seq 1 250))
	n251=${n250}n
	try "255-byte name" "$PROBE" setxattr "$p/f" "user.$n250" long none
	try "get the 255-byte name" "$PROBE" getxattr "$p/f" "user.$n250"
	try "256-byte name" "$PROBE" setxattr "$p/f" "user.$n251" long none
	try "65537-byte value" "$PROBE" setxattr "$p/f" user.huge @65537 none

	# Other users.
	chmod 0644 "$p/f"
	try "nobody lists (no trusted.*)" nobody "$PROBE" listxattr "$p/f"
	try "nobody gets trusted.t" nobody "$PROBE" getxattr "$p/f" trusted.t
	try "nobody gets security.s" nobody "$PROBE" getxattr "$p/f" security.s
	try "nobody gets user.a" nobody "$PROBE" getxattr "$p/f" user.a
	try "nobody sets user.x on a 0644 root file" nobody "$PROBE" setxattr "$p/f" user.x v none
	try "nobody removes user.a of a 0644 root file" nobody "$PROBE" removexattr "$p/f" user.a
	try "nobody sets trusted.x on a 0644 root file" nobody "$PROBE" setxattr "$p/f" trusted.x v none
	nobody touch "$p/mine"
	try "nobody sets user.x on its file" nobody "$PROBE" setxattr "$p/mine" user.x v none
	try "nobody sets trusted.x on its file" nobody "$PROBE" setxattr "$p/mine" trusted.x v none
	try "nobody sets security.x on its file" nobody "$PROBE" setxattr "$p/mine" security.x v none
	try "nobody lists its file" nobody "$PROBE" listxattr "$p/mine"
	chmod 0600 "$p/f"
	try "nobody gets user.a of a 0600 root file" nobody "$PROBE" getxattr "$p/f" user.a
	try "nobody lists a 0600 root file" nobody "$PROBE" listxattr "$p/f"
	chmod 0666 "$p/f"
	try "nobody sets user.x on a 0666 root file" nobody "$PROBE" setxattr "$p/f" user.x v none
	mkdir "$p/sticky" && chmod 1777 "$p/sticky"
	try "nobody sets user.x on a root 1777 dir" nobody "$PROBE" setxattr "$p/sticky" user.x v none
	try "root sets user.d on a dir" "$PROBE" setxattr "$p/sticky" user.d dir none

	# Types that user.* is not for.
	ln -s f "$p/link" && mkfifo "$p/fifo" || fail "$LABEL: symlink, fifo"
	try "user.* on a symlink" "$PROBE" setxattr "$p/link" user.l v none nofollow
	try "get user.* of a symlink" "$PROBE" getxattr "$p/link" user.l nofollow
	try "user.* through a symlink (its target)" "$PROBE" setxattr "$p/link" user.through v none
	try "get it from the target" "$PROBE" getxattr "$p/f" user.through
	try "trusted.* on a symlink" "$PROBE" setxattr "$p/link" trusted.l v none nofollow
	try "get trusted.* of a symlink" "$PROBE" getxattr "$p/link" trusted.l nofollow
	try "list a symlink" "$PROBE" listxattr "$p/link" nofollow
	try "user.* on a fifo" "$PROBE" setxattr "$p/fifo" user.p v none
	try "get user.* of a fifo" "$PROBE" getxattr "$p/fifo" user.p
	try "trusted.* on a fifo" "$PROBE" setxattr "$p/fifo" trusted.p v none

	# Links and renames.
	ln "$p/f" "$p/hard" && mv "$p/f" "$p/renamed" || fail "$LABEL: link, rename"
	try "get user.a through a hard link" "$PROBE" getxattr "$p/hard" user.a
	try "get user.a after rename" "$PROBE" getxattr "$p/renamed" user.a
	try "set user.h through the hard link" "$PROBE" setxattr "$p/hard" user.h h none
	try "list the renamed name" "$PROBE" listxattr "$p/renamed"
}

# Values larger than ext4 keeps: sparsefs only.
xattr_big()
{
	local p=$D/big i out

	mkdir "$p" && touch "$p/f" "$p/many" || fail "$LABEL: big set-up"
	out=$("$PROBE" setxattr "$p/f" user.max @65536 none)
	expect_eq "$out" ok "$LABEL: set a 65536-byte value"
	expect_eq "$("$PROBE" getxattr "$p/f" user.max)" "65536 pattern" "$LABEL: get the 65536-byte value"
	expect_eq "$("$PROBE" getxattr "$p/f" user.max 0)" 65536 "$LABEL: size of the 65536-byte value"
	expect_eq "$("$PROBE" getxattr "$p/f" user.max 65535)" ERANGE "$LABEL: get it into 65535 bytes"
	expect_eq "$("$PROBE" setxattr "$p/f" user.max @65537 replace)" E2BIG "$LABEL: replace with 65537 bytes"
	expect_eq "$("$PROBE" getxattr "$p/f" user.max)" "65536 pattern" "$LABEL: the value after the E2BIG"
	expect_eq "$("$PROBE" setxattr "$p/f" user.max @70000 none)" E2BIG "$LABEL: set 70000 bytes"
	expect_eq "$("$PROBE" setxattr "$p/f" user.mid @32768 none)" ok "$LABEL: set 32768 bytes"
	for ((i = 0; i < 100; i++)); do
		out=$("$PROBE" setxattr "$p/many" "user.v$i" @1000 none)
		expect_eq "$out" ok "$LABEL: set user.v$i (1000 bytes)"
	done
	expect_eq "$("$PROBE" listxattr "$p/many" | wc -l)" 100 "$LABEL: names listed on a file with 100 values"
	expect_eq "$("$PROBE" getxattr "$p/many" user.v57)" "1000 pattern" "$LABEL: get user.v57"
	ok "$LABEL: a 65536-byte value, 65537 and 70000 E2BIG, 100 values of 1000 bytes"
}

xattr_big_check()
{
	local p=$D/big

	expect_eq "$("$PROBE" getxattr "$p/f" user.max)" "65536 pattern" "$LABEL: 65536-byte value after remount"
	expect_eq "$("$PROBE" getxattr "$p/f" user.mid)" "32768 pattern" "$LABEL: 32768-byte value after remount"
	expect_eq "$("$PROBE" listxattr "$p/many" | wc -l)" 100 "$LABEL: 100 names after remount"
	expect_eq "$("$PROBE" getxattr "$p/many" user.v99)" "1000 pattern" "$LABEL: user.v99 after remount"
}

# -------------------------------------------------------------------- ACLs

acl_ops()
{
	local p=$D/acl

	mkdir "$p" && chmod 0755 "$p" && echo secret >"$p/f" && chmod 0640 "$p/f" ||
		fail "$LABEL: acl set-up"
	acl "base ACL of a 0640 file" "$p/f"
	try "nobody reads a 0640 file" nobody cat "$p/f"
	try "setfacl u:nobody:r" setfacl -m u:nobody:r "$p/f"
	acl "after u:nobody:r" "$p/f"
	try "nobody reads by its named entry" nobody cat "$p/f"
	try "nobody writes (entry: r only)" nobody "$PROBE" open "$p/f" wronly
	try "1234 reads (no entry)" as 1234 1234 cat "$p/f"
	try "setfacl g:5000:rw" setfacl -m g:5000:rw "$p/f"
	acl "after g:5000:rw" "$p/f"
	try "1234 in group 5000 writes" as_member 1234 1234 5000 "$PROBE" open "$p/f" wronly
	try "setfacl u:nobody:rw" setfacl -m u:nobody:rw "$p/f"
	try "nobody writes (entry: rw)" nobody "$PROBE" open "$p/f" wronly
	chmod 0640 "$p/f"
	acl "after chmod 0640 (mask r)" "$p/f"
	rec "mode after chmod 0640" "$(stat -c %a "$p/f")"
	try "nobody writes (entry rw, mask r)" nobody "$PROBE" open "$p/f" wronly
	try "nobody reads (entry rw, mask r)" nobody cat "$p/f"
	chmod 0670 "$p/f"
	acl "after chmod 0670 (mask rwx)" "$p/f"
	try "nobody writes again" nobody "$PROBE" open "$p/f" wronly
	try "setfacl -x u:nobody" setfacl -x u:nobody "$p/f"
	acl "after -x u:nobody" "$p/f"
	try "nobody reads after its entry is gone" nobody cat "$p/f"
	chmod 0644 "$p/f"
	try "setfacl u:nobody:- on a 0644 file" setfacl -m u:nobody:- "$p/f"
	try "nobody reads (named entry ---, other r)" nobody cat "$p/f"
	try "1234 reads (other r)" as 1234 1234 cat "$p/f"
	try "setfacl -b" setfacl -b "$p/f"
	acl "after setfacl -b" "$p/f"
	try "ACL xattr after -b" getfattr -m - -d "$p/f"
	try "nobody reads after -b" nobody cat "$p/f"
	try "setfacl of an ACL equal to the mode" setfacl --set u::rw,g::r,o::r "$p/f"
	acl "after an ACL equal to the mode" "$p/f"
	try "ACL xattr after it" getfattr -m - -d "$p/f"
	try "setfacl --set u::rwx,g::rx,o::-" setfacl --set u::rwx,g::rx,o::- "$p/f"
	rec "mode after an ACL that is a mode" "$(stat -c %a "$p/f")"
	try "setfacl u:1234:rwx,m::r" setfacl -m u:1234:rwx,m::r "$p/f"
	acl "with a mask narrower than the entry" "$p/f"
	rec "mode with mask r" "$(stat -c %a "$p/f")"

	# Who may set an ACL, and setgid dropped when its owner is outside
	# the group (as chmod does it).
	try "nobody sets an ACL on a root file" nobody setfacl -m u:nobody:rwx "$p/f"
	touch "$p/own" && chown 65534:5000 "$p/own" && chmod 2770 "$p/own"
	try "nobody sets an ACL on its own 2770 file of group 5000" nobody setfacl -m u:1234:r "$p/own"
	acl "ACL of nobody's 2770 file after it" "$p/own"
	rec "mode of nobody's 2770 file after it" "$(stat -c %a "$p/own")"
	touch "$p/own2" && chown 65534:5000 "$p/own2" && chmod 2770 "$p/own2"
	try "a member of 5000 sets an ACL on its 2770 file" as_member 65534 65534 5000 setfacl -m u:1234:r "$p/own2"
	rec "mode of the member's 2770 file after it" "$(stat -c %a "$p/own2")"
	touch "$p/own3" && chown 65534:5000 "$p/own3" && chmod 2770 "$p/own3"
	try "nobody sets an ACL equal to the mode on its 2770 file" nobody setfacl --set u::rw,g::rwx,o::- "$p/own3"
	rec "mode of nobody's 2770 file after an ACL equal to the mode" "$(stat -c %a "$p/own3")"

	# Directories: access and default ACLs.
	mkdir "$p/d" && chmod 0755 "$p/d"
	try "nobody creates in a 0755 root dir" nobody touch "$p/d/x"
	try "setfacl u:nobody:rwx on the dir" setfacl -m u:nobody:rwx "$p/d"
	try "nobody creates with its named entry" nobody touch "$p/d/x"
	try "setfacl -d u:nobody:rwx,g:5000:rx,m::rwx,o::-" \
		setfacl -d -m u:nobody:rwx,g:5000:rx,m::rwx,o::- "$p/d"
	acl "dir with a default ACL" "$p/d"
	touch "$p/d/file" && mkdir "$p/d/sub" && mkfifo "$p/d/fifo" &&
		ln -s file "$p/d/link" && touch "$p/d/sub/nested" ||
		fail "$LABEL: create under a default ACL"
	(umask 077 && touch "$p/d/umask077")
	nobody mkdir "$p/d/bynobody"
	"$PROBE" open "$p/d/mode600" wronly,creat 0600 >/dev/null
	acl "file under a default ACL" "$p/d/file"
	try "listxattr of a file with an ACL" "$PROBE" listxattr "$p/d/file"
	try "listxattr of a dir with both ACLs" "$PROBE" listxattr "$p/d/sub"
	acl "subdir under a default ACL" "$p/d/sub"
	acl "nested file" "$p/d/sub/nested"
	acl "fifo under a default ACL" "$p/d/fifo"
	acl "file made with umask 077 (ignored)" "$p/d/umask077"
	acl "file made with mode 0600" "$p/d/mode600"
	acl "subdir made by nobody" "$p/d/bynobody"
	rec "owner of nobody's subdir" "$(stat -c %u:%g "$p/d/bynobody")"
	rec "symlink under a default ACL" "$(ls -ld "$p/d/link" | cut -d' ' -f1)"
	try "nobody writes the inherited file" nobody "$PROBE" open "$p/d/file" wronly
	try "1234 reads the inherited file (o::-)" as 1234 1234 cat "$p/d/file"
	try "setfacl -k" setfacl -k "$p/d"
	acl "dir after -k" "$p/d"
	touch "$p/d/after-k"
	acl "file after -k" "$p/d/after-k"
	mkdir "$p/plain"
	(umask 077 && touch "$p/plain/u77" && mkdir "$p/plain/d77")
	(umask 027 && touch "$p/plain/u27")
	acl "umask 077 without a default ACL" "$p/plain/u77"
	acl "umask 077 dir without a default ACL" "$p/plain/d77"
	acl "umask 027 without a default ACL" "$p/plain/u27"
	try "copy an ACL with --set-file" sh -c 'getfacl -p "$1" | setfacl --set-file=- "$2"' sh "$p/d/file" "$p/plain/u27"
	acl "the copied ACL" "$p/plain/u27"
}

expect_in_reference()
{
	local line

	while IFS= read -r line; do
		grep -qxF -- "$line" "$TR" ||
			fail "the reference ($REF_FS) does not show '$line': the test's expectation is wrong here"
	done
}

XATTR_EXPECTED='XATTR_CREATE of an existing name: EEXIST
XATTR_REPLACE of a missing name: ENODATA
get user.a after replace: 12 second value
nobody gets trusted.t: ENODATA
nobody sets trusted.x on a 0644 root file: EPERM
user.* on a symlink: EPERM
user.* on a fifo: EPERM
65537-byte value: E2BIG'
ACL_EXPECTED='nobody reads by its named entry: secret
nobody reads after its entry is gone: error: Permission denied
nobody reads (named entry ---, other r): error: Permission denied
nobody writes (entry rw, mask r): EACCES
nobody creates with its named entry: ok
after setfacl -b: user::rw-|group::r--|other::r-- -rw-r--r--
after an ACL equal to the mode: user::rw-|group::r--|other::r-- -rw-r--r--
ACL xattr after -b: ok'

# ------------------------------------------------------------------ passes

REF_FS=$(df --output=fstype "$T" | tail -n 1 | tr -d ' ')
LABEL="reference ($REF_FS)"
D=$T/ref
mkdir "$D" && chmod 0755 "$D" || fail "mkdir $D"
TR=$T/ref-xattr.tr
: >"$TR"
xattr_ops
expect_in_reference <<<"$XATTR_EXPECTED"
touch "$D/sizes" || fail "touch $D/sizes"
for size in 65536 65537 4096 3000; do
	note "$REF_FS: a $size-byte user.* value: $("$PROBE" setxattr "$D/sizes" user.size @$size none)"
done
TR=$T/ref-acl.tr
: >"$TR"
acl_ops
expect_in_reference <<<"$ACL_EXPECTED"
note "reference transcripts: $(cat "$T"/ref-*.tr | wc -l) outcomes"

DIFFS=0
NOACL_BAD=0
# noacl_is WHAT EXPECTED CMD...: a check of a mount without -o acl; a
# mismatch is shown and counted, the test goes on.
noacl_is()
{
	local what=$1 want=$2 got
	shift 2

	got=$(res "$@")
	[ "$want" != "" ] || [ "$got" != ok ] || got=
	if [ "$got" != "$want" ]; then
		echo "# $LABEL, without -o acl: $what: got '$got', expected '$want'"
		NOACL_BAD=$((NOACL_BAD + 1))
	fi
}

# compare REF TRANSCRIPT WHAT
compare()
{
	if diff -u "$1" "$2" >"$T/tr.diff"; then
		ok "$LABEL: $3: $(wc -l <"$2") outcomes the same as on $REF_FS"
	else
		echo "# $LABEL: $3 differ from the reference ($REF_FS):"
		grep '^[-+][^-+]' "$T/tr.diff" | sed 's/^/#   /'
		DIFFS=$((DIFFS + 1))
	fi
}

snapshot_xattrs()
{
	(cd "$D" && getfattr -R -h -m - -d --absolute-names . 2>&1 | grep -v '^$')
}

snapshot_acls()
{
	(cd "$D/acl" && getfacl -R -p -n . 2>&1)
}

sparse_pass()
{
	local b=$2 m=$T/m snap1 snap2 acl1 acl2 out

	LABEL=$1
	mkdir -p "$b" "$m" || fail "mkdir $b $m"
	sfs_mount "$b" "$m" -o allow_other
	D=$m/t
	mkdir "$D" && chmod 0755 "$D" || fail "$LABEL: mkdir"
	TR=$T/sfs-xattr.tr
	: >"$TR"
	xattr_ops
	compare "$T/ref-xattr.tr" "$TR" xattrs
	xattr_big
	snap1=$(snapshot_xattrs)
	sfs_umount "$m"

	sfs_mount "$b" "$m" -o acl,allow_other
	snap2=$(snapshot_xattrs)
	[ "$snap1" = "$snap2" ] ||
		fail "$LABEL: xattrs changed across remount: $(diff <(echo "$snap1") <(echo "$snap2") | head)"
	xattr_big_check
	ok "$LABEL: every xattr the same after remount"
	TR=$T/sfs-acl.tr
	: >"$TR"
	acl_ops
	compare "$T/ref-acl.tr" "$TR" ACLs
	acl1=$(snapshot_acls)
	sfs_umount "$m"

	sfs_mount "$b" "$m" -o acl,allow_other
	acl2=$(snapshot_acls)
	[ "$acl1" = "$acl2" ] ||
		fail "$LABEL: ACLs changed across remount: $(diff <(echo "$acl1") <(echo "$acl2") | head)"
	out=$(res nobody "$PROBE" open "$D/acl/d/file" wronly)
	expect_eq "$out" ok "$LABEL: nobody writes by an inherited ACL after remount"
	out=$(res as 1234 1234 cat "$D/acl/d/file")
	expect_eq "$out" "error: Permission denied" "$LABEL: 1234 refused by an inherited ACL after remount"
	ok "$LABEL: every ACL the same and enforced after remount"
	sfs_umount "$m"

	sfs_mount "$b" "$m" -o allow_other
	touch "$D/noacl" || fail "$LABEL: touch without acl"
	# The kernel itself answers for a FUSE mount without FUSE_POSIX_ACL:
	# EOPNOTSUPP to a set, ENODATA to a get (exfat-fuse gets the same);
	# an ACL stored under -o acl is neither shown nor enforced.
	noacl_is "setfacl -m u:nobody:r" "error: Operation not supported" \
		setfacl -m u:nobody:r "$D/noacl"
	noacl_is "setfacl -m u:nobody:r of a file with an ACL set under -o acl" \
		"error: Operation not supported" setfacl -m u:nobody:r "$D/acl/d/file"
	noacl_is "getxattr system.posix_acl_access of a file with an ACL set under -o acl" \
		ENODATA "$PROBE" getxattr "$D/acl/d/file" system.posix_acl_access
	noacl_is "getxattr system.posix_acl_default of a dir with a default ACL set under -o acl" \
		ENODATA "$PROBE" getxattr "$D/acl/d/sub" system.posix_acl_default
	noacl_is "getfacl of a file with an ACL set under -o acl" \
		"user::rw-|group::rw-|other::---" \
		getfacl -n -p --omit-header "$D/acl/d/file"
	noacl_is "nobody writes a file whose ACL (set under -o acl) lets it (mode 0660 rules)" \
		EACCES nobody "$PROBE" open "$D/acl/d/file" wronly
	noacl_is "listxattr of a file with an ACL set under -o acl" "" \
		"$PROBE" listxattr "$D/acl/plain/u77"
	[ "$NOACL_BAD" = 0 ] &&
		ok "$LABEL: without -o acl, ACLs are not supported (EOPNOTSUPP)"
	sfs_umount "$m"
	check_store "$b"
}

sparse_pass "sparsefs on a plain dir" "$T/b"
exfat_bed 256M "$T/x"
sparse_pass "sparsefs on exFAT" "$T/x/b"

[ "$DIFFS" = 0 ] || fail "$DIFFS comparison(s) differ from $REF_FS (diffs above)"
[ "$NOACL_BAD" = 0 ] || fail "$NOACL_BAD check(s) without -o acl failed (above)"
echo "t0320-xattr-acl: all passed"
exit 0
