/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "topology.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <numa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"

/* Reads the first line of <root><path> (formatted), without its newline. */
static int read_line(char *buf, size_t len, const char *root, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int read_line(char *buf, size_t len, const char *root, const char *fmt, ...)
{
        _cleanup_free_ char *rel = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        va_list ap;
        ssize_t n;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&rel, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(&path, "%s%s", root, rel) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, len - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

/* A CPU list file; absent or empty (the kernel writes "\n" for no CPU) is the empty set. */
static int read_cpuset(const char *root, const char *path, struct vx_cpuset *ret)
{
        char buf[4096];
        int r;

        *ret = (struct vx_cpuset){0};
        r = read_line(buf, sizeof(buf), root, "%s", path);
        if (r == -ENOENT || (r >= 0 && buf[0] == '\0'))
                return 0;
        if (r < 0)
                return r;
        return vx_cpuset_parse(buf, ret);
}

/* /sys/devices/system/cpu/cpu<cpu>/topology/<name> as a number. */
static int read_topology_int(const char *root, unsigned cpu, const char *name, int *ret)
{
        char buf[64], *end;
        long v;
        int r;

        r = read_line(buf, sizeof(buf), root, "/sys/devices/system/cpu/cpu%u/topology/%s", cpu, name);
        if (r < 0)
                return r;
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno != 0 || end == buf || *end)
                return -EBADMSG;
        *ret = (int)v;
        return 0;
}

static bool is_real_host(const char *root)
{
        return root[0] == '\0';
}

static int read_cpus(const char *root, struct vx_host_topology *t)
{
        int last = vx_cpuset_last(&t->online);
        struct vx_cpuset present = t->online;
        int r;

        /* Offline CPUs are in "present" too: a pin list may name one, and the message should say why it fails. */
        r = read_cpuset(root, "/sys/devices/system/cpu/present", &present);
        if (r < 0 || vx_cpuset_count(&present) == 0)
                present = t->online;
        if (vx_cpuset_last(&present) > last)
                last = vx_cpuset_last(&present);
        t->cpus = calloc((size_t)last + 1, sizeof(*t->cpus));
        if (!t->cpus)
                return -ENOMEM;
        for (unsigned cpu = 0; cpu <= (unsigned)last; cpu++) {
                struct vx_topo_cpu *c = &t->cpus[t->n_cpus];
                char path[128];

                if (!vx_cpuset_isset(&present, cpu))
                        continue;
                *c = (struct vx_topo_cpu){.id = cpu, .node = -1, .core_id = -1, .package_id = -1};
                (void)read_topology_int(root, cpu, "core_id", &c->core_id);
                (void)read_topology_int(root, cpu, "physical_package_id", &c->package_id);
                snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/topology/thread_siblings_list", cpu);
                if (read_cpuset(root, path, &c->siblings) < 0 || vx_cpuset_count(&c->siblings) == 0)
                        vx_cpuset_set(&c->siblings, cpu);
                c->online = vx_cpuset_isset(&t->online, cpu);
                c->isolated = vx_cpuset_isset(&t->isolated, cpu);
                c->nohz_full = vx_cpuset_isset(&t->nohz_full, cpu);
                t->n_cpus++;
        }
        return 0;
}

/* "Node 0 MemFree:   123 kB" lines of nodeN/meminfo. */
static void read_meminfo(const char *root, struct vx_topo_node *n)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char line[256];

        if (asprintf(&path, "%s/sys/devices/system/node/node%d/meminfo", root, n->id) < 0)
                return;
        f = fopen(path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                unsigned long long kib;
                int id;

                if (sscanf(line, "Node %d MemTotal: %llu kB", &id, &kib) == 2)
                        n->mem_total = (uint64_t)kib << 10;
                else if (sscanf(line, "Node %d MemFree: %llu kB", &id, &kib) == 2)
                        n->mem_free = (uint64_t)kib << 10;
        }
}

