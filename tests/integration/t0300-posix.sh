#!/bin/bash
# t0300-posix: the POSIX file system semantics that sparsefs keeps in LMDB
# and not on the backing, over an exFAT bed (which can do none of it) and
# over a plain directory.
#
# The same checks run first on a directory of the test's own file system
# (ext4 under /tmp): that pass proves the expectations are what Linux
# really does; then on each sparsefs mount, where a state check follows a
# remount.
#   - hard links: one inode, st_nlink, shared data, unlink of one keeps the
#     other; directory link counts; rename of a name onto another link of
#     the same inode is a no-op;
#   - symlinks with a 4095-byte target (lstat size 4095), 4096 refused
#     (ENAMETOOLONG);
#   - renameat2: RENAME_NOREPLACE (EEXIST, nothing changed), RENAME_EXCHANGE
#     of two files, two dirs across parents (their ".." follows), a file
#     and a dir across parents (parents' link counts), a missing target
#     (ENOENT); a dir into its own subtree (EINVAL, also with EXCHANGE);
#     dir over file (ENOTDIR), file over dir (EISDIR), dir over a
#     non-empty dir and rmdir of a non-empty dir (ENOTEMPTY);
#   - mknod: a FIFO (data passes through it), a unix socket made by bind
#     (connect and a message through it), char 1:3 / 1:5 and block 7:200
#     nodes with their rdev (stat %t %T) kept across a remount; on sparsefs
#     without -o dev the char node cannot be opened (EACCES, the kernel's
#     nodev), with -o dev it is /dev/null and /dev/zero;
#   - a file unlinked while open keeps its data: read and written through
#     the fd (fstat: nlink 0), not listed; its chunk files stay until the
#     last close and are then deleted; its inode number is not given to a
#     file created meanwhile; the same for a file replaced by rename;
#   - O_CREAT|O_EXCL (EEXIST, also on a dangling symlink), O_APPEND from
#     two processes at once (no record lost or torn, each process's records
#     in order; 1000-byte records, so that some straddle chunk boundaries),
#     O_TRUNC (size 0, chunk files deleted);
#   - flock, POSIX (fcntl) and OFD byte-range locks held by one process
#     refuse a conflicting lock to another (EAGAIN), allow a compatible
#     one, F_GETLK names the holder, a blocked F_SETLKW waits and is
#     granted when the holder exits; flock and fcntl locks are independent;
#   - names: every byte value 1..255 but '/' (alone and inside a name:
#     control characters, :*?"<>|\, bytes >= 0x80), UTF-8, case (a and A
#     two files), 255 bytes (also as 85 three-byte UTF-8 characters) and
#     256 refused (ENAMETOOLONG);
#   - inode numbers: st_ino of every entry the same after a remount, no two
#     live files share one after creating and deleting thousands, st_dev
#     one value for the whole mount; -ef tells hard links from copies.
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # exFAT bed, device nodes

PROBE=$(helper posix_probe) || exit 1
umask 022
T=$SFS_TMP
MIB=$((1 << 20))
head -c $((3 * MIB)) /dev/urandom >"$T/rand3m" || fail "random data"

# LABEL names the pass in messages; KIND is ext4 or sparsefs; D is the
# directory under test, B the backing of a sparsefs pass, M its mount point.
LABEL=
KIND=
D=
B=
M=
MOUNT_OPTS=()

probe_is()
{
	local want=$1 what=$2 got
	shift 2

	got=$("$PROBE" "$@" 2>&1) ||
		fail "$LABEL: $what: posix_probe $* failed: $got"
	[ "$got" = "$want" ] ||
		fail "$LABEL: $what: posix_probe $*: got '$got', expected '$want'"
}

is()
{
	[ "$1" = "$2" ] || fail "$LABEL: $3: got '$1', expected '$2'"
}

content_is()
{
	local got

	got=$(cat -- "$1") || fail "$LABEL: cannot read $1"
	[ "$got" = "$2" ] || fail "$LABEL: $1 holds '$got', expected '$2'"
}

