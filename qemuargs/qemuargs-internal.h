/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared inside qemuargs/ only; the module's interface is qemuargs.h. */

#include <jansson.h>

/* A JSON scalar as QEMU's key=value form writes it: strings as they are, booleans on/off, numbers in JSON. */
char *qa_json_scalar_text(json_t *v);
