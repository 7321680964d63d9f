/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helpers for tests that create links: each test binary moves itself into a
 * new network namespace first (unshare(CLONE_NEWNET); nothing it creates is
 * seen by the host, and the namespace dies with the process), and reads
 * results back with `ip -j`, independently of vmxrun's own netlink code.
 */

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Enters a fresh network namespace, or exits 77 saying why it cannot. */
static inline void netns_enter_or_skip(void)
{
        if (geteuid() != 0) {
                printf("SKIP: needs root (network namespace, /dev/net/tun)\n");
                exit(77);
        }
        if (unshare(CLONE_NEWNET) < 0) {
                printf("SKIP: cannot create a network namespace: %s\n", strerror(errno));
                exit(77);
        }
        if (access("/dev/net/tun", R_OK | W_OK) < 0) {
                printf("SKIP: /dev/net/tun is not usable: %s\n", strerror(errno));
                exit(77);
        }
        if (system("ip -V >/dev/null 2>&1") != 0) {
                printf("SKIP: iproute2 (ip) is not installed\n");
                exit(77);
        }
}

/* Runs a shell command (formatted); returns its exit status. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
        char *cmd = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -1;
        r = system(cmd);
        free(cmd);
        return r;
}

/* `ip -j [-d] ARGS` parsed; NULL on failure. The caller json_decref()s. */
static inline json_t *ip_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline json_t *ip_json(const char *fmt, ...)
{
        char *args = NULL, *cmd = NULL;
        json_error_t err;
        json_t *j = NULL;
        va_list ap;
        FILE *f;

        va_start(ap, fmt);
        if (vasprintf(&args, fmt, ap) < 0)
                args = NULL;
        va_end(ap);
        if (!args || asprintf(&cmd, "ip -j %s 2>/dev/null", args) < 0) {
                free(args);
                return NULL;
        }
        f = popen(cmd, "r");
        if (f) {
                j = json_loadf(f, JSON_DISABLE_EOF_CHECK, &err);
                pclose(f);
        }
        free(args);
        free(cmd);
        return j;
}

/* The `ip -j -d link show dev NAME` object of a link, or NULL when there is none. */
static inline json_t *ip_link(const char *name)
{
        json_t *arr = ip_json("-d link show dev %s", name), *o = NULL;

        if (json_is_array(arr) && json_array_size(arr) == 1)
                o = json_incref(json_array_get(arr, 0));
        json_decref(arr);
        return o;
}

static inline int link_exists(const char *name)
{
        json_t *o = ip_link(name);
        json_decref(o);
        return o != NULL;
}

static inline const char *jstr(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key)) ?: "";
}
