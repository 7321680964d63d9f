/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "qemuargs.h"

static void argv_donep(struct vx_argv *a)
{
        vx_argv_done(a);
}

static const struct qa_knowledge *K(void)
{
        const struct qa_knowledge *k = qa_knowledge_builtin();
        assert_non_null(k);
        return k;
}

/* Splits text and parses it; fails the test on error. */
static struct qa_cmdline *parse(const char *text)
{
        _cleanup_(argv_donep) struct vx_argv w = {0};
        struct qa_cmdline *cl = NULL;

        assert_int_equal(qa_split_shell(text, &w, NULL), 0);
        assert_int_equal(qa_parse_argv(K(), w.items, w.n, &cl), 0);
        return cl;
}

static const struct qa_option *opt(const struct qa_cmdline *cl, const char *name, unsigned nth)
{
        for (size_t i = 0; i < cl->n_opts; i++)
                if (strcmp(cl->opts[i].name, name) == 0 && nth-- == 0)
                        return &cl->opts[i];
        fail_msg("no option -%s", name);
        return NULL;
}

static const struct qa_prop *prop(const struct qa_option *o, const char *key)
{
        for (size_t i = 0; i < o->n_props; i++)
                if (strcmp(o->props[i].key, key) == 0)
                        return &o->props[i];
        fail_msg("no property %s in -%s", key, o->name);
        return NULL;
}

static void test_split_shell(void **state)
{
        _cleanup_(argv_donep) struct vx_argv w = {0};
        size_t off = 0;

        assert_int_equal(qa_split_shell(" a 'b c' \"d \\\"e\\\"\" f\\ g ''  h\\\ni \\\n j\n", &w, NULL), 0);
        assert_int_equal(w.n, 7);
        assert_string_equal(w.items[0], "a");
        assert_string_equal(w.items[1], "b c");
        assert_string_equal(w.items[2], "d \"e\"");
        assert_string_equal(w.items[3], "f g");
        assert_string_equal(w.items[4], "");
        assert_string_equal(w.items[5], "hi"); /* continuation inside a word joins it */
        assert_string_equal(w.items[6], "j");
        vx_argv_done(&w);

        assert_int_equal(qa_split_shell("qemu -name 'x", &w, &off), -EINVAL);
        assert_int_equal(off, 11);
        vx_argv_done(&w);
        assert_int_equal(qa_split_shell("qemu \"x", &w, &off), -EINVAL);
        vx_argv_done(&w);
        assert_int_equal(qa_split_shell("qemu x\\", &w, &off), -EINVAL);
        vx_argv_done(&w);
        assert_int_equal(qa_split_shell("   \n ", &w, NULL), 0);
        assert_int_equal(w.n, 0);
}

static void test_split_nul(void **state)
{
        static const char buf[] = "/usr/bin/qemu-system-x86_64\0-m\0001024\0-name\0a b\0";
        _cleanup_(argv_donep) struct vx_argv w = {0};
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl = NULL;

        assert_int_equal(qa_split_nul(buf, sizeof(buf) - 1, &w), 0);
        assert_int_equal(w.n, 5);
        assert_string_equal(w.items[4], "a b");
        assert_int_equal(qa_parse_argv(K(), w.items, w.n, &cl), 0);
        assert_string_equal(cl->binary, "/usr/bin/qemu-system-x86_64");
        assert_string_equal(prop(opt(cl, "name", 0), "guest")->value, "a b");
        vx_argv_done(&w);
        /* No final NUL. */
        assert_int_equal(qa_split_nul("a\0b", 3, &w), 0);
        assert_int_equal(w.n, 2);
        assert_string_equal(w.items[1], "b");
}

static void test_env_and_binary(void **state)
{
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl =
                parse("LC_ALL=C PATH=/usr/bin:/bin HOME=/var/lib/libvirt \\\n"
                      "  /usr/bin/qemu-system-x86_64 \\\n  -name guest=vm1,debug-threads=on \\\n  -S\n");

        assert_int_equal(cl->n_env, 3);
        assert_string_equal(cl->env[1], "PATH=/usr/bin:/bin");
        assert_string_equal(cl->binary, "/usr/bin/qemu-system-x86_64");
        assert_int_equal(cl->n_opts, 2);
        assert_string_equal(prop(opt(cl, "name", 0), "debug-threads")->value, "on");
        assert_non_null(opt(cl, "S", 0)->info);
        qa_cmdline_free(cl);

        /* A pasted `ps -ef` line: the columns before the binary are ignored, not options. */
        cl = parse("root 17757 1 18 19:01 ? 00:11:45 /usr/bin/qemu-system-x86_64 -S");
        assert_int_equal(cl->n_prefix, 7);
        assert_int_equal(cl->n_opts, 1);
        qa_cmdline_free(cl);

        /* Options only, no binary. */
        cl = parse("-m 512 -S");
        assert_null(cl->binary);
        assert_int_equal(cl->n_opts, 2);
}

