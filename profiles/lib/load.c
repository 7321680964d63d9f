/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "profile-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_profile *, profile_free);

/* A profile is written for vmxrun: one UTF-8 document, each mistake in it reported, saying what to fix. */
static const struct vx_yaml_options profile_yaml = {
        .multi_document = false,
        .keep_duplicate_keys = false,
        .first_error_only = false,
        .utf8_only = true,
        .raw_syntax_errors = false,
        .max_depth = VX_YAML_MAX_DEPTH,
        .wording = VX_YAML_WORDING_PROFILE,
};

/* Keeps the first VX_PROFILE_MAX_ERRORS errors added since index start, and says so. */
static int cap_errors(struct vx_diags *d, size_t start, const char *file)
{
        size_t n_errors = 0, keep = d->n;

        for (size_t i = start; i < d->n; i++)
                if (d->items[i].severity == VX_DIAG_ERROR && ++n_errors > VX_PROFILE_MAX_ERRORS) {
                        keep = i;
                        break;
                }
        if (keep == d->n)
                return 0;
        for (size_t i = keep; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].path);
                free(d->items[i].message);
                free(d->items[i].hint);
        }
        d->n = keep;
        return diag_add(d, VX_DIAG_NOTE, file, 0, 0, "", NULL, "too many errors; only the first %d are shown",
                        VX_PROFILE_MAX_ERRORS);
}

int profile_load_string_with(const char *name, const char *text, size_t len, const struct vx_profile_sets *sets,
                             struct vx_diags *diags, struct vx_profile **ret)
{
        _cleanup_(profile_freep) struct vx_profile *p = NULL;
        _cleanup_(vx_ystream_freep) struct vx_ystream *s = NULL;
        size_t start = diags->n, n_errors = diag_count(diags, VX_DIAG_ERROR);
        int r;

        assert(name);
        assert(diags);
        assert(ret);

        r = vx_yaml_parse(name, text, len, &profile_yaml, diags, &s);
        if (r == -EFBIG)
                return -EINVAL; /* reported: bad input, as any other error in diags */
        if (r < 0)
                return r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->file = strdup(name);
        if (!p->file)
                return -ENOMEM;

        for (size_t i = 0; sets && i < sets->n; i++) {
                r = vx_profile_tree_set(&s->docs[0], sets->items[i], diags);
                if (r == -ENOMEM)
                        return r;
        }
        if (diag_count(diags, VX_DIAG_ERROR) > n_errors)
                return -EINVAL; /* a bad --set: the profile it would change is not read */

        r = vx_profile_from_tree(p, s->docs[0], diags);
        if (r < 0)
                return r;
        r = profile_validate(p, diags);
        if (r == -ENOMEM)
                return r;
        if (sets && sets->n > 0)
                for (size_t i = start; i < diags->n; i++)
                        if (diags->items[i].line == 0 && diags->items[i].path && diags->items[i].path[0]) {
                                /* Only a --set value has no position in the file: say where it came from. */
                                char *file = strdup("--set");

                                if (!file)
                                        return -ENOMEM;
                                free(diags->items[i].file);
                                diags->items[i].file = file;
                        }

        /*
         * Sort only this file's diagnostics: what the caller had stays in its
         * order. None at all is the common case, and items may then be NULL.
         */
        if (diags->n > start) {
                struct vx_diags mine = {.items = diags->items + start, .n = diags->n - start};

                diag_sort(&mine);
        }
        r = cap_errors(diags, start, name);
        if (r < 0)
                return r;

        if (diag_count(diags, VX_DIAG_ERROR) > n_errors)
                return -EINVAL;
        *ret = TAKE_PTR(p);
        return 0;
}

int profile_load_string(const char *name, const char *text, size_t len, struct vx_diags *diags, struct vx_profile **ret)
{
        return profile_load_string_with(name, text, len, NULL, diags, ret);
}

int profile_load_with(const char *path, const struct vx_profile_sets *sets, struct vx_diags *diags,
                      struct vx_profile **ret)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = 0;
        struct stat st;
        int r;

        assert(path);
        assert(diags);
        assert(ret);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                (void)diag_add(diags, VX_DIAG_ERROR, path, 0, 0, "", NULL, "cannot open: %s", strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                (void)diag_add(diags, VX_DIAG_ERROR, path, 0, 0, "", NULL, "cannot stat: %s", strerror(-r));
                return r;
        }
        if (S_ISDIR(st.st_mode)) {
                (void)diag_add(diags, VX_DIAG_ERROR, path, 0, 0, "", NULL, "is a directory, not a profile");
                return -EISDIR;
        }

        /* Read at most one byte more than allowed, so that pipes and /proc files are capped too. */
        buf = malloc(VX_YAML_MAX_SIZE + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, VX_YAML_MAX_SIZE + 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        (void)diag_add(diags, VX_DIAG_ERROR, path, 0, 0, "", NULL, "cannot read: %s",
                                       strerror(-r));
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > VX_YAML_MAX_SIZE) {
                        r = diag_add(diags, VX_DIAG_ERROR, path, 0, 0, "", NULL,
                                     "file too large (profiles are limited to %d bytes)", VX_YAML_MAX_SIZE);
                        return r < 0 ? r : -EINVAL; /* bad input, as any other error in diags */
                }
        }

        return profile_load_string_with(path, buf, len, sets, diags, ret);
}

int profile_load(const char *path, struct vx_diags *diags, struct vx_profile **ret)
{
        return profile_load_with(path, NULL, diags, ret);
}
