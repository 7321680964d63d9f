/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * PCI passthrough with vfio-pci: facts about SR-IOV PFs, their VFs and any
 * PCI device (sysfs), the preconditions of a bind (IOMMU on, vfio-pci there,
 * IOMMU group viable as libvirt checks it), binding to vfio-pci and back,
 * raising sriov_numvfs, a host-wide ledger of claimed PCI addresses, `vf:
 * auto` selection, and save/restore records of everything vmxrun changes on
 * a VF, a device or a PF (for the undo journal, launcher/journal.h).
 *
 * Every sysfs and /dev access goes through vfio/sysfs.c under a root
 * directory: NULL or "/" is the real host, tests point it at a fake tree.
 * VF settings and PF flags are netlink, asked of netsetup (netsetup.h).
 *
 * Functions return 0 (or a positive count) or a negative errno and log
 * nothing. ret_* out-params are written only on success. Where a human
 * needs more than an errno (which devices make a group non-viable, which
 * kernel parameter turns the IOMMU on), the function takes `char **why`:
 * on failure, when why is not NULL, *why is set to a malloc'd sentence
 * (free it) or left NULL when there is nothing to add to the errno.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "netsetup.h"

#define VX_VFIO_BDF_SIZE 13 /* "0000:03:00.0" */
#define VX_VFIO_DRIVER_SIZE 64
#define VX_VFIO_MAX_VFS 256  /* PCIe allows more; no NIC offers more */
#define VX_VFIO_GROUP_MAX 32 /* devices of one IOMMU group vmxrun looks at */
#define VX_VFIO_NET_MAX 8    /* net interfaces of one PCI function */

/* ---- facts ---- */

/* An SR-IOV physical function, found by its interface name. */
struct vx_vfio_pf {
        char ifname[VX_NETSETUP_IFNAMSIZ];
        char bdf[VX_VFIO_BDF_SIZE];
        char driver[VX_VFIO_DRIVER_SIZE];            /* "" when unbound */
        int numa_node;                               /* -1: none or unknown */
        unsigned total_vfs;                          /* sriov_totalvfs */
        unsigned num_vfs;                            /* sriov_numvfs */
        char vfs[VX_VFIO_MAX_VFS][VX_VFIO_BDF_SIZE]; /* vfs[i]: BDF of VF i (virtfn<i>), i < num_vfs */
};

/*
 * Reads the PF behind interface ifname (/sys/class/net/IFNAME/device).
 * Returns 0 and *ret; -ENODEV when there is no such interface, -ENOTSUP
 * when it is not an SR-IOV PF (no sriov_totalvfs), -E2BIG beyond
 * VX_VFIO_MAX_VFS VFs, or -errno.
 */
int vfio_pf_get(const char *root, const char *ifname, struct vx_vfio_pf *ret);

/*
 * The BDF of VF index vf of PF ifname. Returns 0 and ret; -ENODEV (no PF),
 * -ERANGE when vf >= sriov_totalvfs (it can never exist), -ENXIO when
 * vf >= sriov_numvfs (not created yet), or -errno.
 */
int vfio_pf_vf(const char *root, const char *ifname, unsigned vf, char ret[VX_VFIO_BDF_SIZE]);

/*
 * The other way round: which PF (by interface) and VF index a VF's BDF is,
 * from its physfn link. Returns 0 with both; -EINVAL when bdf is not a VF,
 * -ENODEV when its PF has no interface, -ENOENT when the PF does not list
 * it, or -errno.
 */
int vfio_vf_of(const char *root, const char *bdf, char ret_pf[VX_NETSETUP_IFNAMSIZ], unsigned *ret_vf);

struct vx_vfio_peer {
        char bdf[VX_VFIO_BDF_SIZE];
        char driver[VX_VFIO_DRIVER_SIZE]; /* "" when unbound */
        bool bridge;                      /* a PCI bridge (class 0x0604): vfio lets it stay on its driver */
};

