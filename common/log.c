/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static enum vx_log_level max_level = VX_LOG_INFO;
static bool timestamps;

void log_set_max_level(enum vx_log_level level)
{
        max_level = level;
}

enum vx_log_level log_get_max_level(void)
{
        return max_level;
}

void log_set_timestamps(bool on)
{
        timestamps = on;
}

bool log_stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        /* systemd sets it to stderr's device:inode; a child whose stderr was redirected inherits a stale one. */
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void print_timestamp(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        if (!gmtime_r(&ts.tv_sec, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return;
        fprintf(stderr, "%s.%03ldZ ", buf, ts.tv_nsec / 1000000);
}

int log_internal(enum vx_log_level level, int error, const char *fmt, ...)
{
        static const char *const prefix[] = {
                [VX_LOG_ERROR] = "error: ",
                [VX_LOG_WARNING] = "warning: ",
                [VX_LOG_INFO] = "",
                [VX_LOG_DEBUG] = "debug: ",
        };
        /* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
        static const char *const priority[] = {
                [VX_LOG_ERROR] = "<3>",
                [VX_LOG_WARNING] = "<4>",
                [VX_LOG_INFO] = "<6>",
                [VX_LOG_DEBUG] = "<7>",
        };
        int r = error < 0 ? error : -error;

        if (level <= max_level) {
                va_list ap;
                int saved = errno;

                /* %m in fmt prints the error passed in, not whatever errno holds. */
                errno = -r;
                if (log_stderr_is_journal()) {
                        /* The journal names the program and keeps the time and the priority. */
                        fputs(priority[level], stderr);
                } else {
                        if (timestamps)
                                print_timestamp();
                        fputs("vmxrun: ", stderr);
                        fputs(prefix[level], stderr);
                }
                va_start(ap, fmt);
                errno = -r;
                vfprintf(stderr, fmt, ap);
                va_end(ap);
                fputc('\n', stderr);
                errno = saved;
        }
        return r;
}
