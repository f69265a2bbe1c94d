/*
 * size_arg.h - the one parser of numeric arguments shared by the test
 * helpers and the benchmark programs (bench/ includes it too).
 */
#ifndef SFS_SIZE_ARG_H
#define SFS_SIZE_ARG_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Parse @s as an unsigned number in @base (10, or 0 for C prefixes such as
 * 0x) with an optional K, M, G or T suffix (powers of 1024) and nothing
 * after it. Returns 0 and sets *@out, or -1 if @s is not such a number or
 * it does not fit in 64 bits.
 */
static inline int size_arg(const char *s, int base, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	}
	if (shift)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* A positive count that fits a long, no suffix. Returns 0 or -1. */
static inline int count_arg(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

#endif