static void test_double_dash_and_implied(void **state)
{
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl =
                parse("qemu-system-x86_64 --m 1024 -smp 4,sockets=1 -machine pc,accel=kvm -accel kvm "
                      "-netdev tap,id=n0 -device e1000,netdev=n0 -chardev socket,id=c0 "
                      "-object memory-backend-file,id=mem,size=1G -drive file=a.img,if=none,id=d0 "
                      "-cpu SandyBridge,+vmx,-svm,pmu=off");
        const struct qa_option *o;

        o = opt(cl, "m", 0);
        assert_string_equal(o->word, "--m");
        assert_non_null(o->info);
        assert_true(prop(o, "size")->implied);
        assert_string_equal(prop(o, "size")->value, "1024");
        assert_string_equal(prop(opt(cl, "smp", 0), "cpus")->value, "4");
        assert_string_equal(opt(cl, "machine", 0)->type, "pc");
        assert_non_null(opt(cl, "machine", 0)->type_info);
        assert_string_equal(prop(opt(cl, "accel", 0), "accel")->value, "kvm");
        assert_string_equal(opt(cl, "netdev", 0)->type, "tap");
        assert_string_equal(opt(cl, "netdev", 0)->id, "n0");
        assert_string_equal(opt(cl, "device", 0)->type, "e1000");
        assert_string_equal(opt(cl, "chardev", 0)->type, "socket");
        assert_string_equal(opt(cl, "object", 0)->type, "memory-backend-file");
        assert_non_null(prop(opt(cl, "object", 0), "size")->info);
        /* -drive has no implied key: file= must be spelled out. */
        o = opt(cl, "drive", 0);
        assert_null(o->type);
        assert_false(prop(o, "file")->implied);
        o = opt(cl, "cpu", 0);
        assert_string_equal(o->type, "SandyBridge");
        assert_true(prop(o, "vmx")->cpu_flag);
        assert_string_equal(prop(o, "vmx")->value, "on");
        assert_string_equal(prop(o, "svm")->value, "off");
        assert_false(prop(o, "pmu")->cpu_flag);
        assert_non_null(prop(o, "vmx")->info);
}

static void test_comma_escapes_and_shorthand(void **state)
{
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl =
                parse("qemu -drive 'file=/img/a,,b.qcow2,if=none,id=d0' "
                      "-chardev socket,id=s,host=127.0.0.1,port=8816,telnet,server,nowait -name 'x,,y'");
        const struct qa_option *o = opt(cl, "drive", 0);
        struct qa_counts c;

        assert_int_equal(o->n_props, 3);
        assert_string_equal(prop(o, "file")->value, "/img/a,b.qcow2");
        o = opt(cl, "chardev", 0);
        assert_string_equal(prop(o, "server")->value, "on");
        assert_true(prop(o, "server")->shorthand);
        assert_string_equal(prop(o, "wait")->value, "off");
        assert_true(prop(o, "wait")->shorthand);
        assert_string_equal(prop(o, "telnet")->value, "on");
        assert_false(prop(o, "port")->shorthand);
        assert_string_equal(prop(opt(cl, "name", 0), "guest")->value, "x,y");
        qa_count(cl, &c);
        assert_int_equal(c.props_deprecated, 3);
        assert_int_equal(c.props_unknown, 0);
}

