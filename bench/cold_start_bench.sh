#!/usr/bin/env bash
# The function's cold start, repeated: `sparkify function` started against a `sparkify store`
# on loopback, timed from process start to the answer of its first invoke (one new cover,
# through the model at SIZE), then one more invoke (warm) and a stop; ROUNDS times.
#
#   bench/cold_start_bench.sh                 # 3 rounds back to back
#   PAUSE=20 bench/cold_start_bench.sh        # 20 s idle before each start
#
# Why the pause: on a virtual machine the host may take back guest memory freed and left
# unused for a few seconds (Firecracker's free page reporting does), and a first touch of such
# memory costs ~1.5 ms per MB here against ~0.1 ms for memory the guest recycles at once. The
# engine touches ~350 MB at 1024 (weights 162, activations 181), so back-to-back starts show
# the start on recycled memory, and starts after a pause (or a fresh VM, as on Lambda) the
# start on fresh memory. Both are printed; compare like with like.
#
# Environment: BUILD_DIR (default build), SIZE (1024), ROUNDS (3), PAUSE (0 s), IMAGE (a sample
# photo, astronaut.png), SPARKIFY_CACHE (model and samples), EXTRA_ENV (e.g.
# "GLIBC_TUNABLES=glibc.malloc.hugetlb=0": given to `sparkify function` to compare).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
size=${SIZE:-1024}
rounds=${ROUNDS:-3}
pause=${PAUSE:-0}
cache=${SPARKIFY_CACHE:-$HOME/.cache/sparkify}
image=$cache/samples/${IMAGE:-astronaut.png}
read -r -a extra_env <<<"${EXTRA_ENV:-}"
die() { echo "cold_start_bench: $*" >&2; exit 1; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number"
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
bench_scratch cold-start
[ -f "$image" ] || die "no sample $image (scripts/setup.sh fetches them)"
bench_build "$build" sparkify
sparkify=$build/sparkify
now() { date +%s.%N; }

export AWS_ACCESS_KEY_ID=COLDBENCHROOT000 AWS_REGION=us-east-1
AWS_SECRET_ACCESS_KEY=$(head -c 30 /dev/urandom | base64 | tr -d '/+=')
export AWS_SECRET_ACCESS_KEY SPARKIFY_CACHE=$cache
bench_start_store "$sparkify"
endpoint=http://127.0.0.1:$store_port
put_cover() {  # KEY: the sample with 16 random bytes after its end, so no cut-out is cached
  local url code
  { cat "$image"; head -c 16 /dev/urandom; } >"$tmp/cover"
  url=$("$sparkify" presign "s3://bench/covers/$1" --endpoint "$endpoint" --method PUT --expires 600)
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -T "$tmp/cover" "$url")
  [ "$code" = 200 ] || die "upload of $1 answered $code"
}
invoke() {  # PORT KEY -> curl's total time; the answer must be a fresh cut-out
  local t
  t=$(curl -sS -o "$tmp/answer.json" -w '%{time_total}' --max-time 300 \
      -d '{"op": "segment", "keys": ["covers/'"$2"'"], "options": {"threshold": 0}}' \
      "http://127.0.0.1:$1/2015-03-31/functions/function/invocations") || die "invoke failed"
  python3 - "$tmp/answer.json" <<'PY' || die "bad answer: $(head -c 600 "$tmp/answer.json")"
import json, sys
a = json.load(open(sys.argv[1]))
assert a.get("statusCode") == 200 and a["body"]["stats"]["segmented"] == 1, a
PY
  echo "$t"
}

echo "cold starts of sparkify function @$size ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs), pause $pause s before each"
printf '%-6s %10s %12s %10s %10s\n' round "ready s" "1st invoke s" "cold s" "warm s"
cold_all=()
for round in $(seq "$rounds"); do
  put_cover "a$round"; put_cover "b$round"
  sleep "$pause"
  t_start=$(now)
  env "${extra_env[@]}" "$sparkify" function --listen 127.0.0.1:0 --size "$size" --bucket bench \
    --s3-endpoint "$endpoint" --timeout 300 >"$tmp/fn.out" 2>"$tmp/fn.err" &
  fn_pid=$!
  pids+=("$fn_pid")
  bench_wait_listening "$fn_pid" "$tmp/fn.out" ||
    { tail -20 "$tmp/fn.err" >&2; die "function did not start"; }
  t_ready=$(now)
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/fn.out")
  [ -n "$port" ] || die "function did not print its port"
  t_invoke=$(now)
  first=$(invoke "$port" "a$round")
  warm=$(invoke "$port" "b$round")
  kill "$fn_pid" 2>/dev/null || true
  wait "$fn_pid" 2>/dev/null || true
  unset 'pids[-1]'  # reaped: the clean-up must not signal its pid again
  cold=$(awk -v a="$t_start" -v b="$t_invoke" -v w="$first" 'BEGIN { printf "%.3f", b - a + w }')
  cold_all+=("$cold")
  awk -v r="$round" -v a="$t_start" -v b="$t_ready" -v f="$first" -v c="$cold" -v w="$warm" \
    'BEGIN { printf "%-6s %10.3f %12.3f %10.3f %10.3f\n", r, b - a, f, c, w }'
done
printf '%s\n' "${cold_all[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "cold start: median %.3f s, min %.3f s, max %.3f s over %d rounds\n", m, v[1], v[NR], NR }'
