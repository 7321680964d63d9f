/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

#define ESCAPE_CHAR 0x1d /* Ctrl-] as in telnet and virsh console */

static const struct cli_help help = {
        .usage = "vmxrun console NAME|PROFILE.yaml [--vm VM] [--runtime-dir DIR]",
        .description = "Attaches the terminal to the VM's serial console. Ctrl-] leaves.\n",
        .options = "      --vm VM            the VM (needed when the deployment has several)\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 detached, 1 failed (no console to attach to), 2 bad usage, 4 not running.\n",
};

static int connect_console(json_t *console, int *ret_fd)
{
        const char *type = json_string_value(json_object_get(console, "type"));
        _cleanup_close_ int fd = -EBADF;

        if (!type)
                return -ENODEV;
        if (strcmp(type, "unix") == 0) {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                const char *path = json_string_value(json_object_get(console, "path"));
                if (!path || strlen(path) >= sizeof(sa.sun_path))
                        return -ENAMETOOLONG;
                strcpy(sa.sun_path, path);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                        return -errno;
        } else {
                struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
                char port[16];
                int r;

                snprintf(port, sizeof(port), "%lld", json_integer_value(json_object_get(console, "port")));
                r = getaddrinfo(json_string_value(json_object_get(console, "host")), port, &hints, &ai);
                if (r != 0)
                        return -EHOSTUNREACH;
                fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                r = fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
                freeaddrinfo(ai);
                if (r < 0)
                        return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/*
 * QEMU's telnet server negotiates options (IAC WILL ECHO, ...). We accept
 * what it offers silently and pass the data through: strip IAC sequences.
 */
static size_t strip_telnet(unsigned char *buf, size_t n, int *state)
{
        size_t out = 0;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = buf[i];
                switch (*state) {
                case 0:
                        if (c == 255)
                                *state = 1;
                        else
                                buf[out++] = c;
                        break;
                case 1: /* after IAC */
                        if (c == 255) {
                                buf[out++] = c;
                                *state = 0;
                        } else if (c >= 251 && c <= 254)
                                *state = 2; /* WILL/WONT/DO/DONT + option */
                        else if (c == 250)
                                *state = 3; /* subnegotiation until IAC SE */
                        else
                                *state = 0;
                        break;
                case 2:
                        *state = 0;
                        break;
                case 3:
                        if (c == 255)
                                *state = 4;
                        break;
                case 4:
                        *state = c == 240 ? 0 : 3;
                        break;
                }
        }
        return out;
}

static int pump(int sock, bool telnet)
{
        struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = sock, .events = POLLIN}};
        unsigned char buf[4096];
        int telnet_state = 0;

        for (;;) {
                ssize_t n;

                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        n = read(sock, buf, sizeof(buf));
                        if (n <= 0)
                                return 0; /* QEMU went away */
                        if (telnet)
                                n = (ssize_t)strip_telnet(buf, (size_t)n, &telnet_state);
                        if (write(STDOUT_FILENO, buf, (size_t)n) < 0)
                                return -errno;
                }
                if (fds[0].revents & (POLLIN | POLLHUP)) {
                        n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n <= 0)
                                return 0;
                        if (memchr(buf, ESCAPE_CHAR, (size_t)n))
                                return 0;
                        if (write(sock, buf, (size_t)n) < 0)
                                return -errno;
                }
        }
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"vm", required_argument, NULL, 'v'},
                {"runtime-dir", required_argument, NULL, 'r'},
                {0},
        };
        const char *vm = NULL, *runtime_opt = NULL, *type;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int sock = -EBADF;
        json_t *status = NULL, *console;
        struct termios saved, raw;
        bool tty = isatty(STDIN_FILENO);
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, &help, &r)) >= 0) {
                switch (c) {
                case 'v':
                        vm = optarg;
                        break;
                case 'r':
                        runtime_opt = optarg;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (optind != argc - 1)
                return cli_usage_error(argv[0], "console takes one deployment.");
        r = cli_vm_status(argv[optind], runtime_opt, vm, &dir, &status);
        if (r != VX_EXIT_OK)
                return r;
        console = json_object_get(status, "console");
        type = json_string_value(json_object_get(console, "type"));
        r = connect_console(console, &sock);
        if (r < 0) {
                log_error_errno(r, "%s has no console to attach to (%s): %m",
                                json_string_value(json_object_get(status, "name")), type ?: "no serial in the profile");
                json_decref(status);
                return VX_EXIT_FAILURE;
        }
        if (tty) {
                fprintf(stderr, "Connected to %s's console; Ctrl-] leaves.\r\n",
                        json_string_value(json_object_get(status, "name")));
                tcgetattr(STDIN_FILENO, &saved);
                raw = saved;
                cfmakeraw(&raw);
                tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        }
        r = pump(sock, type && strcmp(type, "telnet") == 0);
        if (tty) {
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
                fputs("\n", stderr);
        }
        json_decref(status);
        return r < 0 ? VX_EXIT_FAILURE : VX_EXIT_OK;
}

const struct vx_command vx_cmd_console = {
        .name = "console",
        .summary = "attach to a VM's serial console",
        .run = run,
};
