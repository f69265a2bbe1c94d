/*
 * lmdb_multi - one writer and several readers, in separate processes, on one
 * LMDB environment; checks that every reader sees only committed data.
 *
 *   lmdb_multi [OPTIONS] run DIR
 *   lmdb_multi [OPTIONS] verify DIR
 *   lmdb_multi [OPTIONS] grow DIR
 *
 * The data set, a function of the options only:
 *   "h%04d"         HOT records, rewritten by every transaction; the value
 *                   names the transaction number that wrote it last;
 *   "last"          the number L of the last committed writer transaction
 *                   ("%010ld"), written in the same transaction as its data;
 *   "r%06ld.%05ld"  BATCH records per transaction t = 1..L; record 0 of
 *                   every tenth transaction is 6000 bytes long (an LMDB
 *                   overflow page), the others 40..239 bytes.
 * Every value starts with its own key's numbers and continues with bytes
 * derived from them, so a misplaced, stale or torn page shows.
 *
 * A snapshot is consistent when, with L read from "last", a cursor over the
 * whole database yields exactly the HOT records of generation L, "last" and
 * the records of transactions 1..L, each with its exact value, and nothing
 * else (no record of transaction L+1 or later); the entry count agrees.
 *
 * run: DIR must be empty or missing.  A creator process makes the
 * environment with the HOT records of generation 0 and "last" = 0.  Then
 * READERS reader processes open it; once all of them have, one writer
 * process commits TXNS transactions, each adding BATCH records, rewriting
 * the HOT records and setting "last".  Meanwhile every reader opens read
 * transactions one after another and checks each snapshot: consistent, and
 * L never smaller than in its previous snapshot.  A reader stops after it
 * has checked a snapshot with L = TXNS.  The processes are forked before any
 * of them opens the environment (an LMDB environment must not cross a
 * fork); the parent opens it only after all of them have exited, for a last
 * check of the final state.  run fails too when no reader saw any
 * intermediate snapshot (0 < L < TXNS): then nothing concurrent was tested.
 *
 * verify: open DIR and check one snapshot: consistent, with L = TXNS.
 *
 * grow: open an existing DIR with MAPSIZE (meant to be larger than the
 * size it was made with), check that LMDB uses MAPSIZE, check a snapshot with
 * L = TXNS, commit transaction TXNS+1 (which records the new map size in
 * the environment) and check a snapshot with L = TXNS+1.
 *
 * OPTIONS
 *   --writemap       open with MDB_WRITEMAP (every process): LMDB then
 *                    truncates data.mdb to the full map size
 *   --mapsize BYTES  map size (default 1 GiB); K, M, G, T suffixes allowed;
 *                    every open checks that mdb_env_info reports it
 *   --readers N      reader processes for run (default 3)
 *   --txns N         writer transactions (default 200)
 *   --batch N        records per transaction (default 100)
 *   --hot N          HOT records (default 32)
 *   --seconds N      run: give up after N seconds (default 50)
 *
 * Exit 0 when every check passed; 1 with a message naming the process, the
 * snapshot and the key at fault on stderr; 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "size_arg.h"

#define VALUE_MAX 8192
#define BIG_VALUE 6000
#define KEY_MAX 32
#define LAST_KEY "last"
#define MAX_READERS 64

struct opts {
	unsigned int flags;
	uint64_t mapsize;
	long readers;
	long txns;
	long batch;
	long hot;
	long seconds;
	const char *dir;
};

/* Who is speaking ("writer", "reader 2", ...), for every message. */
static char who[32] = "main";

/* What a reader tells the parent when it is done. */
struct reader_result {
	long snapshots;
	long intermediate;
	long distinct;
};

