#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing, builds, then runs
#   1. unit and integration tests (ctest, Release build; real awscli/boto3/curl on loopback),
#   2. the libFuzzer targets for a short while each (clang build),
#   3. every test but the `script` ones again (all the GoogleTest binaries and the quick CLI
#      checks) under AddressSanitizer + UndefinedBehaviorSanitizer.
# Prints one closing line "N passed, N failed" over all three; exits non-zero on any failure.
#
#   scripts/test.sh               # everything
#   SPARKIFY_TEST_STAGES="unit" scripts/test.sh    # only some of: unit fuzz asan
#   SPARKIFY_TEST_SANDBOX=0 scripts/test.sh        # skip building the function's image and
#                                                  # running it in a sandbox (on by default as
#                                                  # root: ~1.5 min; skipped when not root)
set -uo pipefail
if [ "$(id -u)" = 0 ]; then
  export SPARKIFY_TEST_SANDBOX=${SPARKIFY_TEST_SANDBOX:-1}
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
stages=${SPARKIFY_TEST_STAGES:-unit fuzz asan}
jobs=$(nproc)
passed=0
failed=0
flaky_report=""

# Runs ctest in a build dir and adds its counts to the totals. Extra arguments go to ctest.
run_ctest() {
  local dir=$1; shift
  local log
  log=$(mktemp)
  ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 900 "$@" 2>&1 | tee "$log"
  # Tests that failed once and then passed (only with --repeat until-pass): named, not hidden.
  local flaky
  flaky=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*' "$log" |
          grep -v -E '\*\*\*(Skipped|Not Run \(Disabled\))' |
          sed -E 's/.*Test +#[0-9]+: ([^ ]+).*/\1/' | sort -u)
  if [ -n "$flaky" ]; then
    flaky_report+="failed at least once in $dir (its output is above):"$'\n'
    flaky_report+=$(sed 's/^/  /' <<< "$flaky")$'\n'
  fi
  local line
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "test.sh: ctest in $dir printed no summary" >&2
    failed=$((failed + 1))
  else
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<< "$line")
    t=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<< "$line")
    passed=$((passed + t - f))
    failed=$((failed + f))
  fi
  rm -f "$log"
}

build_or_fail() {
  if ! "$@"; then
    echo "test.sh: build failed: $*" >&2
    failed=$((failed + 1))
    return 1
  fi
}

if [[ " $stages " == *" unit "* ]]; then
  if build_or_fail "$repo/scripts/setup.sh"; then
    # Integration tests drive real servers on a shared 2-core machine: one that fails is run
    # once more, and is listed above the totals either way.
    run_ctest "$repo/build" --repeat until-pass:2
  fi
else
  "$repo/scripts/setup.sh" --deps
fi

if [[ " $stages " == *" fuzz "* ]]; then
  fuzz_dir=$repo/build-fuzz
  if build_or_fail env CC=clang CXX=clang++ cmake -S "$repo" -B "$fuzz_dir" -G Ninja \
       -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPARKIFY_FUZZ=ON -DSPARKIFY_FUZZ_SECONDS=${SPARKIFY_FUZZ_SECONDS:-15} >/dev/null &&
     build_or_fail cmake --build "$fuzz_dir" -j "$jobs"; then
    run_ctest "$fuzz_dir"
  fi
fi

if [[ " $stages " == *" asan "* ]]; then
  asan_dir=$repo/build-asan
  if build_or_fail cmake -S "$repo" -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
       -DSPARKIFY_SANITIZE=ON >/dev/null &&
     build_or_fail cmake --build "$asan_dir" -j "$jobs"; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      run_ctest "$asan_dir" -LE script
  fi
fi

echo
[ -z "$flaky_report" ] || printf 'test.sh: %s' "$flaky_report"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
