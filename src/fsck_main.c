/*
 * fsck_main.c - fsck.sparsefs [-n|-y] [-v] BACKING
 */
#include "sfs.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "fsck.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fsck.sparsefs [-n|-y] [-v] BACKING\n"
		"Check the sparsefs store in BACKING (which must not be "
		"mounted).\n"
		"  -n   report only, change nothing (the default)\n"
		"  -y   repair what can be repaired (-a and -p do the same)\n"
		"  -v   say what each pass does\n"
		"  -h, --help      this help;  -V, --version   the version\n"
		"Exit status: 0 clean, 1 errors corrected, 4 errors left "
		"uncorrected,\n8 operational error.\n");
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int flags = 0, opt;

	while ((opt = getopt_long(argc, argv, "nyapvfhV", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'n':
			flags &= ~FSCK_REPAIR;
			break;
		case 'y': case 'a': case 'p':
			flags |= FSCK_REPAIR;
			break;
		case 'v':
			flags |= FSCK_VERBOSE;
			break;
		case 'f':
			break; /* always a full check */
		case 'h':
			usage(stdout);
			return FSCK_OK;
		case 'V':
			printf("fsck.sparsefs %s\n", PACKAGE_VERSION);
			return FSCK_OK;
		default:
			usage(stderr);
			return FSCK_ERROR;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return FSCK_ERROR;
	}
	if (isatty(2))
		flags |= FSCK_PROGRESS;
	return fsck_run(argv[optind], flags, stdout);
}
