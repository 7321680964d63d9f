/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static enum vx_log_level max_level = VX_LOG_INFO;

void log_set_max_level(enum vx_log_level level)
{
        max_level = level;
}

enum vx_log_level log_get_max_level(void)
{
        return max_level;
}

int log_internal(enum vx_log_level level, int error, const char *fmt, ...)
{
        static const char *const prefix[] = {
                [VX_LOG_ERROR] = "error: ",
                [VX_LOG_WARNING] = "warning: ",
                [VX_LOG_INFO] = "",
                [VX_LOG_DEBUG] = "debug: ",
        };
        int r = error < 0 ? error : -error;

        if (level <= max_level) {
                va_list ap;
                int saved = errno;

                /* %m in fmt prints the error passed in, not whatever errno holds. */
                errno = -r;
                fputs("vmxrun: ", stderr);
                fputs(prefix[level], stderr);
                va_start(ap, fmt);
                vfprintf(stderr, fmt, ap);
                va_end(ap);
                fputc('\n', stderr);
                errno = saved;
        }
        return r;
}
