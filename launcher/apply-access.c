/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What QEMU, running as its own user, must be able to open: the files it
 * opens itself (disks, kernel, initrd), the directory for its hugepage
 * backing file, and the runtime directories vmxrun made for it. Like
 * libvirt's DAC driver: a file the user cannot open is given to it for the
 * deployment's life and given back at teardown (journaled, and only while it
 * still has the owner vmxrun gave it); a directory above a file that does
 * not let the user through is refused, naming it, because changing it would
 * open more than the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply-internal.h"
#include "log.h"

int apply_qemu_user_resolve(struct vx_apply *a)
{
        const struct vx_plan *plan = a->plan;
        gid_t kvm;
        int r;

        a->qemu_user = (struct vx_user){.uid = 0, .gid = 0};
        if (!plan->qemu_user)
                return 0;
        r = host_user_lookup(NULL, plan->qemu_user, &a->qemu_user);
        if (r == -ESRCH) {
                /* The install step makes it (sysusers.d, scripts/install-deps.sh); a bare build makes it here. */
                r = host_user_create(plan->qemu_user);
                if (r < 0)
                        return apply_fail(NULL, r, "Failed to create the system user %s for QEMU (useradd): %m",
                                          plan->qemu_user);
                log_info("Created the system user %s that QEMU runs as.", plan->qemu_user);
                r = host_user_lookup(NULL, plan->qemu_user, &a->qemu_user);
        }
        if (r < 0)
                return apply_fail(NULL, r, "QEMU's user %s: %s", plan->qemu_user,
                                  r == -ESRCH ? "no such user" : strerror(-r));
        if (a->qemu_user.uid == 0)
                return apply_fail(NULL, -EINVAL, "QEMU's user %s has uid 0; refusing (say root to run QEMU as root).",
                                  plan->qemu_user);
        /* KVM: /dev/kvm belongs to group kvm on Debian; that is the one supplementary group QEMU keeps. */
        for (size_t i = 0; i < plan->n_vms; i++)
                if (plan->vms[i].accel == VX_ACCEL_KVM && host_group_lookup(NULL, "kvm", &kvm) >= 0) {
                        a->qemu_user.groups[0] = kvm;
                        a->qemu_user.n_groups = 1;
                        break;
                }
        return 0;
}

const struct vx_user *apply_qemu_user(const struct vx_apply *a)
{
        return &a->qemu_user;
}

/* The directory a runtime dir of QEMU's: root's, QEMU's group may enter (and, mode 0770, create in it). */
int apply_runtime_dir_for_qemu(const struct vx_apply *a, const char *dir, mode_t mode)
{
        if (!a->plan->qemu_user)
                return 0;
        if (chown(dir, 0, a->qemu_user.gid) < 0 || chmod(dir, mode) < 0)
                return -errno;
        return 0;
}

static int grant_file(struct vx_apply *a, const struct vx_host_action *act)
{
        const struct vx_action_file_access *f = &act->file;
        int mode = R_OK | (f->writable ? W_OK : 0);
        _cleanup_free_ char *blocker = NULL;
        char from[64], to[32];
        struct stat st;
        int r;

        r = host_access_as(f->path, &a->qemu_user, mode, &blocker);
        if (r == 0)
                return 0;
        if (r == -EPERM)
                return apply_fail(NULL, -EACCES,
                                  "%s: QEMU runs as %s, and %s does not let it through to %s; "
                                  "make it searchable for that user, or run QEMU as root [%s].",
                                  a->plan->vms[act->vm].name, a->plan->qemu_user, blocker, f->path, act->key);
        if (r != -EACCES)
                return apply_fail(NULL, r, "%s: %s: %m [%s]", a->plan->vms[act->vm].name, f->path, act->key);
        if (stat(f->path, &st) < 0)
                return apply_fail(NULL, -errno, "%s: %s: %m [%s]", a->plan->vms[act->vm].name, f->path, act->key);
        snprintf(from, sizeof(from), "%u:%u:%o", (unsigned)st.st_uid, (unsigned)st.st_gid,
                 (unsigned)(st.st_mode & 07777));
        snprintf(to, sizeof(to), "%u:%u", (unsigned)a->qemu_user.uid, (unsigned)a->qemu_user.gid);
        /* Journaled first: a crash right after the chown still gives it back. */
        r = journal_push(a->journal, UNDO(VX_UNDO_CHOWN, NULL, f->path, from, to, 0));
        if (r < 0)
                return apply_fail(NULL, r, "Failed to write the undo journal %s: %m", journal_path(a->journal));
        if (chown(f->path, a->qemu_user.uid, a->qemu_user.gid) < 0 ||
            chmod(f->path, (st.st_mode & 07777) | S_IRUSR | (f->writable ? S_IWUSR : 0)) < 0)
                return apply_fail(NULL, -errno, "%s: failed to give %s to %s: %m", a->plan->vms[act->vm].name, f->path,
                                  a->plan->qemu_user);
        log_info("%s: gave %s to %s (it was %s; given back at stop).", a->plan->vms[act->vm].name, f->path,
                 a->plan->qemu_user, from);
        return 0;
}

