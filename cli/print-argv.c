/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shell-quoted, one-option-per-line form of a command line (cmdline, showcmd). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "argv.h"
#include "cleanup.h"
#include "cli.h"
#include "log.h"

int cli_print_argv(char *const *items, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *q = vx_shell_quote(items[i]);
                bool last = i + 1 == n;
                bool next_opens = !last && items[i + 1][0] == '-';

                if (!q)
                        return log_error_errno(-ENOMEM, "Failed to quote argument: %m");
                /* argv[0] has a line of its own; each option opens an indented line. */
                if (i > 0 && items[i][0] == '-')
                        printf("    ");
                printf("%s%s", q, last ? "\n" : next_opens || i == 0 ? " \\\n" : " ");
        }
        return 0;
}

int cli_print_json(json_t *v)
{
        /* Reals are rounded where they are made (3 decimals); 12 digits print them without binary noise. */
        if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12)) <
                    0 ||
            fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
                return log_error_errno(-EIO, "Failed to write JSON: %m");
        return 0;
}
