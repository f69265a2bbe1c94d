/*
 * kill_writer - an LMDB writer to kill the daemon under, and its checker.
 *
 *   kill_writer [--writemap] [--mapsize BYTES] [--records N]
 *               write DIR LOG [NTXNS]
 *   kill_writer [--writemap] [--mapsize BYTES] [--records N]
 *               verify DIR LOG
 *
 * write opens (creating DIR and the environment when missing) the LMDB
 * environment in DIR with a 1 TiB map by default and commits write
 * transactions forever, or NTXNS of them.  Transaction number T (counting
 * on from the stored "last", so that a writer run again continues where the
 * last one stopped) puts N records "t%08d-k%04d" (T, K) with values derived
 * from T and K only, and sets the key "last" to T.  After each
 * mdb_txn_commit() that returns 0 it appends T to LOG, a file that should
 * live outside the mount, and fsyncs LOG: a number in LOG is a transaction
 * that LMDB said was durable.  The first failing call ends the writer with
 * exit status 1 (a killed daemon makes every call fail; with --writemap
 * the writer may also die of SIGBUS on the dead mapping, which is fine).
 *
 * verify checks, in one read transaction, that:
 *   - every number in LOG is at most "last" (no acknowledged commit lost),
 *     and LOG is strictly increasing;
 *   - every transaction 1..last is fully there: all N records, right values;
 *   - no record of a transaction after "last" is visible (no torn commit),
 *     and no other key exists.
 *
 * Exit 0 on success; 1 with the reason on stderr; 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "size_arg.h"

#define VALUE_MAX 9000
#define KEY_LAST "last"

struct config {
	int writemap;
	uint64_t mapsize;
	int records;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: kill_writer [--writemap] [--mapsize BYTES] "
		"[--records N] write DIR LOG [NTXNS]\n"
		"       kill_writer [--writemap] [--mapsize BYTES] "
		"[--records N] verify DIR LOG\n");
	exit(2);
}

static int lmdb_fail(const char *what, int rc)
{
	fprintf(stderr, "kill_writer: %s: %s\n", what, mdb_strerror(rc));
	return 1;
}

/* A small PRNG (splitmix64), so that values depend on (txn, key) only. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Value of record (txn, k): 40..239 bytes, and every 16th transaction's
 * first record an overflow value of 9000 bytes (several LMDB pages). */
static size_t make_value(int txn, int k, unsigned char *buf)
{
	uint64_t s = mix((uint64_t)txn << 20 | (uint64_t)k);
	size_t len = (txn % 16 == 0 && k == 0) ? VALUE_MAX : 40 + s % 200;

	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			s = mix(s);
		buf[i] = (unsigned char)(s >> (8 * (i % 8)));
	}
	return len;
}

static int make_key(int txn, int k, char *buf, size_t len)
{
	return snprintf(buf, len, "t%08d-k%04d", txn, k);
}

static int env_open(const struct config *cfg, const char *dir, int rdonly,
		    MDB_env **env)
{
	unsigned flags = cfg->writemap ? MDB_WRITEMAP : 0;
	int rc;

	if (rdonly)
		flags = MDB_RDONLY;
	rc = mdb_env_create(env);
	if (rc)
		return lmdb_fail("mdb_env_create", rc);
	rc = mdb_env_set_mapsize(*env, cfg->mapsize);
	if (rc)
		return lmdb_fail("mdb_env_set_mapsize", rc);
	rc = mdb_env_open(*env, dir, flags, 0644);
	if (rc) {
		mdb_env_close(*env);
		*env = NULL;
		return lmdb_fail("mdb_env_open", rc);
	}
	return 0;
}

static int get_last(MDB_txn *txn, MDB_dbi dbi, int *last)
{
	MDB_val k = {strlen(KEY_LAST), (void *)KEY_LAST}, d;
	int rc = mdb_get(txn, dbi, &k, &d);

	if (rc == MDB_NOTFOUND) {
		*last = 0;
		return 0;
	}
	if (rc)
		return lmdb_fail("mdb_get last", rc);
	if (d.mv_size != sizeof(*last)) {
		fprintf(stderr, "kill_writer: \"last\" has %zu bytes, "
				"expected %zu\n",
			d.mv_size, sizeof(*last));
		return 1;
	}
	memcpy(last, d.mv_data, sizeof(*last));
	return 0;
}

