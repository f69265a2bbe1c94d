/*
 * idset.c - see idset.h.
 */
#include "sfs.h"

#include "idset.h"

int idset_add(struct idset *s, uint64_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void idset_sort(struct idset *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
}

bool idset_has(const struct idset *s, uint64_t id)
{
	return s->n && bsearch(&id, s->v, s->n, sizeof(id), cmp_u64);
}

void idset_free(struct idset *s)
{
	free(s->v);
	*s = (struct idset){0};
}
