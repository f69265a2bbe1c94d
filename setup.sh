#!/bin/sh
# Install the build and test dependencies (Debian 12 / Ubuntu 22.04+),
# build sparsefs, install it, and mount BACKING at MOUNTPOINT if given.
#
#   sudo ./setup.sh                      install dependencies, build, install
#   sudo ./setup.sh BACKING MOUNTPOINT   ... and mount
#
# SFS_CONFIGURE adds configure options (CI passes --enable-werror);
# SFS_NO_APT=1 skips the package installation.
set -eu
cd "$(dirname "$0")"

# Build: the first line. Tests: the rest (exFAT test bed, LMDB tools and
# binding, xattr/ACL tools, valgrind, man, and the .deb packaging test).
PACKAGES="build-essential autoconf automake pkg-config libfuse3-dev fuse3 liblmdb-dev
check exfat-fuse exfatprogs lmdb-utils python3-lmdb util-linux attr acl
valgrind man-db rsync debhelper dpkg-dev lintian libcap2-bin"

if [ "${SFS_NO_APT:-0}" != 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup.sh: run as root (sudo ./setup.sh) to install packages," \
			"or set SFS_NO_APT=1" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
fi

autoreconf -fi
# shellcheck disable=SC2086
./configure ${SFS_CONFIGURE:-}
make -j"$(nproc)"
if [ "$(id -u)" = 0 ]; then
	make install
fi

if [ $# -ge 2 ]; then
	mkdir -p "$1" "$2"
	shift 0
	if [ "$(id -u)" = 0 ]; then
		sparsefs "$@"
	else
		./src/sparsefs "$@"
	fi
	echo "setup.sh: mounted $1 at $2; unmount with: fusermount3 -u $2"
fi