static void test_parse_opts_direct(void **state)
{
        struct qa_prop *p = NULL;
        size_t n = 0;

        assert_int_equal(qa_parse_opts("a,,b,k=v,,w,,,flag,nox,", "first", false, &p, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(p[0].key, "first");
        assert_string_equal(p[0].value, "a,b");
        assert_string_equal(p[1].value, "v,w,");
        assert_string_equal(p[2].key, "flag");
        assert_string_equal(p[3].key, "x");
        assert_string_equal(p[3].value, "off");
        for (size_t i = 0; i < n; i++) {
                free(p[i].key);
                free(p[i].value);
        }
        free(p);
}

static void test_json_values(void **state)
{
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl = parse(
                "qemu -blockdev "
                "'{\"driver\":\"file\",\"filename\":\"/a.qcow2\",\"node-name\":\"f0\",\"read-only\":false}' "
                "-blockdev '{\"node-name\":\"q0\",\"driver\":\"qcow2\",\"file\":\"f0\",\"cache\":{\"direct\":true}}' "
                "-device '{\"driver\":\"virtio-blk-pci\",\"drive\":\"q0\",\"id\":\"vd0\",\"bootindex\":1}' "
                "-netdev '{\"type\":\"tap\",\"fd\":\"30\",\"id\":\"hn0\",\"vhost\":true}' "
                "-object '{\"qom-type\":\"memory-backend-ram\",\"id\":\"m0\",\"size\":1073741824}' "
                "-device '{\"driver\":\"virtio-net-pci\",\"netdev\":\"hn0\"' "
                "-audiodev '{\"driver\":\"pa\",\"id\":\"snd0\",\"out\":{\"mixing-engine\":false}}'");
        const struct qa_option *o;

        o = opt(cl, "blockdev", 0);
        assert_true(o->json);
        assert_string_equal(o->type, "file");
        assert_string_equal(o->id, "f0");
        assert_string_equal(prop(o, "read-only")->value, "off");
        o = opt(cl, "blockdev", 1);
        assert_string_equal(prop(o, "cache.direct")->value, "on");
        assert_non_null(prop(o, "cache.direct")->info);
        o = opt(cl, "device", 0);
        assert_string_equal(o->type, "virtio-blk-pci");
        assert_string_equal(prop(o, "bootindex")->value, "1");
        assert_string_equal(opt(cl, "netdev", 0)->type, "tap");
        assert_string_equal(prop(opt(cl, "netdev", 0), "vhost")->value, "on");
        assert_string_equal(prop(opt(cl, "object", 0), "size")->value, "1073741824");
        /* Broken JSON is reported, not guessed. */
        o = opt(cl, "device", 1);
        assert_true(o->json);
        assert_non_null(o->json_error);
        assert_non_null(strstr(o->json_error, "near end of file (at byte 41 of the argument)"));
        assert_int_equal(o->n_props, 0);
        /* -audiodev takes JSON too (libvirt writes it so); nested members become dotted keys. */
        o = opt(cl, "audiodev", 0);
        assert_true(o->json);
        assert_null(o->json_error);
        assert_string_equal(o->type, "pa");
        assert_string_equal(o->id, "snd0");
        assert_string_equal(prop(o, "out.mixing-engine")->value, "off");
        assert_non_null(prop(o, "out.mixing-engine")->info);

        /* The disk chain groups under the device: device <- q0 <- f0. */
        assert_int_equal(qa_group_of(cl, 0), 2);
        assert_int_equal(qa_group_of(cl, 1), 2);
        /* The second -device would name hn0, but its JSON is broken: the netdev stands alone. */
        assert_int_equal(qa_group_of(cl, 3), 3);
}

static void test_unknown_and_missing(void **state)
{
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl =
                parse("qemu -frobnicate 3 -S -bogus-flag -device e1000,frob=1 -device made-up-nic,x=1 disk.img -m");
        const struct qa_option *o;
        struct qa_counts c;

        o = opt(cl, "frobnicate", 0);
        assert_null(o->info);
        assert_true(o->arg_guessed);
        assert_string_equal(o->arg, "3");
        assert_null(opt(cl, "bogus-flag", 0)->info);
        assert_null(opt(cl, "bogus-flag", 0)->arg);
        assert_null(prop(opt(cl, "device", 0), "frob")->info);
        assert_null(opt(cl, "device", 1)->type_info);
        o = opt(cl, "", 0);
        assert_null(o->word);
        assert_string_equal(o->arg, "disk.img");
        o = opt(cl, "m", 0);
        assert_true(o->missing_arg);
        assert_null(o->arg);
        qa_count(cl, &c);
        assert_int_equal(c.options_unknown, 2); /* -frobnicate, -bogus-flag */
        assert_int_equal(c.types_unknown, 1);   /* made-up-nic */
        assert_int_equal(c.props_unknown, 3);   /* frob, driver=made-up-nic, x */
}

static void test_empty(void **state)
{
        struct qa_cmdline *cl = NULL;
        char *none[] = {NULL};

        assert_int_equal(qa_parse_argv(K(), none, 0, &cl), -ENODATA);
        assert_null(cl);
}

static void test_removed_and_deprecated(void **state)
{
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl =
                parse("qemu -no-kvm -realtime mlock=off -soundhw ac97 -enable-kvm -usbdevice tablet "
                      "-device pci-assign,host=06:10.0 -machine pc-0.13 -numa node,mem=512");
        const struct qa_option *o;
        struct qa_counts c;

        assert_int_equal(qa_entry_status(opt(cl, "no-kvm", 0)->info), QA_STATUS_REMOVED);
        assert_string_equal(opt(cl, "no-kvm", 0)->info->removed, "5.2");
        o = opt(cl, "realtime", 0);
        assert_string_equal(o->info->removed, "6.0");
        assert_non_null(strstr(o->info->replacement, "-overcommit mem-lock"));
        assert_string_equal(prop(o, "mlock")->value, "off");
        assert_string_equal(opt(cl, "soundhw", 0)->info->removed, "7.1");
        assert_int_equal(qa_entry_status(opt(cl, "enable-kvm", 0)->info), QA_STATUS_KNOWN);
        assert_string_equal(opt(cl, "enable-kvm", 0)->info->replacement, "-accel kvm");
        o = opt(cl, "device", 0);
        assert_string_equal(o->type_info->removed, "2.12");
        assert_non_null(strstr(o->type_info->replacement, "vfio-pci"));
        assert_int_equal(qa_entry_status(opt(cl, "machine", 0)->type_info), QA_STATUS_REMOVED);
        assert_string_equal(prop(opt(cl, "numa", 0), "mem")->info->removed, "5.1");
        qa_count(cl, &c);
        assert_int_equal(c.options_unknown, 0);
        assert_int_equal(c.options_removed, 5); /* -no-kvm -realtime -soundhw pci-assign pc-0.13 */
}

static void test_knowledge_lookup(void **state)
{
        const struct qa_knowledge *k = K();
        const struct qa_entry *e;
        struct qa_knowledge *own = NULL;

        e = qa_lookup_prop(k, "netdev", "tap", "vhost");
        assert_non_null(e);
        assert_string_equal(e->default_value, "off");
        assert_non_null(e->cost);
        e = qa_lookup_prop(k, "drive", NULL, "cache");
        assert_non_null(strstr(e->cost, "directsync"));
        assert_non_null(qa_lookup_prop(k, "object", "memory-backend-file", "prealloc")->cost);
        assert_non_null(qa_lookup_prop(k, "object", "memory-backend-ram", "policy")->cost);
        assert_non_null(qa_lookup_prop(k, "machine", NULL, "mem-merge")->cost);
        /* Generic device properties apply to every driver. */
        assert_non_null(qa_lookup_prop(k, "device", "e1000", "bus"));
        /* Type-specific properties do not leak into other types. */
        assert_null(qa_lookup_prop(k, "device", "e1000", "vhost"));
        assert_null(qa_lookup_prop(k, "device", "e1000", "no-such-property"));
        /* Patterns, and exact names before patterns. */
        assert_non_null(qa_lookup_type(k, "machine", "pc-i440fx-7.2"));
        assert_true(qa_lookup_type(k, "machine", "pc-i440fx-trusty")->downstream);
        assert_null(qa_lookup_type(k, "machine", "pc-i440fx-bogus"));
        assert_null(qa_lookup_option(k, "no-such-option"));
        assert_int_equal(qa_entry_status(NULL), QA_STATUS_UNKNOWN);
        assert_string_equal(qa_status_to_string(QA_STATUS_REMOVED), "removed");

        /* The format itself. */
        assert_int_equal(qa_knowledge_parse("# c\n\nopt | | x | arg=plain removed=1.0 | X | cost | Y\n", &own, NULL),
                         0);
        assert_int_equal(own->n_entries, 1);
        assert_int_equal(own->entries[0].arg, QA_ARG_PLAIN);
        assert_string_equal(own->entries[0].replacement, "Y");
        own = qa_knowledge_free(own);
        assert_int_equal(qa_knowledge_parse("opt | | x | bogus=1 | X\n", &own, NULL), -EINVAL);
        assert_int_equal(qa_knowledge_parse("opt | | x | | \n", &own, NULL), -EINVAL);
        assert_int_equal(qa_knowledge_parse("thing | | x | | X\n", &own, NULL), -EINVAL);
        assert_int_equal(qa_knowledge_parse("opt | | x | | X | a | b | c\n", &own, NULL), -EINVAL);
        assert_null(own);
}

/* ---- knowledge from QEMU itself ------------------------------------------- */

static const char HAND[] = "opt | | device | arg=opts json implied=driver typekey=driver scoped | Adds a device |  |\n"
                           "type | device | e1000 | | An Intel NIC (vmxrun's words) |  |\n";
static const char SET_72[] = "# Generated\n# QEMU emulator version 7.2.0\nV\t7.2\nG\tdevice\n"
                             "O\tdevice\targ\tadd device\nO\tS\tnone\tfreeze CPU\n"
                             "P\tdevice/e1000\tmac\tstr\t\tMAC address\n"
                             "T\tdevice\te1000\tIntel Gigabit\tbus PCI\nT\tdevice\told-nic\tAn old NIC\n";
static const char SET_10[] = "V\t10.0\nO\tdevice\targ\tadd device\nO\tS\tnone\tfreeze CPU\n"
                             "A\tdevice\te1000-82540em\te1000\n"
                             "P\tdevice/e1000\tmac\tstr\t\tMAC address\nP\tdevice/e1000\tnew-prop\tbool\toff\n"
                             "T\tdevice\te1000\tIntel Gigabit\nT\tdevice\tigb\tIntel 82576\n";

static void test_generated_knowledge(void **state)
{
        _cleanup_(qa_knowledge_freep) struct qa_knowledge *k = NULL;
        struct qa_knowledge_error err = {0};
        const struct qa_entry *e;
        _cleanup_free_ char *n_igb = NULL, *n_old = NULL, *n_prop = NULL;

        assert_int_equal(qa_knowledge_parse(HAND, &k, NULL), 0);
        assert_int_equal(qa_knowledge_add_qemu(k, SET_72, false, NULL), 0);
        assert_int_equal(qa_knowledge_add_qemu(k, SET_10, false, NULL), 1);
        assert_string_equal(k->versions[0].name, "7.2");
        assert_string_equal(k->versions[0].banner, "QEMU emulator version 7.2.0");

        /* A hand-written entry keeps its words and gains QEMU's and the versions. */
        e = qa_lookup_type(k, "device", "e1000");
        assert_false(e->generated);
        assert_string_equal(e->explanation, "An Intel NIC (vmxrun's words)");
        assert_string_equal(e->qemu_text, "Intel Gigabit");
        assert_int_equal(e->versions, 3);
        assert_null(qa_versions_note(k, e));
        /* Only QEMU knows these: its description, marked as generated. */
        e = qa_lookup_type(k, "device", "igb");
        assert_true(e->generated);
        assert_string_equal(e->explanation, "Intel 82576");
        assert_true(qa_version_rejects(k, 0, e));
        assert_false(qa_version_rejects(k, 1, e));
        n_igb = qa_versions_note(k, e);
        assert_string_equal(n_igb, "QEMU 10.0 accepts it; QEMU 7.2 rejects it");
        n_old = qa_versions_note(k, qa_lookup_type(k, "device", "old-nic"));
        assert_string_equal(n_old, "QEMU 7.2 accepts it; QEMU 10.0 rejects it");
        e = qa_lookup_prop(k, "device", "e1000", "new-prop");
        assert_string_equal(e->default_value, "off");
        n_prop = qa_versions_note(k, e);
        assert_string_equal(n_prop, "QEMU 10.0 accepts it; QEMU 7.2 rejects it");
        /* An alias's properties are its target's. */
        assert_non_null(qa_lookup_prop(k, "device", "e1000-82540em", "mac"));
        /* G marks the options that take key=value lists. */
        assert_int_equal(qa_lookup_option(k, "S")->arg, QA_ARG_NONE);
        assert_int_equal(qa_lookup_option(k, "device")->arg, QA_ARG_OPTS);

        /* Malformed sets are refused with their line, and leave k as it was. */
        size_t n = k->n_entries;
        assert_int_equal(qa_knowledge_add_qemu(k, "P\tdevice/x\ty\n", false, &err), -EINVAL);
        assert_int_equal(err.line, 1);
        assert_int_equal(qa_knowledge_add_qemu(k, "V\t9.0\nT\tdevice\tz\nQ\tbogus\n", false, &err), -EINVAL);
        assert_int_equal(err.line, 3);
        assert_int_equal(k->n_entries, n);
        assert_null(qa_lookup_type(k, "device", "z"));
}

/* Canned QMP replies for qa_introspect(). */
static int fake_qmp(void *userdata, const char *command, json_t *args, json_t **ret)
{
        const char *typename = json_string_value(json_object_get(args, "typename"));
        json_t *res = NULL;

        (void)userdata;
        if (strcmp(command, "query-command-line-options") == 0)
                res = json_pack("[{s:s,s:[{s:s,s:s,s:s}]}]", "option", "smp-opts", "parameters", "name", "cpus", "type",
                                "number", "help", "vCPUs");
        else if (strcmp(command, "device-list-properties") == 0 && typename && strcmp(typename, "e1000") == 0)
                res = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:b}]", "name", "mac", "type", "str", "description",
                                "MAC\taddress", "name", "x-flag", "type", "bool", "default-value", 1);
        json_decref(args);
        if (!res)
                return -EREMOTEIO;
        *ret = res;
        return 0;
}

