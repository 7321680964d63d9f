/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpuset.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vx_cpuset_set(struct vx_cpuset *set, unsigned cpu)
{
        if (cpu < VX_CPUSET_MAX)
                set->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}

bool vx_cpuset_isset(const struct vx_cpuset *set, unsigned cpu)
{
        return cpu < VX_CPUSET_MAX && (set->bits[cpu / 64] >> (cpu % 64)) & 1;
}

unsigned vx_cpuset_count(const struct vx_cpuset *set)
{
        unsigned n = 0;

        for (size_t i = 0; i < VX_CPUSET_MAX / 64; i++)
                n += (unsigned)__builtin_popcountll(set->bits[i]);
        return n;
}

bool vx_cpuset_equal(const struct vx_cpuset *a, const struct vx_cpuset *b)
{
        return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

int vx_cpuset_last(const struct vx_cpuset *set)
{
        for (int i = VX_CPUSET_MAX / 64 - 1; i >= 0; i--)
                if (set->bits[i])
                        return i * 64 + 63 - __builtin_clzll(set->bits[i]);
        return -1;
}

static int parse_cpu(const char **p, unsigned *ret)
{
        unsigned long v;
        char *end;

        if (!isdigit((unsigned char)**p))
                return -EINVAL;
        errno = 0;
        v = strtoul(*p, &end, 10);
        if (errno == ERANGE || v >= VX_CPUSET_MAX)
                return -ERANGE;
        *p = end;
        *ret = (unsigned)v;
        return 0;
}

int vx_cpuset_parse(const char *s, struct vx_cpuset *ret)
{
        struct vx_cpuset set = {0};
        const char *p = s;

        for (;;) {
                unsigned lo, hi;
                int r;

                while (*p == ' ')
                        p++;
                r = parse_cpu(&p, &lo);
                if (r < 0)
                        return r;
                hi = lo;
                if (*p == '-') {
                        p++;
                        r = parse_cpu(&p, &hi);
                        if (r < 0)
                                return r;
                        if (hi < lo)
                                return -EINVAL;
                }
                for (unsigned c = lo; c <= hi; c++)
                        vx_cpuset_set(&set, c);
                while (*p == ' ')
                        p++;
                if (*p == '\0')
                        break;
                if (*p != ',')
                        return -EINVAL;
                p++;
        }
        *ret = set;
        return 0;
}

char *vx_cpuset_format(const struct vx_cpuset *set)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        int last = vx_cpuset_last(set);
        bool first = true;

        if (!f)
                return NULL;
        for (int c = 0; c <= last; c++) {
                int end = c;

                if (!vx_cpuset_isset(set, (unsigned)c))
                        continue;
                while (end + 1 <= last && vx_cpuset_isset(set, (unsigned)end + 1))
                        end++;
                fprintf(f, end > c ? "%s%d-%d" : "%s%d", first ? "" : ",", c, end);
                first = false;
                c = end;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

char *vx_cpuset_format_mask(const struct vx_cpuset *set, unsigned ncpus)
{
        char *s = malloc(ncpus + 1);

        if (!s)
                return NULL;
        for (unsigned c = 0; c < ncpus; c++)
                s[c] = vx_cpuset_isset(set, c) ? 'y' : '-';
        s[ncpus] = '\0';
        return s;
}
