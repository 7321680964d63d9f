/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI passthrough: a VF's settings (VF_CONFIG) and a bind to vfio-pci
 * (VFIO_BIND), carried out once per deployment before any QEMU starts and
 * kept across QEMU restarts, in the order docs/sriov.md gives (and the lab
 * proves): the IOMMU and vfio-pci checks, the PF's record kept by its first
 * user, VFs created when the PF has none, the claim in the host-wide ledger,
 * the PF's MTU, the VF's record journaled before its settings change, then
 * group viability, the bind, and /dev/vfio/<group> given to QEMU's user.
 * Each change has its undo step in the deployment's journal; the PF's
 * record is in the ledger and is given back by the last deployment using it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply-internal.h"
#include "log.h"
#include "vfio.h"

#define BIND_TIMEOUT_MS 60000    /* udev and a slow host; vfio_bind() returns as soon as the node is there */
#define CARRIER_TIMEOUT_MS 30000 /* a PF's link after it comes up (igb under TCG: seconds) */

static char *ledger_dir(const struct vx_apply *a)
{
        char *p;

        if (asprintf(&p, "%s/.shared/vfio", a->runtime_root) < 0)
                return NULL;
        return p;
}

/* A claim is alive while its deployment's journal exists (as bridges' registry_users); ours always is. */
static bool owner_alive(const char *owner, void *userdata)
{
        const struct vx_apply *a = userdata;
        _cleanup_free_ char *journal = NULL;

        if (strcmp(owner, a->deployment) == 0)
                return true;
        if (strchr(owner, '/') || asprintf(&journal, "%s/%s/journal.json", a->runtime_root, owner) < 0)
                return true; /* not a deployment name, or no memory: never drop what we cannot judge */
        return access(journal, F_OK) == 0;
}

/* The library's sentence without its full stop, to go inside one of ours; strerror() when there is none. */
static const char *said(char *why, int r)
{
        size_t n;

        if (!why)
                return strerror(-r);
        n = strlen(why);
        if (n && why[n - 1] == '.')
                why[n - 1] = 0;
        return why;
}

static const char *vm_name(const struct vx_apply *a, const struct vx_host_action *act)
{
        return act->vm >= 0 ? a->plan->vms[act->vm].name : a->plan->deployment;
}

static int journal_or_fail(struct vx_apply *a, const struct vx_undo *u)
{
        int r = journal_push(a->journal, u);

        if (r < 0)
                return apply_fail(NULL, r, "Failed to write the undo journal %s: %m", journal_path(a->journal));
        return 0;
}

/* Journals the record (before anything it describes changes). */
static int journal_record(struct vx_apply *a, const struct vx_vfio_record *rec)
{
        _cleanup_free_ char *json = NULL;
        int r;

        r = vfio_record_to_json(rec, &json);
        if (r < 0)
                return log_error_errno(r, "Out of memory.");
        return journal_or_fail(a, UNDO(VX_UNDO_VFIO_RESTORE, NULL, rec->bdf[0] ? rec->bdf : rec->pf, json, NULL, 0));
}

/* The preconditions of any bind, once: the IOMMU is on, vfio-pci is registered. */
static int check_host(struct vx_apply *a)
{
        _cleanup_free_ char *why = NULL;
        int r;

        r = vfio_check_iommu(a->host_root, &why);
        if (r < 0)
                return apply_fail(NULL, r, "PCI passthrough: %s; refusing.", said(why, r));
        r = vfio_check_driver(a->host_root, &why);
        if (r == 1)
                return apply_fail(NULL, -ENOENT,
                                  "PCI passthrough: the vfio-pci driver is not loaded; load it with "
                                  "`modprobe vfio-pci`; refusing.");
        if (r < 0)
                return apply_fail(NULL, r, "PCI passthrough: %s; refusing.", said(why, r));
        return 0;
}

/*
 * VFs of pf this plan needs: the highest index a vf: N asks for + 1, and one
 * more for each vf: auto that lists pf (what the PF must have when start
 * creates them).
 */