static void usage(void)
{
	fprintf(stderr, "usage: lmdb_multi [--writemap] [--mapsize BYTES] "
			"[--readers N] [--txns N] [--batch N] [--hot N] "
			"[--seconds N] (run|verify|grow) DIR\n");
	exit(2);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "lmdb_multi: %s: ", who);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int report(const char *what, int rc)
{
	say("%s: %s", what, mdb_strerror(rc));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- the data */

static size_t record_key(long t, long r, char *key)
{
	return (size_t)snprintf(key, KEY_MAX, "r%06ld.%05ld", t, r);
}

static size_t record_value(long t, long r, unsigned char *val)
{
	size_t n, head, j;

	if (r == 0 && t % 10 == 0)
		n = BIG_VALUE;
	else
		n = 40 + (size_t)((t * 7 + r * 13) % 200);
	head = (size_t)snprintf((char *)val, VALUE_MAX, "t%06ld r%05ld|", t, r);
	for (j = head; j < n; j++)
		val[j] =
		    (unsigned char)('a' + (t * 31 + r * 17 + (long)j * 7) % 26);
	return n;
}

static size_t hot_key(long h, char *key)
{
	return (size_t)snprintf(key, KEY_MAX, "h%04ld", h);
}

static size_t hot_value(long h, long gen, unsigned char *val)
{
	size_t n = 100 + (size_t)((h * 3 + gen) % 50), head, j;

	head =
	    (size_t)snprintf((char *)val, VALUE_MAX, "h%04ld g%010ld|", h, gen);
	for (j = head; j < n; j++)
		val[j] =
		    (unsigned char)('A' + (h * 5 + gen * 11 + (long)j) % 26);
	return n;
}

static size_t last_value(long l, char *val)
{
	return (size_t)snprintf(val, KEY_MAX, "%010ld", l);
}

/*
 * The keys of a consistent snapshot with "last" = L, in LMDB's (memcmp)
 * order: "h..." < "last" < "r...".
 */
struct expect {
	const struct opts *o;
	long last;
	int phase; /* 0 hot, 1 last, 2 records, 3 done */
	long i, t, r;
};

static void expect_init(struct expect *e, const struct opts *o, long last)
{
	memset(e, 0, sizeof(*e));
	e->o = o;
	e->last = last;
	e->t = 1;
}

/* The next expected key and value; 0 when there is none. */
static int expect_next(struct expect *e, char *key, size_t *klen,
		       unsigned char *val, size_t *vlen)
{
	switch (e->phase) {
	case 0:
		*klen = hot_key(e->i, key);
		*vlen = hot_value(e->i, e->last, val);
		if (++e->i == e->o->hot)
			e->phase = 1;
		return 1;
	case 1:
		*klen = strlen(LAST_KEY);
		memcpy(key, LAST_KEY, *klen);
		*vlen = last_value(e->last, (char *)val);
		e->phase = e->last > 0 ? 2 : 3;
		return 1;
	case 2:
		*klen = record_key(e->t, e->r, key);
		*vlen = record_value(e->t, e->r, val);
		if (++e->r == e->o->batch) {
			e->r = 0;
			if (++e->t > e->last)
				e->phase = 3;
		}
		return 1;
	}
	return 0;
}

/* A printable prefix of a value, for messages. */
static const char *show(const void *data, size_t len)
{
	static char buf[4][48];
	static int slot;
	char *out = buf[slot++ & 3];
	const unsigned char *p = data;
	size_t i, n = len < 24 ? len : 24;

	for (i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	out[n] = '\0';
	if (n < len)
		strcat(out, "...");
	return out;
}

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* ------------------------------------------------------------- checking */

/* The snapshot's "last", range-checked; -1 (reported) when unusable. */
static long read_last(MDB_txn *txn, MDB_dbi dbi, long max)
{
	char buf[KEY_MAX];
	MDB_val k, v;
	char *end;
	long l;
	int rc;

	k.mv_data = (void *)LAST_KEY;
	k.mv_size = strlen(LAST_KEY);
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc) {
		report("mdb_get \"last\"", rc);
		return -1;
	}
	if (v.mv_size == 0 || v.mv_size >= sizeof(buf)) {
		say("\"last\" has a %zu-byte value", v.mv_size);
		return -1;
	}
	memcpy(buf, v.mv_data, v.mv_size);
	buf[v.mv_size] = '\0';
	errno = 0;
	l = strtol(buf, &end, 10);
	if (errno || *end || l < 0 || l > max) {
		say("\"last\" = '%s', expected a number in 0..%ld",
		    show(v.mv_data, v.mv_size), max);
		return -1;
	}
	return l;
}

/*
 * Check that the snapshot of TXN is consistent (see the top of the file).
 * Sets *LAST; returns 0, or 1 after saying what is wrong.
 */
static int check_snapshot(MDB_txn *txn, MDB_dbi dbi, const struct opts *o,
			  long max, long *last)
{
	unsigned char want[VALUE_MAX];
	char wkey[KEY_MAX];
	size_t wklen, wvlen;
	struct expect e;
	MDB_cursor *cur;
	MDB_stat st;
	MDB_val k, v;
	long l, seen = 0, entries;
	int rc, ret = 1, have, c;

	l = read_last(txn, dbi, max);
	if (l < 0)
		return 1;
	*last = l;
	entries = o->hot + 1 + l * o->batch;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return report("mdb_cursor_open", rc);
	expect_init(&e, o, l);
	have = expect_next(&e, wkey, &wklen, want, &wvlen);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		seen++;
		if (!have) {
			say("snapshot with last = %ld: key '%.*s' is visible "
			    "after the last expected record (a record of a "
			    "later transaction?)",
			    l, (int)k.mv_size, (char *)k.mv_data);
			goto out;
		}
		c = key_cmp(k.mv_data, k.mv_size, wkey, wklen);
		if (c < 0) {
			say("snapshot with last = %ld: unexpected key '%.*s' "
			    "before '%.*s' (a record of a later "
			    "transaction?)",
			    l, (int)k.mv_size, (char *)k.mv_data, (int)wklen,
			    wkey);
			goto out;
		}
		if (c > 0) {
			say("snapshot with last = %ld: key '%.*s' is missing "
			    "(the cursor went on to '%.*s')",
			    l, (int)wklen, wkey, (int)k.mv_size,
			    (char *)k.mv_data);
			goto out;
		}
		if (v.mv_size != wvlen || memcmp(v.mv_data, want, wvlen)) {
			say("snapshot with last = %ld: key '%.*s' has a wrong "
			    "value: %zu bytes '%s', expected %zu bytes '%s'",
			    l, (int)wklen, wkey, v.mv_size,
			    show(v.mv_data, v.mv_size), wvlen,
			    show(want, wvlen));
			goto out;
		}
		have = expect_next(&e, wkey, &wklen, want, &wvlen);
	}
	if (rc != MDB_NOTFOUND) {
		report("mdb_cursor_get", rc);
		goto out;
	}
	if (have) {
		say("snapshot with last = %ld: key '%.*s' is missing (the "
		    "cursor ended after %ld keys)",
		    l, (int)wklen, wkey, seen);
		goto out;
	}

	/* The same by lookups: the newest record there, the next one not. */
	if (l > 0) {
		k.mv_size = record_key(l, o->batch - 1, wkey);
		k.mv_data = wkey;
		rc = mdb_get(txn, dbi, &k, &v);
		if (rc) {
			say("snapshot with last = %ld: mdb_get '%s': %s", l,
			    wkey, mdb_strerror(rc));
			goto out;
		}
	}
	k.mv_size = record_key(l + 1, 0, wkey);
	k.mv_data = wkey;
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc != MDB_NOTFOUND) {
		say("snapshot with last = %ld: mdb_get '%s' of the next "
		    "transaction gave '%s', expected MDB_NOTFOUND",
		    l, wkey,
		    rc ? mdb_strerror(rc) : show(v.mv_data, v.mv_size));
		goto out;
	}

	rc = mdb_stat(txn, dbi, &st);
	if (rc) {
		report("mdb_stat", rc);
		goto out;
	}
	if (st.ms_entries != (size_t)entries) {
		say("snapshot with last = %ld: mdb_stat counts %zu entries, "
		    "expected %ld",
		    l, st.ms_entries, entries);
		goto out;
	}
	ret = 0;
