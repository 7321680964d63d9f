/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "journal.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

#define JOURNAL_VERSION 1

struct vx_journal {
        char *path;
        struct vx_undo *steps;
        size_t n_steps;
};

static const char *const kind_names[_VX_UNDO_KIND_MAX] = {
        [VX_UNDO_DELETE_LINK] = "delete-link",
        [VX_UNDO_SET_MASTER] = "set-master",
        [VX_UNDO_ADDRESS_ADD] = "address-add",
        [VX_UNDO_ADDRESS_DEL] = "address-del",
        [VX_UNDO_ROUTE_ADD] = "route-add",
        [VX_UNDO_ROUTE_DEL] = "route-del",
        [VX_UNDO_BRIDGE_CLAIM] = "bridge-claim",
        [VX_UNDO_HUGEPAGES] = "hugepages",
        [VX_UNDO_UMOUNT] = "umount",
        [VX_UNDO_RMDIR] = "rmdir",
        [VX_UNDO_CHOWN] = "chown",
        [VX_UNDO_VFIO_CLAIM] = "vfio-claim",
        [VX_UNDO_VFIO_RESTORE] = "vfio-restore",
        [VX_UNDO_VFIO_PF] = "vfio-pf",
};

const char *journal_kind_to_string(enum vx_undo_kind k)
{
        return (unsigned)k < _VX_UNDO_KIND_MAX ? kind_names[k] : NULL;
}

int journal_kind_from_string(const char *s, enum vx_undo_kind *ret)
{
        for (unsigned k = 0; s && k < _VX_UNDO_KIND_MAX; k++)
                if (strcmp(s, kind_names[k]) == 0) {
                        *ret = (enum vx_undo_kind)k;
                        return 0;
                }
        return -EINVAL;
}

static void undo_done(struct vx_undo *u)
{
        free(u->owner);
        free(u->object);
        free(u->from);
        free(u->to);
        *u = (struct vx_undo){0};
}

static int undo_copy(const struct vx_undo *src, struct vx_undo *ret)
{
        struct vx_undo u = {.kind = src->kind, .ifindex = src->ifindex, .node = src->node, .pages = src->pages,
                            .total = src->total};

        u.owner = src->owner ? strdup(src->owner) : NULL;
        u.object = src->object ? strdup(src->object) : NULL;
        u.from = src->from ? strdup(src->from) : NULL;
        u.to = src->to ? strdup(src->to) : NULL;
        if ((src->owner && !u.owner) || (src->object && !u.object) || (src->from && !u.from) || (src->to && !u.to)) {
                undo_done(&u);
                return -ENOMEM;
        }
        *ret = u;
        return 0;
}

