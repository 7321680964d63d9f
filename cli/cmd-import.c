/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmxrun import: writes the vmxrun profile equivalent to Juniper vMX's
 * vmx.conf (and vmx-junosdev.conf), commented line by line. The mapping is in
 * profiles/import/ and docs/import.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "qemuargs.h"
#include "vmxconf.h"

static const struct cli_help help = {
        .usage = "vmxrun import VMX.CONF [VMX.CONF...] [--junosdev FILE] [-o PROFILE]\n"
                 "                     [--name NAME] [--first-cpu N] [--hugepages 2M|1G] [--running FILE]",
        .description = "Writes the vmxrun profile that runs what Juniper's vmx.sh set up from vmx.conf:\n"
                       "the VCP and VFP of each vMX instance, their bridges, taps, SR-IOV VFs, hugepages\n"
                       "and vCPU pinning. Several vmx.conf files (one per instance) give one deployment.\n"
                       "What cannot be carried over is reported as a warning with file:line:column.\n"
                       "A vmx.conf can also be given directly to start, cmdline and explain.\n",
        .options = "      --junosdev FILE  vmx-junosdev.conf: bridges for the virtio Junos ports\n"
                   "  -o, --output FILE    write the profile to FILE instead of stdout\n"
                   "      --name NAME      deployment name (default: the identifiers, joined by '-')\n"
                   "      --first-cpu N    pin by the fixed rule from host CPU N (1 or more) instead of\n"
                   "                       pinning: auto\n"
                   "      --hugepages SIZE the VFP's page size: 2M (default, as the seed's host) or 1G\n"
                   "                       where the host offers 1 GiB pages\n"
                   "      --running FILE   the command lines libvirt's QEMUs ran with (`ps -ef` lines,\n"
                   "                       one per line, or a libvirt .args file): each VM keeps its -uuid\n",
        .exit_status = "0 written (perhaps with warnings), 3 errors in the input,\n"
                       "1 a file could not be read or written, 2 bad usage.\n",
};

/* The -name and -uuid of each QEMU command line of import --running, and the strings they point into. */
struct running {
        struct vx_import_running *vms;
        size_t n;
        char **strings;
        size_t n_strings;
};

static void running_done(struct running *r)
{
        free(r->vms);
        for (size_t i = 0; i < r->n_strings; i++)
                free(r->strings[i]);
        free(r->strings);
}

static const char *keep(struct running *r, char *s)
{
        char **n;

        if (!s)
                return NULL;
        n = realloc(r->strings, (r->n_strings + 1) * sizeof(*n));
        if (!n) {
                free(s);
                return NULL;
        }
        r->strings = n;
        r->strings[r->n_strings++] = s;
        return s;
}