out:
	mdb_cursor_close(cur);
	return ret;
}

/* ---------------------------------------------------------- environment */

static int env_open(const struct opts *o, MDB_env **envp)
{
	MDB_envinfo info;
	MDB_env *env;
	int rc;

	rc = mdb_env_create(&env);
	if (rc)
		return report("mdb_env_create", rc);
	rc = mdb_env_set_mapsize(env, o->mapsize);
	if (rc)
		goto fail_set;
	rc = mdb_env_set_maxreaders(env, MAX_READERS + 8);
	if (rc)
		goto fail_set;
	rc = mdb_env_open(env, o->dir, o->flags, 0644);
	if (rc) {
		mdb_env_close(env);
		return report("mdb_env_open", rc);
	}
	rc = mdb_env_info(env, &info);
	if (rc) {
		mdb_env_close(env);
		return report("mdb_env_info", rc);
	}
	if (info.me_mapsize != o->mapsize) {
		say("mdb_env_info reports a map size of %zu, expected %zu",
		    info.me_mapsize, o->mapsize);
		mdb_env_close(env);
		return 1;
	}
	*envp = env;
	return 0;

fail_set:
	mdb_env_close(env);
	return report("mdb_env_set_*", rc);
}

/* One read transaction, checked; *LAST gets its "last". */
static int check_once(MDB_env *env, const struct opts *o, long max, long *last)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc, ret;

	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return report("mdb_txn_begin (read-only)", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc) {
		mdb_txn_abort(txn);
		return report("mdb_dbi_open", rc);
	}
	ret = check_snapshot(txn, dbi, o, max, last);
	mdb_txn_abort(txn);
	return ret;
}

