#!/bin/bash
# t0020-basic: POSIX basics over a plain directory, checked again after an
# unmount and remount.
#
# create/read/write/append and overwrite across a chunk boundary, mkdir and
# rmdir (ENOTEMPTY), a 1000-entry readdir, unlink, rename within and across
# directories and over an existing target (whose chunks are then freed),
# symlinks, hard links, chmod/chown/utimens with nanoseconds, truncate,
# names that drvfs would mangle, statfs against the backing's.  A reference
# copy of every file's data lives on the plain file system (ext4).
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # chown

T=$SFS_TMP
B=$T/b
M=$T/m
R=$T/ref
mkdir -p "$B" "$M" "$R"
sfs_mount "$B" "$M"

content_is()
{
	local got

	got=$(cat -- "$1") || fail "cannot read $1"
	[ "$got" = "$2" ] || fail "$1 holds '$got', expected '$2'"
}

# errno_msg MSG CMD...: CMD must fail with strerror text MSG (LC_ALL=C).
errno_msg()
{
	local msg=$1 out
	shift

	if out=$("$@" 2>&1); then
		fail "'$*' succeeded, expected '$msg'"
	fi
	case $out in
	*"$msg"*) ;;
	*) fail "'$*' failed with '$out', expected '$msg'" ;;
	esac
}

# --- create, read, write, append ------------------------------------------
printf 'hello\n' >"$M/a" || fail "create $M/a"
content_is "$M/a" hello
printf 'world\n' >>"$M/a" || fail "append to $M/a"
content_is "$M/a" $'hello\nworld'
printf 'J' | dd of="$M/a" conv=notrunc status=none || fail "overwrite byte 0"
content_is "$M/a" $'Jello\nworld'
printf 'short\n' >"$M/b" && printf 'x\n' >"$M/b" || fail "rewrite $M/b"
expect_eq "$(size_of "$M/b")" 2 "size of an existing 6-byte file after open(O_TRUNC) and a 2-byte write"
content_is "$M/b" x
ok "create, read, append, overwrite, O_TRUNC"

# A file over three chunks (1 MiB default), then an overwrite that straddles
# a chunk boundary and an append, mirrored on the reference copy.
head -c 3500000 /dev/urandom >"$R/big" || fail "make reference data"
cp "$R/big" "$M/big" || fail "copy 3.5 MB in"
cmp "$R/big" "$M/big" || fail "3.5 MB file reads back different"
cmp -i 1048000 -n 2000 "$R/big" "$M/big" || fail "read across a chunk boundary"
head -c 10000 /dev/urandom >"$T/patch"
for f in "$R/big" "$M/big"; do
	dd if="$T/patch" of="$f" bs=10000 seek=1040000 oflag=seek_bytes \
		conv=notrunc status=none || fail "dd patch into $f"
	cat "$T/patch" >>"$f" || fail "append patch to $f"
done
cmp "$R/big" "$M/big" || fail "after overwrite across a chunk boundary and append"
expect_eq "$(size_of "$M/big")" 3510000 "size of big after append"
ok "multi-chunk write, unaligned overwrite across a chunk boundary, append"

# --- mkdir, rmdir ----------------------------------------------------------
mkdir "$M/d" && mkdir -p "$M/d/e/f" || fail "mkdir"
[ -d "$M/d/e/f" ] || fail "$M/d/e/f is not a directory"
errno_msg "File exists" mkdir "$M/d"
errno_msg "Directory not empty" rmdir "$M/d"
errno_msg "Not a directory" rmdir "$M/a"
rmdir "$M/d/e/f" || fail "rmdir an empty dir"
[ ! -e "$M/d/e/f" ] || fail "$M/d/e/f still there after rmdir"
rmdir "$M/d/e" "$M/d" || fail "rmdir the rest"
mkdir "$M/d" || fail "mkdir again after rmdir"
ok "mkdir, rmdir, EEXIST, ENOTEMPTY, ENOTDIR"

# --- readdir of 1000 entries, unlink ---------------------------------------
mkdir "$M/many" || fail "mkdir many"
for ((i = 1; i <= 1000; i++)); do
	printf '%d\n' "$i" >"$M/many/f$i" || fail "create many/f$i"
