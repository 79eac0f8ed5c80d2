#!/usr/bin/env bash
# The AI function benchmark (issues 3 and 8): per-image latency of our engine (src/nn on
# oneDNN) at 1024, 768 and 320 (forward only, and the whole cut-out), in each mode: fp32 (the
# default), fast (F(8x8) Winograd) and bf16 (where the CPU has it; these two offered or not, the
# manifest says) and fp32 with oneDNN
# held to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2: an older CPU), with model load and peak RSS, side by
# side with onnxruntime (npm onnxruntime-node, CPU, never capped: AVX-512 where the CPU has
# it) on the same IS-Net graph (the fp32 ONNX our graph is exported from) and the same input
# blobs; then `sparkify function` against a `sparkify store`: cold start (process start to
# first cut-out written) and warm per-request latency; then a perf profile of one 1024 forward.
# Everything runs on 127.0.0.1, bounded in time, and what it started is stopped on exit.
#
#   bench/function_bench.sh
#   REPEATS=5 SIZES="1024 768 512" MODES="fp32 bf16" bench/function_bench.sh
#
# Environment: BUILD_DIR (default build-fbench), SPARKIFY_CACHE (model, samples, and the npm
# install of onnxruntime-node in $SPARKIFY_CACHE/npm-ort/VERSION), ORT_VERSION (1.30.0),
# KEEP_OUT (a directory to keep the raw JSON in), REPEATS (rounds over the images per engine
# and size, default 3), SIZES ("1024 768 320"),
# MODES ("fp32 fast bf16 fp32-avx2"),
# THREADS (per engine, default nproc), IMAGES (sample files), PROFILE (1: perf profile).
# The machine is shared: before starting it waits up to LOAD_WAIT s (default 60), and before
# each phase up to PHASE_WAIT s (20), at most WAIT_BUDGET s in all (120), for the CPU to be
# at most MAX_BUSY % busy (25); it prints the load and how much CPU others used during each
# phase. TIME_LIMIT (default 600) is a hard limit on the whole run (about 4-5 minutes on an
# idle 2-core machine with the defaults).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build-fbench}
cache=${SPARKIFY_CACHE:-$HOME/.cache/sparkify}
ort_version=${ORT_VERSION:-1.30.0}
ort_dir=$cache/npm-ort/$ort_version
repeats=${REPEATS:-3}
sizes=${SIZES:-1024 768 320}
modes=${MODES:-fp32 fast bf16 fp32-avx2}
threads=${THREADS:-$(nproc)}
images=${IMAGES:-astronaut.png chelsea.png coffee.png rocket.jpg hubble_deep_field.jpg}
max_busy=${MAX_BUSY:-25}
load_wait=${LOAD_WAIT:-60}
phase_wait=${PHASE_WAIT:-20}
wait_budget=${WAIT_BUDGET:-120}
time_limit=${TIME_LIMIT:-600}
profile=${PROFILE:-1}
model_dir=$cache/models/isnet-general-medium
manifest=$model_dir/manifest.json
reference_onnx=$model_dir/model.onnx
samples=$cache/samples
started_at=$(date +%s)

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---- scratch space, clean-up, hard time limit -------------------------------------------------
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_scratch fbench
# The watchdog's sleep is killed with it (an orphaned sleep would hold our stdout open).
( trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$time_limit" & s=$!; wait "$s"
  echo "bench: time limit ($time_limit s) reached, stopping" >&2; kill -TERM $$ ) &
pids+=($!)

# ---- inputs: model, samples, onnxruntime-node (idempotent) -----------------------------------
[ -f "$manifest" ] || "$repo/tools/model/prepare-model.sh" >&2 || die "no model (tools/model/prepare-model.sh)"
for f in $images; do
  [ -f "$samples/$f" ] || { "$repo/tools/model/fetch-samples.sh" >&2; break; }
done
image_paths=()
names=()
for f in $images; do
  [ -f "$samples/$f" ] || die "missing sample $samples/$f"
  image_paths+=("$samples/$f")
  names+=("${f%.*}")
done
command -v node >/dev/null || die "node is needed (apt-get install nodejs npm)"
if ! [ -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]; then
  log "installing onnxruntime-node@$ort_version into $ort_dir (--ignore-scripts: CPU library only)"
  mkdir -p "$ort_dir"
  [ -f "$ort_dir/package.json" ] || echo '{"private": true}' > "$ort_dir/package.json"
  (cd "$ort_dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
    "onnxruntime-node@$ort_version" >&2) || die "npm install onnxruntime-node failed"