# errno_msg MSG CMD...: CMD must fail with strerror text MSG.
errno_msg()
{
	local msg=$1 out
	shift

	if out=$("$@" 2>&1); then
		fail "$LABEL: '$*' succeeded, expected '$msg'"
	fi
	case $out in
	*"$msg"*) ;;
	*) fail "$LABEL: '$*' failed with '$out', expected '$msg'" ;;
	esac
}

ino_of()
{
	stat -c %i -- "$1" || fail "$LABEL: stat $1"
}

chunks_at_most()
{
	[ "$(chunk_count "$B")" -le "$1" ]
}

remount()
{
	[ "$KIND" = sparsefs ] || return 0
	sfs_umount "$M"
	sfs_mount "$B" "$M" "${MOUNT_OPTS[@]}"
}

# ------------------------------------------------------------ hard links

links_make()
{
	mkdir -p "$D/hl/sub" || fail "$LABEL: mkdir hl/sub"
	echo data >"$D/hl/h1" || fail "$LABEL: create hl/h1"
	ln "$D/hl/h1" "$D/hl/sub/h2" || fail "$LABEL: link"
	ln "$D/hl/h1" "$D/hl/h3" || fail "$LABEL: link"
	is "$(stat -c %h "$D/hl/h1")" 3 "nlink after two links"
	is "$(ino_of "$D/hl/sub/h2")" "$(ino_of "$D/hl/h1")" "ino of two links"
	[ "$D/hl/h1" -ef "$D/hl/sub/h2" ] || fail "$LABEL: h1 -ef h2 false"
	echo more >>"$D/hl/sub/h2" || fail "$LABEL: append through h2"
	content_is "$D/hl/h1" $'data\nmore'
	# rename of one link onto another link of the same inode: nothing.
	probe_is ok "rename onto another link of the same inode" \
		rename "$D/hl/h3" "$D/hl/h1" none
	[ -e "$D/hl/h3" ] && [ -e "$D/hl/h1" ] ||
		fail "$LABEL: rename h3 onto h1 (same inode) removed a name"
	is "$(stat -c %h "$D/hl/h1")" 3 "nlink after rename onto same inode"
	rm "$D/hl/h1" "$D/hl/h3" || fail "$LABEL: unlink h1, h3"
	is "$(stat -c %h "$D/hl/sub/h2")" 1 "nlink after unlinking two links"
	content_is "$D/hl/sub/h2" $'data\nmore'
	cp "$D/hl/sub/h2" "$D/hl/copy"
	[ ! "$D/hl/copy" -ef "$D/hl/sub/h2" ] || fail "$LABEL: a copy -ef h2"
	ln "$D/hl/sub/h2" "$D/hl/h4" || fail "$LABEL: link again"
	mkdir "$D/hl/sub/a" "$D/hl/sub/b" || fail "$LABEL: mkdir sub/a, sub/b"
	is "$(stat -c %h "$D/hl/sub")" 4 "nlink of a dir with two subdirs"
	is "$(stat -c %h "$D/hl/sub/a")" 2 "nlink of an empty dir"
	rmdir "$D/hl/sub/b" || fail "$LABEL: rmdir"
	is "$(stat -c %h "$D/hl/sub")" 3 "nlink of a dir after rmdir of a subdir"
	ok "$LABEL: hard links"
}

links_check()
{
	is "$(stat -c %h "$D/hl/h4")" 2 "nlink of h4 after remount"
	is "$(ino_of "$D/hl/h4")" "$(ino_of "$D/hl/sub/h2")" "ino of h4, h2"
	content_is "$D/hl/h4" $'data\nmore'
	is "$(stat -c %h "$D/hl/sub")" 3 "nlink of hl/sub after remount"
	ok "$LABEL: hard links after remount"
}

# --------------------------------------------------------------- symlinks

symlinks_make()
{
	local t4095 t4096

	mkdir "$D/sl" || fail "$LABEL: mkdir sl"
	t4095=$(printf 'y%.0s' $(seq 1 4095))
	t4096=${t4095}y
	ln -s "$t4095" "$D/sl/max" || fail "$LABEL: symlink with a 4095-byte target"
	is "$(readlink "$D/sl/max")" "$t4095" "readlink of a 4095-byte target"
	is "$(stat -c %s "$D/sl/max")" 4095 "lstat size of the 4095-byte symlink"
	errno_msg "File name too long" ln -s "$t4096" "$D/sl/over"
	[ ! -L "$D/sl/over" ] || fail "$LABEL: the 4096-byte symlink exists"
	ok "$LABEL: symlink targets of 4095 bytes, 4096 refused"
}

