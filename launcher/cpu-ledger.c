/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host-wide CPU ledger (cpu-ledger.h). */
#include "cpu-ledger.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "lockfile.h"
#include "runtime.h"

static char *ledger_dir(const char *runtime_root)
{
        char *p;

        return asprintf(&p, "%s/.shared/cpus", runtime_root) < 0 ? NULL : p;
}

int cpu_ledger_lock(const char *runtime_root, int *ret_fd)
{
        _cleanup_free_ char *dir = ledger_dir(runtime_root), *lock = NULL;
        int r;

        if (!dir || asprintf(&lock, "%s/lock", dir) < 0)
                return -ENOMEM;
        /* Only the leaf is ours to close: the runtime root must stay searchable for QEMU's user. */
        r = runtime_mkdir(dir);
        if (r < 0)
                return r;
        return vx_lock_file(lock, ret_fd);
}

static bool entry_alive(const char *runtime_root, const char *deployment, json_int_t pid)
{
        _cleanup_free_ char *journal = NULL;

        if (asprintf(&journal, "%s/%s/journal.json", runtime_root, deployment) < 0)
                return true; /* no memory: never drop what cannot be judged */
        if (access(journal, F_OK) == 0)
                return true;
        return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int parse_cpuset_json(json_t *v, struct vx_cpuset *ret)
{
        const char *s = json_string_value(v);

        *ret = (struct vx_cpuset){0};
        if (!s)
                return v && !json_is_null(v) ? -EBADMSG : 0;
        if (!*s)
                return 0; /* vx_cpuset_format's empty set */
        return vx_cpuset_parse(s, ret) < 0 ? -EBADMSG : 0;
}

static int parse_vm(const char *deployment, json_t *o, struct vx_cpu_claim *c)
{
        json_t *vcpus = json_object_get(o, "vcpus"), *emu = json_object_get(o, "emulator");
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *key = json_string_value(json_object_get(o, "key"));
        size_t i;
        json_t *v;

        if (!name || !json_is_array(vcpus))
                return -EBADMSG;
        *c = (struct vx_cpu_claim){.node = -1};
        c->deployment = strdup(deployment);
        c->vm = strdup(name);
        c->key = key ? strdup(key) : NULL;
        c->vcpus = calloc(json_array_size(vcpus) ? json_array_size(vcpus) : 1, sizeof(*c->vcpus));
        if (!c->deployment || !c->vm || (key && !c->key) || !c->vcpus)
                return -ENOMEM;
        json_array_foreach(vcpus, i, v)
        {
                if (parse_cpuset_json(v, &c->vcpus[i]) < 0)
                        return -EBADMSG;
                c->n_vcpus++;
        }
        if (parse_cpuset_json(json_object_get(o, "reserved"), &c->reserved) < 0 ||
            parse_cpuset_json(emu, &c->emulator) < 0)
                return -EBADMSG;
        c->has_emulator = json_is_string(emu);
        c->node =
                json_is_integer(json_object_get(o, "node")) ? (int)json_integer_value(json_object_get(o, "node")) : -1;
        c->shared = json_is_true(json_object_get(o, "shared"));
        return 0;
}

/* One deployment's entry into claims. -EBADMSG: not ours to judge, skipped. */
static int read_entry(const char *path, const char *deployment, struct vx_cpu_claims *claims, json_int_t *ret_pid)
{
        json_t *root = json_load_file(path, 0, NULL), *vms, *v;
        size_t i;
        int r = 0;

        if (!root)
                return -EBADMSG;
        vms = json_object_get(root, "vms");
        *ret_pid = json_integer_value(json_object_get(root, "pid"));
        if (!json_is_array(vms)) {
                json_decref(root);
                return -EBADMSG;
        }
        json_array_foreach(vms, i, v)
        {
                struct vx_cpu_claim *grown = realloc(claims->items, (claims->n + 1) * sizeof(*grown));

                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                claims->items = grown;
                r = parse_vm(deployment, v, &grown[claims->n]);
                if (r < 0) {
                        cpu_claim_done(&grown[claims->n]);
                        break;
                }
                claims->n++;
        }
        json_decref(root);
        return r;
}

int cpu_ledger_read(const char *runtime_root, struct vx_cpu_claims *ret)
{
        _cleanup_free_ char *dir = ledger_dir(runtime_root);
        struct vx_cpu_claims claims = {0};
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = claims;
                return 0;
        }
        while (r >= 0 && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *deployment = NULL;
                size_t len = strlen(de->d_name), before = claims.n;
                json_int_t pid = 0;

                if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                deployment = strndup(de->d_name, len - 5);
                if (!deployment || asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = read_entry(path, deployment, &claims, &pid);
                if (r == -EBADMSG) {
                        r = 0;
                        continue;
                }
                if (r >= 0 && !entry_alive(runtime_root, deployment, pid)) {
                        while (claims.n > before)
                                cpu_claim_done(&claims.items[--claims.n]);
                        (void)unlink(path);
                }
        }
        closedir(d);
        if (r < 0) {
                cpu_claims_done(&claims);
                return r;
        }
        *ret = claims;
        return 0;
}

int cpu_ledger_claims_of_plan(const struct vx_plan *plan, struct vx_cpu_claims *ret)
{
        return cpu_ledger_claims_live(plan, NULL, ret);
}

int cpu_ledger_claims_live(const struct vx_plan *plan, const struct vx_plan_pinning *const *live,
                           struct vx_cpu_claims *ret)
{
        struct vx_cpu_claims claims = {0};

        claims.items = calloc(plan->n_vms ? plan->n_vms : 1, sizeof(*claims.items));
        if (!claims.items)
                return -ENOMEM;
        for (size_t i = 0; i < plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &plan->vms[i];
                const struct vx_plan_pinning *pp = live && live[i] ? live[i] : &vp->pinning;
                struct vx_cpu_claim *c = &claims.items[claims.n];

                if (pp->n_vcpus == 0)
                        continue;
                *c = (struct vx_cpu_claim){.node = pp->automatic ? pp->node : -1,
                                           .reserved = pp->reserved,
                                           .has_emulator = pp->has_emulator,
                                           .emulator = pp->emulator,
                                           .shared = pp->shared};
                c->deployment = strdup(plan->deployment);
                c->vm = strdup(vp->name);
                if (asprintf(&c->key, "vms[%zu].pinning%s", vp->vm_index,
                             pp->automatic ? " (placement: auto)" : ".vcpus") < 0)
                        c->key = NULL;
                c->vcpus = calloc(pp->n_vcpus, sizeof(*c->vcpus));
                claims.n++;
                if (!c->deployment || !c->vm || !c->key || !c->vcpus) {
                        cpu_claims_done(&claims);
                        return -ENOMEM;
                }
                memcpy(c->vcpus, pp->vcpus, pp->n_vcpus * sizeof(*c->vcpus));
                c->n_vcpus = pp->n_vcpus;
        }
        *ret = claims;
        return 0;
}

static json_t *cpuset_json(const struct vx_cpuset *set)
{
        _cleanup_free_ char *s = vx_cpuset_format(set);

        return s ? json_string(s) : NULL;
}

static json_t *claim_json(const struct vx_cpu_claim *c)
{
        json_t *vcpus = json_array();

        for (size_t i = 0; vcpus && i < c->n_vcpus; i++)
                if (json_array_append_new(vcpus, cpuset_json(&c->vcpus[i])) < 0) {
                        json_decref(vcpus);
                        return NULL;
                }
        return json_pack("{s:s, s:s, s:i, s:b, s:o, s:o, s:o}", "name", c->vm, "key", c->key, "node", c->node, "shared",
                         c->shared, "vcpus", vcpus, "reserved", cpuset_json(&c->reserved), "emulator",
                         c->has_emulator ? cpuset_json(&c->emulator) : json_null());
}

int cpu_ledger_write(const struct vx_plan *plan, pid_t pid)
{
        return cpu_ledger_write_live(plan, NULL, pid);
}

int cpu_ledger_write_live(const struct vx_plan *plan, const struct vx_plan_pinning *const *live, pid_t pid)
{
        _cleanup_(cpu_claims_done) struct vx_cpu_claims claims = {0};
        _cleanup_free_ char *dir = ledger_dir(plan->runtime_root), *path = NULL, *text = NULL;
        json_t *vms, *root;
        int r;

        if (!dir || asprintf(&path, "%s/%s.json", dir, plan->deployment) < 0)
                return -ENOMEM;
        r = cpu_ledger_claims_live(plan, live, &claims);
        if (r < 0)
                return r;
        if (claims.n == 0)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        vms = json_array();
        for (size_t i = 0; vms && i < claims.n; i++)
                if (json_array_append_new(vms, claim_json(&claims.items[i])) < 0) {
                        json_decref(vms);
                        return -ENOMEM;
                }
        root = json_pack("{s:i, s:o}", "pid", (json_int_t)pid, "vms", vms);
        if (!root)
                return -ENOMEM;
        text = json_dumps(root, JSON_INDENT(2));
        json_decref(root);
        if (!text)
                return -ENOMEM;
        return runtime_write_atomic(path, text, strlen(text));
}

int cpu_ledger_release(const char *runtime_root, const char *deployment)
{
        _cleanup_free_ char *dir = ledger_dir(runtime_root), *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (!dir || asprintf(&path, "%s/%s.json", dir, deployment) < 0)
                return -ENOMEM;
        if (stat(dir, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        r = cpu_ledger_lock(runtime_root, &fd);
        if (r < 0)
                return r;
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int cpu_ledger_check_pin(const struct vx_plan *plan, const char *vm, const struct vx_cpuset *cpus, bool shared,
                         char **ret_holder)
{
        _cleanup_(cpu_claims_done) struct vx_cpu_claims claims = {0};
        int r;

        r = cpu_ledger_read(plan->runtime_root, &claims);
        if (r < 0)
                return r;
        for (size_t k = 0; k < claims.n; k++) {
                const struct vx_cpu_claim *c = &claims.items[k];
                struct vx_cpuset held;

                if (strcmp(c->deployment, plan->deployment) == 0 || (c->shared && shared))
                        continue;
                cpu_claim_held(c, &held);
                for (unsigned cpu = 0; cpu < VX_CPUSET_MAX; cpu++)
                        if (vx_cpuset_isset(cpus, cpu) && vx_cpuset_isset(&held, cpu)) {
                                if (asprintf(ret_holder,
                                             "host CPU %u is held by VM %s of the running deployment %s (its %s); "
                                             "%s stays as it is",
                                             cpu, c->vm, c->deployment, c->key ? c->key : "pinning", vm) < 0)
                                        return -ENOMEM;
                                return -EBUSY;
                        }
        }
        return 0;
}

static const char *runtime_root_of(const struct vx_profile *p, const struct vx_plan_options *opts)
{
        if (opts && opts->runtime_dir)
                return opts->runtime_dir;
        return p->host.runtime_dir ? p->host.runtime_dir : VX_DEFAULT_RUNTIME_DIR;
}

/* Whether the profile pins anything: a profile that does not needs no ledger at all. */
static bool profile_pins(const struct vx_profile *p)
{
        for (size_t i = 0; i < p->n_vms; i++)
                if (p->vms[i].pinning.automatic || p->vms[i].pinning.n_vcpus > 0)
                        return true;
        return false;
}

int cpu_ledger_plan(const struct vx_profile *p, const struct vx_host_facts *facts, const struct vx_plan_options *opts,
                    bool claim, struct vx_plan **ret)
{
        _cleanup_(cpu_claims_done) struct vx_cpu_claims claims = {0};
        struct vx_plan_options o = opts ? *opts : (struct vx_plan_options){0};
        const char *root = runtime_root_of(p, opts);
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = ledger_dir(root);
        struct vx_plan *plan = NULL;
        bool complete = true;
        struct stat st;
        int r;

        if (!dir)
                return -ENOMEM;
        if (!profile_pins(p))
                return plan_build(p, facts, opts, ret);
        /* Only a start creates the ledger; a look (cmdline, status) at a host without one reads nothing. */
        if (claim || stat(dir, &st) >= 0) {
                r = cpu_ledger_lock(root, &fd);
                /* cmdline as a user who may not lock root's ledger: read what can be read, unlocked. */
                if (r < 0 && (claim || (r != -EACCES && r != -EPERM && r != -EROFS)))
                        return r;
                r = cpu_ledger_read(root, &claims);
                if (r < 0)
                        return r;
        }
        o.cpu_claims = &claims;
        r = plan_build(p, facts, &o, &plan);
        if (r < 0)
                return r;
        for (size_t i = 0; i < plan->n_vms; i++)
                complete = complete && plan->vms[i].complete;
        if (claim && complete) {
                r = cpu_ledger_write(plan, getpid());
                if (r < 0) {
                        plan_free(plan);
                        return r;
                }
        }
        *ret = plan;
        return 0;
}
