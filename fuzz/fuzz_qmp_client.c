/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QMP client against a server that sends arbitrary bytes: the input is
 * written to the other end of a socketpair (as much as the socket holds; run
 * with -max_len=65536) and that end is shut down, then the client connects
 * (greeting, qmp_capabilities as id "vx-1") and runs query-status (vx-2),
 * query-cpus-fast (vx-3; query-cpus as vx-4 after CommandNotFound),
 * human-monitor-command and reads the events that are left. Ids count up per
 * command, so seeds can answer them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Only reached after EOF or a broken stream: a timeout here would be a hang the fuzzer reports as slow. */
#define TIMEOUT_MS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vx_qmp_error error = {};
        struct vx_qmp_stats stats;
        struct vx_qmp_event *e;
        struct vx_qmp_vcpu *vcpus = NULL;
        struct vx_qmp *q = NULL;
        char *status = NULL, *out = NULL;
        size_t n = 0, done = 0;
        bool running;
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        while (done < size) {
                ssize_t k = send(sv[1], data + done, size - done, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k <= 0)
                        break;
                done += (size_t)k;
        }
        (void)shutdown(sv[1], SHUT_WR);

        if (qmp_connect_fd(sv[0], TIMEOUT_MS, &q) == 0) {
                (void)qmp_get_version(q);
                (void)qmp_has_capability(q, "oob");
                if (qmp_query_status(q, TIMEOUT_MS, &status, &running, &error) == 0)
                        free(status);
                qmp_error_done(&error);
                if (qmp_query_vcpus(q, TIMEOUT_MS, &vcpus, &n, &error) == 0)
                        free(vcpus);
                qmp_error_done(&error);
                if (qmp_hmp(q, "info status", TIMEOUT_MS, &out, &error) == 0)
                        free(out);
                qmp_error_done(&error);
                (void)qmp_process(q);
                while (qmp_pop_event(q, &e) == 1)
                        qmp_event_free(e);
                qmp_get_stats(q, &stats);
                qmp_free(q);
        }
        close(sv[1]);
        return 0;
}
