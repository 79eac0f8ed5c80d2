#!/usr/bin/env bash
# Where the store's time goes under the small-GET load of bench/store_bench.sh, for the owner
# of src/store and src/http: a perf profile (cpu-clock samples: this VM exposes no hardware
# counters) of `sparkify store` while wrk GETs a 4 KiB object with 16 connections, the
# syscalls per request (strace -c on a separate short run), and a perf profile of the
# sigv4::PresignUrl loop. Loopback only, about 40 seconds, everything stopped on exit.
#
#   bench/profile_store.sh                      # presigned GETs
#   AUTH=header bench/profile_store.sh          # header-auth GETs
#   METHOD=PUT SIZE=1m bench/profile_store.sh   # another row of the benchmark
#
# Environment: BUILD_DIR (default build-bench), SECONDS_PERF (default 10), AUTH
# (presigned|header), METHOD (GET|PUT), SIZE (4k|1m).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build-bench}
seconds=${SECONDS_PERF:-10}
auth=${AUTH:-presigned}
method=${METHOD:-GET}
size=${SIZE:-4k}
top=${TOP:-25}

log() { echo "profile: $*" >&2; }
die() { log "$*"; exit 1; }

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_need_packages wrk curl linux-perf strace
bench_build "$build" sparkify sparkify_bench_sign
signer=$build/sparkify_bench_sign
bench_scratch profile

export AWS_ACCESS_KEY_ID=BENCHROOTKEY0000
AWS_SECRET_ACCESS_KEY=$(head -c 30 /dev/urandom | base64 | tr -d '/+=')
export AWS_SECRET_ACCESS_KEY

bench_start_store "$build/sparkify"
port=$store_port

case $size in 4k) bytes=4096 ;; 1m) bytes=1048576 ;; *) die "SIZE must be 4k or 1m" ;; esac
head -c "$bytes" /dev/urandom > "$tmp/object"
key=/bench/$(tr 'A-Z' 'a-z' <<< "$method")-$size
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$tmp/object" \
  "$("$signer" presign PUT "127.0.0.1:$port" "/bench/get-$size")")
[ "$code" = 200 ] || die "PUT answered $code"

export BENCH_METHOD=$method BENCH_BODY= BENCH_REQUESTS=$tmp/requests BENCH_THREADS=2
if [ "$method" = PUT ]; then
  BENCH_BODY=$tmp/object
  "$signer" requests "$auth" PUT "127.0.0.1:$port" "$key" 64 "$BENCH_BODY" > "$BENCH_REQUESTS"
else
  "$signer" requests "$auth" GET "127.0.0.1:$port" "$key" 1 > "$BENCH_REQUESTS"
fi
url=http://127.0.0.1:$port/
wrk_cmd=(wrk -t2 -c16 --timeout 10s -s "$repo/bench/s3_request.lua")

echo "load: $(cut -d' ' -f1-3 /proc/loadavg); store pid $store_pid; $method $size, $auth, wrk -t2 -c16"
timeout 30 "${wrk_cmd[@]}" -d2s "$url" >/dev/null  # warm-up

# 1. perf: self time per symbol and per library of the store process under load.
timeout $((seconds + 30)) "${wrk_cmd[@]}" -d$((seconds + 2))s "$url" > "$tmp/wrk-perf" &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 1
perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$store_pid" \
  -o "$tmp/perf.data" -- sleep "$seconds" 2>/dev/null
wait "$wrk_pid" || true
set +o pipefail  # the reports below are cut short with head
echo "under perf: $(grep '^RESULT' "$tmp/wrk-perf" | cut -d' ' -f2-6)"
echo
echo "== store: share of samples per library =="
perf report -i "$tmp/perf.data" --no-children --sort dso --stdio 2>/dev/null |
  grep -E '^ +[0-9.]+%' | head -12
echo
echo "== store: top $top symbols (self) =="
perf report -i "$tmp/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
  grep -E '^ +[0-9.]+%' | head -"$top" | cut -c1-150
echo
echo "== store: top $top of our own functions, inclusive (children, DWARF call graphs) =="
perf report -i "$tmp/perf.data" --children --sort sym --stdio -g none 2>/dev/null |
  grep -E '^ +[0-9.]+% +[0-9.]+% +\[\.\] +(sparkify|boost)::' | head -"$top" | cut -c1-150
echo

# 2. syscalls per request: strace -c on a short run of its own (strace slows the store, so
# only the counts matter), traced from before wrk's first request to after its last.
strace -c -f -p "$store_pid" -o "$tmp/strace" 2>/dev/null &
strace_pid=$!
pids+=("$strace_pid")
sleep 1
timeout 40 "${wrk_cmd[@]}" -d3s "$url" > "$tmp/wrk-strace" || true
kill -INT "$strace_pid" 2>/dev/null || true
wait "$strace_pid" 2>/dev/null || true
requests=$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$tmp/wrk-strace")
calls=$(awk '$NF == "total" { print $4 }' "$tmp/strace")
echo "== store: syscalls while traced: $calls calls for $requests requests" \
  "($(awk -v c="$calls" -v r="$requests" 'BEGIN { if (r > 0) printf "%.1f", c / r }') per request) =="
grep -v -- '------' "$tmp/strace" | head -14
echo

# 3. The presign loop.
perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -o "$tmp/presign.data" -- \
  "$signer" presign-rate 3 > "$tmp/presign-rate" 2>/dev/null
echo "== sigv4::PresignUrl loop: $(cut -d' ' -f1 "$tmp/presign-rate") URLs/s; per library =="
perf report -i "$tmp/presign.data" --no-children --sort dso --stdio 2>/dev/null |
  grep -E '^ +[0-9.]+%' | head -6
echo "== sigv4::PresignUrl loop: top 15 symbols (self) =="
perf report -i "$tmp/presign.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
  grep -E '^ +[0-9.]+%' | head -15 | cut -c1-150
echo "== sigv4::PresignUrl loop: inclusive (children) =="
perf report -i "$tmp/presign.data" --children --sort sym --stdio -g none 2>/dev/null |
  grep -E '^ +[0-9.]+%' | grep -E 'sparkify::|EVP_|HMAC|SHA256' | head -15 | cut -c1-150