static unsigned vfs_needed(const struct vx_plan *plan, const char *pf)
{
        unsigned n = 0, n_auto = 0;

        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *act = &plan->actions[i];

                if (act->kind != VX_ACTION_VF_CONFIG)
                        continue;
                if (act->vf.vf_auto) {
                        for (size_t k = 0; k < act->vf.n_pfs; k++)
                                n_auto += act->vf.pfs[k] && strcmp(act->vf.pfs[k], pf) == 0;
                } else if (strcmp(act->vf.pf, pf) == 0 && act->vf.vf >= 0 && (unsigned)act->vf.vf + 1 > n)
                        n = (unsigned)act->vf.vf + 1;
        }
        return n + n_auto;
}

/*
 * This deployment becomes a user of PF pf in the ledger, which keeps the
 * PF's flags and sriov_numvfs unless an earlier user kept them; the journal
 * step (first: undoing a use that never happened is harmless) hands them
 * back when the last user goes (undo runs it after the claims' releases,
 * which come later in the journal).
 */
static int pf_use(struct vx_apply *a, const char *ledger, const struct vx_host_action *act, const char *pf)
{
        int r;

        if (journal_find(a->journal, VX_UNDO_VFIO_PF, pf, false, NULL))
                return 0;
        r = journal_or_fail(a, UNDO(VX_UNDO_VFIO_PF, NULL, pf, NULL, NULL, 0));
        if (r < 0)
                return r;
        r = vfio_ledger_pf_use(a->host_root, a->ns, ledger, pf, VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS, a->deployment);
        if (r < 0)
                return apply_fail(NULL, r, "%s: PF %s: failed to keep its state in %s: %m [%s]", vm_name(a, act), pf,
                                  ledger, act->key);
        return 0;
}

/* PF pf exists, is an SR-IOV PF, and can have VF vf: refused before anything changes. */
static int pf_check(struct vx_apply *a, const struct vx_host_action *act, const char *pf, int vf,
                    struct vx_vfio_pf *ret)
{
        int r;

        r = vfio_pf_get(a->host_root, pf, ret);
        if (r == -ENODEV)
                return apply_fail(NULL, r, "%s: PF %s does not exist [%s].", vm_name(a, act), pf, act->key);
        if (r == -ENOTSUP)
                return apply_fail(NULL, r, "%s: %s is not an SR-IOV PF (no sriov_totalvfs) [%s].", vm_name(a, act), pf,
                                  act->key);
        if (r < 0)
                return apply_fail(NULL, r, "%s: PF %s: %m [%s]", vm_name(a, act), pf, act->key);
        if (vf < 0 || (unsigned)vf >= ret->total_vfs)
                return apply_fail(NULL, -ERANGE,
                                  "%s: PF %s offers %u VFs (sriov_totalvfs); vf %d is out of range [%s].",
                                  vm_name(a, act), pf, ret->total_vfs, vf, act->key);
        return 0;
}

static void wait_carrier(struct vx_apply *a, const char *pf);

/* Raises sriov_numvfs of PF p from 0 to what the plan needs (at most sriov_totalvfs); the PF is in use already. */
static int create_vfs(struct vx_apply *a, const struct vx_host_action *act, const struct vx_vfio_pf *p)
{
        _cleanup_free_ char *why = NULL;
        unsigned n = vfs_needed(a->plan, p->ifname);
        int r;

        if (n > p->total_vfs)
                n = p->total_vfs;
        r = vfio_pf_ensure_vfs(a->host_root, p->ifname, n, &why);
        if (r < 0)
                return apply_fail(NULL, r, "%s: PF %s: %s [%s]", vm_name(a, act), p->ifname, said(why, r), act->key);
        if (r > 0) {
                log_info("PF %s: created %u VFs (sriov_numvfs; back to 0 when its last user stops).", p->ifname, n);
                wait_carrier(a, p->ifname); /* enabling VFs resets igb's PF; its VF rates wait for the link */
        }
        return 0;
}