static int log_append(int fd, int txn)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%d\n", txn);

	if (write(fd, line, n) != n) {
		perror("kill_writer: write LOG");
		return 1;
	}
	if (fsync(fd) < 0) {
		perror("kill_writer: fsync LOG");
		return 1;
	}
	return 0;
}

static int do_write(const struct config *cfg, const char *dir,
		    const char *log, long ntxns)
{
	static unsigned char val[VALUE_MAX];
	MDB_env *env = NULL;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc, last, logfd;
	long done = 0;
	char key[32];

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "kill_writer: mkdir %s: %s\n", dir,
			strerror(errno));
		return 1;
	}
	logfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "kill_writer: open %s: %s\n", log,
			strerror(errno));
		return 1;
	}
	if (env_open(cfg, dir, 0, &env))
		return 1;
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		return lmdb_fail("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc)
		return lmdb_fail("mdb_dbi_open", rc);
	if (get_last(txn, dbi, &last))
		return 1;
	rc = mdb_txn_commit(txn);
	if (rc)
		return lmdb_fail("mdb_txn_commit (open)", rc);
	printf("kill_writer: continuing after transaction %d\n", last);
	fflush(stdout);

	while (ntxns < 0 || done < ntxns) {
		int t = last + 1;
		MDB_val k, d;

		rc = mdb_txn_begin(env, NULL, 0, &txn);
		if (rc)
			return lmdb_fail("mdb_txn_begin", rc);
		for (int i = 0; i < cfg->records; i++) {
			k.mv_size = make_key(t, i, key, sizeof(key));
			k.mv_data = key;
			d.mv_size = make_value(t, i, val);
			d.mv_data = val;
			rc = mdb_put(txn, dbi, &k, &d, 0);
			if (rc) {
				mdb_txn_abort(txn);
				return lmdb_fail("mdb_put", rc);
			}
		}
		k.mv_size = strlen(KEY_LAST);
		k.mv_data = (void *)KEY_LAST;
		d.mv_size = sizeof(t);
		d.mv_data = &t;
		rc = mdb_put(txn, dbi, &k, &d, 0);
		if (rc) {
			mdb_txn_abort(txn);
			return lmdb_fail("mdb_put last", rc);
		}
		rc = mdb_txn_commit(txn);
		if (rc) {
			fprintf(stderr, "kill_writer: commit of transaction "
					"%d failed\n", t);
			return lmdb_fail("mdb_txn_commit", rc);
		}
		if (log_append(logfd, t))
			return 1;
		last = t;
		done++;
	}
	close(logfd);
	mdb_env_close(env);
	printf("kill_writer: committed %ld transactions, last %d\n", done,
	       last);
	return 0;
}

/* The numbers in LOG, in order; *n gets their count. */
static int *read_log(const char *log, size_t *n)
{
	FILE *f = fopen(log, "r");
	int *v = NULL, x;
	size_t cap = 0;

	*n = 0;
	if (!f) {
		if (errno == ENOENT)
			return calloc(1, sizeof(int));
		fprintf(stderr, "kill_writer: open %s: %s\n", log,
			strerror(errno));
		return NULL;
	}
	while (fscanf(f, "%d", &x) == 1) {
		if (*n == cap) {
			int *p;
			cap = cap ? 2 * cap : 1024;
			p = realloc(v, cap * sizeof(*v));
			if (!p) {
				free(v);
				fclose(f);
				return NULL;
			}
			v = p;
		}
		v[(*n)++] = x;
	}
	if (!feof(f)) {
		fprintf(stderr, "kill_writer: %s: not a list of numbers "
				"(a torn line after an fsync?)\n", log);
		free(v);
		fclose(f);
		return NULL;
	}
	fclose(f);
	return v ? v : calloc(1, sizeof(int));
}

