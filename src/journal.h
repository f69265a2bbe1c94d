/*
 * journal.h - the fsync journal: one file in the store that makes scattered
 * chunk data durable with one fdatasync instead of one per chunk file.
 *
 * Used where the backing has no syncfs() that reaches the disk (exFAT
 * through FUSE, drvfs), so that an fsync of a file dirty in many chunks
 * would otherwise cost one backing fsync per chunk file. The chunk layer
 * decides what goes in (see chunk.c); this file only keeps the records.
 *
 * On disk (STORE_JOURNAL_NAME, host byte order):
 *   bytes 0..4095  header: "SFSJRNL1", generation (u64), CRC-32C of
 *                  those 16 bytes (u32), 4 bytes of padding, then at byte
 *                  24 the boot id of the machine that wrote it (NUL-padded
 *                  text, 40 bytes);
 *   from 4096      records, one after another: a 64-byte head (magic,
 *                  kind, generation, sequence number from 0, inode, chunk
 *                  index, chunk id, offset in the chunk, length, CRC-32C
 *                  of head and data) and @len bytes of data.
 * A record counts only if its magic, generation, sequence number and CRC
 * are right; the first one that is not ends the journal. Starting a new
 * generation (journal_reset) rewrites the header only: the older records
 * behind it no longer count.
 *
 * Not thread safe: the caller serializes all calls.
 */
#ifndef SFS_JOURNAL_H
#define SFS_JOURNAL_H

#include "sfs.h"

#include "backing.h"

#define STORE_JOURNAL_NAME "journal"

/* Offset of the first record, and the size of one record's head. */
#define JOURNAL_HEAD_SIZE 4096
#define JOURNAL_REC_HEAD 64

enum journal_kind {
	/* @len bytes of chunk @id at @off, as they were at an fsync. */
	JOURNAL_DATA = 1,
	/* Chunk @id was made durable in place: earlier records of it no
	 * longer count. */
	JOURNAL_REVOKE = 2,
};

struct journal_rec {
	enum journal_kind kind;
	uint64_t ino, idx, id;
	uint32_t off, len;
	/* DATA: @len bytes (journal_append reads them from here). */
	const void *data;
};

struct journal {
	struct backing *b;
	int fd;
	uint64_t gen;
	/* Next record's sequence number and file offset. */
	uint64_t seq;
	uint64_t tail;
	/* The header's boot id when the journal was opened, and this boot's. */
	char found_boot[40];
	char boot[40];
};

/* CRC-32C (Castagnoli) of @len bytes, continuing from @crc (0 to start). */
uint32_t journal_crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * Open (creating if missing) the journal of the store on @b. Reads the
 * header; a missing or damaged one reads as an empty journal from an
 * unknown boot. Returns 0 or -errno.
 */
int journal_open(struct journal *j, struct backing *b);
void journal_close(struct journal *j);

/* Whether the header was written on this boot of the machine (so the
 * backing's own cache has outlived whatever stopped the last daemon). */
bool journal_same_boot(const struct journal *j);

/*
 * Call @fn for every record of the current generation, in order, until it
 * returns non-zero (returned). DATA records come with their data. Leaves
 * the append position after the last good record. Returns 0, @fn's value,
 * or -errno.
 */
int journal_scan(struct journal *j,
		 int (*fn)(void *arg, const struct journal_rec *rec),
		 void *arg);

/* Start a new, empty generation written on this boot, durably: 0 or
 * -errno. */
int journal_reset(struct journal *j);

/* Bytes that @n records with @data_bytes of data take. */
uint64_t journal_size_of(size_t n, uint64_t data_bytes);

/* Bytes of records since the last reset. */
uint64_t journal_used(const struct journal *j);

/*
 * Append @n records and make them durable (one write, one fdatasync).
 * Returns 0 or -errno; on failure the append position is unchanged, and
 * what was written there may or may not count after a crash.
 */
int journal_append(struct journal *j, const struct journal_rec *recs,
		   size_t n);

#endif