symlinks_check()
{
	is "$(readlink "$D/sl/max")" "$(printf 'y%.0s' $(seq 1 4095))" \
		"4095-byte target after remount"
	ok "$LABEL: 4095-byte symlink after remount"
}

# -------------------------------------------------------------- renameat2

rename_make()
{
	local r=$D/rn ia ib ip1 ip2

	mkdir -p "$r/p1/dx/in" "$r/p2/dy" "$r/p2/dz/in" || fail "$LABEL: mkdir rn"
	echo A >"$r/a" && echo B >"$r/b" && echo x >"$r/p1/dx/in/f" &&
		echo y >"$r/p2/dy/f" && echo F >"$r/p1/file" ||
		fail "$LABEL: create rn files"

	probe_is EEXIST "RENAME_NOREPLACE onto a file" rename "$r/a" "$r/b" noreplace
	content_is "$r/a" A
	content_is "$r/b" B
	probe_is EEXIST "RENAME_NOREPLACE onto a dir" rename "$r/a" "$r/p1" noreplace
	probe_is ok "RENAME_NOREPLACE to a free name" rename "$r/a" "$r/a2" noreplace
	[ ! -e "$r/a" ] || fail "$LABEL: a still there after RENAME_NOREPLACE"
	content_is "$r/a2" A

	ia=$(ino_of "$r/a2")
	ib=$(ino_of "$r/b")
	probe_is ok "RENAME_EXCHANGE of two files" rename "$r/a2" "$r/b" exchange
	content_is "$r/a2" B
	content_is "$r/b" A
	is "$(ino_of "$r/b")" "$ia" "ino of b after exchange"
	is "$(ino_of "$r/a2")" "$ib" "ino of a2 after exchange"

	ip1=$(ino_of "$r/p1")
	ip2=$(ino_of "$r/p2")
	probe_is ok "RENAME_EXCHANGE of two dirs across parents" \
		rename "$r/p1/dx" "$r/p2/dy" exchange
	content_is "$r/p1/dx/f" y
	content_is "$r/p2/dy/in/f" x
	is "$(ino_of "$r/p1/dx/..")" "$ip1" "'..' of the dir moved into p1"
	is "$(ino_of "$r/p2/dy/..")" "$ip2" "'..' of the dir moved into p2"
	is "$(stat -c %h "$r/p1"):$(stat -c %h "$r/p2")" 3:4 \
		"link counts of p1:p2 after exchanging two dirs"

	# file <-> dir: p1 gains a subdir, p2 loses one.
	probe_is ok "RENAME_EXCHANGE of a file and a dir across parents" \
		rename "$r/p1/file" "$r/p2/dz" exchange
	[ -d "$r/p1/file" ] && [ -f "$r/p2/dz" ] ||
		fail "$LABEL: file<->dir exchange: types not swapped"
	content_is "$r/p2/dz" F
	[ -d "$r/p1/file/in" ] || fail "$LABEL: the moved dir lost its child"
	is "$(ino_of "$r/p1/file/..")" "$ip1" "'..' of the dir moved by exchange"
	is "$(stat -c %h "$r/p1"):$(stat -c %h "$r/p2")" 4:3 \
		"link counts of p1:p2 after exchanging a file and a dir"
	probe_is ENOENT "RENAME_EXCHANGE with a missing target" \
		rename "$r/b" "$r/missing" exchange

	mkdir -p "$r/tree/s1/s2" || fail "$LABEL: mkdir tree"
	probe_is EINVAL "rename a dir into its own subtree" \
		rename "$r/tree" "$r/tree/s1/s2/t" none
	probe_is EINVAL "rename a dir into its own child" \
		rename "$r/tree" "$r/tree/s1/t" none
	probe_is EINVAL "RENAME_EXCHANGE of a dir with its own descendant" \
		rename "$r/tree" "$r/tree/s1/s2" exchange
	[ -d "$r/tree/s1/s2" ] || fail "$LABEL: the tree changed"
	probe_is ENOTDIR "rename a dir over a file" rename "$r/tree" "$r/b" none
	probe_is EISDIR "rename a file over a dir" rename "$r/b" "$r/tree" none
	probe_is ENOTEMPTY "rename a dir over a non-empty dir" \
		rename "$r/p2/dy" "$r/tree" none
	errno_msg "Directory not empty" rmdir "$r/tree"
	[ -d "$r/tree/s1/s2" ] || fail "$LABEL: rmdir of a non-empty dir removed something"
	ok "$LABEL: renameat2 NOREPLACE, EXCHANGE (files, dirs, file<->dir), subtree EINVAL, ENOTDIR, EISDIR, ENOTEMPTY"
}