fi

# ---- build ------------------------------------------------------------------------------------
log "building sparkify and sparkify_bench_function in $build"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" -j "$(nproc)" sparkify sparkify_bench_function >/dev/null ||
  die "build failed (ninja -C $build sparkify sparkify_bench_function)"
sparkify=$build/sparkify
bench=$build/sparkify_bench_function

# ---- the machine and its load -----------------------------------------------------------------
cpu_busy() {  # SECONDS -> % of all cores busy over that window (everyone's use, ours included)
  local a b
  a=($(head -1 /proc/stat)); sleep "$1"; b=($(head -1 /proc/stat))
  awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); tot = 0
    for (i = 2; i <= n; i++) tot += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%d", (tot > 0 ? 100 * (tot - idle) / tot : 0) }'
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }
busy_jiffies() { head -1 /proc/stat | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }'; }
# CPU ticks of everything this script started and has reaped (cutime + cstime of this shell).
our_jiffies() { awk '{ sub(/.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }
mkdir -p "$tmp/blobs" "$tmp/out"
echo '[]' > "$tmp/out/load.json"
phase=""
waited_total=0
# phase_begin NAME: waits (at most PHASE_WAIT s, and WAIT_BUDGET s over the whole run) for the
# CPU to be at most MAX_BUSY % busy, then notes the load. phase_end: how much of the cores others used meanwhile
# (all CPU busy time minus that of what this script ran and reaped).
phase_begin() {
  local waited=0 busy
  phase=$1
  while busy=$(cpu_busy 3); [ "$busy" -gt "$max_busy" ] && [ "$waited" -lt "$phase_wait" ] &&
        [ "$waited_total" -lt "$wait_budget" ]; do
    sleep 2; waited=$((waited + 5)); waited_total=$((waited_total + 5))
  done
  phase_load=$(loadavg); phase_busy=$busy; phase_waited=$waited
  read -r phase_b0 phase_t0 <<<"$(busy_jiffies)"
  phase_o0=$(our_jiffies)
  log "$phase: load $phase_load, CPU busy $busy% before (waited $waited s)"
}
phase_end() {
  local b1 t1 o1 others
  read -r b1 t1 <<<"$(busy_jiffies)"
  o1=$(our_jiffies)
  others=$(awk -v b="$((b1 - phase_b0))" -v t="$((t1 - phase_t0))" -v o="$((o1 - phase_o0))" \
    'BEGIN { x = t > 0 ? 100 * (b - o) / t : 0; printf "%d", (x < 0 ? 0 : x) }')
  python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d.append({"phase": sys.argv[2], "loadavg": float(sys.argv[3]), "busy": int(sys.argv[4]), "waited": int(sys.argv[5]), "others": int(sys.argv[6])}); json.dump(d, open(p, "w"))' \
    "$tmp/out/load.json" "$phase" "$phase_load" "$phase_busy" "$phase_waited" "$others"
  log "$phase: others used $others% of the CPU during it"
}
wait_quiet() {  # waits (at most load_wait s) for the CPU to be at most max_busy % busy
  local waited=0 busy
  while :; do
    busy=$(cpu_busy 3)
    if [ "$busy" -le "$max_busy" ]; then
      echo "quiet: CPU busy $busy% (<= $max_busy%) after waiting ${waited} s"
      return 0
    fi
    if [ "$waited" -ge "$load_wait" ] || [ "$waited_total" -ge "$wait_budget" ]; then
      echo "NOT quiet: CPU still $busy% busy (others' work) after waiting ${waited} s;" \
           "measuring anyway: expect inflated medians, trust the mins more"
      return 0
    fi
    sleep 7; waited=$((waited + 10)); waited_total=$((waited_total + 10))
  done
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
     "(family $(awk -F': ' '/^cpu family/ { print $2; exit }' /proc/cpuinfo)" \
     "model $(awk -F': ' '/^model\t/ { print $2; exit }' /proc/cpuinfo)),"\
     "$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2),"\
     "$(awk '/MemTotal/ { printf "%.1f GB RAM", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "uptime: $(uptime | sed 's/^ *//')"
echo "run: $(date -u '+%Y-%m-%d %H:%M UTC'), $repeats rounds over ${#names[@]} images" \
     "(${names[*]}), sizes $sizes, $threads threads per engine"
wait_quiet
echo "uptime at start of measurements: $(uptime | sed 's/^ *//')"

# ---- 1. engines: ours (each mode) and onnxruntime, same blobs, interleaved per size ---------
[ -f "$reference_onnx" ] || die "no reference ONNX $reference_onnx (tools/model/prepare-model.sh --force)"
# fast and bf16 may not be offered by the manifest (they must pass the quality gate): measure
# them through a copy of the manifest that offers every precision, beside a link to the same
# graph.
all_manifest=$tmp/all-model/manifest.json
mkdir -p "$tmp/all-model"
ln -s "$model_dir/model.sgraph" "$tmp/all-model/model.sgraph"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m["precisions"]=["fp32","fast","bf16"]
json.dump(m, open(sys.argv[2], "w"))' "$manifest" "$all_manifest"
has_bf16=$(grep -qw avx512_bf16 /proc/cpuinfo && echo 1 || echo 0)
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])).get("precisions", ["fp32"])))' \
  "$manifest" > "$tmp/out/offered.json"
