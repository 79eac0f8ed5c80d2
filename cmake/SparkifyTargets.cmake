# Helpers that give every target of ours the same warnings, sanitizers and test wiring.
include(GoogleTest)

set(SPARKIFY_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(SPARKIFY_WERROR)
  list(APPEND SPARKIFY_WARNINGS -Werror)
endif()

if(SPARKIFY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# sparkify_library(NAME SOURCES... DEPS ...): one library per subsystem, includes rooted at src/.
function(sparkify_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${SPARKIFY_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# sparkify_test(NAME [LABEL unit|integration|slow] [WHOLE] SOURCES... DEPS ...): a GoogleTest
# binary whose cases ctest runs one by one (WHOLE: as one entry, the binary at once), labelled
# (default unit):
#   unit         in process: no server, no child process, no model (`ctest -L unit`: seconds)
#   integration  servers on loopback, child processes, kill -9
#   slow         the real model or large data (tens of seconds and more)
# The tests that drive the product's servers from outside (tests/*.py, the browser test,
# function_e2e, lambda_awscli_invoke, deploy.*) carry the label `script` besides: the
# sanitizer stage of scripts/test.sh runs every other test (all GoogleTest binaries, the
# quick cli.* checks, nn_test_avx2_* and model_tools_test), as it always has.
function(sparkify_test name)
  if(SPARKIFY_FUZZ OR NOT SPARKIFY_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "WHOLE" "LABEL" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  if(NOT ARG_LABEL MATCHES "^(unit|integration|slow)$")
    message(FATAL_ERROR "sparkify_test(${name}): LABEL is unit, integration or slow")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${SPARKIFY_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  # Test data locations baked in; ctest also sets SPARKIFY_CACHE (one ENVIRONMENT entry only:
  # gtest_discover_tests in CMake 3.25 drops every entry after the first).
  target_compile_definitions(${name} PRIVATE SPARKIFY_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                             SPARKIFY_TEST_CACHE_DIR="${SPARKIFY_CACHE}")
  # WHOLE: one ctest entry runs the whole binary, for tests that share costly set-up in one
  # process (a suite's SetUpTestSuite) instead of each ctest process repeating it. Such an
  # entry is long: a high COST starts it first where ctest has no timings yet (a clean clone),
  # instead of last (the quality gate, 80 s under the sanitizers, ended that stage 60 s late).
  if(ARG_WHOLE)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} COST 1000
                         ENVIRONMENT "SPARKIFY_CACHE=${SPARKIFY_CACHE}")
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS ${ARG_LABEL} ENVIRONMENT "SPARKIFY_CACHE=${SPARKIFY_CACHE}")
  endif()
endfunction()

# Fuzzing build (-DSPARKIFY_FUZZ=ON, with clang): every library gets coverage instrumentation,
# sparkify_fuzzer() builds libFuzzer binaries and registers a short ctest run of each;
# unit tests and the CLI are left out of that build.
set(SPARKIFY_FUZZ_SECONDS 15 CACHE STRING "How long ctest runs each fuzzer")
if(SPARKIFY_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# sparkify_fuzzer(NAME SOURCES... DEPS ...): a libFuzzer target; its seed corpus, if any, is
# the folder fuzz_corpus/NAME beside the source.
function(sparkify_fuzzer name)
  if(NOT SPARKIFY_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set(corpus_dir ${CMAKE_CURRENT_BINARY_DIR}/${name}_corpus)
  set(seed_dir ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_corpus/${name})
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND} -E env ${CMAKE_COMMAND}
      -DFUZZER=$<TARGET_FILE:${name}> -DCORPUS=${corpus_dir} -DSEEDS=${seed_dir}
      -DSECONDS=${SPARKIFY_FUZZ_SECONDS} -P ${PROJECT_SOURCE_DIR}/cmake/RunFuzzer.cmake)
endfunction()
