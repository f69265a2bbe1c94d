/*
 * idset.h - a growing array of 64-bit ids, sorted once and then searched:
 * the chunk ids that records name, as recovery and fsck collect them.
 */
#ifndef SFS_IDSET_H
#define SFS_IDSET_H

#include "sfs.h"

struct idset {
	uint64_t *v;
	size_t n, cap;
};

/* Append @id. Returns 0 or -ENOMEM (the set is unchanged). */
int idset_add(struct idset *s, uint64_t id);

/* Sort the ids (duplicates stay, side by side). */
void idset_sort(struct idset *s);

/* Whether @id is in the set; only after idset_sort(). */
bool idset_has(const struct idset *s, uint64_t id);

/* Free the array; the set is empty again. */
void idset_free(struct idset *s);

#endif