static int read_pools(const char *root, struct vx_topo_node *n)
{
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (asprintf(&dir, "%s/sys/devices/system/node/node%d/hugepages", root, n->id) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                struct vx_topo_pool pool = {0}, *grown;
                unsigned long long kib;
                char buf[64];

                if (sscanf(de->d_name, "hugepages-%llukB", &kib) != 1)
                        continue;
                pool.page_size = (uint64_t)kib << 10;
                if (read_line(buf, sizeof(buf), dir, "/%s/nr_hugepages", de->d_name) >= 0)
                        pool.total = strtoull(buf, NULL, 10);
                if (read_line(buf, sizeof(buf), dir, "/%s/free_hugepages", de->d_name) >= 0)
                        pool.free = strtoull(buf, NULL, 10);
                grown = realloc(n->pools, (n->n_pools + 1) * sizeof(*grown));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                n->pools = grown;
                /* Smallest page size first, whatever order readdir gives. */
                size_t at = n->n_pools;
                while (at > 0 && n->pools[at - 1].page_size > pool.page_size) {
                        n->pools[at] = n->pools[at - 1];
                        at--;
                }
                n->pools[at] = pool;
                n->n_pools++;
        }
        closedir(d);
        return r;
}

static void read_distances(const char *root, struct vx_host_topology *t)
{
        for (size_t i = 0; i < t->n_nodes; i++) {
                char buf[1024], *p = buf;

                if (is_real_host(root) && numa_available() >= 0) {
                        for (size_t j = 0; j < t->n_nodes; j++)
                                t->distance[i * t->n_nodes + j] =
                                        (unsigned)numa_distance(t->nodes[i].id, t->nodes[j].id);
                        continue;
                }
                /* The file lists a distance for every possible node, in order: pick ours by id. */
                if (read_line(buf, sizeof(buf), root, "/sys/devices/system/node/node%d/distance", t->nodes[i].id) < 0)
                        continue;
                for (int id = 0; *p; id++) {
                        char *end;
                        unsigned long v = strtoul(p, &end, 10);

                        if (end == p)
                                break;
                        for (size_t j = 0; j < t->n_nodes; j++)
                                if (t->nodes[j].id == id)
                                        t->distance[i * t->n_nodes + j] = (unsigned)v;
                        p = end;
                }
        }
}

static int add_node(const char *root, struct vx_host_topology *t, int id, const struct vx_cpuset *cpus)
{
        struct vx_topo_node *n = &t->nodes[t->n_nodes++];

        *n = (struct vx_topo_node){.id = id, .cpus = *cpus};
        if (is_real_host(root) && numa_available() >= 0) {
                long long free_bytes = 0;
                long long total = numa_node_size64(id, &free_bytes);

                if (total > 0) {
                        n->mem_total = (uint64_t)total;
                        n->mem_free = (uint64_t)free_bytes;
                }
        } else
                read_meminfo(root, n);
        return read_pools(root, n);
}

static int read_nodes(const char *root, struct vx_host_topology *t)
{
        struct vx_cpuset online_nodes;
        int r;

        r = read_cpuset(root, "/sys/devices/system/node/online", &online_nodes);
        if (r < 0)
                return r;
        if (vx_cpuset_count(&online_nodes) == 0) {
                /* No NUMA in sysfs: one node 0 holding every CPU, as the kernel would report it. */
                t->nodes = calloc(1, sizeof(*t->nodes));
                if (!t->nodes)
                        return -ENOMEM;
                return add_node(root, t, 0, &t->online);
        }
        t->nodes = calloc(vx_cpuset_count(&online_nodes), sizeof(*t->nodes));
        if (!t->nodes)
                return -ENOMEM;
        for (unsigned id = 0; id <= (unsigned)vx_cpuset_last(&online_nodes); id++) {
                struct vx_cpuset cpus;
                char path[96];

                if (!vx_cpuset_isset(&online_nodes, id))
                        continue;
                snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpulist", id);
                r = read_cpuset(root, path, &cpus);
                if (r < 0)
                        return r;
                r = add_node(root, t, (int)id, &cpus);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_pci(const char *root, struct vx_host_topology *t)
{
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (asprintf(&dir, "%s/sys/bus/pci/devices", root) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                struct vx_topo_pci *grown;
                char buf[32];

                if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(grown->bdf))
                        continue;
                grown = realloc(t->pci, (t->n_pci + 1) * sizeof(*grown));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                t->pci = grown;
                grown = &t->pci[t->n_pci++];
                memcpy(grown->bdf, de->d_name, strlen(de->d_name) + 1);
                grown->node = -1;
                if (read_line(buf, sizeof(buf), dir, "/%s/numa_node", de->d_name) >= 0)
                        grown->node = (int)strtol(buf, NULL, 10);
        }
        closedir(d);
        return r;
}

int host_topology_read(const char *root, struct vx_host_topology **ret)
{
        struct vx_host_topology *t;
        int r;

        if (!root || strcmp(root, "/") == 0)
                root = "";
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        r = read_cpuset(root, "/sys/devices/system/cpu/online", &t->online);
        if (r >= 0 && vx_cpuset_count(&t->online) == 0)
                r = -ENOENT;
        if (r >= 0)
                r = read_cpuset(root, "/sys/devices/system/cpu/isolated", &t->isolated);
        if (r >= 0)
                r = read_cpuset(root, "/sys/devices/system/cpu/nohz_full", &t->nohz_full);
        if (r >= 0)
                r = read_cpus(root, t);
        if (r >= 0)
                r = read_nodes(root, t);
        if (r >= 0) {
                t->distance = calloc(t->n_nodes * t->n_nodes, sizeof(*t->distance));
                if (!t->distance)
                        r = -ENOMEM;
                else
                        read_distances(root, t);
        }
        if (r >= 0)
                r = read_pci(root, t);
        if (r < 0) {
                host_topology_free(t);
                return r == -EINVAL || r == -ERANGE ? -EBADMSG : r;
        }
        for (size_t i = 0; i < t->n_nodes; i++)
                for (size_t j = 0; j < t->n_cpus; j++)
                        if (vx_cpuset_isset(&t->nodes[i].cpus, t->cpus[j].id))
                                t->cpus[j].node = t->nodes[i].id;
        *ret = t;
        return 0;
}

struct vx_host_topology *host_topology_free(struct vx_host_topology *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_nodes; i++)
                free(t->nodes[i].pools);
        free(t->nodes);
        free(t->cpus);
        free(t->distance);
        free(t->pci);
        free(t);
        return NULL;
}

