#!/bin/bash
# t0080-journal: the fsync journal, used where the backing has no syncfs()
# that reaches the disk (the exFAT bed), and with -o journal on a plain
# directory.
#
#   - in effect: an fsync of a file with small changes in 8 chunks writes
#     records into BACKING/journal (it grows) and syncs the journal, not
#     the 8 chunk files (counted with strace where it is installed);
#   - a machine restart is what it is for: after kill -9, the chunk files'
#     bytes are overwritten on the backing (what a lost cache would leave)
#     (one is deleted) and the journal's boot id is changed (as after a
#     reboot); the next mount writes the records back and logs it: every
#     fsynced byte is back, and fsck.sparsefs -n finds the store clean;
#   - on the same boot nothing is written back: bytes written after the
#     last fsync (newer than the records) survive kill -9;
#   - a chunk synced in place after it was journaled (a large change) is
#     revoked: the replay does not put its older record back;
#   - a clean unmount empties the journal (a faked reboot then replays
#     nothing), and -o no_journal deals with a journal left behind first;
#   - a file written, closed and then forgotten by the kernel (drop_caches)
#     keeps its list of unsynced chunks: a later fsync through a new open
#     still puts them in the journal; past 256 such files, all of them
#     are flushed together (the journal is checkpointed);
#   - the checkpointer empties the journal once no fsync wrote to it for
#     -o journal_idle (0.2 s here): a kill and a faked reboot after that
#     replay nothing, and bytes written after the last fsync are kept;
#   - fsck.sparsefs -y after a faked reboot writes the journal back itself
#     (the next mount finds nothing to replay);
#   - fsck.sparsefs -n is clean after all of it.
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # drop_caches, the exFAT bed

FSCK=${FSCK:-$(dirname -- "$SPARSEFS")/fsck.sparsefs}
[ -x "$FSCK" ] || fail "fsck.sparsefs not built (FSCK=$FSCK)"
PY=$(command -v python3) || skip "python3 is not installed"
T=$SFS_TMP
MIB=$((1 << 20))
OFF=8192
REPLAY_MSG="the machine restarted since it was written"

# put FILE CHAR OFFSET LEN SYNC CHUNK...: write LEN bytes of CHAR at
# OFFSET in each CHUNK (a chunk index) of FILE; fsync after when SYNC is 1.
put()
{
	local f=$1 ch=$2 off=$3 len=$4 sync=$5
	shift 5
	"$PY" - "$f" "$ch" "$off" "$len" "$sync" "$@" <<'PY' || fail "put $*"
import os, sys
f, ch, off, ln, sync = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
for k in sys.argv[6:]:
    os.pwrite(fd, ch.encode() * ln, int(k) * (1 << 20) + off)
if sync == "1":
    os.fsync(fd)
os.close(fd)
PY
}

# expect FILE CHAR CHUNK...: 4 KiB at OFF of each CHUNK of FILE is CHAR.
expect()
{
	local f=$1 ch=$2 got
	shift 2
	got=$("$PY" - "$f" "$OFF" "$@" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
off = int(sys.argv[2])
out = []
for k in sys.argv[3:]:
    b = os.pread(fd, 4096, int(k) * (1 << 20) + off)
    out.append(chr(b[0]) if len(set(b)) == 1 and len(b) == 4096 else "?")
print("".join(out))
PY
) || fail "reading $f"
	expect_eq "$got" "$(printf "%${#}s" | tr ' ' "$ch")" "chunks $* of $f"
}

# smash BACKING: overwrite 4 KiB at OFF of every chunk file with 'Z', as a
# backing that lost its cache in a crash might hold older bytes.
smash()
{
	local f

	while IFS= read -r f; do
		printf 'Z%.0s' $(seq 4096) |
			dd of="$f" bs=4096 seek=2 conv=notrunc status=none ||
			fail "smash $f"
	done < <(find "$1/data" -type f)
}

# reboot_journal BACKING: make the journal look written on another boot.
reboot_journal()
{
	printf 'another-boot-of-this-machine\0' |
		dd of="$1/journal" bs=1 seek=24 conv=notrunc status=none ||
		fail "cannot edit $1/journal"
}

# journal_sum BACKING: a checksum of the journal file (records written
# after a reset overwrite older ones, so its size need not change).
# replay_logged yes|no MNT WHAT: the daemon on MNT logged a replay of the
# journal (yes) or did not (no); fails with WHAT and the log otherwise.
replay_logged()
{
	local log rc=0

	log=$(daemon_log "$2")
	grep -qF "$REPLAY_MSG" "$log" || rc=1
	case $1$rc in
	yes1 | no0) fail "$3: $(cat "$log")" ;;
	esac
}

