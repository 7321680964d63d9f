/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The undo journal: every host change that succeeded is followed by a push
 * of the step that undoes it, and the journal is written to disk (atomic
 * rename) after each push, so a supervisor that died can be followed by one
 * that undoes what the first did. Undoing runs the steps backwards. Only
 * what is in a journal is ever undone: what vmxrun found on the host stays.
 *
 * Each step has an owner: NULL for the deployment (bridges), "vm:NAME" for a
 * VM's taps, "bind:IFACE" for `vmxrun bind`; a VM's or a binding's steps can
 * be undone alone. The journal does not know how to undo a step: the caller
 * passes a runner (launcher/apply.c has the real one).
 *
 * On disk (docs/networking.md, docs/hugepages.md):
 *   {"version": 1, "steps": [{"undo": "delete-link", "owner": "vm:vcp", "object": "vcp_ext-1",
 *                             "ifindex": 12}, ...]}
 * hugepages steps also have "node", "pages" and "total".
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"

enum vx_undo_kind {
        VX_UNDO_DELETE_LINK,  /* "delete-link": delete link object if it still has ifindex */
        VX_UNDO_SET_MASTER,   /* "set-master": object was made a port of `to`; give it back to `from` (NULL: none) */
        VX_UNDO_ADDRESS_ADD,  /* "address-add": address object was added to link `to`; delete it */
        VX_UNDO_ADDRESS_DEL,  /* "address-del": address object was removed from link `from`; add it back */
        VX_UNDO_ROUTE_ADD,    /* "route-add": default route object ("GW METRIC") added out of `to`; delete it */
        VX_UNDO_ROUTE_DEL,    /* "route-del": default route object removed from `from`; add it back */
        VX_UNDO_BRIDGE_CLAIM, /* "bridge-claim": this deployment uses shared bridge object; release the claim */
        VX_UNDO_HUGEPAGES,    /* "hugepages": pages were added to the pool of page size object ("2M") on node;
                               * take them out again when the pool still has total pages */
        VX_UNDO_UMOUNT,       /* "umount": a hugetlbfs was mounted at object; unmount it */
        VX_UNDO_RMDIR,        /* "rmdir": directory object was created; remove it when empty */
        VX_UNDO_CHOWN,        /* "chown": file object was given to QEMU's user `to` ("UID:GID"); give it back to
                               * `from` ("UID:GID:MODE", mode in octal) when it still has `to` */
        VX_UNDO_VFIO_CLAIM, /* "vfio-claim": PCI address object was claimed in the host-wide vfio ledger; release it */
        VX_UNDO_VFIO_RESTORE, /* "vfio-restore": object (a PCI address) was changed; `from` is its record as JSON
                               * (vfio_record_to_json: driver, driver_override, VF settings), put it back */
        VX_UNDO_VFIO_PF,      /* "vfio-pf": this deployment uses PF object; the last user restores the PF's state
                               * kept in the ledger (flags, sriov_numvfs) */
        _VX_UNDO_KIND_MAX,
};

struct vx_undo {
        enum vx_undo_kind kind;
        char *owner;  /* NULL: deployment-wide; "vm:NAME"; "bind:IFACE" */
        char *object; /* link name, address "a/prefix", route "GW METRIC", bridge name */
        char *from;   /* see the kinds */
        char *to;
        int ifindex;  /* delete-link: the link that was created; 0 otherwise */
        int node;       /* hugepages: NUMA node, -1 for the whole host */
        uint64_t pages; /* hugepages: pages vmxrun added (0: none were missing, a marker that it is done) */
        uint64_t total; /* hugepages: the pool's nr_hugepages after vmxrun added them */
};

struct vx_journal;

/*
 * Opens the journal stored at path: reads it when the file exists, else
 * starts empty (the file is written at the first push). Returns 0 and *ret,
 * -EBADMSG when the file cannot be parsed, or -errno.
 */
int journal_open(const char *path, struct vx_journal **ret);

struct vx_journal *journal_free(struct vx_journal *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_journal *, journal_free)

/*
 * Appends a copy of step and writes the file. Returns 0, or -errno when the
 * copy or the write failed; the step is kept in memory whenever it could be
 * copied, so a rollback still undoes it.
 */
int journal_push(struct vx_journal *j, const struct vx_undo *step);

/*
 * Runs a step's undo. Returns 0 when the step is done with (undone, or
 * nothing left to undo), or -errno (the step is dropped anyway: logged by
 * the runner, never retried forever).
 */
typedef int (*vx_undo_runner)(const struct vx_undo *step, void *userdata);

/*
 * Undoes, newest first, every step past the first keep steps whose owner is
 * owner (any owner when match_owner is false), removes them and writes the
 * file (deleted when the journal is empty). Returns 0 or the first error a
 * runner or the write returned; every matching step is run all the same.
 */
int journal_undo(struct vx_journal *j, size_t keep, bool match_owner, const char *owner, vx_undo_runner run,
                 void *userdata);

size_t journal_size(const struct vx_journal *j);
const struct vx_undo *journal_step(const struct vx_journal *j, size_t i);
const char *journal_path(const struct vx_journal *j);

/* The last step of that kind and object (and owner, when match_owner), or NULL. */
const struct vx_undo *journal_find(const struct vx_journal *j, enum vx_undo_kind kind, const char *object,
                                   bool match_owner, const char *owner);

/* Number of steps of that kind and object, whatever their owner. */
size_t journal_count(const struct vx_journal *j, enum vx_undo_kind kind, const char *object);

/* "delete-link", ...; NULL out of range. Parsing returns -EINVAL for an unknown name. */
const char *journal_kind_to_string(enum vx_undo_kind k);
int journal_kind_from_string(const char *s, enum vx_undo_kind *ret);