first_size=${sizes%% *}
for size in $sizes; do
  for mode in $modes; do
    args=(--manifest "$manifest" --size "$size" --repeat "$repeats" --threads "$threads")
    # As `sparkify segment` and `function` run the engine: malloc in huge pages (src/common/heap.h).
    # A hugetlb setting of the caller's own stands, as it does for `sparkify`.
    envs=()
    [[ ":${GLIBC_TUNABLES:-}:" == *:glibc.malloc.hugetlb=* ]] ||
      envs=("GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.hugetlb=1")
    case $mode in
      fp32) args+=(--dump "$tmp/blobs"); [ "$size" = "$first_size" ] && args+=(--layers) ;;
      fast) args=(--manifest "$all_manifest" "${args[@]:2}" --precision fast) ;;
      bf16) [ "$has_bf16" = 1 ] || { log "bf16: this CPU has no AVX512-BF16, skipped"; continue; }
            args=(--manifest "$all_manifest" "${args[@]:2}" --precision bf16) ;;
      fp32-avx2) envs+=(ONEDNN_MAX_CPU_ISA=AVX2) ;;
      *) die "unknown mode $mode" ;;
    esac
    phase_begin "ours-$mode@$size"
    log "ours ($mode) at $size: load, warm-up, $repeats x ${#names[@]} cut-outs"
    timeout 300 env "${envs[@]}" "$bench" "${args[@]}" "${image_paths[@]}" \
      > "$tmp/out/ours_${size}_${mode}.json" || die "sparkify_bench_function ($mode) failed at $size"
    phase_end
    if [ "$mode" = fp32 ]; then
      phase_begin "ort@$size"
      log "onnxruntime-node $ort_version at $size: load, warm-up, $repeats x ${#names[@]} forwards"
      timeout 300 node "$repo/bench/function_bench_ort.mjs" --ort "$ort_dir" \
        --model "$reference_onnx" --size "$size" --blobs "$tmp/blobs" --repeat "$repeats" \
        --threads "$threads" "${names[@]}" > "$tmp/out/ort_$size.json" ||
        die "function_bench_ort.mjs failed at $size"
      phase_end
    fi
  done
  rm -f "$tmp/blobs"/*_"$size".*
done

# ---- 2. `sparkify function` against `sparkify store`: cold start, warm requests --------------
phase_begin "function"
export AWS_ACCESS_KEY_ID=FBENCHROOTKEY000
AWS_SECRET_ACCESS_KEY=$(head -c 30 /dev/urandom | base64 | tr -d '/+=')
export AWS_SECRET_ACCESS_KEY AWS_REGION=us-east-1
export SPARKIFY_CACHE=$cache
bench_start_store "$sparkify"
endpoint=http://127.0.0.1:$store_port
for i in "${!names[@]}"; do  # the inputs, as bucket keys
  url=$("$sparkify" presign "s3://bench/covers/${names[$i]}" --endpoint "$endpoint" --method PUT \
        --expires 600)
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -T "${image_paths[$i]}" "$url")
  [ "$code" = 200 ] || die "upload of ${names[$i]} answered $code"
done
s3_delete() {  # KEY: removes a cut-out so the next request has to make it again
  curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -X DELETE \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "$endpoint/bench/$1"
}
s3_exists() {  # KEY -> HTTP code of a presigned GET
  curl -sS -o /dev/null -w '%{http_code}' --max-time 30 \
    "$("$sparkify" presign "s3://bench/$1" --endpoint "$endpoint" --expires 300)"
}

fn_size=$first_size
t_start=$(now)
"$sparkify" function --listen 127.0.0.1:0 --size "$fn_size" --bucket bench \
  --s3-endpoint "$endpoint" --timeout 300 >"$tmp/fn.out" 2>"$tmp/fn.err" &
fn_pid=$!
pids+=("$fn_pid")
bench_wait_listening "$fn_pid" "$tmp/fn.out" || { tail -20 "$tmp/fn.err" >&2; die "function did not start"; }
t_ready=$(now)
grep -q "init failed" "$tmp/fn.out" && { cat "$tmp/fn.out" "$tmp/fn.err" >&2; die "worker init failed"; }
fn_port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/fn.out")
[ -n "$fn_port" ] || die "function did not print its port"
invoke_url=http://127.0.0.1:$fn_port/2015-03-31/functions/function/invocations

# invoke NAME [SIZE] -> "WALL_S HANDLER_S KEY SEGMENTED": a direct segment event on the key
# covers/NAME; threshold 0 (the rocket's subject covers less than the default 10%). The answer
# must list the cover once; KEY is its cut-out's key, or "-" when its mask is no confident
# subject (mask_quality < 0.5: the rocket, the deep field), which the function answers with
# the cover itself.
invoke() {
  local options='"threshold": 0' code
  [ -n "${2:-}" ] && options+=', "size": '"$2"
  local payload='{"op": "segment", "keys": ["covers/'"$1"'"], "options": {'"$options"'}}'
  code=$(curl -sS -o "$tmp/answer.json" -w '%{http_code} %{time_total}' --max-time 300 \
         -d "$payload" "$invoke_url") || die "invoke of $1 failed"
  python3 - "$tmp/answer.json" "$code" "$1" <<'EOF' || { head -c 2000 "$tmp/answer.json" >&2; exit 1; }
import json, sys
a = json.load(open(sys.argv[1]))
http, wall = sys.argv[2].split()
body = a.get("body", {})
entries = body.get("cropped_image_data", []) + body.get("uncropped_image_data", [])
keys = [e["key"] for e in entries if str(e.get("key", "")).startswith("cutouts/")]
if http != "200" or a.get("statusCode") != 200 or len(entries) != 1:
    sys.exit("bench: invoke of %s: HTTP %s, answer %s" % (sys.argv[3], http, json.dumps(a)[:600]))
print(wall, body["stats"]["total_ms"] / 1000, keys[0] if keys else "-", body["stats"]["segmented"])
EOF
}
worker_pid() { cat /proc/"$fn_pid"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .; }
hwm_mb() { awk '$1 == "VmHWM:" { printf "%.0f", $2 * 1024 / 1e6 }' "/proc/$1/status"; }

log "sparkify function at $fn_size: cold start (image ${names[0]} from the bucket)"
t_invoke=$(now)
read -r first_wall first_handler first_key first_segmented <<<"$(invoke "${names[0]}")"
# Cold start: process start to the answer received (curl's own time for the invoke, so the
# bench's checking of the answer is not counted).
cold_s=$(awk -v a="$t_start" -v b="$t_invoke" -v w="$first_wall" 'BEGIN { printf "%.3f", b - a + w }')
[ "$first_segmented" = 1 ] || die "the cold request did not run the model"
[ "$first_key" != - ] || die "the first image (${names[0]}) must be a confident subject"
[ "$(s3_exists "$first_key")" = 200 ] || die "the cold cut-out $first_key is not in the bucket"
wpid=$(worker_pid); [ -n "$wpid" ] || die "no worker process under $fn_pid"

warm_json() {  # SIZE-or-empty FIRST-NAME-KEY: one new cut-out per image, the first one re-made
  local size=$1 first=$2 out="[" sep="" n w h k s c
  for n in "${names[@]:1}" "${names[0]}"; do
    [ "$n" = "${names[0]}" ] && [ -n "$first" ] && { c=$(s3_delete "$first"); [ "$c" = 204 ] || die "DELETE $first answered $c"; }
    read -r w h k s <<<"$(invoke "$n" "$size")"
    [ "$s" = 1 ] || die "warm request for $n did not run the model (segmented=$s)"
    out+="$sep{\"name\": \"$n\", \"wall\": $w, \"handler\": $h}"; sep=", "
  done
  echo "$out]"
}
log "warm requests at $fn_size"
warm=$(warm_json "" "$first_key")
read -r cached_wall _ _ cached_segmented <<<"$(invoke "${names[0]}")"
[ "$cached_segmented" = 0 ] || die "the repeated request ran the model again"
worker_hwm_first=$(hwm_mb "$wpid")
second_size=$(echo "$sizes" | awk '{ print $2 }')
warm2="[]"; first2=null
if [ -n "$second_size" ]; then
  log "warm requests at $second_size (event option size)"
  read -r first2 _ key2 _ <<<"$(invoke "${names[0]}" "$second_size")"
  warm2=$(warm_json "$second_size" "$key2")
fi
worker_hwm=$(hwm_mb "$wpid")
parent_hwm=$(hwm_mb "$fn_pid")
report_max=$(grep -o 'Max Memory Used: [0-9]*' "$tmp/fn.err" | awk '{ print $4 }' | sort -n | tail -1)
cat > "$tmp/out/function.json" <<EOF
{"size": $fn_size, "second_size": "${second_size:-}", "transport": "loopback store 127.0.0.1:$store_port",
 "cold_s": $cold_s, "ready_s": $(elapsed "$t_start" "$t_ready"),
 "first_invoke_s": $first_wall, "first_handler_s": $first_handler,
 "warm": $warm, "first_768_s": $first2, "warm_768": $warm2, "cached_s": $cached_wall,
 "worker_hwm_first_mb": $worker_hwm_first, "worker_hwm_mb": $worker_hwm,
 "parent_hwm_mb": $parent_hwm, "report_max_mb": "${report_max:-?}"}
EOF
kill "$fn_pid" "$store_pid" 2>/dev/null || true
wait "$fn_pid" "$store_pid" 2>/dev/null || true  # reaped now, so their CPU counts as ours
phase_end

# ---- 3. profile of one forward at the first size ---------------------------------------------
if [ "$profile" = 1 ] && command -v perf >/dev/null; then
  phase_begin "profile"
  log "perf record (cpu-clock) of one forward at $first_size"
  mkfifo "$tmp/perf.ctl" "$tmp/perf.ack"
  if timeout 200 perf record -q -e cpu-clock -F 1999 -o "$tmp/perf.data" \
       --control "fifo:$tmp/perf.ctl,$tmp/perf.ack" --delay=-1 -- \
       "$bench" --manifest "$manifest" --size "$first_size" --threads "$threads" --layers \
       --perf-ctl "$tmp/perf.ctl" "$tmp/perf.ack" "${image_paths[0]}" \
       > "$tmp/out/profile.json" 2>"$tmp/perf.err"; then
    # Every sample's share by (object, symbol or address); the report groups the addresses of
    # stripped libraries into their functions (.eh_frame ranges) with the libraries' paths.
    perf report -i "$tmp/perf.data" --stdio --no-children --sort dso,sym --percent-limit 0 \
      -g none 2>/dev/null | grep -v '^#' | grep -v '^$' > "$tmp/out/perf.txt" || true
    ldd "$bench" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
      lib=$(readlink -f "$lib"); echo "$(basename "$lib") $lib"
    done > "$tmp/out/dsos.txt"
  else
    log "perf record failed: $(tail -3 "$tmp/perf.err")"
  fi
  phase_end
fi

# ---- the table ----------------------------------------------------------------------------------
echo
# KEEP_OUT=DIR keeps the raw JSON (to re-render the table: function_bench_report.py DIR).
if [ -n "${KEEP_OUT:-}" ]; then mkdir -p "$KEEP_OUT" && cp -r "$tmp/out/." "$KEEP_OUT/"; fi
python3 "$repo/bench/function_bench_report.py" "$tmp/out"
echo "uptime at the end: $(uptime | sed 's/^ *//'); whole run $(( $(date +%s) - started_at )) s"