/* The VF's address on this host, creating the PF's VFs when it has none; checked against the plan's. */
static int vf_resolve(struct vx_apply *a, const struct vx_host_action *act, const char *pf, int vf, const char *planned,
                      char ret[VX_VFIO_BDF_SIZE])
{
        _cleanup_free_ char *why = NULL;
        struct vx_vfio_pf p;
        int r;

        r = pf_check(a, act, pf, vf, &p);
        if (r < 0)
                return r;
        if ((unsigned)vf >= p.num_vfs) {
                r = create_vfs(a, act, &p);
                if (r < 0)
                        return r;
        }
        r = vfio_pf_vf(a->host_root, pf, (unsigned)vf, ret);
        if (r < 0)
                return apply_fail(NULL, r, "%s: PF %s vf %d: %m [%s]", vm_name(a, act), pf, vf, act->key);
        if (planned && strcmp(planned, ret) != 0)
                return apply_fail(NULL, -ESTALE, "%s: PF %s vf %d is %s now, the plan says %s; plan again [%s].",
                                  vm_name(a, act), pf, vf, ret, planned, act->key);
        return 0;
}

/*
 * A claim step names the placeholder it resolved (`to`: "VM PLACEHOLDER",
 * placeholders being unique per VM), so that a supervisor adopting the
 * deployment finds the same VF again. NULL on -ENOMEM.
 */
static char *resolved_key(const struct vx_apply *a, const struct vx_host_action *act, const char *placeholder)
{
        char *k;

        if (asprintf(&k, "%s %s", vm_name(a, act), placeholder) < 0)
                return NULL;
        return k;
}

/* The address the journal resolved key to, or NULL. */
static const char *resolved(const struct vx_apply *a, const char *key)
{
        for (size_t i = journal_size(a->journal); key && i-- > 0;) {
                const struct vx_undo *u = journal_step(a->journal, i);

                if (u->kind == VX_UNDO_VFIO_CLAIM && u->to && strcmp(u->to, key) == 0)
                        return u->object;
        }
        return NULL;
}

/* Claims bdf; key (NULL: none) is the placeholder it resolves. */
static int claim(struct vx_apply *a, const char *ledger, const struct vx_host_action *act, const char *bdf,
                 const char *key)
{
        _cleanup_free_ char *why = NULL;
        int r;

        if (journal_find(a->journal, VX_UNDO_VFIO_CLAIM, bdf, false, NULL))
                return 0;
        r = vfio_ledger_claim(ledger, bdf, a->deployment, owner_alive, a, &why);
        if (r < 0)
                return apply_fail(NULL, r, "%s: %s [%s]", vm_name(a, act), said(why, r), act->key);
        return journal_or_fail(a, UNDO(VX_UNDO_VFIO_CLAIM, NULL, bdf, NULL, key, 0));
}

/* ---- vf: auto ---- */

/* Which VF of the action's PFs bdf is (a VF picked by an earlier supervisor of this deployment). */
static int vf_find(struct vx_apply *a, const struct vx_host_action *act, const char *bdf, struct vx_vfio_choice *ret)
{
        const struct vx_action_vf_config *c = &act->vf;
        struct vx_vfio_pf p;

        for (size_t k = 0; k < c->n_pfs; k++) {
                if (!c->pfs[k] || vfio_pf_get(a->host_root, c->pfs[k], &p) < 0)
                        continue;
                for (unsigned i = 0; i < p.num_vfs; i++)
                        if (strcmp(p.vfs[i], bdf) == 0) {
                                *ret = (struct vx_vfio_choice){.vf = i};
                                snprintf(ret->pf, sizeof(ret->pf), "%s", p.ifname);
                                snprintf(ret->bdf, sizeof(ret->bdf), "%s", bdf);
                                return 0;
                        }
        }
        return apply_fail(NULL, -ENXIO, "%s: the VF this deployment picked, %s, is no VF of %s any more [%s].",
                          vm_name(a, act), bdf, c->pf, act->key);
}

/* No VF free: the first PF of the list that has no VFs gets them. 1 when created, 0 when no PF could. */
static int create_vfs_for_auto(struct vx_apply *a, const char *ledger, const struct vx_host_action *act)
{
        const struct vx_action_vf_config *c = &act->vf;
        struct vx_vfio_pf p;
        int r;

        for (size_t k = 0; k < c->n_pfs; k++) {
                if (!c->pfs[k] || vfio_pf_get(a->host_root, c->pfs[k], &p) < 0 || p.num_vfs > 0 || !p.total_vfs)
                        continue;
                r = pf_use(a, ledger, act, p.ifname);
                if (r >= 0)
                        r = create_vfs(a, act, &p);
                return r < 0 ? r : 1;
        }
        return 0;
}