static void test_introspect(void **state)
{
        struct qa_introspect_input in = {
                .version = "7.2",
                .banner = "QEMU emulator version 7.2.0",
                .help = "QEMU emulator version 7.2.0\n-S              freeze CPU at startup\n"
                        "-m [size=]megs[,slots=n,maxmem=size]\n                configure guest RAM\n"
                        "-hda/-hdb file  use 'file' as hard disk 0/1 image\n-smp [cpus=]n\n                set the "
                        "number of CPUs\n",
                .device_help = "Network devices:\nname \"e1000\", bus PCI, alias \"e1000-82540em\", desc \"Intel "
                               "Gigabit Ethernet\"\n\nCPU devices:\nname \"foo-x86_64-cpu\"\n",
                .machine_help = "",
                .cpu_help = "",
                .qmp = fake_qmp,
        };
        _cleanup_(qa_knowledge_freep) struct qa_knowledge *k = NULL;
        _cleanup_free_ char *text = NULL;

        assert_int_equal(qa_introspect(&in, &text), 0);
        assert_non_null(strstr(text, "\nV\t7.2\n"));
        assert_non_null(strstr(text, "\nO\tS\tnone\tfreeze CPU at startup\n"));
        assert_non_null(strstr(text, "\nO\tm\targ\tconfigure guest RAM\n"));
        assert_non_null(strstr(text, "\nO\thda\targ\tuse 'file' as hard disk 0/1 image\n"));
        assert_non_null(strstr(text, "\nO\thdb\targ\t"));
        assert_non_null(strstr(text, "\nG\tsmp\n"));
        assert_non_null(strstr(text, "\nP\tsmp\tcpus\tnumber\t\tvCPUs\n"));
        assert_non_null(strstr(text, "\nT\tdevice\te1000\tIntel Gigabit Ethernet\tbus PCI\n"));
        assert_non_null(strstr(text, "\nA\tdevice\te1000-82540em\te1000\n"));
        /* Tabs inside QEMU's texts would split fields: they become blanks. */
        assert_non_null(strstr(text, "\nP\tdevice/e1000\tmac\tstr\t\tMAC address\n"));
        assert_non_null(strstr(text, "\nP\tdevice/e1000\tx-flag\tbool\ton\n"));
        /* CPU models are not devices here. */
        assert_null(strstr(text, "foo-x86_64-cpu"));
        /* What it writes, the loader reads. */
        assert_int_equal(qa_knowledge_parse(HAND, &k, NULL), 0);
        assert_int_equal(qa_knowledge_add_qemu(k, text, false, NULL), 0);
        assert_int_equal(qa_lookup_option(k, "smp")->arg, QA_ARG_OPTS);
        assert_int_equal(qa_lookup_option(k, "hdb")->arg, QA_ARG_PLAIN);
}

