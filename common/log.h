/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging to stderr. Each error is logged once, where it is handled;
 * log_*_errno(r, ...) logs with %m expanded from r and returns -|r|, so a
 * caller can write `return log_error_errno(r, "Failed to open %s: %m", p);`.
 */

#include <stdarg.h>
#include <stdbool.h>

enum vx_log_level {
        VX_LOG_ERROR,
        VX_LOG_WARNING,
        VX_LOG_INFO,
        VX_LOG_DEBUG,
};

void log_set_max_level(enum vx_log_level level);
enum vx_log_level log_get_max_level(void);

/*
 * Lines start with an ISO 8601 UTC time, for a log file read later (the
 * supervisor's log). Off by default; never used when stderr is the journal.
 */
void log_set_timestamps(bool on);

/*
 * stderr is the journal: $JOURNAL_STREAM (set by systemd) names stderr's
 * device:inode. Then lines carry a syslog priority prefix (<3> error,
 * <4> warning, <6> info, <7> debug) instead of "vmxrun: error: ".
 */
bool log_stderr_is_journal(void);

/* Returns -|error| (or 0 when error is 0), so it can be returned directly. */
int log_internal(enum vx_log_level level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_internal(VX_LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(VX_LOG_INFO, 0, __VA_ARGS__)
#define log_warning(...) log_internal(VX_LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(VX_LOG_ERROR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_internal(VX_LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_internal(VX_LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(VX_LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(VX_LOG_ERROR, (e), __VA_ARGS__)