done
seq 1 1000 | sed 's/^/f/' | sort >"$T/many.want"
find "$M/many" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort >"$T/many.got"
cmp "$T/many.want" "$T/many.got" ||
	fail "readdir of 1000 files: $(diff "$T/many.want" "$T/many.got" | head)"
expect_eq "$(ls -a "$M/many" | wc -l)" 1002 "entries with . and .."
rm "$M/many/f500" || fail "unlink many/f500"
[ ! -e "$M/many/f500" ] || fail "many/f500 still there after unlink"
errno_msg "No such file or directory" stat "$M/many/f500"
expect_eq "$(ls "$M/many" | wc -l)" 999 "entries after one unlink"
content_is "$M/many/f501" 501
ok "readdir of 1000 files, unlink"

# --- rename ----------------------------------------------------------------
echo r1 >"$M/r1"
mv "$M/r1" "$M/r2" || fail "rename in a dir"
[ ! -e "$M/r1" ] || fail "r1 still there after rename"
content_is "$M/r2" r1
mkdir "$M/d1" "$M/d2"
echo x >"$M/d1/x"
mv "$M/d1/x" "$M/d2/y" || fail "rename across dirs"
[ ! -e "$M/d1/x" ] || fail "d1/x still there after rename"
content_is "$M/d2/y" x

# Over an existing target: the target's data must go with it.
echo old >"$M/d2/target"
echo new >"$M/d1/src"
sync -f "$M" || fail "syncfs $M"
ino=$(stat -c %i "$M/d1/src")
chunks=$(chunk_count "$B")
mv -f "$M/d1/src" "$M/d2/target" || fail "rename over a target"
[ ! -e "$M/d1/src" ] || fail "src still there after rename over target"
content_is "$M/d2/target" new
expect_eq "$(stat -c %i "$M/d2/target")" "$ino" "inode of the renamed file"
chunks_at_most()
{
	[ "$(chunk_count "$B")" -le "$1" ]
}
wait_until 10 chunks_at_most $((chunks - 1)) ||
	fail "replaced target's chunk not freed: $(chunk_count "$B") chunk files, expected $((chunks - 1))"

# Directories: across dirs, over an empty one, not over a non-empty one.
mkdir -p "$M/d1/sub/inner"
echo deep >"$M/d1/sub/inner/file"
mv "$M/d1/sub" "$M/d2/sub" || fail "rename a dir across dirs"
content_is "$M/d2/sub/inner/file" deep
mkdir "$M/empty"
mv -T "$M/d2/sub" "$M/empty" || fail "rename a dir over an empty dir"
content_is "$M/empty/inner/file" deep
mv -T "$M/empty" "$M/d2/sub" || fail "rename it back"
mkdir -p "$M/full/x"
errno_msg "Directory not empty" mv -T "$M/d2/sub" "$M/full"
rm -r "$M/full"
ok "rename in a dir, across dirs, over a target (chunks freed), dirs"

# --- symlinks ----------------------------------------------------------------
ln -s a "$M/la" || fail "symlink"
[ -L "$M/la" ] || fail "la is not a symlink"
expect_eq "$(readlink "$M/la")" a "readlink la"
content_is "$M/la" $'Jello\nworld'
ln -s ../d2/y "$M/d1/ly" && content_is "$M/d1/ly" x
ln -s "no/such/target" "$M/dangling" || fail "dangling symlink"
expect_eq "$(readlink "$M/dangling")" "no/such/target" "readlink dangling"
long=$(printf 'x%.0s' $(seq 1 4000))
ln -s "$long" "$M/longlink" || fail "symlink with a 4000-byte target"
expect_eq "$(readlink "$M/longlink")" "$long" "readlink of a 4000-byte target"
ok "symlink, readlink, dangling, 4000-byte target"

# --- hard links --------------------------------------------------------------
echo h >"$M/h1"
ln "$M/h1" "$M/d2/h2" || fail "link"
expect_eq "$(stat -c %h "$M/h1")" 2 "nlink of h1"
expect_eq "$(stat -c %h "$M/d2/h2")" 2 "nlink of h2"
expect_eq "$(stat -c %i "$M/h1")" "$(stat -c %i "$M/d2/h2")" "inode of h1, h2"
echo more >>"$M/d2/h2"
content_is "$M/h1" $'h\nmore'
ln "$M/h1" "$M/h3" && rm "$M/h1" || fail "link, unlink"
expect_eq "$(stat -c %h "$M/d2/h2")" 2 "nlink after link + unlink"
content_is "$M/h3" $'h\nmore'
ok "hard links, nlink, shared data"

