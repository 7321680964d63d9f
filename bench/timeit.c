/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * timeit OUT -- CMD ARGS...: runs CMD (fork + execvp), waits for it (only for
 * it: a daemon it forks keeps running), appends the wall time in microseconds
 * (CLOCK_MONOTONIC, from just before fork to just after the wait) and CMD's
 * peak RSS in KiB (ru_maxrss) as one line "US KIB" to OUT, and exits with
 * CMD's exit status.
 *
 * timeit OUT --line TEXT -- CMD ARGS...: the same, but the clock stops when
 * CMD prints a line containing TEXT on its stdout (for a command that keeps
 * running, like `vmxrun start --foreground`); CMD is left running, its later
 * stdout discarded, and the RSS column is 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
        long long t0, t1;
        struct rusage ru;
        int status;
        pid_t pid;
        FILE *out;

        const char *line = NULL;
        int cmd = 3, pipe_fds[2] = {-1, -1};

        if (argc >= 6 && strcmp(argv[2], "--line") == 0) {
                line = argv[3];
                cmd = 5;
        }
        if (argc <= cmd || strcmp(argv[cmd - 1], "--") != 0) {
                fprintf(stderr, "usage: timeit OUT [--line TEXT] -- CMD ARGS...\n");
                return 2;
        }
        if (line && pipe(pipe_fds) < 0)
                return perror("pipe"), 2;
        t0 = now_ns();
        pid = fork();
        if (pid < 0)
                return perror("fork"), 2;
        if (pid == 0) {
                if (line) {
                        dup2(pipe_fds[1], STDOUT_FILENO);
                        close(pipe_fds[0]);
                        close(pipe_fds[1]);
                }
                execvp(argv[cmd], argv + cmd);
                perror(argv[cmd]);
                _exit(127);
        }
        if (line) {
                char buf[4096];
                size_t len = 0;
                ssize_t n;

                close(pipe_fds[1]);
                for (;;) {
                        n = read(pipe_fds[0], buf + len, sizeof(buf) - 1 - len);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                fprintf(stderr, "timeit: %s ended before printing '%s'\n", argv[cmd], line);
                                return 1;
                        }
                        len += (size_t)n;
                        buf[len] = '\0';
                        if (strstr(buf, line))
                                break;
                        if (len == sizeof(buf) - 1)
                                len = 0;
                }
                t1 = now_ns();
                out = fopen(argv[1], "a");
                if (!out)
                        return perror(argv[1]), 2;
                fprintf(out, "%lld 0\n", (t1 - t0) / 1000);
                fclose(out);
                return 0; /* the pipe closes with us: CMD's later stdout writes fail, harmlessly */
        }
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR)
                        return perror("waitpid"), 2;
        t1 = now_ns();
        out = fopen(argv[1], "a");
        if (!out)
                return perror(argv[1]), 2;
        fprintf(out, "%lld %ld\n", (t1 - t0) / 1000, ru.ru_maxrss);
        fclose(out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
