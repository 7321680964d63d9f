/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The profile model: one deployment (host settings, bridges, one or more VMs)
 * as plain C structs. Parsing (profile_load) fills it from YAML and keeps the
 * file:line:column of every key in a side table, so validation and every later
 * stage can point at the text that caused a problem. Nothing here touches the
 * host.
 *
 * The comment after each field names its YAML key (relative to the enclosing
 * mapping) and its default. docs/profile.md is the user-facing description.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuset.h"
#include "diag.h"

struct vx_strmap;

#define VX_IFNAMSIZ 16 /* IFNAMSIZ: 15 bytes and the NUL */
/*
 * The largest memory.size: x86_64 physical addresses have at most 52 bits
 * (4 PiB), and QEMU refuses guest RAM past the CPU's phys-bits (that of the
 * host under KVM, often 39 to 46 bits: start fails there with QEMU's message).
 */
#define VX_MEMORY_MAX (UINT64_C(1) << 52)
/* sun_path: a unix socket path holds at most 107 bytes and the NUL. */
#define VX_SUN_PATH_MAX 108

/* host.runtime-dir's default: the one place it is spelled (the plan and the CLI use it too). */
#define VX_DEFAULT_RUNTIME_DIR "/run/vmxrun"

enum vx_accel {
        VX_ACCEL_KVM, /* "kvm" (default) */
        VX_ACCEL_TCG, /* "tcg": software emulation, -accel tcg,thread=multi */
};

enum vx_tristate {
        VX_AUTO, /* "auto" */
        VX_ON,   /* true / "on" */
        VX_OFF,  /* false / "off" */
};

enum vx_mem_policy {
        VX_MEM_POLICY_BIND,       /* "bind" (default when node is set): strict, as libvirt's mode="strict" */
        VX_MEM_POLICY_PREFERRED,  /* "preferred" */
        VX_MEM_POLICY_INTERLEAVE, /* "interleave" */
};

enum vx_disk_bus {
        VX_DISK_BUS_VIRTIO, /* "virtio" (default): virtio-blk-pci */
        VX_DISK_BUS_IDE,    /* "ide": ide-hd on the machine's IDE controller */
        VX_DISK_BUS_USB,    /* "usb": usb-storage (the vMX VCP's metadata disk) */
        VX_DISK_BUS_SCSI,   /* "scsi": scsi-hd on a virtio-scsi-pci controller */
};

enum vx_disk_format {
        VX_DISK_FORMAT_RAW,   /* "raw" */
        VX_DISK_FORMAT_QCOW2, /* "qcow2" (default) */
};

enum vx_disk_cache {
        VX_DISK_CACHE_NONE,         /* "none" (default): O_DIRECT, guest write cache honoured */
        VX_DISK_CACHE_DIRECTSYNC,   /* "directsync": what vmx.sh used */
        VX_DISK_CACHE_WRITEBACK,    /* "writeback" */
        VX_DISK_CACHE_WRITETHROUGH, /* "writethrough" */
        VX_DISK_CACHE_UNSAFE,       /* "unsafe" */
};

enum vx_nic_type {
        VX_NIC_TAP,     /* "tap": a tap device on a Linux bridge */
        VX_NIC_VF,      /* "vf": an SR-IOV virtual function, by PF name and VF index, as vfio-pci */
        VX_NIC_HOSTDEV, /* "pci" ("hostdev" accepted): any PCI device by address, as vfio-pci */
};

enum vx_nic_model {
        VX_NIC_MODEL_VIRTIO, /* "virtio-net-pci" (default; "virtio" accepted) */
        VX_NIC_MODEL_E1000,  /* "e1000": what the vMX VCP's fxp0 uses */
        VX_NIC_MODEL_E1000E, /* "e1000e" */
};

enum vx_serial_type {
        VX_SERIAL_NONE,   /* no serial: key absent or "none" */
        VX_SERIAL_TELNET, /* "telnet": TCP socket with telnet negotiation, like vmx.sh's console_port */
        VX_SERIAL_TCP,    /* "tcp": raw TCP socket */
        VX_SERIAL_UNIX,   /* "unix": unix socket */
};

