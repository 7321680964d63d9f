/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The few typed queries the launcher needs, on top of qmp_execute_until(). */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "qmp-internal.h"

/* A non-negative int member; absent gives -1, anything else that is not such an int is -EPROTO. */
static int qmp_get_id(json_t *obj, const char *key, int *ret)
{
        json_t *v = json_object_get(obj, key);

        if (!v) {
                *ret = -1;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT_MAX)
                return -EPROTO;
        *ret = (int)json_integer_value(v);
        return 0;
}

static int qmp_parse_props(json_t *props, struct vx_qmp_cpu_props *ret)
{
        struct vx_qmp_cpu_props p;

        if (props && !json_is_object(props))
                return -EPROTO;
        if (qmp_get_id(props, "node-id", &p.node_id) < 0 ||
            qmp_get_id(props, "socket-id", &p.socket_id) < 0 || qmp_get_id(props, "die-id", &p.die_id) < 0 ||
            qmp_get_id(props, "cluster-id", &p.cluster_id) < 0 ||
            qmp_get_id(props, "core-id", &p.core_id) < 0 || qmp_get_id(props, "thread-id", &p.thread_id) < 0)
                return -EPROTO;
        *ret = p;
        return 0;
}

/*
 * One entry of query-cpus-fast ({"cpu-index": 0, "thread-id": 1234, "props": {...}})
 * or of the older query-cpus ({"CPU": 0, "thread_id": 1234, "props": {...}}).
 */
static int qmp_parse_vcpu(json_t *entry, bool legacy, struct vx_qmp_vcpu *ret)
{
        struct vx_qmp_vcpu c;
        int tid;

        if (!json_is_object(entry))
                return -EPROTO;
        if (qmp_get_id(entry, legacy ? "CPU" : "cpu-index", &c.cpu_index) < 0 || c.cpu_index < 0)
                return -EPROTO;
        /* Thread id 0 would make sched_setaffinity() pin the launcher itself. */
        if (qmp_get_id(entry, legacy ? "thread_id" : "thread-id", &tid) < 0 || tid <= 0)
                return -EPROTO;
        c.thread_id = tid;
        if (qmp_parse_props(json_object_get(entry, "props"), &c.props) < 0)
                return -EPROTO;
        *ret = c;
        return 0;
}

static int qmp_parse_vcpus(json_t *result, bool legacy, struct vx_qmp_vcpu **ret_vcpus, size_t *ret_n)
{
        _cleanup_free_ struct vx_qmp_vcpu *vcpus = NULL;
        size_t n, i;
        int r;

        if (!json_is_array(result))
                return -EPROTO;
        n = json_array_size(result);
        /* Never zero, so that success always hands back a pointer to free. */
        vcpus = calloc(n ?: 1, sizeof(*vcpus));
        if (!vcpus)
                return -ENOMEM;
        for (i = 0; i < n; i++) {
                r = qmp_parse_vcpu(json_array_get(result, i), legacy, &vcpus[i]);
                if (r < 0)
                        return r;
        }
        if (ret_vcpus)
                *ret_vcpus = TAKE_PTR(vcpus);
        if (ret_n)
                *ret_n = n;
        return 0;
}

int qmp_query_vcpus(struct vx_qmp *q, int timeout_ms, struct vx_qmp_vcpu **ret_vcpus, size_t *ret_n,
                    struct vx_qmp_error *ret_error)
{
        _cleanup_(qmp_error_done) struct vx_qmp_error error = {};
        _cleanup_json_ json_t *result = NULL;
        usec_t deadline = qmp_deadline(timeout_ms);
        bool legacy = false;
        int r;

        r = qmp_execute_until(q, "query-cpus-fast", NULL, deadline, &result, &error);
        if (r == -EREMOTEIO && strcmp(error.class, "CommandNotFound") == 0) {
                /* QEMU before 2.12 has only query-cpus (which 6.0 removed in turn). */
                qmp_error_done(&error);
                legacy = true;
                r = qmp_execute_until(q, "query-cpus", NULL, deadline, &result, &error);
        }
        if (r == -EREMOTEIO && ret_error) {
                *ret_error = error;
                error = (struct vx_qmp_error){};
        }
        if (r < 0)
                return r;
        return qmp_parse_vcpus(result, legacy, ret_vcpus, ret_n);
}

static int parse_status(json_t *result, char **ret_status, bool *ret_running)
{
        _cleanup_free_ char *status = NULL;
        json_t *running;

        running = json_object_get(result, "running");
        if (!json_is_string(json_object_get(result, "status")) || !json_is_boolean(running))
                return -EPROTO;
        status = strdup(json_string_value(json_object_get(result, "status")));
        if (!status)
                return -ENOMEM;
        if (ret_status)
                *ret_status = TAKE_PTR(status);
        if (ret_running)
                *ret_running = json_is_true(running);
        return 0;
}

int qmp_query_status(struct vx_qmp *q, int timeout_ms, char **ret_status, bool *ret_running,
                     struct vx_qmp_error *ret_error)
{
        _cleanup_json_ json_t *result = NULL;
        int r;

        r = qmp_execute(q, "query-status", NULL, timeout_ms, &result, ret_error);
        if (r < 0)
                return r;
        return parse_status(result, ret_status, ret_running);
}

int qmp_query_status_receive(struct vx_qmp *q, uint64_t id, int timeout_ms, char **ret_status, bool *ret_running,
                             struct vx_qmp_error *ret_error)
{
        _cleanup_json_ json_t *result = NULL;
        int r;

        r = qmp_receive(q, id, timeout_ms, &result, ret_error);
        if (r < 0)
                return r;
        return parse_status(result, ret_status, ret_running);
}

int qmp_hmp(struct vx_qmp *q, const char *command_line, int timeout_ms, char **ret_output,
            struct vx_qmp_error *ret_error)
{
        _cleanup_json_ json_t *args = NULL, *result = NULL;
        char *output;
        int r;

        assert(command_line);
        args = json_pack("{s:s}", "command-line", command_line);
        if (!args)
                return -ENOMEM;
        r = qmp_execute(q, "human-monitor-command", args, timeout_ms, &result, ret_error);
        if (r < 0)
                return r;
        if (!json_is_string(result))
                return -EPROTO;
        if (ret_output) {
                output = strdup(json_string_value(result));
                if (!output)
                        return -ENOMEM;
                *ret_output = output;
        }
        return 0;
}
