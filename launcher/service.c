/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "service.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "sd-notify.h"

struct vx_service {
        char *socket;    /* $NOTIFY_SOCKET as read at open */
        int watchdog_fd; /* timerfd at half of WATCHDOG_USEC, or -EBADF */
        bool ready_sent, stopping_sent;
        char *last_status;
};

int service_open(struct vx_service **ret)
{
        _cleanup_(service_freep) struct vx_service *s = NULL;
        const char *socket = getenv("NOTIFY_SOCKET");
        uint64_t usec = 0;

        if (!socket || !*socket) {
                *ret = NULL;
                return 0;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->watchdog_fd = -EBADF;
        s->socket = strdup(socket);
        if (!s->socket)
                return -ENOMEM;
        if (sd_watchdog_usec(0, &usec) > 0) {
                /* Half the interval, as sd_watchdog_enabled(3) advises: a late wake-up does not miss it. */
                uint64_t half = usec / 2 ? usec / 2 : 1;
                struct itimerspec its = {
                        .it_value = {.tv_sec = (time_t)(half / 1000000), .tv_nsec = (long)(half % 1000000) * 1000},
                        .it_interval = {.tv_sec = (time_t)(half / 1000000), .tv_nsec = (long)(half % 1000000) * 1000},
                };

                s->watchdog_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                if (s->watchdog_fd < 0 || timerfd_settime(s->watchdog_fd, 0, &its, NULL) < 0)
                        return -errno;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int service_watchdog_fd(const struct vx_service *s)
{
        return s ? s->watchdog_fd : -EBADF;
}

void service_on_watchdog(struct vx_service *s)
{
        uint64_t expirations;

        if (!s || s->watchdog_fd < 0)
                return;
        (void)!read(s->watchdog_fd, &expirations, sizeof(expirations));
        (void)sd_notify_send(s->socket, "WATCHDOG=1");
}

static const char *state_word(const struct vx_vm_instance *v)
{
        switch (v->state) {
        case VX_VM_RUNNING:
                return v->ready ? "running" : "running (not ready)";
        case VX_VM_STARTING:
                return "starting";
        case VX_VM_STOPPING:
                return "stopping";
        case VX_VM_BACKOFF:
                return "restarting";
        case VX_VM_FAILED:
                return "failed";
        case VX_VM_WAITING:
                return "waiting";
        case VX_VM_STOPPED:
        default:
                return "stopped";
        }
}

char *service_status_text(struct vx_vm_instance *const *vms, size_t n)
{
        _cleanup_free_ char *text = NULL;
        size_t running = 0, len = 0;
        FILE *f;

        for (size_t i = 0; i < n; i++)
                running += vms[i]->state == VX_VM_RUNNING;
        f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        fprintf(f, "%zu/%zu VM%s running", running, n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s %s", i ? ", " : ": ", vms[i]->plan->name, state_word(vms[i]));
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(text);
}

void service_update(struct vx_service *s, struct vx_vm_instance *const *vms, size_t n)
{
        _cleanup_free_ char *status = NULL;
        bool all_ready = n > 0, any_up = false, any_stopping = false;

        if (!s)
                return;
        for (size_t i = 0; i < n; i++) {
                all_ready = all_ready && vms[i]->state == VX_VM_RUNNING && vms[i]->ready;
                any_up = any_up || vms[i]->state == VX_VM_RUNNING || vms[i]->state == VX_VM_STARTING ||
                         vms[i]->state == VX_VM_BACKOFF || vms[i]->state == VX_VM_WAITING;
                any_stopping = any_stopping || vms[i]->state == VX_VM_STOPPING;
        }
        status = service_status_text(vms, n);
        if (status && (!s->last_status || strcmp(status, s->last_status) != 0)) {
                (void)sd_notify_sendf(s->socket, "STATUS=%s", status);
                free(s->last_status);
                s->last_status = TAKE_PTR(status);
        }
        if (all_ready && !s->ready_sent) {
                s->ready_sent = true;
                (void)sd_notify_send(s->socket, "READY=1");
        }
        if (!any_up && any_stopping && !s->stopping_sent) {
                s->stopping_sent = true;
                (void)sd_notify_send(s->socket, "STOPPING=1");
        }
}

struct vx_service *service_free(struct vx_service *s)
{
        if (!s)
                return NULL;
        safe_close(s->watchdog_fd);
        free(s->socket);
        free(s->last_status);
        free(s);
        return NULL;
}
