/*
 * lmdb_bench - time LMDB writes and random reads in one directory.
 *
 *   lmdb_bench [--writemap] [--nosync] [--mapsize BYTES] [--keys N]
 *              [--txn N] [--seed S] [--drop-caches [--sync PATH]] DIR
 *
 * Write phase: create the environment in DIR (made if missing) with a map
 * of BYTES (default 1 TiB; K, M, G, T suffixes), put N (default 200000)
 * random 16-byte keys with 100-byte values, --txn (default 1000) puts per
 * write transaction, close the environment.  Read phase: open it again and
 * get every key in a random order (a fresh shuffle), checking every value.
 * --writemap and --nosync add MDB_WRITEMAP and MDB_NOSYNC to both opens.
 * --drop-caches: between the phases (not timed), syncfs the file system of
 * DIR (and that of PATH, given --sync: the backing under a FUSE mount), then
 * drop the page cache (needs root), so the read phase starts cold.  Not a
 * global sync(): a hung FUSE mount elsewhere on the machine must not hang
 * the benchmark.
 *
 * Output on success, seconds, one per line:
 *     write 1.234567
 *     read 0.123456
 *     total 1.358023
 * On failure, exit 1 with one line "error: CALL: MESSAGE" on stdout (and on
 * stderr), e.g. "error: mdb_env_open: No space left on device"; exit 2 on
 * bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "size_arg.h"

#define KEY_LEN 16
#define VALUE_LEN 100

struct bench {
	const char *dir;
	uint64_t mapsize;
	uint64_t nkeys;
	uint64_t per_txn;
	uint64_t seed;
	unsigned int flags;
	int drop_caches;
	const char *sync_also;
	unsigned char *keys; /* nkeys * KEY_LEN */
	size_t *order;	     /* nkeys indexes */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: lmdb_bench [--writemap] [--nosync] [--mapsize BYTES] "
		"[--keys N] [--txn N]\n"
		"                  [--seed S] [--drop-caches [--sync PATH]] "
		"DIR\n");
	exit(2);
}

static int fail(const char *what, int rc)
{
	printf("error: %s: %s\n", what, mdb_strerror(rc));
	fprintf(stderr, "lmdb_bench: %s: %s\n", what, mdb_strerror(rc));
	return 1;
}

/* splitmix64: small, fast and good enough to spread keys and shuffle. */
static uint64_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The value stored under @key: derived from the key alone. */
static void value_of(const unsigned char *key, unsigned char *val)
{
	for (int i = 0; i < VALUE_LEN; i++)
		val[i] = key[i % KEY_LEN] ^ (unsigned char)(i * 31);
}

static void shuffle(struct bench *b, uint64_t *state)
{
	for (size_t i = 0; i < b->nkeys; i++)
		b->order[i] = i;
	for (size_t i = b->nkeys; i > 1; i--) {
		size_t j = next_rand(state) % i;
		size_t t = b->order[i - 1];

		b->order[i - 1] = b->order[j];
		b->order[j] = t;
	}
}

static int open_env(struct bench *b, MDB_env **env, const char *phase)
{
	char what[64];
	int rc;

	rc = mdb_env_create(env);
	if (rc)
		return fail("mdb_env_create", rc);
	rc = mdb_env_set_mapsize(*env, b->mapsize);
	if (rc) {
		mdb_env_close(*env);
		return fail("mdb_env_set_mapsize", rc);
	}
	rc = mdb_env_open(*env, b->dir, b->flags, 0644);
	if (rc) {
		mdb_env_close(*env);
		snprintf(what, sizeof(what), "mdb_env_open (%s)", phase);
		return fail(what, rc);
	}
	return 0;
}

static int write_phase(struct bench *b)
{
	unsigned char val[VALUE_LEN];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t i = 0;
	int rc;

	if (open_env(b, &env, "write"))
		return 1;
	while (i < b->nkeys) {
		size_t end = i + b->per_txn;

		if (end > b->nkeys)
			end = b->nkeys;
		rc = mdb_txn_begin(env, NULL, 0, &txn);
		if (rc) {
			fail("mdb_txn_begin", rc);
			goto err_env;
		}
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
		if (rc) {
			fail("mdb_dbi_open", rc);
			goto err_txn;
		}
		for (; i < end; i++) {
			MDB_val k = {KEY_LEN, b->keys + i * KEY_LEN};
			MDB_val v = {VALUE_LEN, val};

			value_of(k.mv_data, val);
			rc = mdb_put(txn, dbi, &k, &v, 0);
			if (rc) {
				fail("mdb_put", rc);
				goto err_txn;
			}
		}
		rc = mdb_txn_commit(txn);
		if (rc) {
			fail("mdb_txn_commit", rc);
			goto err_env;
		}
	}
	mdb_env_close(env);
	return 0;

err_txn:
	mdb_txn_abort(txn);
err_env:
	mdb_env_close(env);
	return 1;
}