static bool str_eq(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

static json_t *opt_string(const char *s)
{
        return s ? json_string(s) : json_null();
}

static int journal_save(struct vx_journal *j)
{
        _cleanup_free_ char *text = NULL;
        json_t *steps, *o;

        if (j->n_steps == 0) {
                if (unlink(j->path) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        steps = json_array();
        if (!steps)
                return -ENOMEM;
        for (size_t i = 0; i < j->n_steps; i++) {
                const struct vx_undo *u = &j->steps[i];
                json_t *s = json_pack("{s:s, s:o, s:o, s:o, s:o, s:i}", "undo", journal_kind_to_string(u->kind),
                                      "owner", opt_string(u->owner), "object", opt_string(u->object), "from",
                                      opt_string(u->from), "to", opt_string(u->to), "ifindex", u->ifindex);
                if (s && u->kind == VX_UNDO_HUGEPAGES) {
                        json_object_set_new(s, "node", json_integer(u->node));
                        json_object_set_new(s, "pages", json_integer((json_int_t)u->pages));
                        json_object_set_new(s, "total", json_integer((json_int_t)u->total));
                }
                if (!s || json_array_append_new(steps, s) < 0) {
                        json_decref(steps);
                        return -ENOMEM;
                }
        }
        o = json_pack("{s:i, s:o}", "version", JOURNAL_VERSION, "steps", steps);
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_INDENT(2));
        json_decref(o);
        if (!text)
                return -ENOMEM;
        return runtime_write_atomic(j->path, text, strlen(text));
}

static char *get_opt_string(json_t *o, const char *key)
{
        const char *s = json_string_value(json_object_get(o, key));
        return s ? strdup(s) : NULL;
}

static int journal_parse(struct vx_journal *j, json_t *o)
{
        json_t *steps = json_object_get(o, "steps"), *s;
        size_t i;

        if (json_integer_value(json_object_get(o, "version")) != JOURNAL_VERSION || !json_is_array(steps))
                return -EBADMSG;
        j->steps = calloc(json_array_size(steps) + 1, sizeof(*j->steps));
        if (!j->steps)
                return -ENOMEM;
        json_array_foreach(steps, i, s) {
                struct vx_undo *u = &j->steps[j->n_steps];

                if (journal_kind_from_string(json_string_value(json_object_get(s, "undo")), &u->kind) < 0 ||
                    !json_is_string(json_object_get(s, "object")))
                        return -EBADMSG;
                u->owner = get_opt_string(s, "owner");
                u->object = get_opt_string(s, "object");
                u->from = get_opt_string(s, "from");
                u->to = get_opt_string(s, "to");
                u->ifindex = (int)json_integer_value(json_object_get(s, "ifindex"));
                u->node = json_is_integer(json_object_get(s, "node"))
                                  ? (int)json_integer_value(json_object_get(s, "node"))
                                  : -1;
                u->pages = (uint64_t)json_integer_value(json_object_get(s, "pages"));
                u->total = (uint64_t)json_integer_value(json_object_get(s, "total"));
                j->n_steps++;
                if (!u->object)
                        return -ENOMEM;
        }
        return 0;
}

int journal_open(const char *path, struct vx_journal **ret)
{
        _cleanup_(journal_freep) struct vx_journal *j = calloc(1, sizeof(*j));
        json_error_t jerr;
        json_t *o;
        int r;

        if (!j)
                return -ENOMEM;
        j->path = strdup(path);
        if (!j->path)
                return -ENOMEM;
        if (access(path, F_OK) < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret = TAKE_PTR(j);
                return 0;
        }
        o = json_load_file(path, 0, &jerr);
        if (!o)
                return -EBADMSG;
        r = journal_parse(j, o);
        json_decref(o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

struct vx_journal *journal_free(struct vx_journal *j)
{
        if (!j)
                return NULL;
        for (size_t i = 0; i < j->n_steps; i++)
                undo_done(&j->steps[i]);
        free(j->steps);
        free(j->path);
        free(j);
        return NULL;
}

int journal_push(struct vx_journal *j, const struct vx_undo *step)
{
        struct vx_undo *steps;
        int r;

        if (!step->object)
                return -EINVAL;
        steps = realloc(j->steps, (j->n_steps + 1) * sizeof(*steps));
        if (!steps)
                return -ENOMEM;
        j->steps = steps;
        r = undo_copy(step, &j->steps[j->n_steps]);
        if (r < 0)
                return r;
        j->n_steps++;
        return journal_save(j);
}

int journal_undo(struct vx_journal *j, size_t keep, bool match_owner, const char *owner, vx_undo_runner run,
                 void *userdata)
{
        int result = 0, r;

        for (size_t i = j->n_steps; i > keep; i--) {
                struct vx_undo *u = &j->steps[i - 1];

                if (match_owner && !str_eq(u->owner, owner))
                        continue;
                r = run(u, userdata);
                if (r < 0 && result == 0)
                        result = r;
                undo_done(u);
                memmove(u, u + 1, (j->n_steps - i) * sizeof(*u));
                j->n_steps--;
                /* Written after each step: a crash halfway must not redo what is already undone. */
                r = journal_save(j);
                if (r < 0 && result == 0)
                        result = r;
        }
        return result;
}

size_t journal_size(const struct vx_journal *j)
{
        return j->n_steps;
}

const struct vx_undo *journal_step(const struct vx_journal *j, size_t i)
{
        return i < j->n_steps ? &j->steps[i] : NULL;
}

const char *journal_path(const struct vx_journal *j)
{
        return j->path;
}

const struct vx_undo *journal_find(const struct vx_journal *j, enum vx_undo_kind kind, const char *object,
                                   bool match_owner, const char *owner)
{
        for (size_t i = j->n_steps; i > 0; i--) {
                const struct vx_undo *u = &j->steps[i - 1];
                if (u->kind == kind && str_eq(u->object, object) && (!match_owner || str_eq(u->owner, owner)))
                        return u;
        }
        return NULL;
}

size_t journal_count(const struct vx_journal *j, enum vx_undo_kind kind, const char *object)
{
        size_t n = 0;

        for (size_t i = 0; i < j->n_steps; i++)
                n += j->steps[i].kind == kind && str_eq(j->steps[i].object, object);
        return n;
}
