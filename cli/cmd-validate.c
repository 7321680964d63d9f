/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "vmxconf.h"

/* docs/validate-json.md */
#define VX_VALIDATE_JSON_VERSION 1

static const struct cli_help help = {
        .usage = "vmxrun validate [--json] [-q|--quiet] [--set PATH=VALUE]... PROFILE...",
        .description = "Checks profiles without touching the host: YAML syntax, keys, types, units,\n"
                       "and the rules that relate values (topology, MACs, interface names, ports).\n"
                       "Every problem is reported as FILE:LINE:COLUMN: error: KEY.PATH: message.\n",
        .options = "      --json   print the diagnostics as JSON on stdout (docs/validate-json.md)\n"
                   "  -q, --quiet  print nothing for a valid profile\n"
                   "      --set PATH=VALUE  a value over each profile's own (repeatable; docs/profile.md)\n",
        .exit_status = "0 valid, 3 at least one profile has errors, 1 a profile could\n"
                       "not be read, 2 usage error.\n",
};

static const char *severity_name(enum vx_diag_severity s)
{
        return s == VX_DIAG_ERROR ? "error" : s == VX_DIAG_WARNING ? "warning" : "note";
}

/* Appends diags to a JSON array. Returns 0 or -ENOMEM. */
static int diags_to_json(const struct vx_diags *d, json_t *array)
{
        for (size_t i = 0; i < d->n; i++) {
                const struct vx_diag *g = &d->items[i];
                json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:o}", "file", g->file, "line",
                                      (json_int_t)g->line, "column", (json_int_t)g->column, "severity",
                                      severity_name(g->severity), "path", g->path, "message", g->message, "hint",
                                      g->hint ? json_string(g->hint) : json_null());

                if (!o || json_array_append_new(array, o) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static void print_valid(const char *path, const struct vx_profile *p)
{
        printf("%s: valid (%zu VM%s", path, p->n_vms, p->n_vms == 1 ? "" : "s");
        for (size_t i = 0; i < p->n_vms; i++)
                printf("%s%s", i == 0 ? ": " : ", ", p->vms[i].name);
        printf(")\n");
}

/*
 * A profile, or a vmx.conf (found by its content, as start, cmdline and
 * explain find it): imported in memory, then validated. The diagnostics of
 * both steps go to diags, so --json carries them too.
 */
static int load(const char *path, struct vx_diags *diags, struct vx_profile **ret)
{
        _cleanup_free_ char *text = NULL, *profile_text = NULL, *name = NULL;
        struct vx_import_options opts = {.first_cpu = 1};
        struct vx_profile_sets sets = cli_sets();
        size_t len = 0;
        int r;

        if (vmxconf_read_file(path, &text, &len) < 0 || !vmxconf_detect(text, len))
                return profile_load_with(path, &sets, diags, ret);
        r = vmxconf_import(&(struct vx_import_source){.name = path, .text = text, .len = len}, 1, NULL, &opts, diags,
                           &profile_text);
        if (r < 0)
                return r;
        if (asprintf(&name, "%s (imported)", path) < 0)
                return -ENOMEM;
        return profile_load_string_with(name, profile_text, strlen(profile_text), &sets, diags, ret);
}

static int validate_one(const char *path, bool json, bool quiet, json_t *array)
{
        struct vx_diags diags = {};
        struct vx_profile *p = NULL;
        int r, status;

        r = load(path, &diags, &p);
        if (r == -ENOMEM) {
                diag_done(&diags);
                log_error_errno(r, "Failed to validate %s: %m", path);
                return VX_EXIT_FAILURE;
        }
        if (json) {
                if (diags_to_json(&diags, array) < 0) {
                        diag_done(&diags);
                        profile_free(p);
                        log_error_errno(-ENOMEM, "Failed to format diagnostics: %m");
                        return VX_EXIT_FAILURE;
                }
        } else
                diag_print(&diags, stderr);
        diag_done(&diags);

        status = r == 0 ? VX_EXIT_OK : r == -EINVAL ? VX_EXIT_INVALID : VX_EXIT_FAILURE;
        if (r == 0 && !json && !quiet)
                print_valid(path, p);
        profile_free(p);
        return status;
}

static int validate_run(int argc, char **argv)
{
        enum { ARG_JSON = 0x100, ARG_SET };
        static const struct option options[] = {
                {"json", no_argument, NULL, ARG_JSON},
                {"set", required_argument, NULL, ARG_SET},
                {"quiet", no_argument, NULL, 'q'},
                {0},
        };
        bool json = false, quiet = false;
        json_t *array = NULL;
        int c, status = VX_EXIT_OK;

        while ((c = cli_getopt(argc, argv, "q", options, &help, &status)) >= 0)
                switch (c) {
                case ARG_JSON:
                        json = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case ARG_SET:
                        if (cli_add_set(optarg) < 0)
                                return VX_EXIT_FAILURE;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        if (c == CLI_OPT_EXIT)
                return status;
        if (optind >= argc)
                return cli_usage_error(argv[0], "validate needs at least one profile.");

        if (json) {
                array = json_array();
                if (!array) {
                        log_error_errno(-ENOMEM, "Failed to allocate: %m");
                        return VX_EXIT_FAILURE;
                }
        }

        for (int i = optind; i < argc; i++) {
                int s = validate_one(argv[i], json, quiet, array);

                /* The worst outcome wins: failure to read over invalid over valid. */
                if (s == VX_EXIT_FAILURE || (s == VX_EXIT_INVALID && status == VX_EXIT_OK))
                        status = s;
        }

        if (json) {
                json_t *o = json_pack("{s:i, s:o}", "version", VX_VALIDATE_JSON_VERSION, "diagnostics", array);
                char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

                json_decref(o);
                if (!text) {
                        log_error_errno(-ENOMEM, "Failed to format diagnostics: %m");
                        return VX_EXIT_FAILURE;
                }
                printf("%s\n", text);
                free(text);
        }
        return status;
}

const struct vx_command vx_cmd_validate = {
        .name = "validate",
        .summary = "check profiles and report every problem with its position",
        .run = validate_run,
};
