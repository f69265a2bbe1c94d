#!/bin/bash
# t0330-bigdir: one directory with 100,000 entries, over a plain directory
# and over an exFAT bed (names live in LMDB, not on the backing, so exFAT's
# own directory limits do not apply).
#
# On each: 100,000 empty files made by posix_probe mkfiles (the time is
# shown); after a remount (cold kernel caches) getdents64 returns every
# name exactly once, with 32 KiB and with 1 KiB buffers, and ls -f counts
# 100,002 entries; while another process creates and deletes other names
# all through a slow listing (small buffers, a pause between calls), every
# one of the 100,000 names still appears exactly once, no name appears
# twice and nothing else but the other process's names appears; 1000
# lstat calls of random names (cold, after a remount) are timed and shown,
# failing only when absurdly slow (over 20 s); the backing holds a handful
# of files, not 100,000.
# Two names whose readdir cookies collide are both listed whatever the
# reply boundaries (1500 other names added one by one; on ext4 first).
. "${TESTLIB:?TESTLIB is not set}" || exit 1
require_root # exFAT bed

PROBE=$(helper posix_probe) || exit 1
T=$SFS_TMP
N=100000
seq 0 $((N - 1)) | sed 's/^/f/' | sort >"$T/want" || fail "expected names"

# listing_is WHAT FILE: FILE holds every expected name exactly once and
# nothing else.
listing_is()
{
	local dups

	dups=$(sort "$2" | uniq -d | head -n 5)
	[ -z "$dups" ] || fail "$LABEL: $1: names listed twice: $dups"
	sort "$2" | cmp -s - "$T/want" ||
		fail "$LABEL: $1: $(wc -l <"$2") names, not the $N expected: $(sort "$2" | diff - "$T/want" | head -n 5)"
}

elapsed_ms()
{
	echo $(($(date +%s%N) / 1000000 - $1))
}

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# Two names whose sparsefs readdir cookies are equal (the top 62 bits of
# their 64-bit FNV-1a hashes, 0x16f70d57388e9c9f, found by a
# distinguished-point collision search).  Entries that share a cookie must
# still each be listed once when a getdents reply ends between them.  With
# another cookie function they are just two more names.
COLL_A=e42NCDCqXCD
COLL_B=V-uFmoQJzQD
# Failures that do not stop the test (the other checks still run).
FAILS=()

# collision_sweep DIR: the two names, then 1500 others added one at a time
# (each shifts the reply boundaries by one entry); after each addition a
# listing with a 1 KiB buffer must show both names.
collision_sweep()
{
	local d=$1 k out missing

	mkdir "$d" && : >"$d/$COLL_A" && : >"$d/$COLL_B" ||
		fail "$LABEL: create the colliding names"
	for ((k = 0; k < 1500; k++)); do
		: >"$d/p$k" || fail "$LABEL: create p$k"
		out=$'\n'$("$PROBE" listdir "$d" 1024)$'\n' ||
			fail "$LABEL: listdir $d"
		missing=
		[[ $out == *$'\n'$COLL_A$'\n'* ]] || missing+=" $COLL_A"
		[[ $out == *$'\n'$COLL_B$'\n'* ]] || missing+=" $COLL_B"
		if [ -n "$missing" ]; then
			echo "# $LABEL: a directory holding $COLL_A, $COLL_B and p0..p$k: getdents64 with a 1 KiB buffer (posix_probe listdir DIR 1024) misses$missing"
			FAILS+=("$LABEL: same-cookie names missed by readdir")
			return
		fi
	done
	expect_eq "$("$PROBE" listdir "$d" 4096 | wc -l)" $((k + 2)) \
		"$LABEL: entries listed with a 4 KiB buffer"
	ok "$LABEL: two names with the same cookie both listed at every reply boundary ($k other names)"
}

