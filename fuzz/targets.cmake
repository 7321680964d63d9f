# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The fuzz targets and what each links: fuzz/CMakeLists.txt builds them with
# libFuzzer (VX_FUZZ=ON, clang), tests/fuzz.cmake builds them with
# fuzz/replay.c instead, to run their corpora and regression inputs as
# ordinary tests in every build.
set(VX_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(VX_FUZZ_TARGETS fuzz_profile fuzz_vmxconf fuzz_qemuargs fuzz_qmp_framer fuzz_qmp_client)
# plan_build() is in the launcher; the rest of the launcher is linked but not called.
set(VX_FUZZ_LIBS_fuzz_profile vx_launcher vx_profile vx_common PkgConfig::JANSSON)
set(VX_FUZZ_LIBS_fuzz_vmxconf vx_import vx_profile vx_common)
set(VX_FUZZ_LIBS_fuzz_qemuargs vx_qemuargs vx_common PkgConfig::JANSSON)
set(VX_FUZZ_LIBS_fuzz_qmp_framer vx_qmp vx_common PkgConfig::JANSSON)
set(VX_FUZZ_LIBS_fuzz_qmp_client vx_qmp vx_common PkgConfig::JANSSON)

# vx_fuzz_executable(<executable> <target> [sources...]): the target's source, the extra sources, its libraries.
function(vx_fuzz_executable exe target)
  add_executable(${exe} ${VX_FUZZ_DIR}/${target}.c ${ARGN})
  target_link_libraries(${exe} PRIVATE ${VX_FUZZ_LIBS_${target}})
endfunction()