/* One command line's -name (guest=NAME,... or NAME,...) and -uuid, when it has both. */
static int running_line(struct running *r, const struct vx_argv *w, const char *path, unsigned line)
{
        const char *name = NULL, *uuid = NULL;
        struct vx_import_running *n;
        char *origin = NULL;

        for (size_t i = 0; i + 1 < w->n; i++) {
                if (strcmp(w->items[i], "-name") == 0)
                        name = w->items[i + 1];
                else if (strcmp(w->items[i], "-uuid") == 0)
                        uuid = w->items[i + 1];
        }
        if (!name || !uuid)
                return 0;
        if (strncmp(name, "guest=", 6) == 0)
                name += 6;
        n = realloc(r->vms, (r->n + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        r->vms = n;
        if (asprintf(&origin, "%s:%u", path, line) < 0)
                return -ENOMEM;
        n[r->n] = (struct vx_import_running){.name = keep(r, strndup(name, strcspn(name, ","))),
                                             .uuid = keep(r, strdup(uuid)),
                                             .origin = keep(r, origin)};
        if (!n[r->n].name || !n[r->n].uuid || !n[r->n].origin)
                return -ENOMEM;
        r->n++;
        return 0;
}

/*
 * The command lines of import --running: one a line (a `ps -ef` line, or a
 * libvirt .args file, whose continuations qa_split_shell joins), split as
 * explain splits a paste.
 */
static int read_running(const char *path, struct running *ret)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        unsigned line = 0;
        int r;

        r = vmxconf_read_file(path, &text, &len);
        if (r < 0)
                return r;
        for (char *s = text, *e; s && *s; s = e ? e + 1 : NULL) {
                _cleanup_(vx_argv_done) struct vx_argv w = {0};

                /* A continuation (backslash-newline) keeps a command on several lines. */
                for (e = strchr(s, '\n'); e && e > s && e[-1] == '\\'; e = strchr(e + 1, '\n'))
                        ;
                if (e)
                        *e = 0;
                line++;
                if (qa_split_shell(s, &w, NULL) < 0)
                        continue; /* not a command line (an unbalanced quote): nothing to take from it */
                r = running_line(ret, &w, path, line);
                if (r < 0)
                        return r;
                for (const char *c = s; (c = strchr(c, '\n')); c++)
                        line++;
        }
        return 0;
}

static int write_text(const char *path, const char *text)
{
        _cleanup_fclose_ FILE *f = NULL;

        if (!path) {
                if (fputs(text, stdout) < 0 || fflush(stdout) != 0)
                        return log_error_errno(-EIO, "Failed to write the profile: %m");
                return 0;
        }
        f = fopen(path, "we");
        if (!f)
                return log_error_errno(-errno, "Failed to create %s: %m", path);
        if (fputs(text, f) < 0 || fflush(f) != 0)
                return log_error_errno(-errno ? -errno : -EIO, "Failed to write %s: %m", path);
        return 0;
}

static int run(int argc, char **argv)
{
        enum { ARG_JUNOSDEV = 0x100, ARG_NAME, ARG_FIRST_CPU, ARG_HUGEPAGES, ARG_RUNNING };
        static const struct option options[] = {
                {"junosdev", required_argument, NULL, ARG_JUNOSDEV},
                {"output", required_argument, NULL, 'o'},
                {"name", required_argument, NULL, ARG_NAME},
                {"first-cpu", required_argument, NULL, ARG_FIRST_CPU},
                {"hugepages", required_argument, NULL, ARG_HUGEPAGES},
                {"running", required_argument, NULL, ARG_RUNNING},
                {0},
        };
        struct vx_import_options opts = {.first_cpu = 0};
        const char *junosdev = NULL, *output = NULL, *running = NULL;
        _cleanup_(running_done) struct running seen = {0};
        _cleanup_free_ char *text = NULL;
        struct vx_diags diags = {};
        char *end;
        unsigned long cpu;
        int c, r;

        while ((c = cli_getopt(argc, argv, "o:", options, &help, &r)) >= 0) {
                switch (c) {
                case ARG_JUNOSDEV:
                        junosdev = optarg;
                        break;
                case 'o':
                        output = optarg;
                        break;
                case ARG_NAME:
                        opts.name = optarg;
                        break;
                case ARG_FIRST_CPU:
                        errno = 0;
                        cpu = strtoul(optarg, &end, 10);
                        if (errno || *end || !*optarg || cpu == 0 || cpu > 8191) {
                                log_error("--first-cpu takes a CPU number from 1 (CPU 0 has the emulator threads), "
                                          "not '%s'.",
                                          optarg);
                                return VX_EXIT_USAGE;
                        }
                        opts.first_cpu = (unsigned)cpu;
                        break;
                case ARG_HUGEPAGES:
                        if (strcmp(optarg, "1G") != 0 && strcmp(optarg, "2M") != 0) {
                                log_error("--hugepages takes 2M or 1G, not '%s'.", optarg);
                                return VX_EXIT_USAGE;
                        }
                        opts.gigantic_pages = strcmp(optarg, "1G") == 0;
                        break;
                case ARG_RUNNING:
                        running = optarg;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (optind >= argc) {
                log_error("import takes at least one vmx.conf; `vmxrun import --help` shows the usage.");
                return VX_EXIT_USAGE;
        }

        if (running) {
                r = read_running(running, &seen);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the command lines in %s: %m", running),
                               VX_EXIT_FAILURE;
                if (seen.n == 0)
                        log_warning("%s: no QEMU command line with -name and -uuid; no UUID is kept.", running);
                opts.running = seen.vms;
                opts.n_running = seen.n;
        }
        r = vmxconf_import_files((const char *const *)argv + optind, (size_t)(argc - optind), junosdev, &opts,
                                 &diags, &text);
        diag_print(&diags, stderr);
        diag_done(&diags);
        if (r == -ENOMEM) {
                log_error_errno(r, "Failed to import: %m");
                return VX_EXIT_FAILURE;
        }
        if (r == -EINVAL)
                return VX_EXIT_INVALID;
        if (r < 0)
                return VX_EXIT_FAILURE; /* a file could not be read; the diagnostics said which */
        return write_text(output, text) < 0 ? VX_EXIT_FAILURE : VX_EXIT_OK;
}

const struct vx_command vx_cmd_import = {
        .name = "import",
        .summary = "write a profile from Juniper vMX's vmx.conf",
        .run = run,
};