/* One line per rule that QEMU applies at start-up, and what the check says. */
static void test_checks(void **state)
{
        static const struct {
                const char *line;
                enum qa_severity severity;
                const char *says;
        } cases[] = {
                {"qemu -device virtio-net-pci,netdev=nope", QA_ERROR, "netdev=nope names no -netdev"},
                {"qemu -device isa-serial,chardev=c9", QA_ERROR, "chardev=c9 names no -chardev"},
                {"qemu -device virtio-blk-pci,drive=d0", QA_ERROR, "drive=d0 names no -drive/-blockdev"},
                {"qemu -numa node,memdev=m0", QA_ERROR, "memdev=m0 names no -object"},
                {"qemu -device AC97,audiodev=snd", QA_ERROR, "audiodev=snd names no -audiodev"},
                {"qemu -device virtio-scsi-pci,iothread=io0", QA_ERROR, "iothread=io0 names no -object"},
                {"qemu -device e1000,bus=rp1", QA_ERROR, "bus=rp1 names no bus"},
                {"qemu -blockdev driver=iscsi,node-name=n,transport=tcp,portal=p,target=t,password-secret=s0", QA_ERROR,
                 "password-secret=s0 names no -object"},
                {"qemu -netdev user,id=a -netdev tap,id=a", QA_ERROR, "id 'a' is already used by option 1"},
                {"qemu -smp 4,sockets=2,cores=4", QA_ERROR, "the topology gives 0 vCPUs"},
                {"qemu -smp 8,maxcpus=4", QA_ERROR, "8 vCPUs but maxcpus=4"},
                {"qemu -m 1G -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G "
                 "-numa node,memdev=m0 -numa node,memdev=m1",
                 QA_ERROR, "the NUMA nodes hold 2048 MiB but -m gives 1024 MiB"},
                {"qemu -m 2G -object memory-backend-ram,id=r,size=1G -machine q35,memory-backend=r", QA_ERROR,
                 "memory-backend=r has 1024 MiB but -m gives 2048 MiB"},
                {"qemu -device e1000,addr=3 -device e1000,addr=0x3.0", QA_ERROR, "PCI address 3.0 on the root bus"},
                {"qemu -machine q35 -machine accel=kvm", QA_WARNING, "-machine is given 2 times"},
                {"qemu -append a -append b", QA_WARNING, "QEMU uses only the last one"},
                {"qemu -m 1G -m 2G", QA_WARNING, "-m is given 2 times"},
                {"qemu -realtime mlock=off", QA_ERROR, "-realtime was removed from QEMU in 6.0; use -overcommit"},
                {"qemu -chardev socket,id=c,path=/s,server=on,nowait", QA_WARNING, "write wait=off"},
                {"qemu -frob", QA_ERROR, "no QEMU version vmxrun knows has this option"},
                {"qemu -device e1000,zap=1", QA_ERROR, "property zap= is unknown"},
        };
        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl = parse(cases[c].line);
                _cleanup_(qa_findings_done) struct qa_findings f = {0};
                bool found = false;

                assert_int_equal(qa_check(cl, NULL, &f), 0);
                for (size_t i = 0; i < f.n; i++)
                        if (strstr(f.v[i].message, cases[c].says) && f.v[i].severity == cases[c].severity)
                                found = true;
                if (!found) {
                        for (size_t i = 0; i < f.n; i++)
                                print_message("  got: %s\n", f.v[i].message);
                        fail_msg("%s: no finding '%s'", cases[c].line, cases[c].says);
                }
        }

        /* A line QEMU takes as it is: nothing to say. */
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *ok = parse(
                "qemu -machine q35 -m 2G -smp 4,sockets=1,cores=2,threads=2 -object memory-backend-ram,id=m0,size=2G "
                "-numa node,memdev=m0 -netdev tap,id=n0 -device pcie-root-port,id=rp1,chassis=1 "
                "-device virtio-net-pci,netdev=n0,bus=rp1,addr=0 -device e1000,addr=3,bus=pcie.0");
        _cleanup_(qa_findings_done) struct qa_findings none = {0};
        assert_int_equal(qa_check(ok, NULL, &none), 0);
        for (size_t i = 0; i < none.n; i++)
                print_message("  unexpected: %s\n", none.v[i].message);
        assert_int_equal(none.n, 0);
}

