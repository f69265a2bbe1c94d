/*
 * itable.c - a chained hash table under one mutex; entries are small and
 * every operation on it is short.
 */
#include "sfs.h"

#include <string.h>

#include "itable.h"

int itable_init(struct itable *it)
{
	memset(it, 0, sizeof(*it));
	pthread_mutex_init(&it->lock, NULL);
	it->nbuckets = 4096;
	it->buckets = calloc(it->nbuckets, sizeof(*it->buckets));
	return it->buckets ? 0 : -ENOMEM;
}

static void entry_free(struct sfs_inode *in)
{
	pthread_rwlock_destroy(&in->lock);
	chunk_dirty_free(&in->dirty);
	free(in);
}

void itable_fini(struct itable *it)
{
	for (size_t i = 0; i < it->nbuckets; i++) {
		struct sfs_inode *in = it->buckets[i], *next;
		for (; in; in = next) {
			next = in->next;
			entry_free(in);
		}
	}
	free(it->buckets);
	it->buckets = NULL;
	pthread_mutex_destroy(&it->lock);
}

static size_t bucket(struct itable *it, uint64_t ino)
{
	return (ino * 0x9e3779b97f4a7c15ull) >> 40 & (it->nbuckets - 1);
}

static void grow(struct itable *it)
{
	size_t n = it->nbuckets * 2;
	struct sfs_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < it->nbuckets; i++) {
		struct sfs_inode *in = it->buckets[i], *next;
		for (; in; in = next) {
			size_t h = (in->ino * 0x9e3779b97f4a7c15ull) >> 40 &
				   (n - 1);
			next = in->next;
			in->next = b[h];
			b[h] = in;
		}
	}
	free(it->buckets);
	it->buckets = b;
	it->nbuckets = n;
}

/* Find (or with @create, make) the entry for @ino; table lock held. */
static struct sfs_inode *find(struct itable *it, uint64_t ino, bool create)
{
	struct sfs_inode *in;
	size_t h = bucket(it, ino);

	for (in = it->buckets[h]; in; in = in->next)
		if (in->ino == ino) {
			if (in->kept && create) {
				/* In use again. */
				in->kept = false;
				it->nkept--;
			}
			return in;
		}
	if (!create)
		return NULL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->ino = ino;
	pthread_rwlock_init(&in->lock, NULL);
	in->next = it->buckets[h];
	it->buckets[h] = in;
	if (++it->count > it->nbuckets * 2)
		grow(it);
	return in;
}

/* Take @in out of the table and free it. Table lock held. */
static void unhook(struct itable *it, struct sfs_inode *in)
{
	struct sfs_inode **pp;

	for (pp = &it->buckets[bucket(it, in->ino)]; *pp != in;
	     pp = &(*pp)->next)
		;
	*pp = in->next;
	it->count--;
	if (in->kept)
		it->nkept--;
	entry_free(in);
}

/* Unlink @in from the table if nothing holds it (or keep it for its dirty
 * list); true if it must be reclaimed. Table lock held. */
static bool maybe_remove(struct itable *it, struct sfs_inode *in)
{
	bool reclaim;

	if (in->nlookup || in->refs)
		return false;
	if (!in->unlinked && (in->dirty.n || in->dirty.all)) {
		if (!in->kept) {
			in->kept = true;
			it->nkept++;
		}
		return false;
	}
	reclaim = in->unlinked;
	unhook(it, in);
	return reclaim;
}

struct sfs_inode *itable_get(struct itable *it, uint64_t ino)
{
	struct sfs_inode *in;

	pthread_mutex_lock(&it->lock);
	in = find(it, ino, true);
	if (in)
		in->refs++;
	pthread_mutex_unlock(&it->lock);
	return in;
}

bool itable_put(struct itable *it, struct sfs_inode *in)
{
	bool reclaim;

	pthread_mutex_lock(&it->lock);
	in->refs--;
	reclaim = maybe_remove(it, in);
	pthread_mutex_unlock(&it->lock);
	return reclaim;
}

int itable_lookup(struct itable *it, uint64_t ino)
{
	struct sfs_inode *in;

	pthread_mutex_lock(&it->lock);
	in = find(it, ino, true);
	if (in)
		in->nlookup++;
	pthread_mutex_unlock(&it->lock);
	return in ? 0 : -ENOMEM;
}

bool itable_forget(struct itable *it, uint64_t ino, uint64_t n)
{
	struct sfs_inode *in;
	bool reclaim = false;

	pthread_mutex_lock(&it->lock);
	in = find(it, ino, false);
	if (in) {
		in->nlookup -= SFS_MIN(n, in->nlookup);
		reclaim = maybe_remove(it, in);
	}
	pthread_mutex_unlock(&it->lock);
	return reclaim;
}

bool itable_unlinked(struct itable *it, uint64_t ino)
{
	struct sfs_inode *in;
	bool now = true;

	pthread_mutex_lock(&it->lock);
	in = find(it, ino, false);
	if (in) {
		in->unlinked = true;
		now = false;
		/* Nobody holds a kept entry: its data goes now. */
		if (in->kept) {
			unhook(it, in);
			now = true;
		}
	}
	pthread_mutex_unlock(&it->lock);
	return now;
}

bool itable_over_kept(struct itable *it)
{
	bool over;

	pthread_mutex_lock(&it->lock);
	over = it->nkept > ITABLE_KEPT_MAX;
	pthread_mutex_unlock(&it->lock);
	return over;
}

ssize_t itable_take_kept(struct itable *it, struct itable_left **out)
{
	struct itable_left *v;
	size_t n = 0;

	pthread_mutex_lock(&it->lock);
	v = calloc(it->nkept + 1, sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&it->lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < it->nbuckets && it->nkept; i++) {
		struct sfs_inode *in = it->buckets[i], *next;
		for (; in; in = next) {
			next = in->next;
			if (!in->kept)
				continue;
			v[n].ino = in->ino;
			v[n].dirty = in->dirty;
			memset(&in->dirty, 0, sizeof(in->dirty));
			n++;
			unhook(it, in);
		}
	}
	pthread_mutex_unlock(&it->lock);
	*out = v;
	return (ssize_t)n;
}
