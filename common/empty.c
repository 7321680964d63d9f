/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stands in for a module that has no sources yet (see its CMakeLists.txt). */
typedef int vx_empty_translation_unit;
