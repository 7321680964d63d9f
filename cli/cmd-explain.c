/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmxrun explain: reads a QEMU command line (given as text, from stdin, from a
 * running QEMU's /proc/PID/cmdline, or generated from a profile) and explains
 * it option by option and property by property, from the knowledge table in
 * qemuargs/. For a profile, each option also names the profile key that
 * produced it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "facts.h"
#include "log.h"
#include "plan.h"
#include "qemuargs.h"

#define EXPLAIN_INPUT_MAX (16u * 1024 * 1024)

static void argv_donep(struct vx_argv *a)
{
        vx_argv_done(a);
}

static int oom(void)
{
        log_error_errno(ENOMEM, "Out of memory: %m");
        return VX_EXIT_FAILURE;
}

/* --compact: the JSON form for huge command lines (docs/explain.md). */
static bool json_compact;

/* Prints v as --json or --json --compact asked. */
static int print_json(json_t *v)
{
        if (!json_compact)
                return cli_print_json(v);
        if (json_dumpf(v, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) < 0 ||
            fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
                return log_error_errno(-EIO, "Failed to write JSON: %m");
        return 0;
}

static const struct cli_help help = {
        .usage = "vmxrun explain --argv 'QEMU COMMAND LINE' | --argv - [--json]\n"
                 "       vmxrun explain --pid PID [--root DIR] [--json]\n"
                 "       vmxrun explain PROFILE [--vm NAME] [--accel kvm|tcg] [--set PATH=VALUE]... [--root DIR] "
                 "[--json]",
        .description = "Explains a QEMU command line option by option and property by property: what\n"
                       "each does, its default, what it costs, whether it is deprecated or removed and\n"
                       "what replaces it. Backends are shown under the device that uses them. Options\n"
                       "and properties that vmxrun does not know are marked unknown, never guessed.\n"
                       "After the explanation come the findings: what QEMU would refuse (ERROR) or\n"
                       "take differently than written (warning), each with its position in the text.\n"
                       "\n"
                       "Input:\n"
                       "      --argv TEXT    a command line as a shell would read it (quotes, backslash-\n"
                       "                     newline continuations, VAR=value prefixes); '-' reads stdin\n"
                       "      --pid PID      the command line of a running QEMU (/proc/PID/cmdline)\n"
                       "      PROFILE        the command line vmxrun generates for each VM, with the\n"
                       "                     profile key behind each option\n",
        .options = "      --vm NAME      only this VM of the profile\n"
                   "      --accel ACCEL  use kvm or tcg for every VM (env VMXRUN_ACCEL)\n"
                   "      --set PATH=VALUE  a value of the profile, over the file's (repeatable)\n"
                   "      --root DIR     read /proc and host facts under DIR (env VMXRUN_ROOT)\n"
                   "      --json         print JSON: every option and property with its value,\n"
                   "                     whether it is known, its explanation and status\n"
                   "      --compact      with --json: each explanation once (under \"docs\"), no\n"
                   "                     null, false or empty members, no indentation\n"
                   "      --qemu PATH    also ask this QEMU binary about itself (live introspection)\n"
                   "                     and say what it would reject\n"
                   "      --print-knowledge  with --qemu: print that binary's knowledge data set\n",
        .exit_status = "0 explained and no errors found, 3 an error found (QEMU would\n"
                       "refuse the line) or input that cannot be parsed (unbalanced quote, empty\n"
                       "command line, invalid profile), 2 bad usage, 1 other failures.\n",
};

static int read_all_fd(int fd, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                ssize_t n;

                if (len + 4096 + 1 > cap) {
                        size_t c = cap ? cap * 2 : 8192;
                        char *b;
                        if (c > EXPLAIN_INPUT_MAX + 1)
                                return -EFBIG;
                        b = realloc(buf, c);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        cap = c;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf = buf ? buf : calloc(1, 1);
        if (!buf)
                return -ENOMEM;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* Where the pasted text came from, for findings that point into it. */
struct source {
        const char *text;      /* NULL when the words did not come from text (--pid, a profile) */
        const size_t *offsets; /* byte offset of each word in text */
        size_t *lines;         /* offset where each line starts (built once: a finding costs a search) */
        size_t n_lines;
};

static int source_index(struct source *src)
{
        size_t cap = 64;

        if (!src || !src->text || src->lines)
                return 0;
        src->lines = malloc(cap * sizeof(size_t));
        if (!src->lines)
                return -ENOMEM;
        src->lines[src->n_lines++] = 0;
        for (size_t i = 0; src->text[i]; i++)
                if (src->text[i] == '\n') {
                        if (src->n_lines == cap) {
                                size_t *l = realloc(src->lines, 2 * cap * sizeof(size_t));
                                if (!l)
                                        return -ENOMEM;
                                src->lines = l;
                                cap *= 2;
                        }
                        src->lines[src->n_lines++] = i + 1;
                }
        return 0;
}

/* "line 2, column 5" of word w in the paste, or "word 7" when there is no text. */
static char *position_of(const struct source *src, size_t word)
{
        size_t off, lo = 0, hi;
        char *s = NULL;

        if (!src || !src->text || !src->offsets || !src->lines)
                return asprintf(&s, "word %zu", word + 1) < 0 ? NULL : s;
        off = src->offsets[word];
        hi = src->n_lines;
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (src->lines[mid] <= off)
                        lo = mid;
                else
                        hi = mid;
        }
        return asprintf(&s, "line %zu, column %zu", lo + 1, off - src->lines[lo] + 1) < 0 ? NULL : s;
}

static int print_findings_text(const struct qa_cmdline *cl, const struct qa_findings *f, const struct source *src)
{
        if (f->n == 0)
                return 0;
        printf("\n%zu finding%s (%zu error%s: QEMU would refuse to start):\n", f->n, f->n == 1 ? "" : "s", f->errors,
               f->errors == 1 ? "" : "s");
        for (size_t i = 0; i < f->n; i++) {
                const struct qa_option *o = &cl->opts[f->v[i].opt];
                _cleanup_free_ char *pos = position_of(src, o->index);

                if (!pos)
                        return -ENOMEM;
                printf("  %s: option %zu (%s at %s): %s\n", f->v[i].severity == QA_ERROR ? "ERROR" : "warning",
                       f->v[i].opt + 1, o->word ? o->word : o->arg, pos, f->v[i].message);
        }
        return 0;
}

static json_t *findings_json(const struct qa_cmdline *cl, const struct qa_findings *f, const struct source *src)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < f->n; i++) {
                const struct qa_option *o = &cl->opts[f->v[i].opt];
                _cleanup_free_ char *pos = position_of(src, o->index);
                json_t *j = pos ? json_pack("{s:s,s:I,s:I,s:s,s:s}", "severity",
                                            f->v[i].severity == QA_ERROR ? "error" : "warning", "option",
                                            (json_int_t)f->v[i].opt, "word", (json_int_t)o->index, "position", pos,
                                            "message", f->v[i].message)
                                : NULL;
                if (!j || json_array_append_new(a, j) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

/* Parses, checks and prints words; returns an exit status (VX_EXIT_INVALID when QEMU would refuse the line). */
static int explain_words(const struct qa_knowledge *k, char *const *words, size_t n, char *const *origin, bool json,
                         json_t *into, struct source *src)
{
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl = NULL;
        _cleanup_(qa_findings_done) struct qa_findings f = {0};
        struct qa_explain_options opts = {.origin = origin, .n_origin = origin ? n : 0, .compact = json_compact};
        struct qa_check_options co = {.live_version = SIZE_MAX};
        int r;

        /* JSON holds UTF-8 only: say which byte is not, and where, rather than fail to build it. */
        for (size_t w = 0; json && w < n; w++) {
                size_t bad = qa_utf8_invalid(words[w]);
                _cleanup_free_ char *pos = NULL;

                if (bad == SIZE_MAX)
                        continue;
                if (source_index(src) < 0 || !(pos = position_of(src, w)))
                        return oom();
                log_error("Word %zu (at %s) has byte 0x%02x at its offset %zu, which is not UTF-8; --json needs "
                          "UTF-8 (without --json the explanation shows the bytes as they are).",
                          w + 1, pos, (unsigned char)words[w][bad], bad);
                return VX_EXIT_INVALID;
        }
        r = qa_parse_argv(k, words, n, &cl);
        if (r == -ENODATA) {
                log_error("The command line is empty; nothing to explain.");
                return VX_EXIT_INVALID;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to parse the command line: %m");
                return VX_EXIT_FAILURE;
        }
        for (size_t v = 0; v < k->n_versions; v++)
                if (k->versions[v].live)
                        co.live_version = v;
        if (qa_check(cl, &co, &f) < 0 || source_index(src) < 0)
                return oom();
        if (json) {
                json_t *j = qa_explain_json(cl, &opts), *fj = findings_json(cl, &f, src);

                if (!j || !fj || json_object_set_new(j, "findings", fj) < 0 ||
                    json_object_set_new(j, "errors", json_integer((json_int_t)f.errors)) < 0) {
                        json_decref(j);
                        return oom();
                }
                if (into)
                        r = json_array_append_new(into, j) < 0 ? -ENOMEM : 0;
                else {
                        r = print_json(j);
                        json_decref(j);
                }
        } else {
                r = qa_explain_text(cl, &opts, stdout);
                if (r >= 0)
                        r = print_findings_text(cl, &f, src);
        }
        if (r < 0)
                return oom();
        return f.errors > 0 ? VX_EXIT_INVALID : VX_EXIT_OK;
}

static int explain_text(const struct qa_knowledge *k, const char *pasted, bool json)
{
        _cleanup_(argv_donep) struct vx_argv words = {0};
        _cleanup_free_ size_t *offsets = NULL;
        _cleanup_free_ char *unwrapped = qa_unwrap_terminal(pasted);
        const char *text = unwrapped ? unwrapped : pasted;
        struct source src;
        size_t off = 0;
        int r;

        if (unwrapped)
                log_info("The text looks like one line a terminal wrapped; its lines are joined (positions are in the "
                         "joined line).");

        r = qa_split_shell_at(text, &words, &offsets, &off);
        if (r == -EINVAL) {
                log_error("Cannot split the command line: unbalanced quote or trailing backslash at byte %zu.", off);
                return VX_EXIT_INVALID;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to split the command line: %m");
                return VX_EXIT_FAILURE;
        }
        src = (struct source){.text = text, .offsets = offsets};
        r = explain_words(k, words.items, words.n, NULL, json, NULL, &src);
        free(src.lines);
        return r;
}

static int explain_pid(const struct qa_knowledge *k, const char *pid, const char *root, bool json)
{
        _cleanup_(argv_donep) struct vx_argv words = {0};
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *end = NULL;
        size_t len = 0;
        long v;
        int r;

        errno = 0;
        v = strtol(pid, &end, 10);
        if (errno || !end || *end || v <= 0) {
                log_error("--pid takes a process id, not '%s'.", pid);
                return VX_EXIT_USAGE;
        }
        if (asprintf(&path, "%s/proc/%ld/cmdline", root && *root ? root : "", v) < 0)
                return oom();
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                log_error_errno(-errno, "Failed to open %s: %m", path);
                return errno == ENOENT ? VX_EXIT_NOT_RUNNING : VX_EXIT_FAILURE;
        }
        r = read_all_fd(fd, &buf, &len);
        if (r < 0) {
                log_error_errno(r, "Failed to read %s: %m", path);
                return VX_EXIT_FAILURE;
        }
        if (len == 0) {
                log_error("%s is empty: process %ld is a kernel thread or a zombie.", path, v);
                return VX_EXIT_INVALID;
        }
        r = qa_split_nul(buf, len, &words);
        if (r < 0)
                return oom();
        return explain_words(k, words.items, words.n, NULL, json, NULL, NULL);
}

static int explain_profile(const struct qa_knowledge *k, const char *file, const char *vm_name, const char *accel,
                           const char *root, bool json)
{
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        json_t *all = NULL;
        struct vx_plan_options opts = {0};
        int r, status = VX_EXIT_OK;

        r = cli_plan_profile(file, accel, root, &opts, &profile, &plan);
        if (r != VX_EXIT_OK)
                return r;
        if (vm_name && !plan_find_vm(plan, vm_name)) {
                log_error("%s has no VM called '%s'.", file, vm_name);
                return VX_EXIT_USAGE;
        }

        if (json && !(all = json_array()))
                return oom();
        for (size_t i = 0; i < plan->n_vms && status == VX_EXIT_OK; i++) {
                const struct vx_vm_plan *vp = &plan->vms[i];

                if (vm_name && strcmp(vp->vm->name, vm_name) != 0)
                        continue;
                if (!json)
                        printf("%s== VM %s (%s) ==\n", i > 0 && !vm_name ? "\n" : "", vp->vm->name,
                               vx_accel_to_string(vp->accel));
                for (size_t n = 0; !json && n < vp->n_notes; n++)
                        printf("note: %s\n", vp->notes[n]);
                status = explain_words(k, vp->argv.items, vp->argv.n, vp->origin, json, all, NULL);
                if (json && status == VX_EXIT_OK) {
                        json_t *last = json_array_get(all, json_array_size(all) - 1);
                        if (json_object_set_new(last, "vm", json_string(vp->vm->name)) < 0)
                                status = VX_EXIT_FAILURE;
                }
        }
        if (json && status == VX_EXIT_OK) {
                if (print_json(all) < 0)
                        status = VX_EXIT_FAILURE;
        }
        json_decref(all);
        return status;
}

/* QEMU's replies come in milliseconds; this leaves room for a loaded machine and a hung type (filter-dump in 7.2). */
#define LIVE_TIMEOUT_MS 10000

static int introspect(const char *qemu, char **ret_text)
{
        int r = qa_introspect_live(qemu, LIVE_TIMEOUT_MS, ret_text, NULL);

        if (r < 0) {
                log_error_errno(r, "Failed to ask %s about itself: %m", qemu);
                return r == -ENOENT || r == -EACCES ? VX_EXIT_USAGE : VX_EXIT_FAILURE;
        }
        return VX_EXIT_OK;
}

static int print_qemu_knowledge(const char *qemu)
{
        _cleanup_free_ char *text = NULL;
        int r = introspect(qemu, &text);

        if (r != VX_EXIT_OK)
                return r;
        if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
                log_error_errno(-EIO, "Failed to write the knowledge: %m");
                return VX_EXIT_FAILURE;
        }
        return VX_EXIT_OK;
}

/* The built-in knowledge plus what the binary at qemu says about itself, run now. */
static int load_live(const char *qemu, struct qa_knowledge **ret)
{
        _cleanup_(qa_knowledge_freep) struct qa_knowledge *k = NULL;
        _cleanup_free_ char *text = NULL;
        struct qa_knowledge_error err = {0};
        int r = introspect(qemu, &text);

        if (r != VX_EXIT_OK)
                return r;
        r = qa_knowledge_new_builtin(&k, &err);
        if (r >= 0)
                r = qa_knowledge_add_qemu(k, text, true, &err);
        if (r == -EINVAL) {
                log_error("What %s says about itself cannot be read (line %u: %s).", qemu, err.line, err.reason);
                return VX_EXIT_FAILURE;
        }
        if (r < 0)
                return oom();
        *ret = TAKE_PTR(k);
        return VX_EXIT_OK;
}

/* What the command line asked for. */
struct args {
        const char *vm_name, *root, *accel, *text, *pid, *qemu, *profile;
        bool json, print_knowledge;
};

/* Parses and checks the arguments. Returns VX_EXIT_OK, or the exit status (help printed, bad usage). */
static int parse_args(int argc, char **argv, struct args *a, bool *ret_done)
{
        enum {
                ARG_VM = 0x100,
                ARG_ACCEL,
                ARG_ROOT,
                ARG_JSON,
                ARG_ARGV,
                ARG_PID,
                ARG_QEMU,
                ARG_PRINT_KNOWLEDGE,
                ARG_COMPACT,
                ARG_SET,
        };
        static const struct option options[] = {
                {"argv", required_argument, NULL, ARG_ARGV},
                {"pid", required_argument, NULL, ARG_PID},
                {"vm", required_argument, NULL, ARG_VM},
                {"accel", required_argument, NULL, ARG_ACCEL},
                {"root", required_argument, NULL, ARG_ROOT},
                {"json", no_argument, NULL, ARG_JSON},
                {"qemu", required_argument, NULL, ARG_QEMU},
                {"print-knowledge", no_argument, NULL, ARG_PRINT_KNOWLEDGE},
                {"compact", no_argument, NULL, ARG_COMPACT},
                {"set", required_argument, NULL, ARG_SET},
                {0},
        };
        int c, r;

        *a = (struct args){.root = getenv("VMXRUN_ROOT"), .accel = getenv("VMXRUN_ACCEL")};
        *ret_done = false;
        while ((c = cli_getopt(argc, argv, "", options, &help, &r)) >= 0) {
                switch (c) {
                case ARG_ARGV:
                        a->text = optarg;
                        break;
                case ARG_PID:
                        a->pid = optarg;
                        break;
                case ARG_VM:
                        a->vm_name = optarg;
                        break;
                case ARG_ACCEL:
                        a->accel = optarg;
                        break;
                case ARG_ROOT:
                        a->root = optarg;
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                case ARG_QEMU:
                        a->qemu = optarg;
                        break;
                case ARG_PRINT_KNOWLEDGE:
                        a->print_knowledge = true;
                        break;
                case ARG_SET:
                        if (cli_add_set(optarg) < 0)
                                return VX_EXIT_FAILURE;
                        break;
                case ARG_COMPACT:
                        json_compact = true;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT) {
                *ret_done = true; /* help printed, or a usage error said */
                return r;
        }
        if (optind < argc)
                a->profile = argv[optind];
        if (a->print_knowledge && (!a->qemu || a->text || a->pid || optind < argc)) {
                log_error("--print-knowledge takes --qemu PATH and nothing else.");
                return VX_EXIT_USAGE;
        }
        if (!a->print_knowledge && ((a->text != NULL) + (a->pid != NULL) + (optind < argc) != 1 || optind + 1 < argc)) {
                return cli_usage_error(argv[0], "explain takes one of --argv, --pid or a profile.");
        }
        if ((a->text || a->pid) && a->vm_name)
                return cli_usage_error(argv[0], "--vm only applies to a profile.");
        if (json_compact && !a->json)
                return cli_usage_error(argv[0], "--compact only applies to --json.");
        return VX_EXIT_OK;
}

/* --argv TEXT, or --argv - (text, or NUL-separated words piped from /proc/PID/cmdline). */
static int explain_argv(const struct qa_knowledge *k, const char *text, bool json)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        if (strcmp(text, "-") != 0)
                return explain_text(k, text, json);
        r = read_all_fd(STDIN_FILENO, &buf, &len);
        if (r < 0) {
                log_error_errno(r, "Failed to read the command line from stdin: %m");
                return VX_EXIT_FAILURE;
        }
        if (memchr(buf, '\0', len)) {
                _cleanup_(argv_donep) struct vx_argv words = {0};
                if (qa_split_nul(buf, len, &words) < 0)
                        return oom();
                return explain_words(k, words.items, words.n, NULL, json, NULL, NULL);
        }
        return explain_text(k, buf, json);
}

static int run(int argc, char **argv)
{
        _cleanup_(qa_knowledge_freep) struct qa_knowledge *own = NULL;
        const struct qa_knowledge *k;
        struct args a;
        bool done;
        int r;

        r = parse_args(argc, argv, &a, &done);
        if (r != VX_EXIT_OK || done)
                return r;
        if (a.print_knowledge)
                return print_qemu_knowledge(a.qemu);
        if (a.qemu) {
                r = load_live(a.qemu, &own);
                if (r != VX_EXIT_OK)
                        return r;
                k = own;
        } else {
                k = qa_knowledge_builtin();
        }
        if (!k) {
                log_error("The built-in QEMU knowledge table cannot be read; this is a bug.");
                return VX_EXIT_FAILURE;
        }
        if (a.pid)
                return explain_pid(k, a.pid, a.root, a.json);
        if (a.text)
                return explain_argv(k, a.text, a.json);
        return explain_profile(k, a.profile, a.vm_name, a.accel, a.root, a.json);
}

const struct vx_command vx_cmd_explain = {
        .name = "explain",
        .summary = "explain a QEMU command line, or a profile's, option by option",
        .run = run,
};