/* What people paste: `ps -ef` lines as the terminal wrapped them, prompts, sudo, env, comments, pipes. */
static void test_paste(void **state)
{
        static const char ps[] =
                /* 80 columns each */
                "root     41234     1 12 09:14 ?      00:10:03 /usr/bin/qemu-system-x86_64 -name \n"
                "guest=vcp,debug-threads=on -S -m 2048 -device {\"driver\":\"virtio-net-pci\",\"netdev\n"
                "\":\"hostnet0\",\"id\":\"net0\"} -netdev tap,fd=30,id=hostnet0";
        _cleanup_free_ char *joined = qa_unwrap_terminal(ps);
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *a = NULL, *b = NULL;

        assert_non_null(joined);
        a = parse(joined);
        assert_string_equal(a->binary, "/usr/bin/qemu-system-x86_64");
        assert_int_equal(a->n_prefix, 7);
        assert_string_equal(prop(opt(a, "name", 0), "debug-threads")->value, "on");
        /* ps shows JSON without the shell quotes it had: still JSON. */
        assert_true(opt(a, "device", 0)->json);
        assert_null(opt(a, "device", 0)->json_error);
        assert_string_equal(opt(a, "device", 0)->id, "net0");
        assert_string_equal(opt(a, "netdev", 0)->id, "hostnet0");
        assert_int_equal(qa_group_of(a, 4), 3);
        /* Lines of different widths, or with continuations, are not a wrapped line. */
        assert_null(qa_unwrap_terminal("qemu-system-x86_64 -m 1G \\\n -smp 2 -device e1000,netdev=n0 \\\n -S\n"));
        assert_null(qa_unwrap_terminal("qemu -m 1G\n-S"));
        /* One long line with its newline is not a wrapped one (this joined every pasted file). */
        assert_null(qa_unwrap_terminal("qemu-system-x86_64 -machine q35 -m 4096 -smp 4 -nodefaults -S\n"));

        /* --json needs UTF-8: where the first byte that is not. */
        assert_int_equal(qa_utf8_invalid("caf\xc3\xa9 ok"), SIZE_MAX);
        assert_int_equal(qa_utf8_invalid("caf\xe9"), 3);
        assert_int_equal(qa_utf8_invalid("a\xc0\xaf"), 1);    /* overlong '/' */
        assert_int_equal(qa_utf8_invalid("\xed\xa0\x80"), 0); /* a UTF-16 surrogate */

        b = parse("user@host:~$ sudo -u qemu env LC_ALL=C qemu-system-x86_64 -m 1G \\\n"
                  "    # -enable-kvm \\\n"
                  "    -smp 2 \\\n"
                  "    -serial mon:stdio 2>&1 | tee /tmp/log");
        assert_string_equal(b->binary, "qemu-system-x86_64");
        assert_int_equal(b->n_env, 1);
        assert_string_equal(b->env[0], "LC_ALL=C");
        assert_int_equal(b->n_opts, 3);
        assert_string_equal(b->opts[0].name, "m");
        assert_string_equal(b->opts[1].name, "smp");
        assert_string_equal(b->opts[2].name, "serial");
        assert_string_equal(b->opts[2].arg, "mon:stdio");
}

