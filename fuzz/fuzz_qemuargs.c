/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QEMU command-line splitter, parser and explainer on arbitrary bytes, as
 * `vmxrun explain` runs them: split as shell text (or, when the input holds a
 * NUL byte, as /proc/PID/cmdline), parse with the built-in knowledge table,
 * explain as text and as JSON, count and group.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "argv.h"
#include "qemuargs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const struct qa_knowledge *k = qa_knowledge_builtin();
        struct vx_argv words = {};
        struct qa_cmdline *cl = NULL;
        size_t off = 0;
        char *text, *out = NULL;
        size_t out_len = 0;
        int r;

        if (!k)
                abort();
        if (memchr(data, 0, size))
                r = qa_split_nul((const char *)data, size, &words);
        else {
                text = strndup((const char *)data, size);
                if (!text)
                        return 0;
                r = qa_split_shell(text, &words, &off);
                free(text);
        }
        if (r == 0 && qa_parse_argv(k, words.items, words.n, &cl) == 0) {
                struct qa_explain_options opts = {.origin = words.items, .n_origin = words.n};
                struct qa_counts counts;
                FILE *f = open_memstream(&out, &out_len);
                json_t *j;

                if (f) {
                        (void)qa_explain_text(cl, &opts, f);
                        fclose(f);
                }
                free(out);
                j = qa_explain_json(cl, NULL);
                if (j) {
                        free(json_dumps(j, JSON_INDENT(2)));
                        json_decref(j);
                }
                qa_count(cl, &counts);
                for (size_t i = 0; i < cl->n_opts; i++)
                        if (qa_group_of(cl, i) >= cl->n_opts)
                                abort(); /* a group is an option of the same command line */
                qa_cmdline_free(cl);
        }
        vx_argv_done(&words);
        return 0;
}
