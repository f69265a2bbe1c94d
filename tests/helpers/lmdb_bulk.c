/*
 * lmdb_bulk - write or verify a deterministic LMDB data set.
 *
 *   lmdb_bulk [--writemap] [--mapsize BYTES] (write|verify) DIR NRECORDS NTXNS
 *
 * write puts NRECORDS records into the LMDB environment in DIR (made if
 * missing), spread evenly over NTXNS write transactions.  Record i has the
 * key "key%08d" and a value of 90..108 bytes derived from i only, so that
 * verify, run later (after an unmount and remount, say), can check every byte.
 * verify reads every record back in NTXNS read transactions, checks it and
 * checks that the database holds exactly NRECORDS entries.
 *
 * --writemap opens the environment with MDB_WRITEMAP: LMDB then truncates
 * data.mdb to the full map size at open, the case sparse files exist for.
 * --mapsize sets the map size (default 1 GiB); K, M, G, T suffixes allowed.
 *
 * Exit 0 on success; 1 with the failing call and mdb_strerror() on stderr
 * (e.g. "lmdb_bulk: mdb_env_open: No space left on device"); 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "size_arg.h"

#define VALUE_MAX 128

static void usage(void)
{
	fprintf(stderr, "usage: lmdb_bulk [--writemap] [--mapsize BYTES] "
			"(write|verify) DIR NRECORDS NTXNS\n");
	exit(2);
}

static int report(const char *what, int rc)
{
	fprintf(stderr, "lmdb_bulk: %s: %s\n", what, mdb_strerror(rc));
	return 1;
}

static void make_key(long i, char *key, size_t *len)
{
	*len = (size_t)snprintf(key, 32, "key%08ld", i);
}

/* The value of record i: a header naming i, then bytes that depend on i. */
static void make_value(long i, unsigned char *val, size_t *len)
{
	size_t n = 90 + (size_t)(i % 19), head, j;

	head = (size_t)snprintf((char *)val, VALUE_MAX, "value-%08ld-", i);
	for (j = head; j < n; j++)
		val[j] = (unsigned char)('a' + (i * 31 + (long)j * 7) % 26);
	*len = n;
}

static int do_write(MDB_env *env, long nrec, long ntxn)
{
	long per = (nrec + ntxn - 1) / ntxn, i = 0;
	unsigned char val[VALUE_MAX];
	char key[32];
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	int rc;

	while (i < nrec) {
		long end = i + per < nrec ? i + per : nrec;

		rc = mdb_txn_begin(env, NULL, 0, &txn);
		if (rc)
			return report("mdb_txn_begin", rc);
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
		if (rc) {
			mdb_txn_abort(txn);
			return report("mdb_dbi_open", rc);
		}
		for (; i < end; i++) {
			make_key(i, key, &k.mv_size);
			k.mv_data = key;
			make_value(i, val, &v.mv_size);
			v.mv_data = val;
			rc = mdb_put(txn, dbi, &k, &v, 0);
			if (rc) {
				mdb_txn_abort(txn);
				fprintf(stderr, "lmdb_bulk: record %ld\n", i);
				return report("mdb_put", rc);
			}
		}
		rc = mdb_txn_commit(txn);
		if (rc)
			return report("mdb_txn_commit", rc);
	}
	rc = mdb_env_sync(env, 1);
	if (rc)
		return report("mdb_env_sync", rc);
	return 0;
}

static int do_verify(MDB_env *env, long nrec, long ntxn)
{
	long per = (nrec + ntxn - 1) / ntxn, i = 0;
	unsigned char want[VALUE_MAX];
	char key[32];
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	MDB_val k, v;
	size_t wlen;
	int rc;

	while (i < nrec) {
		long end = i + per < nrec ? i + per : nrec;

		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
		if (rc)
			return report("mdb_txn_begin", rc);
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
		if (rc) {
			mdb_txn_abort(txn);
			return report("mdb_dbi_open", rc);
		}
		if (i == 0) {
			rc = mdb_stat(txn, dbi, &st);
			if (rc) {
				mdb_txn_abort(txn);
				return report("mdb_stat", rc);
			}
			if (st.ms_entries != (size_t)nrec) {
				mdb_txn_abort(txn);
				fprintf(stderr,
					"lmdb_bulk: %zu entries, "
					"expected %ld\n",
					st.ms_entries, nrec);
				return 1;
			}
		}
		for (; i < end; i++) {
			make_key(i, key, &k.mv_size);
			k.mv_data = key;
			rc = mdb_get(txn, dbi, &k, &v);
			if (rc) {
				mdb_txn_abort(txn);
				fprintf(stderr, "lmdb_bulk: record %ld\n", i);
				return report("mdb_get", rc);
			}
			make_value(i, want, &wlen);
			if (v.mv_size != wlen ||
			    memcmp(v.mv_data, want, wlen)) {
				mdb_txn_abort(txn);
				fprintf(stderr,
					"lmdb_bulk: record %ld has a "
					"wrong value (%zu bytes, expected "
					"%zu)\n",
					i, v.mv_size, wlen);
				return 1;
			}
		}
		mdb_txn_abort(txn);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int flags = 0;
	uint64_t mapsize = (uint64_t)1 << 30;
	const char *mode, *dir;
	long nrec, ntxn;
	MDB_env *env;
	int argi = 1, rc, ret;

	while (argi < argc && argv[argi][0] == '-') {
		if (!strcmp(argv[argi], "--writemap")) {
			flags |= MDB_WRITEMAP;
			argi++;
		} else if (!strcmp(argv[argi], "--mapsize") &&
			   argi + 1 < argc) {
			if (size_arg(argv[argi + 1], 10, &mapsize))
				usage();
			argi += 2;
		} else {
			usage();
		}
	}
	if (argc - argi != 4)
		usage();
	mode = argv[argi];
	dir = argv[argi + 1];
	if (count_arg(argv[argi + 2], &nrec) ||
	    count_arg(argv[argi + 3], &ntxn))
		usage();
	if (strcmp(mode, "write") && strcmp(mode, "verify"))
		usage();

	if (!strcmp(mode, "write") && mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "lmdb_bulk: mkdir %s: %s\n", dir,
			strerror(errno));
		return 1;
	}

	rc = mdb_env_create(&env);
	if (rc)
		return report("mdb_env_create", rc);
	rc = mdb_env_set_mapsize(env, mapsize);
	if (rc) {
		mdb_env_close(env);
		return report("mdb_env_set_mapsize", rc);
	}
	rc = mdb_env_open(env, dir, flags, 0644);
	if (rc) {
		mdb_env_close(env);
		return report("mdb_env_open", rc);
	}

	if (!strcmp(mode, "write"))
		ret = do_write(env, nrec, ntxn);
	else
		ret = do_verify(env, nrec, ntxn);
	mdb_env_close(env);
	if (!ret)
		printf("lmdb_bulk: %s %ld records in %ld transactions: ok\n",
		       mode, nrec, ntxn);
	return ret;
}
