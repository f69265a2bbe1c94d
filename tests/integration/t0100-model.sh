#!/bin/bash
# t0100-model: the randomized model test (tests/helpers/model.c) against
# sparsefs: random writes (data, zeros, whole chunks), reads (buffered,
# O_DIRECT, through a shared mapping), truncates, fallocate in every
# supported mode, copy_file_range within the file, SEEK_DATA/SEEK_HOLE and
# fstat, each checked against an in-memory model, the whole file compared
# now and then.
#
# Six stores: over a plain directory and over exFAT (a bed each), with the
# default 1 MiB chunks, with 64 KiB chunks (to cross chunk boundaries
# often), and mounted with -o writeback_cache (the kernel holds written
# data back: SEEK_DATA/SEEK_HOLE, reads, mappings and fallocate must still
# see it).  In each, one file per seed; all runs go side by side (up to
# SFS_MODEL_JOBS at once), which also has the daemons serve several files
# at a time.  Then every store is unmounted and mounted again, after which
# every file must hold what its model says (the helper writes that to a
# copy on the test's own file system), fsck.sparsefs -n (when FSCK names
# it, as make check does) must find the unmounted store clean, and
# removing the files must leave no chunk file behind.
#
#   SFS_MODEL_SEEDS  seeds to run (default "1 2 3")
#   SFS_MODEL_OPS    operations per seed (default 3000)
#   SFS_MODEL_SIZE   largest file size (default 64M)
#   SFS_MODEL_JOBS   model runs at once (default 8)
#   SFS_MODEL_STORES the stores to use (default
#                    "plain plain-64k plain-wb exfat exfat-64k exfat-wb")
. "${TESTLIB:?TESTLIB is not set}" || exit 1

MODEL=$(helper model) || exit 1
SEEDS=${SFS_MODEL_SEEDS:-1 2 3}
OPS=${SFS_MODEL_OPS:-3000}
MAXSIZE=${SFS_MODEL_SIZE:-64M}
JOBS=${SFS_MODEL_JOBS:-8}
STORES=${SFS_MODEL_STORES:-plain plain-64k plain-wb exfat exfat-64k exfat-wb}
T=$SFS_TMP

max_bytes=$(numfmt --from=iec "$MAXSIZE") || fail "SFS_MODEL_SIZE=$MAXSIZE is not a size"
nseeds=$(wc -w <<<"$SEEDS")
# An exFAT bed holds every file at its largest, twice over, and the store.
bed_mib=$((nseeds * max_bytes * 2 / 1048576 + 256))
[ "$bed_mib" -ge 1024 ] || bed_mib=1024

# The stores: label, backing, mount point, chunk size, sparsefs options.
LABELS=()
declare -A BACKING MNT CHUNK

# add_store LABEL BACKING MNT CHUNK [SPARSEFS OPTIONS...]
add_store()
{
	local label=$1 b=$2 m=$3 chunk=$4
	shift 4

	mkdir -p "$b" "$m" || fail "mkdir $b $m"
	sfs_mount "$b" "$m" "$@"
	LABELS+=("$label")
	BACKING[$label]=$b
	MNT[$label]=$m
	CHUNK[$label]=$chunk
}

no_chunks()
{
	[ "$(chunk_count "$1")" -eq 0 ]
}

# The running model processes, oldest first: pid and "label seed".
RUN_PIDS=()
RUN_WHAT=()

# reap_one: wait for the oldest run; fail with its output if it failed.
reap_one()
{
	local pid=${RUN_PIDS[0]} label seed rc=0

	read -r label seed <<<"${RUN_WHAT[0]}"
	RUN_PIDS=("${RUN_PIDS[@]:1}")
	RUN_WHAT=("${RUN_WHAT[@]:1}")
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] ||
		fail "$label: model -s $seed -n $OPS -z $MAXSIZE -c ${CHUNK[$label]} ${MNT[$label]}/model.$seed exited with status $rc:
$(cat "$T/out.$label.$seed")"
	note "$(cat "$T/out.$label.$seed")"
	ok "$label: model seed $seed, $OPS ops, chunk ${CHUNK[$label]}"
}