enum vx_restart_policy {
        VX_RESTART_ON_CRASH, /* "on-crash" (default): restart when QEMU dies or the guest panics */
        VX_RESTART_ALWAYS,   /* "always": also after the guest powers off */
        VX_RESTART_NEVER,    /* "never" */
};

/* What restarts when this VM's QEMU dies (docs/router.md). */
enum vx_restart_scope {
        VX_RESTART_SCOPE_SELF, /* "self" (default): only this VM */
        VX_RESTART_SCOPE_DEPLOYMENT, /* "deployment": every VM of the deployment, stopped in reverse order, started in order */
};

struct vx_bridge {
        char *name;             /* name: required, <= 15 bytes */
        bool stp;               /* stp: default false */
        int forward_delay;      /* forward-delay: seconds, -1 = kernel default */
        unsigned mtu;           /* mtu: 0 = leave as is */
        char *uplink;           /* uplink: host interface enslaved to the bridge, optional */
        bool move_host_address; /* move-host-address: move uplink's addresses and routes to the bridge */
};

struct vx_cpu {
        char *model;      /* cpu.model: "host" (KVM only), "max", or a QEMU model name; default "max" */
        char **features;  /* cpu.features: list of "+name" / "-name" */
        size_t n_features;
};

struct vx_topology {
        bool automatic;   /* topology: auto: sockets/cores/threads from the CPUs placement chose */
        unsigned sockets; /* topology.sockets: default 1 */
        unsigned dies;    /* topology.dies: default 1 */
        unsigned cores;   /* topology.cores: default vcpus / (sockets*dies*threads) */
        unsigned threads; /* topology.threads: default 1 */
};

struct vx_memory {
        uint64_t size;            /* memory.size: bytes; "2048MiB", "16GiB", "1024M", "2G"; required */
        bool hugepages;           /* memory.hugepages present */
        uint64_t page_size;       /* memory.hugepages.page-size: "2M" (default) or "1G", in bytes */
        bool page_size_auto;      /* page-size: auto: the plan picks 1G where the host has 1 GiB pages and
                                   * the size is whole ones, else 2M (page_size stays 2M here) */
        char *path;               /* memory.hugepages.path: hugetlbfs mount; NULL = found at start */
        int node;                 /* memory.hugepages.node: host NUMA node, -1 = none */
        enum vx_mem_policy policy; /* memory.hugepages.policy: default bind */
        bool prealloc;            /* memory.hugepages.prealloc: default true */
        bool merge;               /* memory.merge: KSM page merging; default true (vMX VFP: false) */
        bool lock;                /* memory.lock: mlock guest memory (-overcommit mem-lock); default false */
};

/* pinning.smt: what automatic placement does with a core's other thread when topology.threads is 1. */
enum vx_pin_drift {
        VX_PIN_DRIFT_REPAIR, /* "repair" (default): a thread found off its CPUs is pinned again, and logged */
        VX_PIN_DRIFT_REPORT, /* "report": status shows it and the log says so; vmxrun leaves it */
};

enum vx_smt_policy {
        VX_SMT_ISOLATE, /* "isolate" (default): one vCPU per core, its sibling left idle */
        VX_SMT_SHARE,   /* "share": siblings take other vCPUs of the VM */
};

struct vx_pinning {
        struct vx_cpuset *vcpus;   /* pinning.vcpus: one CPU list per vCPU, in vCPU order */
        size_t n_vcpus;            /* 0 = vCPUs not pinned */
        bool has_emulator;
        struct vx_cpuset emulator; /* pinning.emulator: CPU list for every non-vCPU thread */
        /* Automatic placement (docs/placement.md): `pinning: auto` or pinning.placement: auto. */
        bool automatic;          /* pinning.placement: auto; default explicit (the lists above) */
        int node;                /* pinning.node: host NUMA node to place on; -1 = chosen */
        unsigned emulator_cpus;  /* pinning.emulator-cpus: CPUs of the emulator set; default 1 */
        enum vx_smt_policy smt;  /* pinning.smt: default isolate */
        bool shared;             /* pinning.shared: sharing CPUs with other VMs is intended; default false */
        bool core_scheduling;    /* pinning.core-scheduling: a PR_SCHED_CORE cookie per VM; default false */
        enum vx_pin_drift drift; /* pinning.drift: what a drift status finds leads to; default repair */
};

