/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The supervisor's control socket, <deployment>/control.sock (mode 0600 in
 * a 0700 directory: root only). One request per connection: the client
 * writes one JSON object and a newline, the supervisor answers with one JSON
 * object and a newline, then closes. A request may take as long as the
 * operation (a stop answers when the VMs are gone).
 *
 * Requests:  {"cmd":"status"}
 *            {"cmd":"stop","vm":NAME|null,"timeout":SECONDS,"force":BOOL,"progress":BOOL}
 *            {"cmd":"restart","vm":NAME|null,"timeout":SECONDS,"force":BOOL}
 *            {"cmd":"qmp","vm":NAME,"execute":CMD,"arguments":{...}}
 *            {"cmd":"hmp","vm":NAME,"command":"info cpus"}
 * Answers:   {"ok":true,...} or {"ok":false,"error":"why","errno":N}
 * A stop with "progress": true gets lines {"progress":"vm: powering off
 * (timeout 60 s)"} as the stop goes on, before its answer.
 */

#include <jansson.h>

/* Largest request or answer accepted. */
#define VX_CONTROL_MAX_MESSAGE (4u * 1024u * 1024u)

/*
 * Sends request to the supervisor of the deployment in deployment_dir and
 * waits up to timeout_ms for the answer. Returns 0 and the answer (a new
 * reference), -ENOENT/-ECONNREFUSED when no supervisor listens, -ETIMEDOUT,
 * or -errno.
 */
int control_call(const char *deployment_dir, json_t *request, int timeout_ms, json_t **ret_answer);

/* Called with each progress line of an answer that is on its way. */
typedef void (*vx_control_progress)(const char *line, void *userdata);

/* control_call(), handing each {"progress": ...} line before the answer to progress. */
int control_call_progress(const char *deployment_dir, json_t *request, int timeout_ms, vx_control_progress progress,
                          void *userdata, json_t **ret_answer);

/* Writes a progress line {"progress": line} to a client that waits for its answer. Returns 0 or -errno. */
int control_write_progress(int fd, const char *line);

/* Creates the listening control socket (CLOEXEC, non-blocking). Returns 0 or -errno. */
int control_listen(const char *deployment_dir, int *ret_fd);

/*
 * Reads one request from a connected client fd, waiting at most timeout_ms.
 * Returns 0 and the request (a JSON object), -EPROTO for bad JSON, or -errno.
 */
int control_read_request(int fd, int timeout_ms, json_t **ret_request);

/* Writes an answer (and a newline) to fd. Returns 0 or -errno. */
int control_write_answer(int fd, json_t *answer);

/* {"ok":false,"error":msg,"errno":-r} */
json_t *control_error(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
