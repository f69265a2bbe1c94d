/*
 * journal.c - see journal.h for the format.
 *
 * The header carries the boot id (/proc/sys/kernel/random/boot_id) of the
 * machine that wrote it: records found after a stop on the same boot are
 * only a list of chunk files to sync (the backing's cache holds their
 * newest bytes, perhaps newer than the records); after a restart of the
 * machine they are data to write back.
 */
#include "sfs.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "journal.h"

#define JOURNAL_MAGIC "SFSJRNL1"
#define REC_MAGIC 0x4a52434bu /* "KCRJ" */

/* Layout of the header's first 64 bytes and of a record head. */
struct jhead {
	char magic[8];
	uint64_t gen;
	/* Of magic and gen: a damaged boot id only means another boot. */
	uint32_t crc, pad;
	char boot[40];
};

struct jrec {
	uint32_t magic, kind;
	uint64_t gen, seq, ino, idx, id;
	uint32_t off, len, crc, pad;
};

_Static_assert(sizeof(struct jhead) == 64, "journal header layout");
_Static_assert(sizeof(struct jrec) == JOURNAL_REC_HEAD, "record layout");

/* Largest record data: a whole chunk of the largest size. */
#define REC_DATA_MAX (64u << 20)

static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t v = i;
		for (int k = 0; k < 8; k++)
			v = v & 1 ? (v >> 1) ^ 0x82F63B78u : v >> 1;
		crc_table[i] = v;
	}
}

uint32_t journal_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const unsigned char *p = buf;

	pthread_once(&once, crc_table_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	memset(buf, 0, len);
	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "unknown");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

int journal_open(struct journal *j, struct backing *b)
{
	struct jhead h;
	ssize_t n;

	memset(j, 0, sizeof(*j));
	j->b = b;
	read_boot_id(j->boot, sizeof(j->boot));
	j->fd = b->ops->open(b, STORE_JOURNAL_NAME, O_RDWR | O_CREAT, 0600);
	if (j->fd < 0)
		return j->fd;
	n = backing_pread_all(b, j->fd, &h, sizeof(h), 0);
	if (n < 0) {
		int r = (int)n;
		journal_close(j);
		return r;
	}
	if (n == sizeof(h) && !memcmp(h.magic, JOURNAL_MAGIC, 8) &&
	    h.crc == journal_crc32c(0, &h, offsetof(struct jhead, crc))) {
		h.boot[sizeof(h.boot) - 1] = 0;
		j->gen = h.gen;
		memcpy(j->found_boot, h.boot, sizeof(h.boot));
	}
	j->tail = JOURNAL_HEAD_SIZE;
	return 0;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0 && j->b)
		j->b->ops->close(j->b, j->fd);
	j->fd = -1;
}

bool journal_same_boot(const struct journal *j)
{
	return j->found_boot[0] && !strcmp(j->found_boot, j->boot);
}

int journal_scan(struct journal *j,
		 int (*fn)(void *arg, const struct journal_rec *rec),
		 void *arg)
{
	uint64_t pos = JOURNAL_HEAD_SIZE, seq = 0;
	char *data = NULL;
	size_t cap = 0;
	int r = 0;

	for (;;) {
		struct jrec h;
		struct journal_rec rec;
		uint32_t crc;
		ssize_t n = backing_pread_all(j->b, j->fd, &h, sizeof(h), pos);

		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n != sizeof(h) || h.magic != REC_MAGIC || h.gen != j->gen ||
		    h.seq != seq || h.len > REC_DATA_MAX ||
		    (h.kind != JOURNAL_DATA && h.kind != JOURNAL_REVOKE))
			break;
		if (h.len > cap) {
			char *p = realloc(data, h.len);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			data = p;
			cap = h.len;
		}
		n = h.len ? backing_pread_all(j->b, j->fd, data, h.len,
					      pos + sizeof(h))
			  : 0;
		if (n < 0) {
			r = (int)n;
			break;
		}
		if ((size_t)n != h.len)
			break;
		crc = h.crc;
		h.crc = 0;
		if (crc != journal_crc32c(journal_crc32c(0, &h, sizeof(h)),
					  data, h.len))
			break;
		pos += sizeof(h) + h.len;
		seq++;
		rec = (struct journal_rec){h.kind, h.ino,   h.idx, h.id,
					   h.off,  h.len,   data};
		r = fn(arg, &rec);
		if (r)
			break;
	}
	if (r == 0) {
		j->tail = pos;
		j->seq = seq;
	}
	free(data);
	return r;
}

int journal_reset(struct journal *j)
{
	struct jhead h;
	int r;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, JOURNAL_MAGIC, 8);
	h.gen = j->gen + 1;
	memcpy(h.boot, j->boot, sizeof(h.boot));
	h.boot[sizeof(h.boot) - 1] = 0;
	h.crc = journal_crc32c(0, &h, offsetof(struct jhead, crc));
	r = backing_pwrite_all(j->b, j->fd, &h, sizeof(h), 0);
	if (r == 0)
		r = j->b->ops->fsync(j->b, j->fd, 1);
	if (r < 0)
		return r;
	j->gen = h.gen;
	memcpy(j->found_boot, h.boot, sizeof(h.boot));
	j->seq = 0;
	j->tail = JOURNAL_HEAD_SIZE;
	return 0;
}

uint64_t journal_size_of(size_t n, uint64_t data_bytes)
{
	return n * (uint64_t)JOURNAL_REC_HEAD + data_bytes;
}

uint64_t journal_used(const struct journal *j)
{
	return j->tail - JOURNAL_HEAD_SIZE;
}

int journal_append(struct journal *j, const struct journal_rec *recs,
		   size_t n)
{
	uint64_t bytes = 0, seq = j->seq;
	char *buf, *p;
	int r;

	for (size_t i = 0; i < n; i++)
		bytes += journal_size_of(1, recs[i].len);
	if (n == 0)
		return 0;
	buf = malloc(bytes);
	if (!buf)
		return -ENOMEM;
	p = buf;
	for (size_t i = 0; i < n; i++) {
		const struct journal_rec *rec = &recs[i];
		struct jrec h = {REC_MAGIC, rec->kind, j->gen,  seq++, rec->ino,
				 rec->idx,  rec->id,   rec->off, rec->len, 0, 0};
		uint32_t crc = journal_crc32c(0, &h, sizeof(h));

		h.crc = journal_crc32c(crc, rec->data, rec->len);
		memcpy(p, &h, sizeof(h));
		if (rec->len)
			memcpy(p + sizeof(h), rec->data, rec->len);
		p += sizeof(h) + rec->len;
	}
	r = backing_pwrite_all(j->b, j->fd, buf, bytes, j->tail);
	free(buf);
	if (r == 0)
		r = j->b->ops->fsync(j->b, j->fd, 1);
	if (r < 0)
		return r;
	j->tail += bytes;
	j->seq = seq;
	return 0;
}
