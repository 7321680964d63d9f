/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The supervisor's notifications to systemd (launcher/service.c), received on
 * a real AF_UNIX datagram socket named by $NOTIFY_SOCKET: STATUS= on every
 * change, READY=1 once every VM runs and is ready, STOPPING=1, and WATCHDOG=1
 * from the timerfd at half of $WATCHDOG_USEC.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "service.h"

static char dir[] = "/tmp/vx-service-XXXXXX";
static char path[128];
static int sock = -EBADF;

static int setup(void **state)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        strcpy(dir, "/tmp/vx-service-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        snprintf(path, sizeof(path), "%s/notify", dir);
        strcpy(sa.sun_path, path);
        sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -1;
        setenv("NOTIFY_SOCKET", path, 1);
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        return 0;
}

static int teardown(void **state)
{
        sock = safe_close(sock);
        unlink(path);
        rmdir(dir);
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        return 0;
}

/* The next datagram, or "" when none is queued. */
static const char *next(void)
{
        static char buf[512];
        ssize_t n = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);

        if (n < 0) {
                assert_int_equal(errno, EAGAIN);
                n = 0;
        }
        buf[n] = '\0';
        return buf;
}

struct fake {
        struct vx_vm_plan plans[2];
        struct vx_vm_instance insts[2];
        struct vx_vm_instance *ptrs[2];
};

static void fake_init(struct fake *f)
{
        memset(f, 0, sizeof(*f));
        f->plans[0].name = "vcp";
        f->plans[1].name = "vfp";
        for (int i = 0; i < 2; i++) {
                f->insts[i] = (struct vx_vm_instance){.plan = &f->plans[i], .state = VX_VM_STARTING};
                f->ptrs[i] = &f->insts[i];
        }
}

static void test_ready_status_stopping(void **state)
{
        _cleanup_(service_freep) struct vx_service *s = NULL;
        struct fake f;

        fake_init(&f);
        assert_int_equal(service_open(&s), 0);
        assert_non_null(s);
        assert_int_equal(service_watchdog_fd(s), -EBADF); /* none asked for */

        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=0/2 VMs running: vcp starting, vfp starting");
        assert_string_equal(next(), "");

        /* Running (pinned) but not ready yet: no READY=1. */
        f.insts[0].state = f.insts[1].state = VX_VM_RUNNING;
        f.insts[0].ready = true;
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=2/2 VMs running: vcp running, vfp running (not ready)");
        assert_string_equal(next(), "");

        f.insts[1].ready = true;
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=2/2 VMs running: vcp running, vfp running");
        assert_string_equal(next(), "READY=1");
        assert_string_equal(next(), "");

        /* Nothing changed: nothing sent. */
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "");

        /* A crash and its restart: STATUS= only, READY=1 is said once. */
        f.insts[1].state = VX_VM_BACKOFF;
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=1/2 VMs running: vcp running, vfp restarting");
        f.insts[1].state = VX_VM_RUNNING;
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=2/2 VMs running: vcp running, vfp running");
        assert_string_equal(next(), "");

        /* Stopping one VM is not stopping the deployment. */
        f.insts[0].state = VX_VM_STOPPING;
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=1/2 VMs running: vcp stopping, vfp running");
        assert_string_equal(next(), "");
        f.insts[1].state = VX_VM_STOPPING;
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=0/2 VMs running: vcp stopping, vfp stopping");
        assert_string_equal(next(), "STOPPING=1");
        f.insts[0].state = VX_VM_STOPPED;
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=0/2 VMs running: vcp stopped, vfp stopping");
        assert_string_equal(next(), "");
}

static void test_failed_vm_is_never_ready(void **state)
{
        _cleanup_(service_freep) struct vx_service *s = NULL;
        struct fake f;

        fake_init(&f);
        assert_int_equal(service_open(&s), 0);
        f.insts[0].state = VX_VM_RUNNING;
        f.insts[0].ready = true;
        f.insts[1].state = VX_VM_FAILED;
        service_update(s, f.ptrs, 2);
        assert_string_equal(next(), "STATUS=1/2 VMs running: vcp running, vfp failed");
        assert_string_equal(next(), "");
}

static void test_watchdog(void **state)
{
        _cleanup_(service_freep) struct vx_service *s = NULL;
        struct pollfd p;

        assert_int_equal(setenv("WATCHDOG_USEC", "20000", 1), 0);
        assert_int_equal(service_open(&s), 0);
        p = (struct pollfd){.fd = service_watchdog_fd(s), .events = POLLIN};
        assert_true(p.fd >= 0);
        /* The timer fires every 10 ms; 60 s only guards a hang on a loaded machine. */
        for (int k = 0; k < 2; k++) {
                assert_int_equal(poll(&p, 1, 60000), 1);
                service_on_watchdog(s);
                assert_string_equal(next(), "WATCHDOG=1");
        }
        /* Consumed: not readable until it fires again. */
        assert_int_equal(poll(&p, 1, 0), 0);
}

static void test_no_service_manager(void **state)
{
        struct vx_service *s = (struct vx_service *)1;
        struct fake f;

        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(service_open(&s), 0);
        assert_null(s);
        fake_init(&f);
        service_update(s, f.ptrs, 2);
        service_on_watchdog(s);
        assert_int_equal(service_watchdog_fd(s), -EBADF);
        assert_string_equal(next(), "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ready_status_stopping, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_vm_is_never_ready, setup, teardown),
                cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_service_manager, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