static int claim_auto(struct vx_apply *a, const char *ledger, const struct vx_host_action *act,
                      struct vx_vfio_choice *ret, char **why)
{
        const struct vx_action_vf_config *c = &act->vf;

        free(*why);
        *why = NULL;
        return vfio_vf_claim_auto(a->host_root, a->ns, ledger, (const char *const *)c->pfs, c->n_pfs, c->numa_node,
                                  a->deployment, owner_alive, a, ret, why);
}

/* vf: auto: a free VF of the PFs, picked and claimed under the ledger lock (or the one picked before). */
static int vf_pick(struct vx_apply *a, const char *ledger, const struct vx_host_action *act, const char *key,
                   struct vx_vfio_choice *ret)
{
        const char *held = resolved(a, key);
        _cleanup_free_ char *why = NULL;
        int r;

        if (held)
                return vf_find(a, act, held, ret);
        r = claim_auto(a, ledger, act, ret, &why);
        if (r == -ENOSPC) {
                r = create_vfs_for_auto(a, ledger, act);
                if (r < 0)
                        return r;
                r = r > 0 ? claim_auto(a, ledger, act, ret, &why) : -ENOSPC;
        }
        if (r < 0)
                return apply_fail(NULL, r, "%s: vf: auto: %s [%s]", vm_name(a, act), said(why, r), act->key);
        r = journal_push(a->journal, UNDO(VX_UNDO_VFIO_CLAIM, NULL, ret->bdf, NULL, key, 0));
        if (r < 0) {
                (void)vfio_ledger_release(ledger, ret->bdf, a->deployment);
                return apply_fail(NULL, r, "Failed to write the undo journal %s: %m", journal_path(a->journal));
        }
        log_info("%s: vf: auto picked %s vf %u (%s).", vm_name(a, act), ret->pf, ret->vf, ret->bdf);
        return 0;
}

/* ---- the PF's own settings, the VF's ---- */

/*
 * igb refuses a VF rate until a PF that is up (again: enabling VFs resets it)
 * has carrier; a bounded wait, not a timing. A PF that is down is not waited for.
 */
static void wait_carrier(struct vx_apply *a, const char *pf)
{
        struct vx_netsetup_link l;

        for (unsigned i = 0; i < CARRIER_TIMEOUT_MS / 100; i++) {
                if (netsetup_link_get(a->ns, pf, &l) < 0 || !l.up || l.lower_up)
                        return;
                (void)usleep(100 * 1000);
        }
        log_warning("PF %s: no carrier after %u s; VF rates may be refused.", pf, CARRIER_TIMEOUT_MS / 1000);
}

/* pf-settings: each only when asked; the PF's record (kept by its first user) gives them back. */
static int pf_settings(struct vx_apply *a, const struct vx_host_action *act, const char *pf)
{
        const struct vx_action_vf_config *c = &act->vf;
        struct vx_netsetup_pf want = {.up = c->pf_up == VX_ON,
                                      .mtu = c->pf_mtu,
                                      .promisc = c->pf_promisc == VX_ON,
                                      .allmulti = c->pf_allmulti == VX_ON};
        unsigned mask = (c->pf_up != VX_AUTO ? VX_NETSETUP_PF_UP : 0) | (c->pf_mtu ? VX_NETSETUP_PF_MTU : 0) |
                        (c->pf_promisc != VX_AUTO ? VX_NETSETUP_PF_PROMISC : 0) |
                        (c->pf_allmulti != VX_AUTO ? VX_NETSETUP_PF_ALLMULTI : 0);
        int r;

        if (!mask)
                return 0;
        r = netsetup_pf_set(a->ns, pf, &want, mask);
        if (r < 0)
                return apply_fail(NULL, r, "%s: failed to set pf-settings on PF %s: %m [%s]", vm_name(a, act), pf,
                                  act->key);
        wait_carrier(a, pf); /* up now, or reset by its new MTU (igb): its VF rates wait for the link */
        log_info("%s: PF %s: pf-settings set (given back when its last user stops).", vm_name(a, act), pf);
        return 0;
}

