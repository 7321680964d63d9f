/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QMP framer on arbitrary bytes: the first byte sets the size of each
 * read (1 to 256 bytes, as a socket may split a stream anywhere), the second
 * the cap on one value (64 bytes to 16 KiB, or the client's default); the
 * rest is the stream. Every value it hands out must be a JSON object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmp-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vx_qmp_framer f;
        size_t chunk, cap;
        int r = 0;

        if (size < 2)
                return 0;
        chunk = (size_t)data[0] + 1;
        cap = data[1] == 0xff ? VX_QMP_MAX_MESSAGE : (size_t)64 << (data[1] % 9);
        data += 2;
        size -= 2;

        qmp_framer_init(&f, cap);
        for (size_t off = 0; off < size && r >= 0;) {
                size_t n = size - off < chunk ? size - off : chunk;
                char *p = qmp_framer_reserve(&f, n);

                if (!p)
                        break;
                memcpy(p, data + off, n);
                qmp_framer_commit(&f, n);
                off += n;
                for (;;) {
                        json_t *v = NULL;

                        r = qmp_framer_next(&f, &v);
                        if (r <= 0)
                                break;
                        if (!json_is_object(v))
                                abort(); /* the framer hands out objects only */
                        json_decref(v);
                }
        }
        qmp_framer_done(&f);
        return 0;
}