static int read_phase(struct bench *b)
{
	unsigned char val[VALUE_LEN];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc, ret = 1;

	if (open_env(b, &env, "read"))
		return 1;
	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc) {
		fail("mdb_txn_begin (read)", rc);
		goto out_env;
	}
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc) {
		fail("mdb_dbi_open (read)", rc);
		goto out_txn;
	}
	for (size_t n = 0; n < b->nkeys; n++) {
		size_t i = b->order[n];
		MDB_val k = {KEY_LEN, b->keys + i * KEY_LEN};
		MDB_val v;

		rc = mdb_get(txn, dbi, &k, &v);
		if (rc) {
			fail("mdb_get", rc);
			goto out_txn;
		}
		value_of(k.mv_data, val);
		if (v.mv_size != VALUE_LEN ||
		    memcmp(v.mv_data, val, VALUE_LEN)) {
			printf("error: key %zu: wrong value read back\n", i);
			fprintf(stderr, "lmdb_bench: key %zu: wrong value\n",
				i);
			goto out_txn;
		}
	}
	ret = 0;
out_txn:
	mdb_txn_abort(txn);
out_env:
	mdb_env_close(env);
	return ret;
}

static void sync_fs_of(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || syncfs(fd) < 0)
		fprintf(stderr, "lmdb_bench: syncfs %s: %s\n", path,
			strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int drop_caches(struct bench *b)
{
	int fd;

	sync_fs_of(b->dir);
	if (b->sync_also)
		sync_fs_of(b->sync_also);
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "3\n", 2) != 2) {
		fprintf(stderr, "lmdb_bench: cannot drop caches: %s\n",
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {
	    .mapsize = (size_t)1 << 40,
	    .nkeys = 200000,
	    .per_txn = 1000,
	    .seed = 1,
	    .flags = 0,
	};
	double t0, t1, t2, t3;
	uint64_t state;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--writemap")) {
			b.flags |= MDB_WRITEMAP;
		} else if (!strcmp(a, "--nosync")) {
			b.flags |= MDB_NOSYNC;
		} else if (!strcmp(a, "--drop-caches")) {
			b.drop_caches = 1;
		} else if (!strcmp(a, "--sync") && i + 1 < argc) {
			b.sync_also = argv[++i];
		} else if (!strcmp(a, "--mapsize") && i + 1 < argc) {
			if (size_arg(argv[++i], 10, &b.mapsize))
				usage();
		} else if (!strcmp(a, "--keys") && i + 1 < argc) {
			if (size_arg(argv[++i], 10, &b.nkeys) || !b.nkeys)
				usage();
		} else if (!strcmp(a, "--txn") && i + 1 < argc) {
			if (size_arg(argv[++i], 10, &b.per_txn) || !b.per_txn)
				usage();
		} else if (!strcmp(a, "--seed") && i + 1 < argc) {
			b.seed = strtoull(argv[++i], NULL, 0);
		} else {
			usage();
		}
	}
	if (i != argc - 1)
		usage();
	b.dir = argv[i];
	if (mkdir(b.dir, 0755) < 0 && errno != EEXIST) {
		printf("error: mkdir %s: %s\n", b.dir, strerror(errno));
		return 1;
	}

	b.keys = malloc(b.nkeys * KEY_LEN);
	b.order = malloc(b.nkeys * sizeof(*b.order));
	if (!b.keys || !b.order) {
		printf("error: out of memory\n");
		return 1;
	}
	state = b.seed;
	for (size_t k = 0; k < b.nkeys * KEY_LEN; k += 8) {
		uint64_t r = next_rand(&state);

		memcpy(b.keys + k, &r, 8);
	}
	shuffle(&b, &state);

	t0 = now();
	if (write_phase(&b))
		return 1;
	t1 = now();
	if (b.drop_caches && drop_caches(&b) < 0)
		b.drop_caches = 0;
	t2 = now();
	if (read_phase(&b))
		return 1;
	t3 = now();

	printf("write %.6f\nread %.6f\ntotal %.6f\n", t1 - t0, t3 - t2,
	       (t1 - t0) + (t3 - t2));
	free(b.keys);
	free(b.order);
	return 0;
}