# start_run LABEL SEED
start_run()
{
	local label=$1 seed=$2

	while [ ${#RUN_PIDS[@]} -ge "$JOBS" ]; do
		reap_one
	done
	"$MODEL" -s "$seed" -n "$OPS" -z "$MAXSIZE" -c "${CHUNK[$label]}" \
		-o "$T/copies/$label.$seed" "${MNT[$label]}/model.$seed" \
		>"$T/out.$label.$seed" 2>&1 &
	RUN_PIDS+=("$!")
	RUN_WHAT+=("$label $seed")
}

if [ -n "${FSCK:-}" ]; then
	[ -x "$FSCK" ] || fail "FSCK=$FSCK is not an executable"
else
	note "FSCK is not set: the stores are not checked with fsck.sparsefs"
fi

# The helper's own sanity on the test's file system: a failure here is the
# helper's (or that file system's), not the daemon's.
"$MODEL" -s 1 -n 500 -z 8M -c 64K "$T/reference" >/dev/null ||
	fail "model fails on ${TMPDIR:-/tmp} itself"
rm -f "$T/reference"
mkdir -p "$T/copies" || fail "mkdir"

for label in $STORES; do
	case $label in
	plain) add_store plain "$T/plain/b" "$T/plain/m" 1M ;;
	plain-64k)
		add_store plain-64k "$T/plain64/b" "$T/plain64/m" 64K \
			-o chunk_size=64K
		;;
	plain-wb)
		add_store plain-wb "$T/plainwb/b" "$T/plainwb/m" 1M \
			-o writeback_cache
		;;
	# One exFAT bed per store: exfat-fuse serves one request at a time.
	exfat)
		exfat_bed ${bed_mib}M "$T/ex"
		add_store exfat "$T/ex/store" "$T/exm" 1M
		;;
	exfat-64k)
		exfat_bed ${bed_mib}M "$T/ex64"
		add_store exfat-64k "$T/ex64/store" "$T/exm64" 64K \
			-o chunk_size=64K
		;;
	exfat-wb)
		exfat_bed ${bed_mib}M "$T/exwb"
		add_store exfat-wb "$T/exwb/store" "$T/exmwb" 1M \
			-o writeback_cache
		;;
	*) fail "SFS_MODEL_STORES: no store called $label" ;;
	esac
done

start=$SECONDS
# Interleave the stores so that each gets going at once.
for seed in $SEEDS; do
	for label in "${LABELS[@]}"; do
		start_run "$label" "$seed"
	done
done
while [ ${#RUN_PIDS[@]} -gt 0 ]; do
	reap_one
done
note "all model runs: $((SECONDS - start)) s"

for label in "${LABELS[@]}"; do
	m=${MNT[$label]}
	b=${BACKING[$label]}
	sfs_umount "$m"
	fsck_rc=0
	if [ -n "${FSCK:-}" ]; then
		"$FSCK" -n "$b" >"$T/fsck.$label" 2>&1 || fsck_rc=$?
	fi
	sfs_mount "$b" "$m"
	for seed in $SEEDS; do
		expect_eq "$(size_of "$m/model.$seed")" \
			"$(size_of "$T/copies/$label.$seed")" \
			"$label: size of model.$seed after a remount"
		cmp "$m/model.$seed" "$T/copies/$label.$seed" ||
			fail "$label: model.$seed differs from its model after a remount"
	done
	ok "$label: every file holds what its model says after a remount"
	if [ -n "${FSCK:-}" ]; then
		[ "$fsck_rc" = 0 ] ||
			fail "$label: fsck.sparsefs -n $b after the model runs exited with status $fsck_rc:
$(head -n 40 "$T/fsck.$label")"
		ok "$label: fsck.sparsefs -n finds the store clean"
	fi
	rm -f "$m"/model.* || fail "$label: rm"
	wait_until 10 no_chunks "$b" ||
		fail "$label: $(chunk_count "$b") chunk files left after removing every file"
	ok "$label: removing the files freed every chunk file"
	sfs_umount "$m"
	rm -f "$T/copies/$label".*
done

echo "t0100-model: all passed"
exit 0