/* A PCI function by address. */
struct vx_vfio_device {
        char bdf[VX_VFIO_BDF_SIZE];
        unsigned vendor, device;
        char driver[VX_VFIO_DRIVER_SIZE];          /* "" when unbound */
        char driver_override[VX_VFIO_DRIVER_SIZE]; /* "" when none ("(null)" in sysfs) */
        int iommu_group;                           /* -1: none (IOMMU off) */
        size_t n_peers;                            /* the group's other devices */
        struct vx_vfio_peer peers[VX_VFIO_GROUP_MAX];
        size_t n_net;
        char net[VX_VFIO_NET_MAX][VX_NETSETUP_IFNAMSIZ]; /* interfaces under net/ */
        char physfn[VX_VFIO_BDF_SIZE];                   /* a VF's PF, "" otherwise */
        int numa_node;                                   /* -1: none or unknown */
};

/*
 * Reads device bdf (/sys/bus/pci/devices/BDF). Returns 0 and *ret, -EINVAL
 * for a malformed address, -ENODEV when there is no such device, -E2BIG when
 * its group has more than VX_VFIO_GROUP_MAX devices, or -errno.
 */
int vfio_device_get(const char *root, const char *bdf, struct vx_vfio_device *ret);

/* Checks "DDDD:BB:DD.F" (lower-case hex). Returns 0 or -EINVAL. */
int vfio_check_bdf(const char *bdf);

/*
 * Every SR-IOV PF of the host, by interface (each /sys/class/net/IF whose
 * device has sriov_totalvfs > 0), in name order, for `vmxrun doctor`.
 * Returns their number with *ret (free it; NULL when 0), or -errno.
 */
int vfio_pfs(const char *root, struct vx_vfio_pf **ret);

/* What `vmxrun status` shows for a VF NIC, as read back from the host. */
struct vx_vfio_vf_status {
        char pf[VX_NETSETUP_IFNAMSIZ];
        unsigned vf;
        char bdf[VX_VFIO_BDF_SIZE];
        int iommu_group;                  /* -1: none */
        char driver[VX_VFIO_DRIVER_SIZE]; /* "" when unbound */
        struct vx_netsetup_vf settings;   /* MAC, VLAN, QoS, rate, spoofchk, trust, link state */
};

/* Reads VF vf of PF pf: sysfs, and its settings from ns. Returns 0 and *ret, or the errors of vfio_pf_vf(). */
int vfio_vf_status(const char *root, struct vx_netsetup *ns, const char *pf, unsigned vf,
                   struct vx_vfio_vf_status *ret);

/* The IOMMU as `vmxrun doctor` reports it. */
struct vx_vfio_iommu_info {
        size_t n_groups;        /* entries of /sys/kernel/iommu_groups; 0: off */
        bool cmdline_intel;     /* intel_iommu=on on /proc/cmdline */
        bool cmdline_amd;       /* amd_iommu=on */
        int intremap_supported; /* an Intel IOMMU's ECAP.IR (/sys/class/iommu/dmar* /intel-iommu/ecap bit 3); -1 unknown */
        bool intremap_enabled;  /* /proc/interrupts has IR- interrupt chips */
        bool unsafe_interrupts; /* vfio_iommu_type1 allow_unsafe_interrupts=Y */
        int vfio_pci;           /* vfio_check_driver(): 0 registered, 1 loadable, -ENOENT */
};

/* Fills *ret; missing files are facts (0, false, -1). Returns 0 or -ENOMEM. */
int vfio_iommu_info(const char *root, struct vx_vfio_iommu_info *ret);

/* ---- preconditions ---- */

/*
 * The IOMMU is on when /sys/kernel/iommu_groups holds at least one group.
 * Returns 0, or -ENODEV with *why naming intel_iommu=on / amd_iommu=on.
 */
int vfio_check_iommu(const char *root, char **why);

/*
 * vfio-pci is available: 0 when the driver is registered
 * (/sys/bus/pci/drivers/vfio-pci), 1 when it is not but the running kernel
 * has it as a module (lib/modules/RELEASE/modules.dep; a caller that may
 * load modules loads it then), -ENOENT with *why when neither.
 */
int vfio_check_driver(const char *root, char **why);