rename_check()
{
	local r=$D/rn

	content_is "$r/a2" B
	content_is "$r/b" A
	content_is "$r/p1/dx/f" y
	content_is "$r/p2/dy/in/f" x
	content_is "$r/p2/dz" F
	[ -d "$r/p1/file/in" ] || fail "$LABEL: p1/file/in missing after remount"
	is "$(ino_of "$r/p1/file/..")" "$(ino_of "$r/p1")" "'..' after remount"
	is "$(ino_of "$r/p2/dy/..")" "$(ino_of "$r/p2")" "'..' after remount"
	is "$(stat -c %h "$r/p1"):$(stat -c %h "$r/p2")" 4:3 "p1:p2 links after remount"
	ok "$LABEL: renamed entries after remount"
}

# ------------------------------------------------------------------- nodes

nodes_make()
{
	local n=$D/nodes out

	mkdir "$n" || fail "$LABEL: mkdir nodes"
	probe_is ok "mknod fifo" mknod "$n/fifo" fifo 0640
	probe_is ok "mknod chr 1:3" mknod "$n/null" chr 0644 1 3
	probe_is ok "mknod chr 1:5" mknod "$n/zero" chr 0644 1 5
	probe_is ok "mknod blk 7:200" mknod "$n/blk" blk 0600 7 200
	probe_is ok "bind a unix socket, connect, pass a message" sock "$n/sock"
	probe_is ok "mknod sock" mknod "$n/sock2" sock 0755
	probe_is ok "mknod reg" mknod "$n/reg" reg 0600
	probe_is EEXIST "mknod over an existing name" mknod "$n/fifo" fifo 0640
	# The FIFO passes data between two processes.
	timeout 10 cat "$n/fifo" >"$T/fifo.out" &
	local reader=$!
	echo through-the-fifo | timeout 10 tee "$n/fifo" >/dev/null ||
		fail "$LABEL: write into the fifo"
	wait "$reader" || fail "$LABEL: read from the fifo"
	is "$(cat "$T/fifo.out")" through-the-fifo "data through the fifo"
	nodes_check
	if [ "$KIND" = sparsefs ] && [ "${#MOUNT_OPTS[@]}" = 0 ]; then
		# The kernel mounts FUSE nodev unless -o dev.
		out=$("$PROBE" open "$n/zero" rdonly)
		is "$out" EACCES "open of a char node without -o dev"
	fi
	ok "$LABEL: fifo, socket, char and block nodes"
}

nodes_check()
{
	local n=$D/nodes

	is "$(stat -c '%F %a' "$n/fifo")" "fifo 640" "fifo"
	is "$(stat -c '%F %a %t %T' "$n/null")" "character special file 644 1 3" "char node 1:3"
	is "$(stat -c '%F %a %t %T' "$n/zero")" "character special file 644 1 5" "char node 1:5"
	is "$(stat -c '%F %a %t %T' "$n/blk")" "block special file 600 7 c8" "block node 7:200"
	is "$(stat -c '%F' "$n/sock")" "socket" "bound socket"
	is "$(stat -c '%F %a' "$n/sock2")" "socket 755" "mknod socket"
	is "$(stat -c '%F %a %s' "$n/reg")" "regular empty file 600 0" "mknod regular"
}