/* The VF's settings, its record journaled before the first one changes. */
static int vf_settings(struct vx_apply *a, const struct vx_host_action *act, const struct vx_vfio_choice *ch)
{
        const struct vx_action_vf_config *c = &act->vf;
        struct vx_netsetup_vf want = {.index = ch->vf};
        struct vx_vfio_record rec;
        unsigned mask = 0, failed = 0;
        int r;

        if (c->mac) {
                snprintf(want.mac, sizeof(want.mac), "%s", c->mac);
                mask |= VX_NETSETUP_VF_MAC;
        }
        if (c->vlan >= 0) {
                want.vlan = (unsigned)c->vlan;
                mask |= VX_NETSETUP_VF_VLAN;
        }
        if (c->rate_mbps >= 0) {
                want.max_rate = (unsigned)c->rate_mbps;
                mask |= VX_NETSETUP_VF_RATE;
        }
        if (c->spoofchk != VX_AUTO) {
                want.spoofchk = c->spoofchk == VX_ON;
                mask |= VX_NETSETUP_VF_SPOOFCHK;
        }
        if (c->trust != VX_AUTO) {
                want.trust = c->trust == VX_ON;
                mask |= VX_NETSETUP_VF_TRUST;
        }
        if (!mask)
                return 0;
        r = vfio_record_save(a->host_root, a->ns, VX_VFIO_REC_VF, ch->bdf, ch->pf, ch->vf, &rec);
        if (r < 0)
                return apply_fail(NULL, r, "%s: failed to read %s vf %u: %m [%s]", vm_name(a, act), ch->pf, ch->vf,
                                  act->key);
        snprintf(rec.bdf, sizeof(rec.bdf), "%s", ch->bdf);
        r = journal_record(a, &rec);
        if (r < 0)
                return r;
        r = netsetup_vf_set(a->ns, ch->pf, &want, mask, &failed); /* MAC before spoofchk */
        if (r < 0)
                return apply_fail(NULL, r, "%s: %s vf %u: the PF's driver refused the %s: %m [%s]", vm_name(a, act),
                                  ch->pf, ch->vf,
                                  failed == VX_NETSETUP_VF_MAC        ? "MAC"
                                  : failed == VX_NETSETUP_VF_VLAN     ? "VLAN"
                                  : failed == VX_NETSETUP_VF_RATE     ? "rate"
                                  : failed == VX_NETSETUP_VF_SPOOFCHK ? "spoof check"
                                  : failed == VX_NETSETUP_VF_TRUST    ? "trust"
                                                                      : "settings",
                                  act->key);
        log_info("%s: %s vf %u (%s) set (restored at stop).", vm_name(a, act), ch->pf, ch->vf, ch->bdf);
        return 0;
}

static int vf_config(struct vx_apply *a, const char *ledger, const struct vx_host_action *act)
{
        const struct vx_action_vf_config *c = &act->vf;
        _cleanup_free_ char *key = c->placeholder ? resolved_key(a, act, c->placeholder) : NULL;
        struct vx_vfio_choice ch = {.vf = (unsigned)c->vf};
        struct vx_vfio_pf p;
        int r;

        if (c->placeholder && !key)
                return log_error_errno(-ENOMEM, "Out of memory.");
        if (c->vf_auto)
                r = vf_pick(a, ledger, act, key, &ch);
        else {
                snprintf(ch.pf, sizeof(ch.pf), "%s", c->pf);
                r = pf_check(a, act, c->pf, c->vf, &p);
                if (r >= 0)
                        r = pf_use(a, ledger, act, c->pf);
                if (r >= 0)
                        r = vf_resolve(a, act, c->pf, c->vf, c->pci_address, ch.bdf);
                if (r >= 0)
                        r = claim(a, ledger, act, ch.bdf, key);
        }
        if (r >= 0)
                r = pf_use(a, ledger, act, ch.pf);
        if (r >= 0)
                r = pf_settings(a, act, ch.pf);
        if (r >= 0)
                r = vf_settings(a, act, &ch);
        return r;
}