# --- chmod, chown, utimens ---------------------------------------------------
chmod 0640 "$M/a" && expect_eq "$(stat -c %a "$M/a")" 640 "mode of a"
chmod 4755 "$M/b" && expect_eq "$(stat -c %a "$M/b")" 4755 "mode of b"
chmod 1777 "$M/d2" && expect_eq "$(stat -c %a "$M/d2")" 1777 "mode of d2"
chown 1234:5678 "$M/a" || fail "chown"
expect_eq "$(stat -c %u:%g "$M/a")" 1234:5678 "owner of a"
chown -h 42:43 "$M/la" || fail "lchown"
expect_eq "$(stat -c %u:%g "$M/la")" 42:43 "owner of symlink la"
expect_eq "$(stat -c %u:%g "$M/a")" 1234:5678 "owner of a after lchown of la"
touch -m -d "2021-03-04 05:06:07.123456789" "$M/a" || fail "touch -m"
touch -a -d "2020-01-02 03:04:05.987654321" "$M/a" || fail "touch -a"
touch -m -d "1965-05-05 05:05:05.000000001" "$M/b" || fail "touch -m before 1970"
touch -h -m -d "2011-11-11 11:11:11.111111111" "$M/la" || fail "touch -h symlink"
touch -m -d "2012-12-12 12:12:12.5" "$M/d2" || fail "touch dir"
check_times()
{
	expect_eq "$(stat -c %y "$M/a")" "2021-03-04 05:06:07.123456789 +0000" "mtime of a"
	expect_eq "$(stat -c %x "$M/a")" "2020-01-02 03:04:05.987654321 +0000" "atime of a"
	expect_eq "$(stat -c %y "$M/b")" "1965-05-05 05:05:05.000000001 +0000" "mtime of b"
	expect_eq "$(stat -c %y "$M/la")" "2011-11-11 11:11:11.111111111 +0000" "mtime of symlink la"
	expect_eq "$(stat -c %y "$M/d2")" "2012-12-12 12:12:12.500000000 +0000" "mtime of d2"
}
check_times
# A change of data moves mtime and ctime forward, not back to 1970.
before=$(stat -c %Z "$M/h3")
sleep 1.1
echo z >>"$M/h3"
[ "$(stat -c %Z "$M/h3")" -gt "$before" ] || fail "ctime did not move on write"
[ "$(stat -c %Y "$M/h3")" -gt "$before" ] || fail "mtime did not move on write"
ok "chmod (setuid, sticky), chown, lchown, utimens in ns (before 1970 too)"

# --- truncate ----------------------------------------------------------------
for f in "$R/big" "$M/big"; do truncate -s 100 "$f" || fail "truncate $f"; done
cmp "$R/big" "$M/big" || fail "after truncate to 100"
for f in "$R/big" "$M/big"; do truncate -s 2500000 "$f" || fail "truncate up $f"; done
cmp "$R/big" "$M/big" || fail "after truncate down to 100 and up to 2500000"
expect_eq "$(size_of "$M/big")" 2500000 "size after truncate up"
for f in "$R/big" "$M/big"; do
	dd if="$T/patch" of="$f" bs=10000 seek=2000000 oflag=seek_bytes \
		conv=notrunc status=none || fail "dd $f"
done
cmp "$R/big" "$M/big" || fail "after writing past a truncated region"
ok "truncate down, up, write after"

# --- names drvfs would mangle, case, length ----------------------------------
mkdir "$M/names"
names=(Foo foo FOO 'a:b*c?d"e<f>g|h\i' $'tab\there' 'sp ace' 'trailing.' \
	'trailing ' 'é-ü-日本' CON aux.txt $'new\nline' "$(printf 'n%.0s' $(seq 1 255))")