nodes_check_dev()
{
	local n=$D/nodes

	echo discarded >"$n/null" || fail "$LABEL: write to the 1:3 node"
	is "$(head -c 5 "$n/zero" | od -An -tx1 | tr -d ' ')" 0000000000 \
		"5 bytes read from the 1:5 node"
	ok "$LABEL: char nodes are the null and zero devices (-o dev)"
}

# ------------------------------------------------- unlinked while open

unlinked_make()
{
	local u=$D/unl before fdinfo ino

	mkdir "$u" || fail "$LABEL: mkdir unl"
	[ "$KIND" = sparsefs ] && sync -f "$D"
	[ "$KIND" = sparsefs ] && before=$(chunk_count "$B")
	cp "$T/rand3m" "$u/victim" || fail "$LABEL: write unl/victim"
	sync -f "$u/victim" || fail "$LABEL: syncfs"
	if [ "$KIND" = sparsefs ]; then
		is "$(chunk_count "$B")" $((before + 3)) "chunk files of a 3 MiB file"
	fi
	exec 7<>"$u/victim" || fail "$LABEL: open unl/victim"
	ino=$(ino_of "$u/victim")
	rm "$u/victim" || fail "$LABEL: unlink the open file"
	[ ! -e "$u/victim" ] || fail "$LABEL: victim still there after unlink"
	is "$(ls -A "$u" | wc -l)" 0 "entries left in unl/ (no hidden files)"
	probe_is "ino $ino nlink 0 size $((3 * MIB))" "fstat of the unlinked file" fstat 7
	"$PROBE" pread 7 0 $((3 * MIB)) | cmp - "$T/rand3m" ||
		fail "$LABEL: data read through the fd after unlink differs"
	probe_is ok "pwrite through the fd after unlink" pwrite 7 $((3 * MIB)) tail-data
	probe_is "ino $ino nlink 0 size $((3 * MIB + 9))" "fstat after the write" fstat 7
	is "$("$PROBE" pread 7 $((3 * MIB)) 100)" tail-data "data written after unlink"
	"$PROBE" pwrite 7 $MIB <"$T/rand3m" >/dev/null || fail "$LABEL: pwrite 3 MiB"
	"$PROBE" pread 7 $MIB $((3 * MIB)) | cmp - "$T/rand3m" ||
		fail "$LABEL: 3 MiB written after unlink reads back different"
	# Its inode number is not given away while the file is open.
	"$PROBE" mkfiles "$u" 300 >/dev/null || fail "$LABEL: create 300 files"
	find "$u" -mindepth 1 -printf '%i\n' | grep -qx "$ino" &&
		fail "$LABEL: a new file got ino $ino of an unlinked file still open"
	if [ "$KIND" = sparsefs ]; then
		sync -f "$D"
		[ "$(chunk_count "$B")" -ge $((before + 4)) ] ||
			fail "$LABEL: chunk files of the open unlinked file were deleted early: $(chunk_count "$B"), expected >= $((before + 4))"
	fi
	exec 7>&-
	if [ "$KIND" = sparsefs ]; then
		wait_until 10 chunks_at_most "$before" ||
			fail "$LABEL: chunk files of the unlinked file not deleted at the last close: $(chunk_count "$B"), expected $before"
	fi
	# A file replaced by rename while open: the same.
	cp "$T/rand3m" "$u/target" && echo new >"$u/newer" ||
		fail "$LABEL: write unl/target"
	[ "$KIND" = sparsefs ] && sync -f "$D" && before=$(chunk_count "$B")
	exec 7<"$u/target" || fail "$LABEL: open unl/target"
	mv -f "$u/newer" "$u/target" || fail "$LABEL: rename over the open file"
	content_is "$u/target" new
	"$PROBE" pread 7 0 $((3 * MIB)) | cmp - "$T/rand3m" ||
		fail "$LABEL: data of a file replaced by rename, read through its fd, differs"
	is "$("$PROBE" fstat 7 | cut -d' ' -f3,4)" "nlink 0" "fstat of the replaced file"
	exec 7<&-
	if [ "$KIND" = sparsefs ]; then
		wait_until 10 chunks_at_most $((before - 3)) ||
			fail "$LABEL: chunk files of the file replaced while open not deleted at close: $(chunk_count "$B"), expected $((before - 3))"
	fi
	rm "$u/target"
	ok "$LABEL: unlinked (or replaced by rename) while open: data kept, written, freed at last close"
}