static int do_verify(const struct config *cfg, const char *dir,
		     const char *log)
{
	static unsigned char val[VALUE_MAX];
	MDB_env *env = NULL;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi dbi;
	MDB_val k, d;
	int rc, last, bad = 0;
	int *logged, *count;
	size_t nlog, records = 0;

	logged = read_log(log, &nlog);
	if (!logged)
		return 1;
	if (env_open(cfg, dir, 1, &env))
		return 1;
	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return lmdb_fail("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc)
		return lmdb_fail("mdb_dbi_open", rc);
	if (get_last(txn, dbi, &last))
		return 1;
	for (size_t i = 0; i < nlog; i++) {
		if (i > 0 && logged[i] <= logged[i - 1]) {
			fprintf(stderr, "kill_writer: LOG line %zu: %d after "
					"%d; transaction numbers went back "
					"(a committed transaction was lost "
					"and its number reused)\n",
				i + 1, logged[i], logged[i - 1]);
			bad++;
		}
		if (logged[i] > last) {
			fprintf(stderr, "kill_writer: transaction %d was "
					"committed (in LOG) but \"last\" is "
					"%d: a durable commit was lost\n",
				logged[i], last);
			bad++;
			break;
		}
	}
	count = calloc((size_t)last + 1, sizeof(*count));
	if (!count)
		return 1;
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return lmdb_fail("mdb_cursor_open", rc);
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		char key[32], want[32];
		int t, i;
		size_t len;

		if (k.mv_size == strlen(KEY_LAST) &&
		    !memcmp(k.mv_data, KEY_LAST, k.mv_size))
			continue;
		len = k.mv_size < sizeof(key) - 1 ? k.mv_size
						  : sizeof(key) - 1;
		memcpy(key, k.mv_data, len);
		key[len] = 0;
		if (sscanf(key, "t%8d-k%4d", &t, &i) != 2 ||
		    make_key(t, i, want, sizeof(want)) != (int)k.mv_size ||
		    strcmp(want, key) || i < 0 || i >= cfg->records) {
			fprintf(stderr, "kill_writer: unexpected key '%s'\n",
				key);
			bad++;
			continue;
		}
		if (t < 1 || t > last) {
			if (bad++ < 10)
				fprintf(stderr, "kill_writer: record %s of "
						"transaction %d is visible, "
						"but \"last\" is %d: a torn "
						"commit\n",
					key, t, last);
			continue;
		}
		len = make_value(t, i, val);
		if (d.mv_size != len || memcmp(d.mv_data, val, len)) {
			if (bad++ < 10)
				fprintf(stderr, "kill_writer: record %s has "
						"a wrong value (%zu bytes, "
						"expected %zu)\n",
					key, d.mv_size, len);
			continue;
		}
		count[t]++;
		records++;
	}
	if (rc != MDB_NOTFOUND)
		return lmdb_fail("mdb_cursor_get", rc);
	for (int t = 1; t <= last; t++) {
		if (count[t] != cfg->records) {
			if (bad++ < 10)
				fprintf(stderr, "kill_writer: transaction %d "
						"has %d of its %d records: a "
						"torn commit\n",
					t, count[t], cfg->records);
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	free(count);
	free(logged);
	if (bad) {
		fprintf(stderr, "kill_writer: verify %s: %d problems\n", dir,
			bad);
		return 1;
	}
	printf("kill_writer: verify %s: last %d, %zu acknowledged in LOG, "
	       "%zu records, all right\n",
	       dir, last, nlog, records);
	return 0;
}

int main(int argc, char *argv[])
{
	struct config cfg = {0, (size_t)1 << 40, 64};
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--writemap")) {
			cfg.writemap = 1;
		} else if (!strcmp(argv[i], "--mapsize") && i + 1 < argc) {
			if (size_arg(argv[++i], 10, &cfg.mapsize))
				usage();
		} else if (!strcmp(argv[i], "--records") && i + 1 < argc) {
			cfg.records = atoi(argv[++i]);
			if (cfg.records < 1 || cfg.records > 9999)
				usage();
		} else {
			usage();
		}
	}
	if (argc - i == 3 && !strcmp(argv[i], "verify"))
		return do_verify(&cfg, argv[i + 1], argv[i + 2]);
	if ((argc - i == 3 || argc - i == 4) && !strcmp(argv[i], "write")) {
		long n = -1;
		if (argc - i == 4) {
			char *end;
			n = strtol(argv[i + 3], &end, 10);
			if (*end || n < 0)
				usage();
		}
		return do_write(&cfg, argv[i + 1], argv[i + 2], n);
	}
	usage();
	return 2;
}
