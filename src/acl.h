/*
 * acl.h - POSIX ACLs in their xattr form (system.posix_acl_access and
 * system.posix_acl_default): a little-endian u32 version (2), then entries
 * of u16 tag, u16 perm, u32 id. With -o acl the kernel checks them; the
 * filesystem keeps the mode in step and applies default ACLs on create.
 */
#ifndef SFS_ACL_H
#define SFS_ACL_H

#include <sys/types.h>

#define ACL_XATTR_ACCESS "system.posix_acl_access"
#define ACL_XATTR_DEFAULT "system.posix_acl_default"

/* -EINVAL unless @value is a well-formed ACL. */
int acl_valid(const void *value, size_t len);
/* True if the ACL says no more than the mode bits do (it is then not kept
 * as an xattr, as ext4 does). */
bool acl_is_minimal(const void *value, size_t len);
/* The permission bits the ACL implies (owner, mask or group, other),
 * merged into @mode. */
mode_t acl_mode(const void *value, size_t len, mode_t mode);
/* Set the owner, mask (or group) and other entries of the ACL from
 * @mode, in place (chmod of a file with an ACL). */
void acl_chmod(void *value, size_t len, mode_t mode);
/* Turn a copy of a directory's default ACL into the access ACL of a new
 * inode created with @mode, in place, and return the new mode. */
mode_t acl_inherit(void *value, size_t len, mode_t mode);

#endif