static char *read_fixture(const char *name)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *buf;
        long len;

        assert_true(asprintf(&path, "%s/tests/fixtures/%s", VX_SOURCE_ROOT, name) > 0);
        f = fopen(path, "re");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        len = ftell(f);
        rewind(f);
        buf = calloc(1, len + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, len, f), (size_t)len);
        return buf;
}

static void check_seed(const char *fixture, size_t removed)
{
        _cleanup_free_ char *text = read_fixture(fixture);
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl = parse(text);
        _cleanup_free_ char *out = NULL;
        size_t outlen = 0;
        FILE *f;
        json_t *j;
        struct qa_counts c;

        for (size_t i = 0; i < cl->n_opts; i++) {
                const struct qa_option *o = &cl->opts[i];
                if (!o->info)
                        fail_msg("%s: option %s unknown", fixture, o->word);
                if (o->type && !o->type_info)
                        fail_msg("%s: %s type %s unknown", fixture, o->word, o->type);
                assert_false(o->missing_arg);
                assert_false(o->arg_guessed);
                for (size_t p = 0; p < o->n_props; p++)
                        if (!o->props[p].info && !(o->info->typekey && o->props[p].value == o->type))
                                fail_msg("%s: %s property %s unknown", fixture, o->word, o->props[p].key);
        }
        qa_count(cl, &c);
        assert_int_equal(c.options_unknown, 0);
        assert_int_equal(c.types_unknown, 0);
        assert_int_equal(c.props_unknown, 0);
        assert_int_equal(c.options_removed, removed);
        assert_string_equal(opt(cl, "realtime", 0)->info->removed, "6.0");

        /* Text output names the removals with their replacements and groups backends. */
        f = open_memstream(&out, &outlen);
        assert_non_null(f);
        assert_int_equal(qa_explain_text(cl, NULL, f), 0);
        fclose(f);
        assert_non_null(strstr(out, "REMOVED (QEMU 6.0); use -overcommit mem-lock=on/off"));
        assert_non_null(strstr(out, "\n  -netdev tap"));
        assert_non_null(strstr(out, "\n  -chardev socket"));
        assert_non_null(strstr(out, "\n  -drive"));
        assert_null(strstr(out, "UNKNOWN"));

        j = qa_explain_json(cl, NULL);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "options_unknown")), 0);
        assert_int_equal(json_array_size(json_object_get(j, "options")), cl->n_opts);
        json_decref(j);
}