static int make_mem_dir(struct vx_apply *a, const struct vx_host_action *act)
{
        const char *path = act->mount.path;
        int r;

        if (mkdir(path, 0700) < 0) {
                if (errno != EEXIST)
                        return apply_fail(NULL, -errno, "%s: failed to create %s: %m [%s]", a->plan->vms[act->vm].name,
                                          path, act->key);
        } else {
                r = journal_push(a->journal, UNDO(VX_UNDO_RMDIR, NULL, path, NULL, NULL, 0));
                if (r < 0)
                        return apply_fail(NULL, r, "Failed to write the undo journal %s: %m", journal_path(a->journal));
        }
        if (chown(path, a->qemu_user.uid, a->qemu_user.gid) < 0 || chmod(path, 0700) < 0)
                return apply_fail(NULL, -errno, "%s: failed to give %s to %s: %m", a->plan->vms[act->vm].name, path,
                                  a->plan->qemu_user);
        return 0;
}

int apply_access(struct vx_apply *a)
{
        const struct vx_plan *plan = a->plan;
        int r = 0;

        if (!plan->qemu_user)
                return 0;
        r = apply_runtime_dir_for_qemu(a, plan->deployment_dir, 0710);
        if (r >= 0) {
                _cleanup_free_ char *blocker = NULL;

                /* QEMU creates its console socket below: every directory above must let it through. */
                r = host_access_as(plan->deployment_dir, &a->qemu_user, X_OK, &blocker);
                if (r == -EPERM || r == -EACCES)
                        return apply_fail(NULL, -EACCES,
                                          "QEMU runs as %s, and %s does not let it through to the "
                                          "runtime directory %s; make it searchable (chmod o+x), or use another "
                                          "runtime directory.",
                                          plan->qemu_user, blocker, plan->deployment_dir);
        }
        if (r < 0)
                return apply_fail(NULL, r, "Failed to let %s into %s: %m", plan->qemu_user, plan->deployment_dir);
        for (size_t i = 0; r >= 0 && i < plan->n_vms; i++) {
                _cleanup_free_ char *blocker = NULL;

                /*
                 * QEMU opens /dev/kvm itself. It is not given away like a disk: it is the
                 * host's, and its group (kvm, which QEMU keeps) is how access is granted.
                 */
                if (plan->vms[i].accel != VX_ACCEL_KVM)
                        continue;
                r = host_access_as("/dev/kvm", &a->qemu_user, R_OK | W_OK, &blocker);
                if (r == -EACCES || r == -EPERM)
                        return apply_fail(NULL, -EACCES,
                                          "%s: QEMU runs as %s, which may not open /dev/kvm; give "
                                          "/dev/kvm to group kvm (udev: KERNEL==\"kvm\", GROUP=\"kvm\", "
                                          "MODE=\"0660\") or run QEMU as root (VMXRUN_QEMU_USER=root).",
                                          plan->vms[i].name, plan->qemu_user);
                r = 0; /* no /dev/kvm at all: the plan said so already */
        }
        for (size_t i = 0; r >= 0 && i < plan->n_actions; i++) {
                const struct vx_host_action *act = &plan->actions[i];

                if (act->kind == VX_ACTION_FILE_ACCESS)
                        r = grant_file(a, act);
                else if (act->kind == VX_ACTION_MEM_DIR)
                        r = make_mem_dir(a, act);
        }
        return r;
}

int apply_undo_chown(const struct vx_undo *u)
{
        unsigned ouid, ogid, omode, quid, qgid;
        struct stat st;

        if (!u->from || !u->to || sscanf(u->from, "%u:%u:%o", &ouid, &ogid, &omode) != 3 ||
            sscanf(u->to, "%u:%u", &quid, &qgid) != 2)
                return log_warning_errno(-EINVAL, "Journal: a chown step of %s without its owners, ignoring it.",
                                         u->object);
        if (stat(u->object, &st) < 0)
                return errno == ENOENT ? 0
                                       : log_warning_errno(-errno, "Failed to look at %s, leaving it: %m", u->object);
        if (st.st_uid != quid || st.st_gid != qgid) {
                log_warning("%s: its owner changed since vmxrun gave it to QEMU's user; leaving it.", u->object);
                return 0;
        }
        if (chown(u->object, ouid, ogid) < 0 || chmod(u->object, omode) < 0)
                return log_warning_errno(-errno, "Failed to give %s back to %u:%u, leaving it: %m", u->object, ouid,
                                         ogid);
        log_info("Gave %s back to %u:%u.", u->object, ouid, ogid);
        return 0;
}
