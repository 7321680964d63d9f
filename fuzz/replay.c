/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a fuzz target once on each file given, and on each file of each
 * directory given, without libFuzzer: the corpora and regression inputs of
 * fuzz/ become an ordinary test that any compiler builds (tests/fuzz.cmake).
 * Exits 0 when every input ran; a crash is the sanitizer's or abort()'s.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        size_t len = 0, cap = 4096;
        uint8_t *buf = malloc(cap);
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || !buf) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                free(buf);
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        uint8_t *p = realloc(buf, cap *= 2);

                        if (!p) {
                                free(buf);
                                close(fd);
                                return -1;
                        }
                        buf = p;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        (void)LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        return 0;
}

static int compare(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
        size_t runs = 0;

        for (int i = 1; i < argc; i++) {
                struct dirent **names;
                struct stat st;
                int n;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i]) < 0)
                                return 1;
                        runs++;
                        continue;
                }
                n = scandir(argv[i], &names, NULL, compare);
                if (n < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                for (int j = 0; j < n; j++) {
                        char *path;

                        if (names[j]->d_name[0] != '.' && asprintf(&path, "%s/%s", argv[i], names[j]->d_name) >= 0) {
                                if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                                        if (run_file(path) < 0)
                                                return 1;
                                        runs++;
                                }
                                free(path);
                        }
                        free(names[j]);
                }
                free(names);
        }
        printf("%zu inputs ran\n", runs);
        return 0;
}