/* A guest NUMA node (numa.nodes[]): its vCPUs and memory, on one host node. */
struct vx_guest_node {
        struct vx_cpuset vcpus; /* vcpus: guest vCPU indexes, "0-1"; required */
        uint64_t size;          /* size: bytes; required; the nodes' sizes add up to memory.size */
        int host_node;          /* host-node: host NUMA node of its memory; -1 = the VM's node */
};

struct vx_numa {
        bool strict;                 /* numa.strict: vCPUs, memory and passthrough NICs on different host
                                        nodes is an error, not a warning; default false */
        struct vx_guest_node *nodes; /* numa.nodes: guest NUMA topology; none = one guest node */
        size_t n_nodes;
};

struct vx_disk {
        char *file;                 /* file: required */
        enum vx_disk_format format; /* format */
        enum vx_disk_bus bus;       /* bus */
        enum vx_disk_cache cache;   /* cache */
        bool readonly;              /* readonly: default false */
        unsigned boot_order;        /* boot-order: 0 = not bootable */
};

/* A vf NIC's pf-settings: the PF's own (ifconfig p3p1 up promisc allmulti mtu 2000), each only when set. */
struct vx_pf_settings {
        enum vx_tristate up;       /* pf-settings.up: auto = leave as is */
        unsigned mtu;              /* pf-settings.mtu: 68..65535, 0 = leave as is */
        enum vx_tristate promisc;  /* pf-settings.promisc */
        enum vx_tristate allmulti; /* pf-settings.allmulti */
};

struct vx_nic {
        enum vx_nic_type type;   /* type: required */
        char *mac;               /* mac: "02:04:17:01:01:01", canonical lower case; NULL = QEMU picks */
        enum vx_nic_model model; /* model: tap only */
        int pci_slot;            /* pci-slot: guest PCI slot (0x03 or 3), -1 = QEMU picks */

        /* type: tap */
        char *bridge;            /* bridge: name of a bridge (declared in bridges or existing) */
        char *tap;               /* tap: tap device name, required for tap, <= 15 bytes */
        enum vx_tristate vhost;  /* vhost: auto (default), on, off */
        unsigned queues;         /* queues: default 1 */
        unsigned mtu;            /* mtu: 0 = bridge's */

        /* type: vf */
        char *pf;                /* pf: physical function's interface name */
        int vf;                  /* vf: VF index, required for vf */
        int vlan;                /* vlan: 1..4094, -1 = none */
        int rate_mbps;           /* rate: max tx rate in Mbit/s, -1 = unset */
        enum vx_tristate spoofchk; /* spoofchk: auto = leave as is */
        enum vx_tristate trust;    /* trust: auto = leave as is */

        /* type: pci */
        char *host;              /* host: PCI address "0000:23:10.0" (domain optional) */

        /* type: vf: PFs to choose from, vf: auto, the PF's own settings */
        char **pfs; /* pf: one name or a list (n_pfs >= 1 when pf is set); pfs[0] is pf */
        size_t n_pfs;
        bool vf_auto;                      /* vf: auto: a free VF of pfs picked at start (vf stays -1) */
        struct vx_pf_settings pf_settings; /* pf-settings */
};

struct vx_serial {
        enum vx_serial_type type; /* serial.type */
        char *host;               /* serial.host: default "127.0.0.1" for telnet/tcp */
        unsigned port;            /* serial.port: required for telnet/tcp */
        char *path;               /* serial.path: unix socket path; default in the runtime dir */
};

struct vx_vnc {
        bool enabled;   /* vnc present */
        char *listen;   /* vnc.listen: default "127.0.0.1" */
        int display;    /* vnc.display: default 0 (port 5900) */
};

struct vx_smbios_entry {
        char *key;   /* e.g. "vendor", "manufacturer", "product", "version" */
        char *value;
};