/*
 * The IOMMU group of bdf is viable, as libvirt checks it: every other device
 * in the group is unbound, bound to vfio-pci or to pci-stub, or a PCI bridge
 * (the kernel's vfio lets bridges keep pcieport). Returns 0;
 * -EBUSY with *why naming the others and their drivers ("0000:03:00.1
 * (ixgbe), ..."); -ENXIO (*why) when the device has no group (IOMMU off);
 * -ENODEV, or -errno.
 */
int vfio_check_group(const char *root, const char *bdf, char **why);

/*
 * None of the device's interfaces is up with a global address on the host
 * (asked of ns, which must be open; interfaces ns does not see count as
 * down). Returns 0, or -EBUSY with *why naming the interface and its
 * addresses, or -errno.
 */
int vfio_check_not_in_use(const char *root, struct vx_netsetup *ns, const char *bdf, char **why);

/* ---- bind and unbind ---- */

/*
 * Binds bdf to vfio-pci: writes "vfio-pci" to driver_override (first, as
 * libvirt does: no other driver can take the device once it is unbound),
 * unbinds it from its driver, writes bdf to /sys/bus/pci/drivers_probe, checks that
 * vfio-pci took it, and waits (inotify on /dev/vfio, bounded by timeout_ms)
 * for /dev/vfio/<group>. A device already bound to vfio-pci is left as it is.
 * The caller has checked the preconditions. Before changing anything, fills
 * *saved (when not NULL) with the driver and driver_override to give back:
 * written even on failure, so that a caller can journal it first.
 * On failure half way, puts the device back as it was (its driver and
 * driver_override) before returning the error: -ETIMEDOUT (no
 * /dev/vfio/<group> in time), -EIO (vfio-pci did not take it, *why), -ENODEV,
 * -ENXIO (no IOMMU group), or the -errno of the failed write.
 * Returns 0 and *ret_group, the IOMMU group number.
 */
struct vx_vfio_record;
int vfio_bind(const char *root, const char *bdf, unsigned timeout_ms, struct vx_vfio_record *saved, int *ret_group,
              char **why);

/*
 * Gives bdf back: unbinds it from its current driver (vfio-pci), restores
 * driver_override to override ("" or NULL: cleared) and hands it to driver
 * ("" or NULL: leaves it unbound): through drivers_probe, then by an explicit
 * bind when the probe left it elsewhere. Verifies the result. Returns 0,
 * -EIO (*why) when the device ends up on another driver, -ENODEV, or -errno.
 */
int vfio_unbind(const char *root, const char *bdf, const char *driver, const char *override, char **why);

/*
 * The one function through which this module writes to sysfs (path is
 * absolute, already under the root): opens O_WRONLY|O_CLOEXEC|O_NOFOLLOW and
 * writes value in a single write(2), as sysfs wants. Tests wrap it
 * (-Wl,--wrap=vfio_sysfs_write) to emulate the kernel. Returns 0 or -errno.
 */
int vfio_sysfs_write(const char *path, const char *value);

/* ---- sriov_numvfs ---- */

/*
 * Sets sriov_numvfs of PF ifname to count. Raising goes from 0 only: a PF
 * that has some VFs already (but not count) is refused with -EBUSY and *why
 * (changing it would destroy VFs others may use); count beyond
 * sriov_totalvfs is -ERANGE (*why). count equal to the current value is a
 * no-op. 0 removes all VFs. Verifies that the virtfn links match afterwards
 * (-EIO). Returns 1 when it changed the count, 0 when not, or -errno.
 */
int vfio_pf_set_num_vfs(const char *root, const char *ifname, unsigned count, char **why);

/*
 * What a start needs: PF ifname has at least needed VFs. 0 when it has
 * (nothing changed); 1 when it had none and sriov_numvfs was raised to
 * needed; -EBUSY (*why) when it has some but fewer than needed (vmxrun only
 * raises from 0); -ERANGE (*why) when needed > sriov_totalvfs; or -errno.
 */
int vfio_pf_ensure_vfs(const char *root, const char *ifname, unsigned needed, char **why);

