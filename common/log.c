/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "cleanup.h"

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

/* "2026-12-01T18:25:21.516Z ", or "" when the clock cannot be read. */
static void format_timestamp(char *buf, size_t size)
{
        struct timespec ts;
        struct tm tm;
        char date[32];

        buf[0] = 0;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (!gmtime_r(&ts.tv_sec, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return;
        snprintf(buf, size, "%s.%03ldZ ", date, ts.tv_nsec / 1000000);
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
                _cleanup_free_ char *long_msg = NULL;
                char stamp[64] = "", msg[1024];
                const char *text = msg;
                bool journal = log_stderr_is_journal();
                int saved = errno, n;
                va_list ap;

                /* %m in fmt prints the error passed in, not whatever errno holds. */
                errno = -r;
                va_start(ap, fmt);
                n = vsnprintf(msg, sizeof(msg), fmt, ap);
                va_end(ap);
                if (n >= (int)sizeof(msg)) {
                        errno = -r;
                        va_start(ap, fmt);
                        if (vasprintf(&long_msg, fmt, ap) >= 0)
                                text = long_msg; /* else the first 1023 bytes */
                        va_end(ap);
                }
                if (!journal && timestamps)
                        format_timestamp(stamp, sizeof(stamp));
                /*
                 * One fprintf, so one write(2) on the unbuffered stderr (glibc formats an unbuffered
                 * stream's call in one buffer): the lines of the processes sharing a log file (a
                 * supervisor and its spawner) stay whole, and a stop of 64 VMs makes 128 writes,
                 * not 512. The journal names the program and keeps the time and the priority.
                 */
                fprintf(stderr, "%s%s%s%s\n", stamp,
                        journal ? priority[level] : "vmxrun: ", journal ? "" : prefix[level], text);
                errno = saved;
        }
        return r;
}