unlinked_check()
{
	is "$(ls -A "$D/unl" | wc -l)" 300 "entries in unl/ after remount"
	if [ "$KIND" = sparsefs ]; then
		is "$(chunk_count "$B")" "$CHUNKS_BEFORE_REMOUNT" "chunk files after remount"
	fi
	ok "$LABEL: no trace of the unlinked file after remount"
}

# -------------------------------------------------------- open flags

open_make()
{
	local o=$D/open before

	mkdir "$o" || fail "$LABEL: mkdir open"
	probe_is ok "O_CREAT|O_EXCL of a new name" open "$o/x" wronly,creat,excl
	probe_is EEXIST "O_CREAT|O_EXCL of an existing name" open "$o/x" wronly,creat,excl
	ln -s nowhere "$o/dangling" || fail "$LABEL: dangling symlink"
	probe_is EEXIST "O_CREAT|O_EXCL on a dangling symlink" open "$o/dangling" wronly,creat,excl
	[ ! -e "$o/nowhere" ] || fail "$LABEL: O_EXCL followed the dangling symlink"
	probe_is ELOOP "O_NOFOLLOW on a symlink" open "$o/dangling" rdonly,nofollow
	probe_is ENOTDIR "O_DIRECTORY on a file" open "$o/x" rdonly,directory

	# 1000-byte records: some straddle the 1 MiB chunk boundaries.
	probe_is ok "two processes appending 1600 records of 1000 bytes each" \
		appenders "$o/log" 2 1600 1000
	is "$(stat -c %s "$o/log")" $((2 * 1600 * 1000)) "size after the appenders"
	is "$(awk 'length($0) != 999 || $0 !~ /^p0[01] r[0-9]+ +$/' "$o/log" | wc -l)" 0 "torn records"
	is "$(sort "$o/log" | uniq -d | wc -l)" 0 "records written twice"
	is "$(grep -c '^p00 ' "$o/log"):$(grep -c '^p01 ' "$o/log")" 1600:1600 \
		"records of each appender"
	awk '{ n = substr($2, 2) + 0; if (n != next_of[$1]) bad = 1; next_of[$1] = n + 1 }
	     END { exit bad }' "$o/log" ||
		fail "$LABEL: an appender's records are out of order"
	rm "$o/log"

	cp "$T/rand3m" "$o/big" || fail "$LABEL: write open/big"
	if [ "$KIND" = sparsefs ]; then
		sync -f "$D"
		before=$(chunk_count "$B")
	fi
	probe_is ok "open O_TRUNC" open "$o/big" wronly,trunc
	is "$(stat -c %s "$o/big")" 0 "size after O_TRUNC"
	if [ "$KIND" = sparsefs ]; then
		wait_until 10 chunks_at_most $((before - 3)) ||
			fail "$LABEL: O_TRUNC left chunk files: $(chunk_count "$B"), expected $((before - 3))"
	fi
	ok "$LABEL: O_EXCL, O_APPEND from two processes, O_TRUNC"
}

# -------------------------------------------------------------- locks

# hold_start KIND FILE r|w START LEN: another process takes the lock and
# keeps it until hold_stop.
HOLDER=
hold_start()
{
	rm -f "$T/ctl" "$T/held"
	mkfifo "$T/ctl" || fail "mkfifo"
	"$PROBE" hold "$@" <"$T/ctl" >"$T/held" 2>&1 &
	HOLDER=$!
	exec 8>"$T/ctl"
	held_now()
	{
		grep -qx held "$T/held"
	}
	wait_until 10 held_now ||
		fail "$LABEL: the holder did not get its lock $*: $(cat "$T/held")"
}

hold_stop()
{
	exec 8>&-
	wait "$HOLDER" || fail "$LABEL: the lock holder failed: $(cat "$T/held")"
	HOLDER=
}