/* ---- the ledger of claimed PCI addresses ---- */

/*
 * A host-wide ledger under dir (the runtime dir's .shared/vfio): one file
 * per claimed address, dir/claims/<BDF>, holding the owner (a deployment
 * name), changed only under flock(dir/lock). A claim whose owner is not
 * alive (alive() returns false, e.g. its journal is gone) is stale and is
 * dropped; alive NULL treats every owner as alive. dir and its missing
 * parents are created (0700) on first use.
 */
typedef bool (*vx_vfio_alive)(const char *owner, void *userdata);

/*
 * Claims bdf for owner. Returns 0 (also when owner holds it already),
 * -EBUSY (*why names the holder) or -errno.
 */
int vfio_ledger_claim(const char *dir, const char *bdf, const char *owner, vx_vfio_alive alive, void *userdata,
                      char **why);

/* Releases owner's claim on bdf. Returns 0, -ENOENT when owner has no claim on it, or -errno. */
int vfio_ledger_release(const char *dir, const char *bdf, const char *owner);

/* The holder of bdf: 0 and *ret_owner (free it), -ENOENT when unclaimed, or -errno. Stale claims are ignored. */
int vfio_ledger_owner(const char *dir, const char *bdf, vx_vfio_alive alive, void *userdata, char **ret_owner);

/* Number of live claims on VFs of PF pf (by BDF of the PF), for "the last one using this PF". -errno on error. */
int vfio_ledger_count_pf(const char *root, const char *dir, const char *pf_ifname, vx_vfio_alive alive, void *userdata);

/*
 * A PF is shared by every deployment that uses one of its VFs, and so is
 * what was changed on it (its flags, sriov_numvfs): the state from before
 * the first deployment changed it is kept in the ledger,
 * dir/pfs/<IFNAME>.json, and given back when the last one goes.
 *
 * vfio_ledger_pf_keep() stores rec (parts PF and/or NUMVFS, saved before
 * this deployment changes anything on the PF) unless a record of that PF is
 * kept already, which then stays (it is the older, original state).
 * Returns 1 when stored, 0 when one was kept already, or -errno.
 *
 * vfio_ledger_pf_last() is for a stop, after its claims are released: when
 * no live claim on any VF of the PF and no live user entry (below) remains, hands the kept record back in
 * *ret, removes it, and returns 1 (the caller restores it with
 * vfio_record_restore()); returns 0 while VFs of it are still claimed,
 * -ENOENT when no record is kept, or -errno.
 */
int vfio_ledger_pf_keep(const char *dir, const struct vx_vfio_record *rec);
int vfio_ledger_pf_last(const char *root, const char *dir, const char *pf, vx_vfio_alive alive, void *userdata,
                        struct vx_vfio_record *ret);

/*
 * What a deployment uses (the two above are their parts, for callers that
 * hold no user entry): owners that use a PF are entered in the ledger,
 * dir/pfs/<IFNAME>.users/<owner>, so that a PF is "in use" from the moment a
 * start decides to use it, before it claims any VF.
 *
 * vfio_ledger_pf_use(), under the ledger lock: when no record of pf is kept,
 * reads its state (parts: PF and/or NUMVFS; ns is needed for PF) and keeps
 * it; then enters owner as a user. Returns 1 when the record was kept now, 0
 * when one was kept already, -EINVAL, or -errno.
 *
 * vfio_ledger_pf_done(), under the ledger lock for all of it: removes owner's
 * entry; when no live user (alive()) and no live claim on a VF of pf remain,
 * restores the kept record (vfio_record_restore(), *why) and removes it.
 * Holding the lock while restoring closes the race with a start that
 * becomes a user meanwhile: it waits, then reads the host's own state.
 * Returns 1 when restored, 0 while others use the PF, -ENOENT when no
 * record is kept, or -errno (on a failed restore the record stays).
 */
int vfio_ledger_pf_use(const char *root, struct vx_netsetup *ns, const char *dir, const char *pf, unsigned parts,
                       const char *owner);
