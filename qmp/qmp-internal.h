/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internal to qmp/: the framer (pure byte-stream → JSON value splitting) and
 * the deadline-based execute that the helpers share. Not for other modules;
 * they use qmp.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qmp.h"

typedef uint64_t usec_t;

/* Monotonic microseconds. */
usec_t qmp_now_usec(void);
/* now + timeout_ms, the absolute deadline every wait in a call is measured against. */
usec_t qmp_deadline(int timeout_ms);

/*
 * Splits a byte stream into top-level JSON objects without parsing them
 * twice: a small scanner tracks nesting and strings across reads, so a value
 * split over many reads costs O(bytes), and only a complete value is handed
 * to jansson.
 */
struct vx_qmp_framer {
        char *buf;
        size_t head; /* first byte not yet consumed */
        size_t len;  /* bytes held in buf */
        size_t cap;
        size_t pos; /* next byte to scan; head <= pos <= len */
        bool in_value;
        bool in_string;
        bool escape;
        size_t depth;
        size_t max_size;
        size_t digits;   /* length of the run of digits outside strings that ends at pos */
        bool big_number; /* the value has an integer literal of 19 digits or more */
};

void qmp_framer_init(struct vx_qmp_framer *f, size_t max_size);
void qmp_framer_done(struct vx_qmp_framer *f);

/*
 * Returns a pointer to at least n writable bytes at the end of the buffer, or
 * NULL on ENOMEM. Commit what was written with qmp_framer_commit().
 */
char *qmp_framer_reserve(struct vx_qmp_framer *f, size_t n);
void qmp_framer_commit(struct vx_qmp_framer *f, size_t n);

/* Copies data in; for tests and callers that already hold bytes. 0 or -ENOMEM. */
int qmp_framer_feed(struct vx_qmp_framer *f, const void *data, size_t n);

/*
 * Returns 1 and the next complete value (a new reference) in *ret, 0 when
 * more bytes are needed, -EPROTO when the stream is not a sequence of JSON
 * objects, -EMSGSIZE when a value exceeds max_size. An integer that a
 * json_int_t cannot hold (QEMU's unsigned 64-bit defaults, such as
 * 18446744073709551615) comes back as a JSON string of its digits; every
 * other number keeps its type.
 */
int qmp_framer_next(struct vx_qmp_framer *f, json_t **ret);

/*
 * text[0..len) with every integer literal outside strings that does not fit
 * in a json_int_t put in double quotes; NULL on ENOMEM. For qmp_framer_next().
 */
char *qmp_quote_big_integers(const char *text, size_t len, size_t *ret_len);

/* qmp_execute() against an absolute deadline, so helpers can chain commands. */
int qmp_execute_until(struct vx_qmp *q, const char *command, json_t *args, usec_t deadline,
                      json_t **ret_result, struct vx_qmp_error *ret_error);

static inline void qmp_json_decrefp(json_t **p)
{
        if (*p)
                json_decref(*p);
}
#define _cleanup_json_ _cleanup_(qmp_json_decrefp)