/* /dev/vfio/<group> for QEMU's user, given for the deployment's life (journaled first, as apply-access.c does). */
static int give_group(struct vx_apply *a, const struct vx_host_action *act, int group)
{
        _cleanup_free_ char *node = NULL;
        char from[64], to[32];
        struct stat st;
        int r;

        if (!a->plan->qemu_user)
                return 0;
        if (asprintf(&node, "%s/dev/vfio/%d", a->host_root && strcmp(a->host_root, "/") ? a->host_root : "", group) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        if (stat(node, &st) < 0)
                return apply_fail(NULL, -errno, "%s: %s: %m [%s]", vm_name(a, act), node, act->key);
        if (st.st_uid == a->qemu_user.uid && (st.st_mode & S_IRUSR) && (st.st_mode & S_IWUSR))
                return 0;
        snprintf(from, sizeof(from), "%u:%u:%o", (unsigned)st.st_uid, (unsigned)st.st_gid,
                 (unsigned)(st.st_mode & 07777));
        snprintf(to, sizeof(to), "%u:%u", (unsigned)a->qemu_user.uid, (unsigned)a->qemu_user.gid);
        r = journal_or_fail(a, UNDO(VX_UNDO_CHOWN, NULL, node, from, to, 0));
        if (r < 0)
                return r;
        if (chown(node, a->qemu_user.uid, a->qemu_user.gid) < 0 ||
            chmod(node, (st.st_mode & 07777) | S_IRUSR | S_IWUSR) < 0)
                return apply_fail(NULL, -errno, "%s: failed to give %s to %s: %m", vm_name(a, act), node,
                                  a->plan->qemu_user);
        return 0;
}

static int vfio_bind_one(struct vx_apply *a, const char *ledger, const struct vx_host_action *act)
{
        const struct vx_action_vfio_bind *b = &act->bind;
        _cleanup_free_ char *why = NULL;
        char bdf[VX_VFIO_BDF_SIZE];
        struct vx_vfio_record rec;
        int r, group = -1;

        if (b->placeholder) {
                _cleanup_free_ char *key = resolved_key(a, act, b->placeholder);
                const char *held = resolved(a, key);

                r = held ? 0
                         : apply_fail(NULL, -ENXIO, "%s: %s has no address yet [%s].", vm_name(a, act), b->placeholder,
                                      act->key);
                if (held)
                        snprintf(bdf, sizeof(bdf), "%s", held);
        } else if (b->pf)
                r = vf_resolve(a, act, b->pf, b->vf, b->pci_address, bdf);
        else if (b->pci_address && vfio_check_bdf(b->pci_address) >= 0) {
                snprintf(bdf, sizeof(bdf), "%s", b->pci_address);
                r = 0;
        } else if (b->pci_address && strlen(b->pci_address) == 7 &&
                   snprintf(bdf, sizeof(bdf), "0000:%s", b->pci_address) > 0 && vfio_check_bdf(bdf) >= 0)
                r = 0; /* the profile may leave the domain out */
        else
                r = apply_fail(NULL, -EINVAL, "%s: '%s' is not a PCI address (DDDD:BB:DD.F) [%s].", vm_name(a, act),
                               b->pci_address ?: "", act->key);
        if (r >= 0)
                r = claim(a, ledger, act, bdf, NULL);
        if (r < 0)
                return r;
        r = vfio_check_group(a->host_root, bdf, &why);
        if (r == -ENODEV)
                return apply_fail(NULL, r, "%s: there is no PCI device %s [%s].", vm_name(a, act), bdf, act->key);
        if (r < 0)
                return apply_fail(NULL, r, "%s: %s cannot be passed through: %s; refusing [%s].", vm_name(a, act), bdf,
                                  said(why, r), act->key);
        r = vfio_check_not_in_use(a->host_root, a->ns, bdf, &why);
        if (r < 0)
                return apply_fail(NULL, r, "%s: %s is in use on the host: %s; refusing [%s].", vm_name(a, act), bdf,
                                  said(why, r), act->key);
        r = vfio_record_save(a->host_root, NULL, VX_VFIO_REC_DRIVER, bdf, NULL, 0, &rec);
        if (r < 0)
                return apply_fail(NULL, r, "%s: failed to read %s: %m [%s]", vm_name(a, act), bdf, act->key);
        r = journal_record(a, &rec);
        if (r < 0)
                return r;
        r = vfio_bind(a->host_root, bdf, BIND_TIMEOUT_MS, NULL, &group, &why);
        if (r < 0)
                return apply_fail(NULL, r, "%s: failed to bind %s to vfio-pci: %s [%s]", vm_name(a, act), bdf,
                                  said(why, r), act->key);
        log_info("%s: %s bound to vfio-pci (IOMMU group %d; was %s, given back at stop).", vm_name(a, act), bdf, group,
                 rec.driver[0] ? rec.driver : "unbound");
        return give_group(a, act, group);
}

int apply_vfio(struct vx_apply *a)
{
        const struct vx_plan *plan = a->plan;
        _cleanup_free_ char *ledger = NULL;
        bool any = false;
        int r = 0;

        for (size_t i = 0; i < plan->n_actions; i++)
                any = any || plan->actions[i].kind == VX_ACTION_VFIO_BIND;
        if (!any)
                return 0;
        ledger = ledger_dir(a);
        if (!ledger)
                return log_error_errno(-ENOMEM, "Out of memory.");
        r = check_host(a);
        for (size_t i = 0; r >= 0 && i < plan->n_actions; i++) {
                const struct vx_host_action *act = &plan->actions[i];

                if (act->kind == VX_ACTION_VF_CONFIG)
                        r = vf_config(a, ledger, act);
                else if (act->kind == VX_ACTION_VFIO_BIND)
                        r = vfio_bind_one(a, ledger, act);
        }
        return r;
}

int apply_vfio_resolve(struct vx_apply *a, struct vx_plan *plan)
{
        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *act = &plan->actions[i];
                _cleanup_free_ char *key = NULL, *placeholder = NULL;
                const char *held;
                int r;

                if (act->kind != VX_ACTION_VF_CONFIG || !act->vf.placeholder || act->vm < 0)
                        continue;
                placeholder = strdup(act->vf.placeholder);
                key = placeholder ? resolved_key(a, act, placeholder) : NULL;
                if (!key)
                        return log_error_errno(-ENOMEM, "Out of memory.");
                held = resolved(a, key);
                if (!held)
                        return log_error_errno(-ENXIO, "%s: %s has no address after the host actions [%s].",
                                               vm_name(a, act), placeholder, act->key);
                r = plan_resolve(plan, (size_t)act->vm, placeholder, held);
                if (r < 0)
                        return log_error_errno(r, "Out of memory.");
                log_info("%s: %s is %s [%s].", vm_name(a, act), placeholder, held, act->key);
        }
        return 0;
}