int vfio_ledger_pf_done(const char *root, struct vx_netsetup *ns, const char *dir, const char *pf, const char *owner,
                        vx_vfio_alive alive, void *userdata, char **why);

struct vx_vfio_choice {
        char pf[VX_NETSETUP_IFNAMSIZ];
        unsigned vf;
        char bdf[VX_VFIO_BDF_SIZE];
};

/*
 * `vf: auto`: under the ledger lock, picks a VF among the PFs (n of them)
 * that is free: not claimed, and unbound or held by its VF net driver (it
 * has a net interface) that is not up with addresses on the host (asked of
 * ns; NULL: not checked). A VF on vfio-pci or pci-stub without a claim is
 * someone else's passthrough, never free. Claims it for owner. Prefers a
 * PF on numa_node (-1: any), then the PF with most free VFs, then the order
 * given; the lowest free VF index on that PF. Only existing VFs count (raise
 * sriov_numvfs first). PFs that do not exist or are no SR-IOV PF are
 * skipped. Returns 0 and *ret,
 * -ENOSPC (*why: which PFs were looked at) when no VF is free, or -errno.
 */
int vfio_vf_claim_auto(const char *root, struct vx_netsetup *ns, const char *dir, const char *const *pfs, size_t n,
                       int numa_node, const char *owner, vx_vfio_alive alive, void *userdata,
                       struct vx_vfio_choice *ret, char **why);

/* ---- save/restore records ---- */

enum {
        VX_VFIO_REC_DRIVER = 1 << 0, /* bdf, driver, driver_override */
        VX_VFIO_REC_VF = 1 << 1,     /* pf, vf, vf_settings */
        VX_VFIO_REC_PF = 1 << 2,     /* pf, pf_settings */
        VX_VFIO_REC_NUMVFS = 1 << 3, /* pf, num_vfs */
};

/*
 * Everything needed to put a device, a VF's settings or a PF's flags back
 * exactly; parts says which of them the record holds.
 */
struct vx_vfio_record {
        unsigned parts;
        char bdf[VX_VFIO_BDF_SIZE];
        char driver[VX_VFIO_DRIVER_SIZE];
        char driver_override[VX_VFIO_DRIVER_SIZE];
        char pf[VX_NETSETUP_IFNAMSIZ];
        unsigned vf;
        struct vx_netsetup_vf vf_settings;
        struct vx_netsetup_pf pf_settings;
        unsigned num_vfs; /* the PF's sriov_numvfs */
};

/*
 * Fills *ret with the current state of what parts names: the driver and
 * driver_override of bdf (DRIVER), VF vf of PF pf's settings (VF), PF pf's
 * flags (PF), its sriov_numvfs (NUMVFS). bdf or pf may be NULL when their
 * parts are not asked for; ns may be NULL without VF and PF. Returns 0 or
 * -errno.
 */
int vfio_record_save(const char *root, struct vx_netsetup *ns, unsigned parts, const char *bdf, const char *pf,
                     unsigned vf, struct vx_vfio_record *ret);

/*
 * Puts back what the record holds: the driver first (vfio_unbind, when the
 * device is not on its recorded driver or override), then the VF's settings
 * (netsetup_vf_set, MAC before spoofchk), then sriov_numvfs (which resets
 * some PFs), then the PF's flags. A device or VF that no longer exists
 * (its PF's VFs were removed) has nothing left to put back: that part is
 * done. Every part is tried; returns 0 or the first error (*why for the
 * driver and sriov_numvfs parts).
 */
int vfio_record_restore(const char *root, struct vx_netsetup *ns, const struct vx_vfio_record *rec, char **why);

/*
 * A record as one line of JSON ({"parts": ["driver", "vf", "pf"], "bdf": ...,
 * "vf_settings": {"mac": ..., "vlan": ..., ...}, "pf_settings": {...}}), for
 * the journal's object string. to_json returns 0 and *ret (free it);
 * from_json returns 0, -EBADMSG for a string that is not such a record, or
 * -errno.
 */
int vfio_record_to_json(const struct vx_vfio_record *rec, char **ret);
int vfio_record_from_json(const char *s, struct vx_vfio_record *ret);