for ((i = 0; i < ${#names[@]}; i++)); do
	printf '%d\n' "$i" >"$M/names/${names[i]}" || fail "create name #$i"
done
check_names()
{
	local i

	for ((i = 0; i < ${#names[@]}; i++)); do
		content_is "$M/names/${names[i]}" "$i"
	done
	expect_eq "$(find "$M/names" -mindepth 1 -maxdepth 1 -printf x | wc -c)" \
		"${#names[@]}" "entries in names/"
}
check_names
errno_msg "File name too long" touch "$M/names/$(printf 'n%.0s' $(seq 1 256))"
ok "case-distinct names, :*?\"<>|\\, tab, newline, UTF-8, 255 bytes; 256 refused"

# --- xattrs, where the tools are installed -------------------------------------
if command -v setfattr >/dev/null 2>&1 && command -v getfattr >/dev/null 2>&1; then
	setfattr -n user.sfs -v hello "$M/a" || fail "setfattr"
	expect_eq "$(getfattr --absolute-names --only-values -n user.sfs "$M/a")" hello "xattr user.sfs"
	have_xattr=1
	ok "xattr set/get"
else
	have_xattr=0
	note "setfattr/getfattr not installed: xattrs not tried"
fi

# --- statfs --------------------------------------------------------------------
read -r mbs mblocks mavail <<<"$(stat -f -c '%S %b %a' "$M")"
read -r bbs bblocks bavail <<<"$(stat -f -c '%S %b %a' "$B")"
msize=$((mbs * mblocks)) bsize=$((bbs * bblocks))
mfree=$((mbs * mavail)) bfree=$((bbs * bavail))
note "statfs: mount size $msize free $mfree; backing size $bsize free $bfree"
diff=$((msize > bsize ? msize - bsize : bsize - msize))
[ $((diff * 100)) -le "$bsize" ] ||
	fail "statfs size $msize differs from the backing's $bsize by more than 1%"
diff=$((mfree > bfree ? mfree - bfree : bfree - mfree))
[ $((diff * 20)) -le "$bsize" ] || [ "$diff" -le $((512 << 20)) ] ||
	fail "statfs free $mfree differs from the backing's $bfree"
ok "statfs matches the backing's"

# --- everything again after unmount + remount -------------------------------------
verify_state()
{
	content_is "$M/a" $'Jello\nworld'
	content_is "$M/b" x
	cmp "$R/big" "$M/big" || fail "big differs from the reference"
	find "$M/many" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort >"$T/many.got"
	grep -vx f500 "$T/many.want" | cmp - "$T/many.got" || fail "many/ listing"
	content_is "$M/r2" r1
	content_is "$M/d2/y" x
	content_is "$M/d2/target" new
	content_is "$M/d2/sub/inner/file" deep
	expect_eq "$(readlink "$M/la")" a "readlink la"
	expect_eq "$(readlink "$M/longlink")" "$long" "readlink longlink"
	expect_eq "$(readlink "$M/dangling")" "no/such/target" "readlink dangling"
	expect_eq "$(stat -c %h "$M/h3")" 2 "nlink of h3"
	expect_eq "$(stat -c %i "$M/h3")" "$(stat -c %i "$M/d2/h2")" "inode of h3, h2"
	expect_eq "$(stat -c %a "$M/a")" 640 "mode of a"
	expect_eq "$(stat -c %a "$M/b")" 4755 "mode of b"
	expect_eq "$(stat -c %a "$M/d2")" 1777 "mode of d2"
	expect_eq "$(stat -c %u:%g "$M/a")" 1234:5678 "owner of a"
	expect_eq "$(stat -c %u:%g "$M/la")" 42:43 "owner of la"
	check_times
	check_names
	if [ "$have_xattr" = 1 ]; then
		expect_eq "$(getfattr --absolute-names --only-values -n user.sfs "$M/a")" hello "xattr user.sfs"
	fi
}

# Metadata of every entry (no atime: reading may move it), data checksums.
snapshot()
{
	(
		cd "$M" || exit 1
		find . -printf '%p|%y|%i|%m|%u|%g|%s|%n|%T@|%C@|%l\n' | sort
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum
	)
}

verify_state
snap1=$(snapshot) || fail "snapshot"
sfs_umount "$M"
sfs_mount "$B" "$M"
snap2=$(snapshot) || fail "snapshot after remount"
[ "$snap1" = "$snap2" ] ||
	fail "tree changed across remount: $(diff <(echo "$snap1") <(echo "$snap2") | head -n 20)"
verify_state
ok "everything is the same after unmount and remount"
sfs_umount "$M"

echo "t0020-basic: all passed"
exit 0