struct vx_smbios {
        unsigned type; /* smbios[].type: 0 (BIOS), 1 (system), ... */
        struct vx_smbios_entry *entries; /* the other keys of the item, in file order */
        size_t n_entries;
};

struct vx_boot {
        char *kernel;  /* boot.kernel: direct kernel boot, optional */
        char *initrd;  /* boot.initrd */
        char *cmdline; /* boot.cmdline */
};

struct vx_restart {
        enum vx_restart_policy policy; /* restart.policy */
        unsigned max_restarts;         /* restart.max: default 5 within restart.window */
        unsigned window_s;             /* restart.window: seconds, default 300 */
        unsigned backoff_ms;           /* restart.backoff: first delay, doubled each time; default 1000 */
        enum vx_restart_scope scope;   /* restart.scope: default self */
};

struct vx_ready {
        char *console_pattern; /* ready.console: text the serial console prints when the guest is up */
        char *qmp_status;      /* ready.qmp-status: a QEMU run state ("running", "paused", ...) that means up */
        unsigned timeout_s;    /* ready.timeout: seconds, default 300 */
        char *link; /* ready.link: a bridge; the VM's taps on it must be up, with carrier (and any other condition) */
};

/* What QEMU's own seccomp filter (-sandbox on) lets QEMU do, one of its four groups of calls. */
enum vx_sandbox_rule {
        VX_SANDBOX_DENY,     /* "deny" (default) */
        VX_SANDBOX_ALLOW,    /* "allow" */
        VX_SANDBOX_CHILDREN, /* "children": elevate-privileges only (set*id allowed, not for QEMU itself) */
};

struct vx_sandbox {
        bool off;   /* sandbox: off (or false) gives -sandbox off; default on (zero: the strict default) */
        bool given; /* the key is in the profile: the -sandbox option then names it as its origin */
        enum vx_sandbox_rule obsolete;           /* sandbox.obsolete */
        enum vx_sandbox_rule elevate_privileges; /* sandbox.elevate-privileges */
        enum vx_sandbox_rule spawn;              /* sandbox.spawn */
        enum vx_sandbox_rule resource_control;   /* sandbox.resource-control */
};

struct vx_vm {
        char *name;            /* name: required, unique, [A-Za-z0-9_.-], <= 64 bytes */
        char *qemu;            /* qemu: default "/usr/bin/qemu-system-x86_64" */
        char *machine;         /* machine: default "pc" */
        enum vx_accel accel;   /* accel: default kvm */
        bool tcg_fallback;     /* accel-fallback: "tcg" allows TCG where KVM is unusable; default none */
        char *uuid;            /* uuid: optional */
        struct vx_cpu cpu;
        unsigned vcpus;        /* vcpus: default 1 */
        struct vx_topology topology;
        struct vx_memory memory;
        struct vx_pinning pinning;
        struct vx_numa numa;
        struct vx_disk *disks; /* disks */
        size_t n_disks;
        struct vx_nic *nics;   /* nics */
        size_t n_nics;
        struct vx_serial serial;
        struct vx_vnc vnc;
        char *video;           /* video: "none" (default without vnc), "std" (default with vnc), "cirrus", "virtio" */
        bool balloon;          /* balloon: virtio-balloon; default false */
        struct vx_smbios *smbios;
        size_t n_smbios;
        struct vx_boot boot;
        struct vx_restart restart;
        struct vx_ready ready;
        /* The paired lifecycle (docs/router.md): after: NAME or {vm: NAME, until: ready|running}. */
        char *after;           /* after.vm: a VM listed before this one, started first; NULL: none */
        bool after_running;    /* after.until: running: start once that VM runs, not once it is ready (default) */
        char **extra_args;     /* extra-args: appended verbatim, last resort */
        size_t n_extra_args;
        struct vx_sandbox sandbox; /* sandbox: QEMU's own seccomp filter, default on with everything denied */
};

struct vx_host {
        char *runtime_dir; /* host.runtime-dir: default VX_DEFAULT_RUNTIME_DIR */
};