/* ---- undo ---- */

int apply_vfio_undo(struct vx_apply *a, const struct vx_undo *u)
{
        _cleanup_free_ char *ledger = ledger_dir(a), *why = NULL;
        struct vx_vfio_record rec;
        int r;

        if (!ledger)
                return log_warning_errno(-ENOMEM, "Out of memory.");
        switch (u->kind) {
        case VX_UNDO_VFIO_CLAIM:
                r = vfio_ledger_release(ledger, u->object, a->deployment);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return log_warning_errno(r, "Failed to release the claim on %s: %m", u->object);
                return 0;
        case VX_UNDO_VFIO_RESTORE:
                if (!u->from || vfio_record_from_json(u->from, &rec) < 0)
                        return log_warning_errno(-EINVAL,
                                                 "Journal: a vfio-restore step of %s without a record, "
                                                 "ignoring it.",
                                                 u->object);
                r = vfio_record_restore(a->host_root, a->ns, &rec, &why);
                if (r < 0)
                        return log_warning_errno(r, "Failed to restore %s: %s", u->object, said(why, r));
                log_info("Restored %s (%s%s%s).", u->object, rec.parts & VX_VFIO_REC_DRIVER ? "driver " : "",
                         rec.parts & VX_VFIO_REC_DRIVER ? (rec.driver[0] ? rec.driver : "none") : "",
                         rec.parts & VX_VFIO_REC_VF ? "VF settings" : "");
                return 0;
        case VX_UNDO_VFIO_PF:
                r = vfio_ledger_pf_done(a->host_root, a->ns, ledger, u->object, a->deployment, owner_alive, a, &why);
                if (r == 0 || r == -ENOENT)
                        return 0; /* other deployments still use it, or nothing was kept */
                if (r < 0)
                        return log_warning_errno(r, "PF %s: failed to restore it: %s", u->object, said(why, r));
                log_info("PF %s: its last user is gone; flags and sriov_numvfs restored.", u->object);
                return 0;
        default:
                return -EINVAL;
        }
}