const struct vx_topo_cpu *host_topology_cpu(const struct vx_host_topology *t, unsigned cpu)
{
        for (size_t i = 0; i < t->n_cpus; i++)
                if (t->cpus[i].id == cpu)
                        return &t->cpus[i];
        return NULL;
}

int host_topology_cpu_node(const struct vx_host_topology *t, unsigned cpu)
{
        const struct vx_topo_cpu *c = host_topology_cpu(t, cpu);

        return c && c->node >= 0 ? c->node : -ENOENT;
}

const struct vx_topo_node *host_topology_node(const struct vx_host_topology *t, int node)
{
        for (size_t i = 0; i < t->n_nodes; i++)
                if (t->nodes[i].id == node)
                        return &t->nodes[i];
        return NULL;
}

int host_topology_pci_node(const struct vx_host_topology *t, const char *bdf)
{
        char full[32];

        /* "81:10.0": lspci's short form, domain 0000. */
        if (strlen(bdf) == 7)
                snprintf(full, sizeof(full), "0000:%s", bdf);
        else
                snprintf(full, sizeof(full), "%s", bdf);
        for (size_t i = 0; i < t->n_pci; i++)
                if (strcasecmp(t->pci[i].bdf, full) == 0)
                        return t->pci[i].node < 0 ? -1 : t->pci[i].node;
        return -ENOENT;
}

const struct vx_topo_pool *host_topology_pool(const struct vx_host_topology *t, int node, uint64_t page_size)
{
        const struct vx_topo_node *n = host_topology_node(t, node);

        for (size_t i = 0; n && i < n->n_pools; i++)
                if (n->pools[i].page_size == page_size)
                        return &n->pools[i];
        return NULL;
}

unsigned host_topology_distance(const struct vx_host_topology *t, int a, int b)
{
        size_t ia = SIZE_MAX, ib = SIZE_MAX;

        for (size_t i = 0; i < t->n_nodes; i++) {
                if (t->nodes[i].id == a)
                        ia = i;
                if (t->nodes[i].id == b)
                        ib = i;
        }
        if (ia == SIZE_MAX || ib == SIZE_MAX)
                return 0;
        return t->distance[ia * t->n_nodes + ib];
}

void host_topology_node_online(const struct vx_host_topology *t, int node, struct vx_cpuset *ret)
{
        const struct vx_topo_node *n = host_topology_node(t, node);

        *ret = (struct vx_cpuset){0};
        if (!n)
                return;
        for (size_t i = 0; i < ELEMENTSOF(ret->bits); i++)
                ret->bits[i] = n->cpus.bits[i] & t->online.bits[i];
}