journal_sum()
{
	cksum <"$1/journal" 2>/dev/null || echo none
}

# journal_changed BACKING SUM: the journal's checksum is no longer SUM.
journal_changed()
{
	[ "$(journal_sum "$1")" != "$2" ]
}

fsck_clean()
{
	local rc=0

	timeout 60 "$FSCK" -n "$1" >"$T/fsck.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "fsck.sparsefs -n $1 after $2: exit $rc: $(cat "$T/fsck.out")"
}

run_case()
{
	# OPTS: -o options for this backing ("journal," on a plain directory,
	# none on exFAT). The checkpointer waits an hour here, so that the
	# journal still holds its records when the daemon is killed.
	local what=$1 b=$2 m=$3 opts=$4 log sum
	local keep=${opts}journal_idle=3600

	# --- in effect
	mkdir -p "$m"
	sfs_mount "$b" "$m" -o "$keep"
	sum=$(journal_sum "$b")
	put "$m/f" A "$OFF" 4096 1 0 1 2 3 4 5 6 7
	journal_changed "$b" "$sum" ||
		fail "$what: an fsync of 8 small changes wrote nothing to the journal"
	if command -v strace >/dev/null; then
		local pid
		pid=$(find_pid "$SPARSEFS" "$(canon "$m")") || fail "no daemon pid"
		put "$m/f" A "$OFF" 4096 0 0 1 2 3 4 5 6 7
		timeout 30 strace -f -qq -e trace=fdatasync,fsync -p "$pid" \
			-o "$T/strace.$what" &
		local spid=$!
		sleep 1
		put "$m/f" A "$OFF" 4096 1
		sleep 1
		kill -INT "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		# The journal and the metadata: 2, not 8 chunk files + 1.
		local n
		n=$(grep -c 'sync(' "$T/strace.$what")
		[ "$n" -le 3 ] ||
			fail "$what: an fsync of 8 changed chunks made $n backing syncs: $(cat "$T/strace.$what")"
		note "$what: fsync of 8 changed chunks: $n backing syncs"
	fi
	ok "$what: fsync of small changes in 8 chunks goes to the journal"

	# --- replay after a (faked) machine restart
	# Unsynced: chunk 7 grows past its journaled bytes.
	put "$m/f" x $((64 << 10)) 4096 0 7
	kill_daemon "$m"
	smash "$b"
	# One chunk file's name was lost altogether (chunk 7's).
	rm -f -- "$(find "$b/data" -type f | sort | tail -n 1)"
	reboot_journal "$b"
	sfs_mount "$b" "$m" -o "$keep"
	replay_logged yes "$m" "$what: no replay logged after a faked reboot"
	expect "$m/f" A 0 1 2 3 4 5 6 7
	sfs_umount "$m"
	fsck_clean "$b" "$what: replay"
	sfs_mount "$b" "$m" -o "$keep"
	ok "$what: after kill -9, lost chunk bytes and a reboot, the journal brings back every fsynced byte"

	# --- same boot: newer bytes win
	put "$m/f" B "$OFF" 4096 1 0 1 2 3 4 5 6 7
	put "$m/f" C "$OFF" 4096 0 0 1 2 3 4 5 6 7
	kill_daemon "$m"
	sfs_mount "$b" "$m" -o "$keep"
	replay_logged no "$m" "$what: replayed on the same boot"
	log=$(daemon_log "$m")
	grep -qF "fsync journal: synced the" "$log" ||
		fail "$what: the journal's chunk files were not synced at mount: $(cat "$log")"
	expect "$m/f" C 0 1 2 3 4 5 6 7
	ok "$what: on the same boot, bytes written after the last fsync survive kill -9"

	# --- revoke: chunk 0 synced in place after it was journaled
	put "$m/f" D "$OFF" 4096 1 0 1 2 3 4 5 6 7
	put "$m/f" E 0 $((128 << 10)) 1 0
	kill_daemon "$m"
	# Chunk 0 was synced in place: only the others may have lost bytes.
	local c0
	c0=$(find "$b/data" -type f | sort | head -n 1)
	cp -- "$c0" "$T/c0" || fail "cp $c0"
	smash "$b"
	cp -- "$T/c0" "$c0" || fail "cp back $c0"
	reboot_journal "$b"
	sfs_mount "$b" "$m" -o "$keep"
	expect "$m/f" E 0
	expect "$m/f" D 1 2 3 4 5 6 7
	ok "$what: a chunk synced in place after it was journaled keeps its newer bytes in a replay"

	# --- a clean unmount empties the journal
	put "$m/f" F "$OFF" 4096 1 0 1 2 3 4 5 6 7
	sfs_umount "$m"
	reboot_journal "$b"
	sfs_mount "$b" "$m" -o "$keep"
	replay_logged no "$m" "$what: a replay after a clean unmount"
	expect "$m/f" F 0 1 2 3 4 5 6 7
	ok "$what: a clean unmount leaves nothing to replay"

	# --- closed files the kernel forgot: past 256 kept for their dirty
	# chunks, all of them are flushed together
	sum=$(journal_sum "$b")
	"$PY" - "$m" <<'PY' || fail "$what: writing 300 files"
import os, sys
for i in range(300):
    fd = os.open("%s/h%03d" % (sys.argv[1], i), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"h")
    os.close(fd)
PY
	! journal_changed "$b" "$sum" ||
		fail "$what: the journal changed without an fsync"
	sync
	echo 2 >/proc/sys/vm/drop_caches
	wait_until 20 journal_changed "$b" "$sum" ||
		fail "$what: 300 closed files with unsynced data, forgotten by the kernel, were not flushed"
	ok "$what: past 256 closed files kept for their unsynced chunks, all are flushed"

	# --- a file the kernel forgot: a later fsync still covers its writes
	put "$m/g" K "$OFF" 4096 0 0 1 2 3 4 5 6 7
	sync
	echo 2 >/proc/sys/vm/drop_caches
	sleep 2
	sum=$(journal_sum "$b")
	put "$m/g" K "$OFF" 4096 1
	journal_changed "$b" "$sum" ||
		fail "$what: an fsync through a new open after the kernel forgot the file did not cover its earlier writes"
	expect "$m/g" K 0 1 2 3 4 5 6 7
	ok "$what: an fsync after the kernel forgot a file still makes its earlier writes durable"

	# --- the checkpointer: idle for a moment, the journal is emptied
	sfs_umount "$m"
	sfs_mount "$b" "$m" -o "${opts}journal_idle=0.2"
	put "$m/f" L "$OFF" 4096 1 0 1 2 3 4 5 6 7
	put "$m/f" M "$OFF" 4096 0 0 1 2 3 4 5 6 7
	sleep 2
	kill_daemon "$m"
	reboot_journal "$b"
	sfs_mount "$b" "$m" -o "$keep"
	replay_logged no "$m" "$what: the journal was not emptied after 0.2 s without an fsync"
	expect "$m/f" M 0 1 2 3 4 5 6 7
	ok "$what: the journal is emptied once no fsync wrote to it for journal_idle; newer bytes are kept"

	# --- -o no_journal first deals with a journal left behind
	put "$m/f" G "$OFF" 4096 1 0 1 2 3 4 5 6 7
	kill_daemon "$m"
	smash "$b"
	reboot_journal "$b"
	sfs_mount "$b" "$m" -o no_journal
	replay_logged yes "$m" "$what: -o no_journal did not replay the journal left behind"
	expect "$m/f" G 0 1 2 3 4 5 6 7
	sum=$(journal_sum "$b")
	put "$m/f" H "$OFF" 4096 1 0 1 2 3 4 5 6 7
	! journal_changed "$b" "$sum" ||
		fail "$what: the journal changed with -o no_journal"
	sfs_umount "$m"
	fsck_clean "$b" "$what"
	ok "$what: -o no_journal replays a journal left behind, then writes none; fsck clean"

	# --- fsck.sparsefs -y writes a journal left behind back first
	sfs_mount "$b" "$m" -o "$keep"
	put "$m/f" P "$OFF" 4096 1 0 1 2 3 4 5 6 7
	kill_daemon "$m"
	smash "$b"
	reboot_journal "$b"
	local rc=0
	timeout 60 "$FSCK" -y "$b" >"$T/fsck.out" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || fail "$what: fsck.sparsefs -y after a faked reboot: exit $rc: $(cat "$T/fsck.out")"
	sfs_mount "$b" "$m" -o "$keep"
	replay_logged no "$m" "$what: the mount after fsck -y found a journal to replay"
	expect "$m/f" P 0 1 2 3 4 5 6 7
	sfs_umount "$m"
	ok "$what: fsck.sparsefs -y writes the journal's records back before it checks"
}

mkdir -p "$T/plain/b"
run_case plain "$T/plain/b" "$T/plain/m" journal,

exfat_bed 256M "$T/ex"
mkdir -p "$T/ex/b"
run_case exfat "$T/ex/b" "$T/exm" ""
