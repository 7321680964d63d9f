# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every fuzz target (fuzz/) once over its seed corpus and its regression
# inputs, without libFuzzer (fuzz/replay.c is the main): inputs that once
# crashed stay crash-free in the ordinary builds, ASan's included. The fuzzing
# itself is scripts/test.sh's fuzz step and fuzz/README.md.
include(${VX_SOURCE_ROOT}/fuzz/targets.cmake)
foreach(target IN LISTS VX_FUZZ_TARGETS)
  vx_fuzz_executable(${target}_replay ${target} ${VX_SOURCE_ROOT}/fuzz/replay.c)
  set(inputs ${VX_SOURCE_ROOT}/fuzz/corpus/${target})
  if(EXISTS ${VX_SOURCE_ROOT}/fuzz/regressions/${target})
    list(APPEND inputs ${VX_SOURCE_ROOT}/fuzz/regressions/${target})
  endif()
  add_test(NAME test_fuzz_replay_${target} COMMAND ${target}_replay ${inputs})
  set_tests_properties(test_fuzz_replay_${target} PROPERTIES LABELS unit)
endforeach()