static void test_seed_vcp(void **state)
{
        check_seed("seed-vcp.cmdline", 2); /* -machine pc-0.13, -realtime */
}

static void test_seed_vfp(void **state)
{
        check_seed("seed-vfp.cmdline", 3); /* -realtime, 2x pci-assign */
}

static void test_origins(void **state)
{
        char *words[] = {"/usr/bin/qemu-system-x86_64", "-m", "2048", "-S", "-netdev", "tap,fd=5,id=n0",
                         "-device", "virtio-net-pci,netdev=n0"};
        char *origin[] = {NULL, "vms[0].memory", "vms[0].memory", NULL, "vms[0].nics[0]", "vms[0].nics[0]",
                          "vms[0].nics[0].model", "vms[0].nics[0].model"};
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl = NULL;
        struct qa_explain_options o = {.origin = origin, .n_origin = ELEMENTSOF(origin)};
        _cleanup_free_ char *out = NULL;
        size_t outlen = 0;
        FILE *f;
        json_t *j, *opts;

        assert_int_equal(qa_parse_argv(K(), words, ELEMENTSOF(words), &cl), 0);
        f = open_memstream(&out, &outlen);
        assert_int_equal(qa_explain_text(cl, &o, f), 0);
        fclose(f);
        assert_non_null(strstr(out, "from: vms[0].memory"));
        assert_non_null(strstr(out, "from: (vmxrun always adds this)"));
        assert_non_null(strstr(out, "from: vms[0].nics[0].model"));

        j = qa_explain_json(cl, &o);
        opts = json_object_get(j, "options");
        assert_string_equal(json_string_value(json_object_get(json_array_get(opts, 0), "origin")), "vms[0].memory");
        assert_true(json_is_null(json_object_get(json_array_get(opts, 1), "origin")));
        assert_int_equal(json_integer_value(json_object_get(json_array_get(opts, 2), "group")), 3);
        assert_true(json_is_true(json_object_get(json_array_get(opts, 2), "known")));
        json_decref(j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_split_shell),
                cmocka_unit_test(test_split_nul),
                cmocka_unit_test(test_env_and_binary),
                cmocka_unit_test(test_double_dash_and_implied),
                cmocka_unit_test(test_comma_escapes_and_shorthand),
                cmocka_unit_test(test_parse_opts_direct),
                cmocka_unit_test(test_json_values),
                cmocka_unit_test(test_unknown_and_missing),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_removed_and_deprecated),
                cmocka_unit_test(test_knowledge_lookup),
                cmocka_unit_test(test_generated_knowledge),
                cmocka_unit_test(test_introspect),
                cmocka_unit_test(test_checks),
                cmocka_unit_test(test_paste),
                cmocka_unit_test(test_seed_vcp),
                cmocka_unit_test(test_seed_vfp),
                cmocka_unit_test(test_origins),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