/*
 * Commit writer transaction T: BATCH new records, the HOT records of
 * generation T and "last" = T, all in one transaction.  T = 0 makes the
 * initial state (no records).
 */
static int commit_txn(MDB_env *env, const struct opts *o, long t)
{
	unsigned char val[VALUE_MAX];
	char key[KEY_MAX];
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	long i;
	int rc;

	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		return report("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc) {
		mdb_txn_abort(txn);
		return report("mdb_dbi_open", rc);
	}
	for (i = 0; t > 0 && i < o->batch; i++) {
		k.mv_size = record_key(t, i, key);
		k.mv_data = key;
		v.mv_size = record_value(t, i, val);
		v.mv_data = val;
		rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
		if (rc) {
			say("transaction %ld: mdb_put '%s': %s", t, key,
			    mdb_strerror(rc));
			goto fail;
		}
	}
	for (i = 0; i < o->hot; i++) {
		k.mv_size = hot_key(i, key);
		k.mv_data = key;
		v.mv_size = hot_value(i, t, val);
		v.mv_data = val;
		rc = mdb_put(txn, dbi, &k, &v, 0);
		if (rc) {
			say("transaction %ld: mdb_put '%s': %s", t, key,
			    mdb_strerror(rc));
			goto fail;
		}
	}
	k.mv_data = (void *)LAST_KEY;
	k.mv_size = strlen(LAST_KEY);
	v.mv_size = last_value(t, (char *)val);
	v.mv_data = val;
	rc = mdb_put(txn, dbi, &k, &v, 0);
	if (rc) {
		say("transaction %ld: mdb_put \"last\": %s", t,
		    mdb_strerror(rc));
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	if (rc) {
		say("transaction %ld: mdb_txn_commit: %s", t, mdb_strerror(rc));
		return 1;
	}
	return 0;

fail:
	mdb_txn_abort(txn);
	return 1;
}

/* ------------------------------------------------------------ processes */

static int creator_main(const struct opts *o)
{
	MDB_env *env;
	MDB_stat st;
	int rc, ret;

	if (mkdir(o->dir, 0755) && errno != EEXIST) {
		say("mkdir %s: %s", o->dir, strerror(errno));
		return 1;
	}
	if (env_open(o, &env))
		return 1;
	rc = mdb_env_stat(env, &st);
	if (rc) {
		mdb_env_close(env);
		return report("mdb_env_stat", rc);
	}
	if (st.ms_entries) {
		say("%s already holds %zu entries; run wants a new "
		    "environment",
		    o->dir, st.ms_entries);
		mdb_env_close(env);
		return 1;
	}
	ret = commit_txn(env, o, 0);
	mdb_env_close(env);
	return ret;
}

/* Read exactly N bytes from FD within the deadline; 0 or -1. */
static int read_within(int fd, size_t n, double deadline)
{
	char buf[MAX_READERS];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t got;
	int left;

	while (n > 0) {
		left = (int)((deadline - now()) * 1000);
		if (left <= 0)
			return -1;
		if (poll(&p, 1, left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		got = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		n -= (size_t)got;
	}
	return 0;
}

static int writer_main(const struct opts *o, int ready_fd, double deadline)
{
	double start;
	MDB_env *env;
	long t;
	int ret = 0;

	if (env_open(o, &env))
		return 1;
	if (read_within(ready_fd, (size_t)o->readers, deadline)) {
		say("the readers did not all open the environment in time");
		mdb_env_close(env);
		return 1;
	}
	start = now();
	for (t = 1; t <= o->txns; t++) {
		if (commit_txn(env, o, t)) {
			ret = 1;
			break;
		}
		if (now() > deadline) {
			say("out of time after %ld of %ld transactions", t,
			    o->txns);
			ret = 1;
			break;
		}
	}
	mdb_env_close(env);
	if (!ret)
		printf("lmdb_multi: writer: %ld transactions of %ld records "
		       "committed in %.2f s\n",
		       o->txns, o->batch, now() - start);
	return ret;
}

static int reader_main(const struct opts *o, int ready_fd, int result_fd,
		       double deadline)
{
	struct reader_result res = {0, 0, 0};
	long prev = -1, last = 0;
	MDB_env *env;
	int ret = 1;

	if (env_open(o, &env))
		return 1;
	/* One snapshot before the writer may start: L = 0 expected. */
	if (check_once(env, o, o->txns, &last))
		goto out;
	if (write(ready_fd, "r", 1) != 1) {
		say("write to the ready pipe: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		res.snapshots++;
		if (last < prev) {
			say("snapshot with last = %ld after one with last = "
			    "%ld: went back in time",
			    last, prev);
			goto out;
		}
		if (last != prev)
			res.distinct++;
		if (last > 0 && last < o->txns)
			res.intermediate++;
		prev = last;
		if (last == o->txns)
			break;
		if (now() > deadline) {
			say("out of time: the last snapshot has last = %ld, "
			    "waiting for %ld",
			    last, o->txns);
			goto out;
		}
		if (check_once(env, o, o->txns, &last))
			goto out;
	}
	if (write(result_fd, &res, sizeof(res)) != (ssize_t)sizeof(res)) {
		say("write to the result pipe: %s", strerror(errno));
		goto out;
	}
	printf("lmdb_multi: %s: %ld snapshots checked, %ld of them "
	       "intermediate, %ld distinct\n",
	       who, res.snapshots, res.intermediate, res.distinct);
	ret = 0;
out:
	mdb_env_close(env);
	return ret;
}

/* Wait for PID; its exit status, or 128 + signal. */
static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return 255;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static pid_t spawn(const char *name,
		   int (*fn)(const struct opts *, int, int, double),
		   const struct opts *o, int a, int b, double deadline)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		snprintf(who, sizeof(who), "%s", name);
		_exit(fn(o, a, b, deadline));
	}
	return pid;
}

static int creator_entry(const struct opts *o, int a, int b, double deadline)
{
	(void)a;
	(void)b;
	(void)deadline;
	return creator_main(o);
}

static int writer_entry(const struct opts *o, int ready_fd, int b,
			double deadline)
{
	(void)b;
	return writer_main(o, ready_fd, deadline);
}

static int reader_entry(const struct opts *o, int ready_fd, int result_fd,
			double deadline)
{
	return reader_main(o, ready_fd, result_fd, deadline);
}

/* The name of child PID, for messages. */
static const char *child_name(pid_t pid, const pid_t *readers, long n,
			      pid_t writer, char *buf, size_t size)
{
	long i;

	if (pid == writer)
		return "the writer";
	for (i = 0; i < n; i++)
		if (readers[i] == pid) {
			snprintf(buf, size, "reader %ld", i + 1);
			return buf;
		}
	return "an unknown child";
}

/*
 * Reap the N children in PIDS.  The first one to fail (exit status not 0,
 * or a signal) is reported and every other one still running is ended:
 * a reader that died early must not leave the writer waiting for it, nor
 * a failed writer leave the readers waiting for the last transaction.
 * Returns 0 when all exited 0.
 */
static int reap_all(pid_t *pids, long n, const pid_t *readers, long nreaders,
		    pid_t writer)
{
	long i, left = n;
	int status, code, ret = 0;
	char name[32];
	pid_t pid;

	while (left > 0) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			say("waitpid: %s", strerror(errno));
			return 1;
		}
		for (i = 0; i < n && pids[i] != pid; i++)
			;
		if (i == n)
			continue;
		pids[i] = 0;
		left--;
		code = WIFEXITED(status) ? WEXITSTATUS(status)
					 : 128 + WTERMSIG(status);
		if (code == 0 || ret)
			continue;
		ret = 1;
		if (WIFEXITED(status))
			say("%s exited with status %d; ending the others",
			    child_name(pid, readers, nreaders, writer, name,
				       sizeof(name)),
			    code);
		else
			say("%s was killed by signal %d; ending the others",
			    child_name(pid, readers, nreaders, writer, name,
				       sizeof(name)),
			    WTERMSIG(status));
		for (i = 0; i < n; i++)
			if (pids[i] > 0)
				kill(pids[i], SIGTERM);
	}
	return ret;
}

