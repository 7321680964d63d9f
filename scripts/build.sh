#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Configures and builds vmxrun into build/release (statically linked) and, with
# VX_BUILD_ASAN=1, build/asan (AddressSanitizer + UndefinedBehaviorSanitizer).
set -eu
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build/release -DVX_WERROR=ON -DVX_STATIC=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$jobs"

if [ "${VX_BUILD_ASAN:-0}" = 1 ]; then
        cmake -S . -B build/asan -DVX_WERROR=ON -DVX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
        cmake --build build/asan -j"$jobs"
fi
