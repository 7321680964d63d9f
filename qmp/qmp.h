/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A QMP (QEMU Machine Protocol) client on jansson.
 *
 * One connection, one caller at a time. Commands are synchronous
 * (qmp_execute() waits for the reply whose id matches, with a deadline), and
 * asynchronous events that arrive meanwhile are queued. For an event loop:
 * watch qmp_get_fd() for POLLIN/EPOLLIN, call qmp_process() when it is
 * readable, then drain qmp_pop_event(). Because qmp_execute() also reads the
 * socket, events can be queued without the fd becoming readable again: pop
 * events after every qmp_execute() (or helper) too.
 *
 * All functions return a negative errno on failure:
 *   -ETIMEDOUT   the deadline passed (the connection stays usable, a late
 *                reply is discarded by its id; except when a command was
 *                half-sent, which breaks the connection);
 *   -ECONNRESET  QEMU closed the connection (or reset it); -EPIPE when a write
 *                found it gone;
 *   -EPROTO      the peer sent something that is not QMP (bad JSON, a value
 *                that is not an object, a second greeting, a malformed reply);
 *   -EMSGSIZE    one JSON value exceeded the size cap (VX_QMP_MAX_MESSAGE by
 *                default);
 *   -EREMOTEIO   QEMU answered with an error; its class and description are
 *                in *ret_error when the caller passed one.
 * Once -EPROTO, -EMSGSIZE, -ECONNRESET or -EPIPE has been returned (or a send
 * timed out halfway), the connection is broken: every later call returns the
 * same error, and the caller should qmp_free() it.
 *
 * Out-params named ret_* are written only on success (return >= 0), except
 * ret_error, written only when -EREMOTEIO is returned. ret_* may be NULL when
 * the caller does not want the value. Timeouts are in milliseconds and must
 * be >= 0: nothing here ever blocks without a deadline.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "cleanup.h"

/* Largest single JSON value accepted from QEMU, by default. */
#define VX_QMP_MAX_MESSAGE (16u * 1024u * 1024u)

/* Queued events beyond this drop the oldest one (counted: qmp_get_stats()). */
#define VX_QMP_MAX_EVENTS 4096u

struct vx_qmp;

struct vx_qmp_version {
        unsigned major, minor, micro;
        char *package; /* "" when QEMU did not say; owned by the connection */
};

/* An `error` reply from QEMU: class is e.g. "GenericError", "CommandNotFound". */
struct vx_qmp_error {
        char *class;
        char *desc;
};

struct vx_qmp_event {
        char *name;             /* "SHUTDOWN", "RESET", "STOP", "RESUME", "GUEST_PANICKED", ... */
        json_t *data;           /* the "data" member, or NULL when the event has none */
        int64_t timestamp_usec; /* QEMU's wall-clock timestamp, or -1 when absent */
};

/* Topology ids from the "props" member; -1 for each one QEMU did not report. */
struct vx_qmp_cpu_props {
        int node_id;
        int socket_id;
        int die_id;
        int cluster_id;
        int core_id;
        int thread_id;
};

struct vx_qmp_vcpu {
        int cpu_index;
        pid_t thread_id; /* host thread id of the vCPU, to pin with sched_setaffinity() */
        struct vx_qmp_cpu_props props;
};

/*
 * Connects to a QMP unix socket at path, reads the greeting and negotiates
 * capabilities, all within timeout_ms. Returns 0 and a new connection in
 * *ret (free with qmp_free()), -ENAMETOOLONG for a path that does not fit in
 * sockaddr_un, or the errors above and those of socket()/connect().
 */
int qmp_connect_path(const char *path, int timeout_ms, struct vx_qmp **ret);

/*
 * The same over fd, an already-connected stream socket (the launcher creates
 * the listening socket, hands it to QEMU and connects to it). fd is consumed
 * in every case: owned by the connection on success, closed on failure. It is
 * made CLOEXEC; its file status flags are left alone (reads and writes use
 * MSG_DONTWAIT), so the fd may stay blocking. Returns -ENOTSOCK when fd is
 * not a socket.
 */
int qmp_connect_fd(int fd, int timeout_ms, struct vx_qmp **ret);

/* Closes the fd, frees queued events. Accepts NULL; returns NULL. */
struct vx_qmp *qmp_free(struct vx_qmp *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_qmp *, qmp_free)

/* The socket to watch for readability. Still owned by the connection. */
int qmp_get_fd(const struct vx_qmp *q);

