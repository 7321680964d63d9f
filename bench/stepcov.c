/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stepcov OUT CMD [ARG...]: run CMD under ptrace, single-stepping it and every
 * process it forks that does not exec another binary (QEMU is let go at its
 * exec), and write each distinct (pid, instruction address) as
 * "PID SEQ ADDR" to OUT, SEQ being the order of first execution. It stops
 * when every traced process is gone, or on SIGINT/SIGTERM (it then lets them
 * go on untraced).
 *
 * bench/order.sh turns the addresses into the link order of vmxrun's
 * functions (cli/link-order.txt). Single-stepping is slow (about 25,000
 * instructions a second here) but exact: sampling misses cold functions, and
 * valgrind 3.19 does not know pidfd_open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS (1u << 22) /* power of two, well above the ~60,000 addresses of a run */
#define MAX_TASKS 1024

struct slot {
        uint64_t key; /* pid << 40 | address; 0 = empty */
        uint64_t seq;
};

static struct slot *slots;
static uint64_t nseq;
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
        (void)sig;
        stop_requested = 1;
}

static void record(pid_t pid, uint64_t addr)
{
        uint64_t key = (uint64_t)pid << 40 | (addr & ((UINT64_C(1) << 40) - 1));
        uint64_t h = (key * UINT64_C(0x9E3779B97F4A7C15)) >> 42;

        while (slots[h].key && slots[h].key != key)
                h = (h + 1) & (SLOTS - 1);
        if (!slots[h].key) {
                if (nseq >= SLOTS / 2) /* keep probing short; a run this large is a bug */
                        return;
                slots[h].key = key;
                slots[h].seq = nseq++;
        }
}

static int by_seq(const void *a, const void *b)
{
        const struct slot *x = a, *y = b;
        return (x->seq > y->seq) - (x->seq < y->seq);
}

int main(int argc, char **argv)
{
        pid_t tasks[MAX_TASKS], root;
        int ntasks = 0, live = 1;
        bool interrupted = false;
        char self[4096] = "";

        if (argc < 3) {
                fprintf(stderr, "usage: stepcov OUT CMD [ARG...]\n");
                return 2;
        }
        slots = calloc(SLOTS, sizeof(*slots));
        if (!slots)
                return 1;

        root = fork();
        if (root < 0)
                return perror("fork"), 1;
        if (root == 0) {
                raise(SIGSTOP); /* until the parent has seized us */
                execvp(argv[2], argv + 2);
                _exit(127);
        }
        if (waitpid(root, NULL, WSTOPPED) < 0 ||
            ptrace(PTRACE_SEIZE, root, 0,
                   PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC) < 0)
                return perror("ptrace"), 1;
        tasks[ntasks++] = root;
        kill(root, SIGCONT);
        ptrace(PTRACE_INTERRUPT, root, 0, 0);

        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        while (live > 0) {
                int status, deliver = 0;
                pid_t p = waitpid(-1, &status, __WALL);

                if (stop_requested && !interrupted) {
                        /* A task blocked in a system call only stops for PTRACE_INTERRUPT. */
                        interrupted = true;
                        for (int i = 0; i < ntasks; i++)
                                ptrace(PTRACE_INTERRUPT, tasks[i], 0, 0);
                }
                if (p < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (WIFEXITED(status) || WIFSIGNALED(status)) {
                        live--;
                        continue;
                }
                if (!WIFSTOPPED(status))
                        continue;
                if (stop_requested) {
                        ptrace(PTRACE_DETACH, p, 0, 0);
                        live--;
                        continue;
                }

                int sig = WSTOPSIG(status), event = status >> 16;
                if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
                        unsigned long child;
                        if (ptrace(PTRACE_GETEVENTMSG, p, 0, &child) == 0) {
                                live++;
                                if (ntasks < MAX_TASKS)
                                        tasks[ntasks++] = (pid_t)child;
                        }
                } else if (event == PTRACE_EVENT_EXEC) {
                        char link[64], exe[4096];
                        ssize_t n;

                        snprintf(link, sizeof(link), "/proc/%d/exe", p);
                        n = readlink(link, exe, sizeof(exe) - 1);
                        exe[n > 0 ? n : 0] = 0;
                        if (!self[0]) {
                                strcpy(self, exe); /* the first exec: CMD itself */
                        } else if (strcmp(exe, self) != 0) {
                                ptrace(PTRACE_DETACH, p, 0, 0); /* QEMU: not ours to trace */
                                live--;
                                continue;
                        }
                } else if (event == 0 && sig != SIGTRAP) {
                        deliver = sig; /* a real signal: hand it on */
                }

                struct user_regs_struct regs;
                if (self[0] && ptrace(PTRACE_GETREGS, p, 0, &regs) == 0)
                        record(p, regs.rip);
                ptrace(PTRACE_SINGLESTEP, p, 0, deliver);
        }

        FILE *f = fopen(argv[1], "w");
        if (!f)
                return perror(argv[1]), 1;
        size_t n = 0;
        for (size_t i = 0; i < SLOTS; i++)
                if (slots[i].key)
                        slots[n++] = slots[i];
        qsort(slots, n, sizeof(*slots), by_seq);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%llu %llu %llx\n", (unsigned long long)(slots[i].key >> 40),
                        (unsigned long long)slots[i].seq,
                        (unsigned long long)(slots[i].key & ((UINT64_C(1) << 40) - 1)));
        if (fclose(f) != 0)
                return perror(argv[1]), 1;
        fprintf(stderr, "stepcov: %zu addresses\n", n);
        return 0;
}
