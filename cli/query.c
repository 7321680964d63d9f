/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-VM commands' shared step: find the deployment, its supervisor, and the VM's status. */
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

int cli_vm_status(const char *name_or_profile, const char *runtime_opt, const char *vm, char **ret_dir,
                  json_t **ret_vm)
{
        _cleanup_free_ char *dir = NULL;
        json_t *req, *answer = NULL, *vms, *v;
        size_t i;
        int r;

        r = cli_resolve_deployment(name_or_profile, cli_runtime_dir(runtime_opt), &dir);
        if (r != VX_EXIT_OK)
                return r;
        r = cli_ensure_supervisor(dir);
        if (r != VX_EXIT_OK) {
                if (r == VX_EXIT_NOT_RUNNING)
                        log_error("%s is not running.", name_or_profile);
                return r;
        }
        req = json_pack("{s:s}", "cmd", "status");
        r = cli_call(dir, req, 30000, &answer);
        json_decref(req);
        if (r != VX_EXIT_OK)
                return r;
        vms = json_object_get(answer, "vms");
        json_array_foreach(vms, i, v) {
                const char *n = json_string_value(json_object_get(v, "name"));
                if (vm ? strcmp(n, vm) == 0 : json_array_size(vms) == 1) {
                        *ret_vm = json_incref(v);
                        json_decref(answer);
                        *ret_dir = TAKE_PTR(dir);
                        return VX_EXIT_OK;
                }
        }
        if (vm)
                log_error("%s has no VM named '%s'.", name_or_profile, vm);
        else
                log_error("%s has %zu VMs: say which with --vm.", name_or_profile, json_array_size(vms));
        json_decref(answer);
        return VX_EXIT_USAGE;
}