locks_make()
{
	local f=$D/locks/f pid

	mkdir "$D/locks" && echo lockme >"$f" || fail "$LABEL: create locks/f"

	hold_start posix "$f" w 0 100
	probe_is EAGAIN "fcntl write lock over a held range" trylock posix "$f" w 50 10
	probe_is EAGAIN "fcntl read lock over a held write lock" trylock posix "$f" r 0 1
	probe_is ok "fcntl lock past the held range" trylock posix "$f" w 100 10
	probe_is "w 0 100 $HOLDER" "F_GETLK" getlk "$f" w 10 10
	probe_is ok "flock while a fcntl lock is held (independent)" trylock flock "$f" w 0 0
	probe_is EINTR "F_SETLKW blocks while held" waitlock posix "$f" w 99 1 300
	"$PROBE" waitlock posix "$f" w 0 0 10000 >"$T/waiter" 2>&1 8>&- &
	pid=$!
	sleep 0.3
	hold_stop
	wait "$pid" || fail "$LABEL: waitlock failed"
	is "$(cat "$T/waiter")" ok "F_SETLKW granted when the holder exits"
	probe_is unlocked "F_GETLK after release" getlk "$f" w 0 0

	hold_start posix "$f" r 0 0
	probe_is ok "two fcntl read locks" trylock posix "$f" r 0 0
	probe_is EAGAIN "fcntl write lock over a read lock" trylock posix "$f" w 5 1
	hold_stop

	hold_start flock "$f" w 0 0
	probe_is EAGAIN "flock LOCK_EX|LOCK_NB while held (EWOULDBLOCK)" trylock flock "$f" w 0 0
	probe_is EAGAIN "flock LOCK_SH|LOCK_NB while LOCK_EX held" trylock flock "$f" r 0 0
	probe_is ok "fcntl lock while a flock is held (independent)" trylock posix "$f" w 0 0
	hold_stop
	probe_is ok "flock after release" trylock flock "$f" w 0 0

	hold_start flock "$f" r 0 0
	probe_is ok "two flock LOCK_SH" trylock flock "$f" r 0 0
	probe_is EAGAIN "flock LOCK_EX over LOCK_SH" trylock flock "$f" w 0 0
	hold_stop

	hold_start ofd "$f" w 10 10
	probe_is EAGAIN "OFD lock over a held range" trylock ofd "$f" w 15 1
	probe_is EAGAIN "fcntl lock over a held OFD range" trylock posix "$f" r 19 1
	probe_is ok "OFD lock beside the held range" trylock ofd "$f" w 20 1
	hold_stop
	ok "$LABEL: fcntl, OFD and flock locks between processes"
}

# -------------------------------------------------------------- names