static int do_run(const struct opts *o)
{
	pid_t readers[MAX_READERS], pids[MAX_READERS + 1], writer, creator;
	int ready[2], result[2], rc;
	struct reader_result res;
	long i, n = 0, snapshots = 0, intermediate = 0, last;
	double deadline = now() + (double)o->seconds;
	char name[32];
	MDB_env *env;

	creator = spawn("creator", creator_entry, o, -1, -1, deadline);
	if (creator < 0)
		return 1;
	rc = wait_child(creator);
	if (rc) {
		say("the creator exited with status %d", rc);
		return 1;
	}

	if (pipe(ready) || pipe(result)) {
		say("pipe: %s", strerror(errno));
		return 1;
	}
	writer = -1;
	for (i = 0; i < o->readers; i++) {
		snprintf(name, sizeof(name), "reader %ld", i + 1);
		readers[i] =
		    spawn(name, reader_entry, o, ready[1], result[1], deadline);
		if (readers[i] < 0)
			break;
		pids[n++] = readers[i];
	}
	if (n == o->readers) {
		writer =
		    spawn("writer", writer_entry, o, ready[0], -1, deadline);
		if (writer > 0)
			pids[n++] = writer;
	}
	close(ready[0]);
	close(ready[1]);
	close(result[1]);
	if (writer < 0)
		for (i = 0; i < n; i++)
			kill(pids[i], SIGTERM);
	rc = reap_all(pids, n, readers, o->readers, writer);
	if (writer < 0 || rc)
		return 1;
	for (i = 0; i < o->readers; i++) {
		if (read(result[0], &res, sizeof(res)) !=
		    (ssize_t)sizeof(res)) {
			say("reader %ld gave no result", i + 1);
			return 1;
		}
		snapshots += res.snapshots;
		intermediate += res.intermediate;
	}
	close(result[0]);
	if (intermediate == 0) {
		say("no reader saw an intermediate snapshot (%ld snapshots "
		    "in all): nothing concurrent was tested",
		    snapshots);
		return 1;
	}

	/* Every child is gone: the parent may open the environment now. */
	if (env_open(o, &env))
		return 1;
	rc = check_once(env, o, o->txns, &last);
	mdb_env_close(env);
	if (rc)
		return 1;
	if (last != o->txns) {
		say("the final snapshot has last = %ld, expected %ld", last,
		    o->txns);
		return 1;
	}
	printf("lmdb_multi: run: 1 writer, %ld readers, %ld transactions: "
	       "%ld snapshots checked (%ld intermediate), all consistent\n",
	       o->readers, o->txns, snapshots, intermediate);
	return 0;
}

