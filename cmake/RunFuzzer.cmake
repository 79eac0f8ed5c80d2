# Runs one libFuzzer binary for SECONDS on a scratch corpus seeded from SEEDS.
file(MAKE_DIRECTORY ${CORPUS})
set(dirs ${CORPUS})
if(EXISTS ${SEEDS})
  list(APPEND dirs ${SEEDS})
endif()
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10
  -print_final_stats=1 ${dirs} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzzer ${FUZZER} failed (exit ${rc})")
endif()
