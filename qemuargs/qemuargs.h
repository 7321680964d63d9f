/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading QEMU command lines: split text into words (shell quoting, backslash
 * continuations, /proc/PID/cmdline), parse the words the way QEMU does
 * (option table, key=value lists with ",," escapes, implied first keys,
 * short-form booleans, JSON arguments), and explain each option and property
 * from a knowledge table that is data (qemuargs/knowledge.txt, embedded in
 * the binary at build time). Pure: no syscalls except where a FILE * is given.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "argv.h"

/* ---- Knowledge ---------------------------------------------------------- */

enum qa_kind {
        QA_KIND_OPT,  /* a command-line option: "m", "device" */
        QA_KIND_TYPE, /* a value of an option's type key: device driver, netdev type, machine type */
        QA_KIND_PROP, /* a property of an option or of one of its types */
        QA_KIND_RULE, /* a syntax rule ("shortbool") */
};

enum qa_arg {
        QA_ARG_NONE,  /* a flag: -S */
        QA_ARG_PLAIN, /* one argument, not split: -uuid, -mem-path */
        QA_ARG_OPTS,  /* key=value,... (QemuOpts/keyval); JSON too when the entry says json */
};

enum qa_status {
        QA_STATUS_UNKNOWN,    /* not in the table */
        QA_STATUS_KNOWN,
        QA_STATUS_DEPRECATED, /* still accepted by current QEMU */
        QA_STATUS_REMOVED,
};

/* One line of the knowledge table. All strings are owned by the table. */
struct qa_entry {
        enum qa_kind kind;
        char *scope;        /* "" for options, "device" for device types, "device/e1000" for its properties */
        char *name;         /* may hold fnmatch() wildcards for types ("pc-i440fx-*") */
        enum qa_arg arg;    /* options only */
        bool json;          /* option accepts a JSON object argument */
        char *implied;      /* key a leading bare value is taken as: "size", "driver" */
        char *typekey;      /* key whose value is looked up as a type entry: "driver" */
        bool scoped;        /* properties depend on the type: scope "device/<driver>" */
        bool feature;       /* -cpu feature flag (listed by `-cpu help`) */
        bool downstream;    /* a distribution's addition, not in upstream QEMU */
        bool unlisted;      /* handled by QEMU's option parser, not listed by its `,help` */
        char *default_value;
        char *since;        /* QEMU version that added it, or NULL (unknown/old) */
        char *deprecated;   /* version that deprecated it, or NULL */
        char *removed;      /* version that removed it, or NULL */
        char *explanation;
        char *cost;         /* what it costs or risks, or NULL */
        char *replacement;  /* the modern form, or NULL */
        unsigned line;      /* line in the table, for messages */
};

struct qa_knowledge {
        struct qa_entry *entries;
        size_t n_entries;
};

/*
 * Parses knowledge text (format in docs/explain.md). Returns 0 and *ret (free
 * with qa_knowledge_free), -EINVAL on a malformed line (logged with its line
 * number), or -ENOMEM.
 */
int qa_knowledge_parse(const char *text, struct qa_knowledge **ret);
struct qa_knowledge *qa_knowledge_free(struct qa_knowledge *k);

/*
 * The table embedded in the binary, parsed on first use and kept for the life
 * of the process. Returns NULL only when it cannot be parsed (a build bug) or
 * on -ENOMEM.
 */
const struct qa_knowledge *qa_knowledge_builtin(void);

/* Lookups; each returns the entry or NULL when unknown. name has no leading dashes. */
const struct qa_entry *qa_lookup_option(const struct qa_knowledge *k, const char *name);
const struct qa_entry *qa_lookup_type(const struct qa_knowledge *k, const char *option, const char *type);
/* type may be NULL; a scoped option's type properties are tried first, then the option's own. */
const struct qa_entry *qa_lookup_prop(const struct qa_knowledge *k, const char *option, const char *type,
                                      const char *key);
const struct qa_entry *qa_lookup_rule(const struct qa_knowledge *k, const char *name);

/* KNOWN, DEPRECATED or REMOVED (UNKNOWN for NULL). */
enum qa_status qa_entry_status(const struct qa_entry *e);
const char *qa_status_to_string(enum qa_status s);

/* ---- Splitting text into words ------------------------------------------ */

/*
 * Splits text as a POSIX shell splits a simple command: blanks and newlines
 * separate words; '...' and "..." quote; a backslash escapes the next
 * character; backslash-newline is a continuation and disappears. No
 * expansion. Appends the words to *ret. Returns 0, -EINVAL for an unbalanced
 * quote or a trailing lone backslash (with *ret_error_offset set to the byte
 * offset of the opening quote, when not NULL), or -ENOMEM.
 */