NAMES=()
names_make()
{
	local b c i name long utf

	mkdir "$D/names" || fail "$LABEL: mkdir names"
	NAMES=()
	for ((b = 1; b <= 255; b++)); do
		[ "$b" = 47 ] && continue
		printf -v c "\\x$(printf %02x "$b")"
		NAMES+=("n${c}x")
		[ "$b" = 46 ] || NAMES+=("$c")
	done
	long=$(printf 'L%.0s' $(seq 1 255))
	utf=$(printf '\xe6\x97\xa5%.0s' $(seq 1 85))
	NAMES+=(Foo foo FOO 'a:b*c?d"e<f>g|h\i' 'é-ü-日本' "$long" "$utf" CON 'x.' '...' ' x ')
	for ((i = 0; i < ${#NAMES[@]}; i++)); do
		printf '%d' "$i" >"$D/names/${NAMES[i]}" ||
			fail "$LABEL: create name #$i ($(printf %q "${NAMES[i]}"))"
	done
	names_check
	errno_msg "File name too long" touch "$D/names/${long}L"
	errno_msg "File name too long" touch "$D/names/${utf}x"
	ok "$LABEL: every byte 1..255 but '/' in names, case, UTF-8, 255 bytes; 256 refused"
}

names_check()
{
	local i

	printf '%s\0' "${NAMES[@]}" | sort -z >"$T/names.want"
	find "$D/names" -mindepth 1 -maxdepth 1 -printf '%f\0' | sort -z >"$T/names.got"
	cmp -s "$T/names.want" "$T/names.got" ||
		fail "$LABEL: names/ lists other names: $(diff <(tr '\0' '\n' <"$T/names.want" | od -c) <(tr '\0' '\n' <"$T/names.got" | od -c) | head)"
	for ((i = 0; i < ${#NAMES[@]}; i++)); do
		[ "$(<"$D/names/${NAMES[i]}")" = "$i" ] ||
			fail "$LABEL: name #$i ($(printf %q "${NAMES[i]}")) holds '$(<"$D/names/${NAMES[i]}")'"
	done
}

# --------------------------------------------------------- inode numbers

inos_make()
{
	mkdir "$D/inos" || fail "$LABEL: mkdir inos"
	"$PROBE" mkfiles "$D/inos" 3000 f >/dev/null || fail "$LABEL: create 3000"
	find "$D/inos" -name 'f*[02468]' -delete || fail "$LABEL: delete half"
	"$PROBE" mkfiles "$D/inos" 2000 g >/dev/null || fail "$LABEL: create 2000 more"
	mkdir "$D/inos/d1" "$D/inos/d2" && ln -s x "$D/inos/s1" ||
		fail "$LABEL: mkdir, symlink"
	inos_check
	ok "$LABEL: no two live files share an inode number"
}

inos_check()
{
	local dups devs

	# Hard links legitimately share one: count each inode once per
	# distinct (ino, link count > 1) and all single-link entries.
	dups=$(find "$D" \( -type d -o -links 1 \) -printf '%i\n' | sort | uniq -d)
	[ -z "$dups" ] || fail "$LABEL: inode numbers shared by distinct files: $(echo $dups | head -c 200)"
	devs=$(find "$D" -printf '%D\n' | sort -u)
	is "$devs" "$(stat -c %d "$D")" "st_dev of every entry"
}

# ------------------------------------------------------------------ passes

run_make()
{
	links_make
	symlinks_make
	rename_make
	nodes_make
	unlinked_make
	open_make
	locks_make
	names_make
	inos_make
}

run_check()
{
	links_check
	symlinks_check
	rename_check
	nodes_check
	unlinked_check
	names_check
	ok "$LABEL: names after remount"
	inos_check
	ok "$LABEL: inode numbers after remount"
}

snapshot_inos()
{
	find "$D" -printf '%i %y %n %p\n' | sort -k4
}

# ext4: the reference for every expectation above.
LABEL="reference ($(df --output=fstype "$T" | tail -n 1 | tr -d ' '))"
KIND=ext4
D=$T/ref
mkdir "$D" || fail "mkdir $D"
run_make
CHUNKS_BEFORE_REMOUNT=0
run_check

# sparse_pass LABEL BACKING: the same on a sparsefs mount of BACKING,
# remounted in the middle (with -o dev, to open the device nodes).
sparse_pass()
{
	local snap1 snap2

	LABEL=$1
	KIND=sparsefs
	B=$2
	M=$T/m
	D=$M
	MOUNT_OPTS=()
	mkdir -p "$B" "$M" || fail "mkdir $B $M"
	sfs_mount "$B" "$M"
	run_make
	sync -f "$M"
	CHUNKS_BEFORE_REMOUNT=$(chunk_count "$B")
	snap1=$(snapshot_inos) || fail "$LABEL: snapshot"
	MOUNT_OPTS=(-o dev)
	remount
	snap2=$(snapshot_inos) || fail "$LABEL: snapshot after remount"
	[ "$snap1" = "$snap2" ] ||
		fail "$LABEL: inode numbers, types or link counts changed across remount: $(diff <(echo "$snap1") <(echo "$snap2") | head -n 10)"
	ok "$LABEL: every st_ino, type and link count the same after remount"
	run_check
	nodes_check_dev
	sfs_umount "$M"
	check_store "$B"
}

sparse_pass "sparsefs on a plain dir" "$T/b"
exfat_bed 256M "$T/x"
sparse_pass "sparsefs on exFAT" "$T/x/b"

echo "t0300-posix: all passed"
exit 0