/* From the greeting. Valid as long as q is. */
const struct vx_qmp_version *qmp_get_version(const struct vx_qmp *q);
/* Whether the greeting offered cap ("oob"); none is enabled by this client. */
bool qmp_has_capability(const struct vx_qmp *q, const char *cap);

/* Changes the cap on one JSON value (for tests, or a host with huge replies). */
void qmp_set_max_message_size(struct vx_qmp *q, size_t size);

/*
 * Reads whatever is readable now without blocking, parses complete values
 * and queues their events (replies nobody waits for are dropped). Returns the
 * number of events queued by this call (>= 0), or a negative errno; when QEMU
 * closed the socket, the events that preceded the close are queued first and
 * then -ECONNRESET is returned.
 */
int qmp_process(struct vx_qmp *q);

/*
 * Takes the oldest queued event. Returns 1 and the event in *ret_event
 * (free with qmp_event_free()), or 0 when the queue is empty.
 */
int qmp_pop_event(struct vx_qmp *q, struct vx_qmp_event **ret_event);
size_t qmp_events_pending(const struct vx_qmp *q);

/*
 * What the connection dropped instead of saying so (qmp/ does not log, and a
 * QEMU flooding events must not flood a log): events pushed out of a full
 * queue, replies that came after their command timed out (or with an id
 * nobody sent), and messages that are neither reply nor event. Counts since
 * the connection was made; a caller that logs compares with what it saw last.
 */
struct vx_qmp_stats {
        uint64_t events_dropped;
        uint64_t replies_dropped;
        uint64_t messages_ignored;
};
void qmp_get_stats(const struct vx_qmp *q, struct vx_qmp_stats *ret);

struct vx_qmp_event *qmp_event_free(struct vx_qmp_event *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_qmp_event *, qmp_event_free)

/* Frees the strings of e and leaves it zeroed; usable with _cleanup_(). */
void qmp_error_done(struct vx_qmp_error *e);

/*
 * Runs command with args (a JSON object, borrowed, or NULL for none) and
 * waits up to timeout_ms for its reply. Returns 0 and the "return" member in
 * *ret_result (a new reference: json_decref() it), -EREMOTEIO with the error
 * in *ret_error (free with qmp_error_done()), or another negative errno.
 */
int qmp_execute(struct vx_qmp *q, const char *command, json_t *args, int timeout_ms, json_t **ret_result,
                struct vx_qmp_error *ret_error);

/*
 * qmp_execute() in two halves, so that one caller can have a command in
 * flight on each of several connections (status asks every QEMU at once):
 * qmp_send() sends command and returns its id in *ret_id; qmp_receive()
 * waits for the reply with that id, as qmp_execute() does. At most one
 * command in flight per connection: nothing else may read q in between
 * (qmp_process() would drop the reply as late).
 */
int qmp_send(struct vx_qmp *q, const char *command, json_t *args, int timeout_ms, uint64_t *ret_id);
int qmp_receive(struct vx_qmp *q, uint64_t id, int timeout_ms, json_t **ret_result, struct vx_qmp_error *ret_error);

/*
 * The vCPUs from query-cpus-fast or, when QEMU does not know that command
 * (CommandNotFound, before 2.12), from query-cpus. timeout_ms covers both.
 * Returns 0 with a malloc'd array in *ret_vcpus (free()) of *ret_n entries in
 * QEMU's order, -EPROTO if an entry lacks its index or thread id, or the
 * errors of qmp_execute().
 */
int qmp_query_vcpus(struct vx_qmp *q, int timeout_ms, struct vx_qmp_vcpu **ret_vcpus, size_t *ret_n,
                    struct vx_qmp_error *ret_error);

/*
 * query-status. Returns 0 with the run state ("prelaunch", "running",
 * "paused", ...) in *ret_status (free()) and whether the vCPUs run in
 * *ret_running, or the errors of qmp_execute().
 */
int qmp_query_status(struct vx_qmp *q, int timeout_ms, char **ret_status, bool *ret_running,
                     struct vx_qmp_error *ret_error);
/* The reply to a query-status sent with qmp_send(): as qmp_query_status(). */
int qmp_query_status_receive(struct vx_qmp *q, uint64_t id, int timeout_ms, char **ret_status, bool *ret_running,
                             struct vx_qmp_error *ret_error);

/*
 * Runs an HMP command line through human-monitor-command. Returns 0 with
 * its text output in *ret_output (free()), or the errors of qmp_execute().
 */
int qmp_hmp(struct vx_qmp *q, const char *command_line, int timeout_ms, char **ret_output,
            struct vx_qmp_error *ret_error);