static int do_verify(const struct opts *o, long want)
{
	MDB_env *env;
	long last;
	int ret;

	if (env_open(o, &env))
		return 1;
	ret = check_once(env, o, want, &last);
	mdb_env_close(env);
	if (ret)
		return 1;
	if (last != want) {
		say("last = %ld, expected %ld", last, want);
		return 1;
	}
	printf("lmdb_multi: verify: %ld transactions, %ld records, map size "
	       "%zu: ok\n",
	       last, last * o->batch, o->mapsize);
	return 0;
}

static int do_grow(const struct opts *o)
{
	MDB_env *env;
	long last;
	int ret = 1;

	if (env_open(o, &env))
		return 1;
	if (check_once(env, o, o->txns, &last))
		goto out;
	if (last != o->txns) {
		say("before growing: last = %ld, expected %ld", last, o->txns);
		goto out;
	}
	if (commit_txn(env, o, o->txns + 1))
		goto out;
	if (check_once(env, o, o->txns + 1, &last))
		goto out;
	if (last != o->txns + 1) {
		say("after growing: last = %ld, expected %ld", last,
		    o->txns + 1);
		goto out;
	}
	printf("lmdb_multi: grow: map size %zu, %ld transactions verified, "
	       "transaction %ld committed and verified\n",
	       o->mapsize, o->txns, o->txns + 1);
	ret = 0;
out:
	mdb_env_close(env);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = {
	    .flags = 0,
	    .mapsize = (size_t)1 << 30,
	    .readers = 3,
	    .txns = 200,
	    .batch = 100,
	    .hot = 32,
	    .seconds = 50,
	};
	const char *mode;
	long *count;
	int argi = 1;

	while (argi < argc && argv[argi][0] == '-') {
		const char *opt = argv[argi];

		if (!strcmp(opt, "--writemap")) {
			o.flags |= MDB_WRITEMAP;
			argi++;
			continue;
		}
		if (argi + 1 >= argc)
			usage();
		if (!strcmp(opt, "--mapsize")) {
			if (size_arg(argv[argi + 1], 10, &o.mapsize) ||
			    !o.mapsize)
				usage();
			argi += 2;
			continue;
		}
		if (!strcmp(opt, "--readers"))
			count = &o.readers;
		else if (!strcmp(opt, "--txns"))
			count = &o.txns;
		else if (!strcmp(opt, "--batch"))
			count = &o.batch;
		else if (!strcmp(opt, "--hot"))
			count = &o.hot;
		else if (!strcmp(opt, "--seconds"))
			count = &o.seconds;
		else
			usage();
		if (count_arg(argv[argi + 1], count))
			usage();
		argi += 2;
	}
	if (argc - argi != 2 || o.readers > MAX_READERS || o.txns > 999999 ||
	    o.batch > 99999 || o.hot > 9999)
		usage();
	mode = argv[argi];
	o.dir = argv[argi + 1];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "run"))
		return do_run(&o);
	if (!strcmp(mode, "verify"))
		return do_verify(&o, o.txns);
	if (!strcmp(mode, "grow"))
		return do_grow(&o);
	usage();
	return 2;
}
