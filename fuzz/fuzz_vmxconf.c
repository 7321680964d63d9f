/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vmx.conf importer on arbitrary bytes. The first byte picks the inputs:
 * '1' one vmx.conf, '2' two, 'j' one and a vmx-junosdev.conf, 'J' two and a
 * junosdev (anything else: one); the rest is split at lines "#~~~#" into the
 * files in that order. A text the importer returns must load as a profile
 * (its contract: it checks that before returning it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "profile.h"
#include "vmxconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARK "\n#~~~#\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vx_import_source parts[3] = {
                {.name = "a.vmx.conf"}, {.name = "b.vmx.conf"}, {.name = "vmx-junosdev.conf"}};
        const char *text = (const char *)data + (size > 0), *end = (const char *)data + size;
        char mode = size > 0 ? (char)data[0] : '1';
        size_t n_confs = mode == '2' || mode == 'J' ? 2 : 1, n_parts = n_confs + (mode == 'j' || mode == 'J');
        struct vx_import_options opts = {.first_cpu = size > 1 ? data[1] % 8 : 1};
        struct vx_diags d = {};
        char *out = NULL;

        for (size_t i = 0; i < n_parts; i++) {
                const char *m = i + 1 < n_parts ? memmem(text, (size_t)(end - text), MARK, strlen(MARK)) : NULL;

                parts[i].text = text;
                parts[i].len = m ? (size_t)(m - text) : (size_t)(end - text);
                text = m ? m + strlen(MARK) : end;
        }
        (void)vmxconf_detect(parts[0].text, parts[0].len);
        if (vmxconf_import(parts, n_confs, n_parts > n_confs ? &parts[2] : NULL, &opts, &d, &out) == 0) {
                struct vx_diags d2 = {};
                struct vx_profile *p = NULL;

                if (!out || profile_load_string("imported.yaml", out, strlen(out), &d2, &p) != 0) {
                        diag_print(&d2, stderr);
                        abort(); /* the importer returned a profile that does not load */
                }
                profile_free(p);
                diag_done(&d2);
        }
        free(out);
        diag_done(&d);
        return 0;
}