/* Where a key was found: the key path ("vms[1].nics[0].mac") and its position. */
struct vx_key_position {
        char *path;
        unsigned line;   /* 1-based */
        unsigned column; /* 1-based */
};

struct vx_profile {
        char *file;  /* the path it was loaded from, as given */
        char *name;  /* name: deployment name, required, [A-Za-z0-9_.-], <= 32 bytes */
        struct vx_host host;
        struct vx_bridge *bridges;
        size_t n_bridges;
        struct vx_vm *vms;
        size_t n_vms;

        struct vx_key_position *positions;
        size_t n_positions;
        struct vx_strmap *position_index; /* private to profiles/lib: path -> first position */
};

/*
 * Loads and validates a profile. Every problem found is appended to diags
 * (file:line:column, key path, message, suggestion); loading goes on after an
 * error so that all of them are reported. Returns 0 and *ret (owned by the
 * caller, free with profile_free) when there are no errors; -EINVAL when diags
 * holds at least one error, a file over the size limit (1 MiB) included: all
 * of these are bad input; or another negative errno (-ENOENT, -EISDIR,
 * -ENOMEM, ...) when the file could not be read at all, in which case diags
 * also says why (except for -ENOMEM).
 */
int profile_load(const char *path, struct vx_diags *diags, struct vx_profile **ret);

/* The same from a buffer; name is what diagnostics call the file. */
int profile_load_string(const char *name, const char *text, size_t len, struct vx_diags *diags,
                        struct vx_profile **ret);

/*
 * Values given on the command line (`--set PATH=VALUE`, in order; a later
 * one wins), applied to the YAML before it is read, so they are checked as
 * the file's own values are. PATH is keys joined by '.'; in a list, an index
 * from 0, an item's name: or '*'. VALUE is YAML (a scalar, or a flow list or
 * mapping; null removes the key or item). Errors in a set are reported as "--set: error: PATH: ...".
 */
struct vx_profile_sets {
        const char *const *items;
        size_t n;
};

int profile_load_with(const char *path, const struct vx_profile_sets *sets, struct vx_diags *diags,
                      struct vx_profile **ret);
int profile_load_string_with(const char *name, const char *text, size_t len, const struct vx_profile_sets *sets,
                             struct vx_diags *diags, struct vx_profile **ret);

struct vx_profile *profile_free(struct vx_profile *p);

/*
 * Position of a key path; when the key itself is absent (a default was used),
 * the position of its nearest parent present in the file. Never fails: falls
 * back to line 1, column 1.
 */
void profile_position(const struct vx_profile *p, const char *path, unsigned *ret_line, unsigned *ret_column);

/* The VM called name, or NULL. */
const struct vx_vm *profile_find_vm(const struct vx_profile *p, const char *name);

/* Name tables for the enums, for messages and output ("kvm", "virtio", ...). */
const char *vx_accel_to_string(enum vx_accel a);
const char *vx_disk_bus_to_string(enum vx_disk_bus b);
const char *vx_disk_format_to_string(enum vx_disk_format f);
const char *vx_disk_cache_to_string(enum vx_disk_cache c);
const char *vx_nic_type_to_string(enum vx_nic_type t);
const char *vx_nic_model_to_string(enum vx_nic_model m);
const char *vx_mem_policy_to_string(enum vx_mem_policy p);
const char *vx_restart_policy_to_string(enum vx_restart_policy p);
const char *vx_restart_scope_to_string(enum vx_restart_scope s);
const char *vx_tristate_to_string(enum vx_tristate t);
const char *vx_serial_type_to_string(enum vx_serial_type t);
const char *vx_smt_policy_to_string(enum vx_smt_policy p);
const char *vx_pin_drift_to_string(enum vx_pin_drift d);

/*
 * Runs the checks that need no host on a model (profile_load already does):
 * cross-field and cross-VM rules, interface names, MACs, ports, strings QEMU
 * could not take. Appends every problem to diags, with positions from
 * p->positions. Returns 0 when it found no error, -EINVAL when it did, or
 * -ENOMEM. Normalises in place (MAC addresses and PCI addresses to lower case).
 */
int profile_validate(struct vx_profile *p, struct vx_diags *diags);