int qa_split_shell(const char *text, struct vx_argv *ret, size_t *ret_error_offset);

/*
 * Splits a NUL-separated buffer (/proc/PID/cmdline) of len bytes; a missing
 * final NUL is tolerated. Returns 0 or -ENOMEM.
 */
int qa_split_nul(const char *buf, size_t len, struct vx_argv *ret);

/* ---- Parsing ------------------------------------------------------------ */

struct qa_prop {
        char *key;
        char *value;
        bool implied;   /* the key was implied: "-m 1024" gives size=1024 */
        bool shorthand; /* bare boolean: "server" (server=on), "nowait" (wait=off) */
        bool cpu_flag;  /* "+vmx" / "-vmx" in -cpu */
        const struct qa_entry *info; /* NULL when unknown */
};

struct qa_option {
        char *word;          /* as written: "--m", "-device"; NULL for a bare argument */
        char *name;          /* without dashes; "" for a bare argument (QEMU takes it as -hda) */
        char *arg;           /* the argument, or NULL */
        size_t index;        /* argv index of the option word (of the argument for a bare argument) */
        bool missing_arg;    /* the option needs an argument and the command line ended */
        bool arg_guessed;    /* unknown option: the next word was taken as its argument */
        bool json;           /* the argument was a JSON object */
        char *json_error;    /* JSON that did not parse: jansson's message, else NULL */
        struct qa_prop *props; /* the argument split into properties (QA_ARG_OPTS and JSON only) */
        size_t n_props;
        const char *type;    /* value of the type key (driver, type, qom-type...), points into props */
        const char *id;      /* value of "id" (or "node-name" for -blockdev), points into props */
        const struct qa_entry *info;      /* the option; NULL when unknown */
        const struct qa_entry *type_info; /* the type value; NULL when unknown or untyped */
};

struct qa_cmdline {
        const struct qa_knowledge *knowledge; /* the table it was parsed with; must outlive it */
        char **prefix;   /* words before the binary that are not VAR=value (a pasted `ps -ef` line) */
        size_t n_prefix;
        char **env;      /* VAR=value assignments before the binary */
        size_t n_env;
        char *binary;    /* NULL when the text starts with an option */
        size_t binary_index;
        struct qa_option *opts;
        size_t n_opts;
};

/*
 * Parses words (the whole command line, environment and binary included) with
 * the knowledge table k. Unknown options are kept with info NULL. Returns 0
 * and *ret (free with qa_cmdline_free), -ENODATA for no words at all, or
 * -ENOMEM.
 */
int qa_parse_argv(const struct qa_knowledge *k, char *const *words, size_t n, struct qa_cmdline **ret);
struct qa_cmdline *qa_cmdline_free(struct qa_cmdline *cl);

/*
 * Splits one option argument into properties the way QEMU does: comma
 * separated, ",," for a literal comma, the first bare value taken as
 * implied_key (when not NULL), other bare words as booleans ("noX" is X=off),
 * and "+X"/"-X" as feature flags when cpu_flags. Appends to *props and *n.
 * Returns 0 or -ENOMEM.
 */
int qa_parse_opts(const char *arg, const char *implied_key, bool cpu_flags, struct qa_prop **props, size_t *n);

/* ---- Explaining --------------------------------------------------------- */

struct qa_explain_options {
        char *const *origin; /* parallel to the words given to qa_parse_argv, or NULL */
        size_t n_origin;
};

/*
 * Writes the explanation for humans: options grouped with their backends (a
 * NIC with its -netdev, a disk with its -drive/-blockdev, a serial device with
 * its -chardev, memory with its -object), each with its properties, defaults,
 * costs, and deprecation. Returns 0 or -ENOMEM.
 */
int qa_explain_text(const struct qa_cmdline *cl, const struct qa_explain_options *opts, FILE *out);

/*
 * The same as JSON: {"binary", "env", "options": [{"option", "argument",
 * "known", "status", ...,"properties": [...]}], "summary": {...}}. Returns a
 * new reference or NULL on -ENOMEM.
 */
json_t *qa_explain_json(const struct qa_cmdline *cl, const struct qa_explain_options *opts);

/* Counts of options and properties by status, for tests and summaries. */
struct qa_counts {
        size_t options, options_unknown, options_deprecated, options_removed;
        size_t types_unknown; /* known option, unknown type: "-device made-up-nic" */
        size_t props, props_unknown, props_deprecated, props_removed;
};
void qa_count(const struct qa_cmdline *cl, struct qa_counts *ret);

/* Index of the option that cl->opts[i] is grouped under (its frontend), or i itself. */
size_t qa_group_of(const struct qa_cmdline *cl, size_t i);
