/*
 * log.h - diagnostics. Messages go to stderr until sfs_log_to_syslog() is
 * called (the daemon does so when it detaches), then to syslog.
 */
#ifndef SFS_LOG_H
#define SFS_LOG_H

#include <syslog.h>

/* Enable or disable LOG_DEBUG messages (off by default). */
void sfs_log_debug(int on);
/* Send every later message to syslog under the name "sparsefs". */
void sfs_log_to_syslog(void);
/* Print one message at syslog priority @prio; a newline is added. */
void sfs_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define sfs_err(...) sfs_log(LOG_ERR, __VA_ARGS__)
#define sfs_warn(...) sfs_log(LOG_WARNING, __VA_ARGS__)
#define sfs_info(...) sfs_log(LOG_INFO, __VA_ARGS__)
#define sfs_debug(...) sfs_log(LOG_DEBUG, __VA_ARGS__)

#endif
