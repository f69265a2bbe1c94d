/*
 * log.c - stderr or syslog; safe to call from any thread.
 */
#include "sfs.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int log_debug_on;
static int log_syslog;

void sfs_log_debug(int on)
{
	log_debug_on = on;
}

void sfs_log_to_syslog(void)
{
	openlog("sparsefs", LOG_PID, LOG_DAEMON);
	log_syslog = 1;
}

void sfs_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		char buf[1024];
		vsnprintf(buf, sizeof(buf), fmt, ap);
		fprintf(stderr, "sparsefs: %s\n", buf);
	}
	va_end(ap);
}