pass()
{
	local b=$2 m=$T/m start ms out churner made n_backing

	LABEL=$1
	mkdir -p "$b" "$m" || fail "mkdir $b $m"
	sfs_mount "$b" "$m"
	mkdir "$m/big" || fail "$LABEL: mkdir big"
	start=$(now_ms)
	out=$("$PROBE" mkfiles "$m/big" "$N") || fail "$LABEL: mkfiles: $out"
	note "$LABEL: $N files created in $(elapsed_ms "$start") ms"

	sfs_umount "$m"
	sfs_mount "$b" "$m"
	start=$(now_ms)
	"$PROBE" listdir "$m/big" >"$T/got" || fail "$LABEL: listdir"
	note "$LABEL: cold listing of $N names in $(elapsed_ms "$start") ms"
	listing_is "getdents64, 32 KiB buffer" "$T/got"
	"$PROBE" listdir "$m/big" 1024 >"$T/got" || fail "$LABEL: listdir 1 KiB"
	listing_is "getdents64, 1 KiB buffer" "$T/got"
	expect_eq "$(ls -f "$m/big" | wc -l)" $((N + 2)) "$LABEL: ls -f entries"
	expect_eq "$(stat -c %h "$m/big")" 2 "$LABEL: nlink of a dir of files"
	ok "$LABEL: $N names listed exactly once"

	# A slow listing while another process creates and deletes names.
	rm -f "$T/stop"
	"$PROBE" churn "$m/big" c 60000 "$T/stop" >"$T/churn" 2>&1 &
	churner=$!
	sleep 0.3
	start=$(now_ms)
	"$PROBE" listdir "$m/big" 2048 500 >"$T/got" || fail "$LABEL: listdir during churn"
	ms=$(elapsed_ms "$start")
	kill -0 "$churner" 2>/dev/null ||
		fail "$LABEL: the churning process ended before the listing did: $(cat "$T/churn")"
	touch "$T/stop"
	wait "$churner" || fail "$LABEL: churn failed: $(cat "$T/churn")"
	made=$(cat "$T/churn")
	note "$LABEL: listing took $ms ms while $made names were created and deleted"
	[ "$made" -gt 100 ] || fail "$LABEL: only $made names churned during the listing"
	grep -v '^c[0-9]*$' "$T/got" >"$T/got.f"
	listing_is "listing during churn" "$T/got.f"
	out=$(grep '^c[0-9]*$' "$T/got" | sort | uniq -d | head -n 5)
	[ -z "$out" ] || fail "$LABEL: churned names listed twice: $out"
	expect_eq "$(find "$m/big" -mindepth 1 -name 'c*' | wc -l)" 0 "$LABEL: churned names left"
	ok "$LABEL: listing during churn: each of the $N names once, $(grep -c '^c' "$T/got") churned names seen, none twice"

	sfs_umount "$m"
	sfs_mount "$b" "$m"
	out=$("$PROBE" statmany "$m/big" f "$N" 1000) || fail "$LABEL: statmany: $out"
	note "$LABEL: cold: $out"
	ms=$(echo "$out" | awk '{ print $4 }')
	[ "$ms" -le 20000 ] || fail "$LABEL: 1000 lookups took $ms ms"
	out=$("$PROBE" statmany "$m/big" f "$N" 1000) || fail "$LABEL: statmany: $out"
	note "$LABEL: warm: $out"
	ok "$LABEL: 1000 random lookups"

	collision_sweep "$m/coll"
	n_backing=$(find "$b" | wc -l)
	note "$LABEL: the backing holds $n_backing entries"
	[ "$n_backing" -lt 1000 ] ||
		fail "$LABEL: the backing holds $n_backing entries for $N empty files"
	sfs_umount "$m"
	check_store "$b"
}

LABEL="reference ($(df --output=fstype "$T" | tail -n 1 | tr -d ' '))"
collision_sweep "$T/ref"
pass "sparsefs on a plain dir" "$T/b"
exfat_bed 512M "$T/x"
pass "sparsefs on exFAT" "$T/x/b"

[ "${#FAILS[@]}" = 0 ] || fail "$(printf '%s; ' "${FAILS[@]}")"
echo "t0330-bigdir: all passed"
exit 0
