/*
 * acl.c - the few ACL computations the kernel leaves to a FUSE filesystem
 * (as fs/posix_acl.c does them for ext4).
 */
#include "sfs.h"

#include <string.h>

#include "acl.h"

#define ACL_VERSION 2
#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20

struct acl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

static size_t count(size_t len)
{
	return (len - 4) / sizeof(struct acl_entry);
}

/* Entries are read and written by copy: an xattr value from the kernel
 * need not be aligned. */
static struct acl_entry get(const void *value, size_t i)
{
	struct acl_entry e;
	memcpy(&e, (const char *)value + 4 + i * sizeof(e), sizeof(e));
	return e;
}

static void put(void *value, size_t i, const struct acl_entry *e)
{
	memcpy((char *)value + 4 + i * sizeof(*e), e, sizeof(*e));
}

int acl_valid(const void *value, size_t len)
{
	uint32_t version;
	unsigned seen = 0;

	if (len < 4 || (len - 4) % sizeof(struct acl_entry))
		return -EINVAL;
	memcpy(&version, value, 4);
	if (version != ACL_VERSION)
		return -EINVAL;
	for (size_t i = 0; i < count(len); i++) {
		struct acl_entry e = get(value, i);
		uint16_t tag = e.tag;
		if (e.perm & ~7)
			return -EINVAL;
		switch (tag) {
		case TAG_USER_OBJ: case TAG_GROUP_OBJ: case TAG_MASK:
		case TAG_OTHER:
			if (seen & tag)
				return -EINVAL;
			/* fall through */
		case TAG_USER: case TAG_GROUP:
			seen |= tag;
			break;
		default:
			return -EINVAL;
		}
	}
	if ((seen & (TAG_USER_OBJ | TAG_GROUP_OBJ | TAG_OTHER)) !=
	    (TAG_USER_OBJ | TAG_GROUP_OBJ | TAG_OTHER))
		return len == 4 ? 0 : -EINVAL;
	if ((seen & (TAG_USER | TAG_GROUP)) && !(seen & TAG_MASK))
		return -EINVAL;
	return 0;
}

bool acl_is_minimal(const void *value, size_t len)
{
	for (size_t i = 0; i < count(len); i++) {
		uint16_t tag = get(value, i).tag;
		if (tag != TAG_USER_OBJ && tag != TAG_GROUP_OBJ &&
		    tag != TAG_OTHER)
			return false;
	}
	return true;
}

mode_t acl_mode(const void *value, size_t len, mode_t mode)
{
	int user = -1, group = -1, mask = -1, other = -1;

	for (size_t i = 0; i < count(len); i++) {
		struct acl_entry e = get(value, i);
		switch (e.tag) {
		case TAG_USER_OBJ: user = e.perm; break;
		case TAG_GROUP_OBJ: group = e.perm; break;
		case TAG_MASK: mask = e.perm; break;
		case TAG_OTHER: other = e.perm; break;
		}
	}
	if (mask >= 0)
		group = mask;
	if (user < 0 || group < 0 || other < 0)
		return mode;
	return (mode & ~0777) | user << 6 | group << 3 | other;
}

static bool has_mask_entry(const void *value, size_t len)
{
	for (size_t i = 0; i < count(len); i++)
		if (get(value, i).tag == TAG_MASK)
			return true;
	return false;
}

void acl_chmod(void *value, size_t len, mode_t mode)
{
	bool has_mask = has_mask_entry(value, len);

	for (size_t i = 0; i < count(len); i++) {
		struct acl_entry e = get(value, i);
		switch (e.tag) {
		case TAG_USER_OBJ: e.perm = (mode >> 6) & 7; break;
		case TAG_OTHER: e.perm = mode & 7; break;
		case TAG_MASK: e.perm = (mode >> 3) & 7; break;
		case TAG_GROUP_OBJ:
			if (!has_mask)
				e.perm = (mode >> 3) & 7;
			break;
		}
		put(value, i, &e);
	}
}

mode_t acl_inherit(void *value, size_t len, mode_t mode)
{
	mode_t m = mode & 0777;
	bool has_mask = has_mask_entry(value, len);

	for (size_t i = 0; i < count(len); i++) {
		struct acl_entry e = get(value, i);
		switch (e.tag) {
		case TAG_USER_OBJ:
			e.perm &= (m >> 6) & 7;
			m = (m & ~0700) | e.perm << 6;
			break;
		case TAG_OTHER:
			e.perm &= m & 7;
			m = (m & ~07) | e.perm;
			break;
		case TAG_MASK:
			e.perm &= (m >> 3) & 7;
			m = (m & ~070) | e.perm << 3;
			break;
		case TAG_GROUP_OBJ:
			if (!has_mask) {
				e.perm &= (m >> 3) & 7;
				m = (m & ~070) | e.perm << 3;
			}
			break;
		}
		put(value, i, &e);
	}
	return (mode & ~0777) | m;
}
