/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The progress line of a preallocating QEMU (prealloc-progress.h). */
#include "prealloc-progress.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hugepages.h"

#define GIB (UINT64_C(1) << 30)

struct vx_prealloc_progress {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond; /* CLOCK_MONOTONIC */
        bool stop;
        char name[72];
        pid_t pid;
        uint64_t bytes;
};

/* One write(2): the line must not interleave with the supervisor's log lines half-way. */
static void show(const struct vx_prealloc_progress *p, uint64_t done)
{
        char line[160];
        int n;

        n = snprintf(line, sizeof(line), "\r\033[K%s: preallocating memory: %.1f of %.1f GiB", p->name,
                     (double)done / (double)GIB, (double)p->bytes / (double)GIB);
        if (n > 0)
                (void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void *run(void *arg)
{
        struct vx_prealloc_progress *p = arg;

        pthread_mutex_lock(&p->lock);
        while (!p->stop) {
                struct timespec until;
                uint64_t kib;

                clock_gettime(CLOCK_MONOTONIC, &until);
                until.tv_nsec += 500 * 1000 * 1000;
                if (until.tv_nsec >= 1000 * 1000 * 1000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000 * 1000 * 1000;
                }
                (void)pthread_cond_timedwait(&p->cond, &p->lock, &until);
                if (p->stop)
                        break;
                pthread_mutex_unlock(&p->lock);
                if (hugepages_process_kib(NULL, p->pid, &kib) >= 0)
                        show(p, kib << 10);
                pthread_mutex_lock(&p->lock);
        }
        pthread_mutex_unlock(&p->lock);
        (void)!write(STDERR_FILENO, "\r\033[K", 4);
        return NULL;
}

int prealloc_progress_start(const char *name, pid_t pid, uint64_t bytes, struct vx_prealloc_progress **ret)
{
        struct vx_prealloc_progress *p;
        pthread_condattr_t attr;
        int r;

        *ret = NULL;
        if (bytes < GIB || !isatty(STDERR_FILENO))
                return 0;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        snprintf(p->name, sizeof(p->name), "%s", name);
        p->pid = pid;
        p->bytes = bytes;
        pthread_mutex_init(&p->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&p->cond, &attr);
        pthread_condattr_destroy(&attr);
        r = pthread_create(&p->thread, NULL, run, p);
        if (r != 0) {
                pthread_cond_destroy(&p->cond);
                pthread_mutex_destroy(&p->lock);
                free(p);
                return -r;
        }
        *ret = p;
        return 0;
}

void prealloc_progress_stop(struct vx_prealloc_progress *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
}
