#!/usr/bin/env bash
# The store benchmark (issue 2): our store vs nginx (static files, the ceiling) vs moto_server
# (the peer), GET and PUT of 4 KiB and 1 MiB objects with 16 connections, presigned and
# header-auth; the same presigned rows on a second store that encrypts everything at rest
# (--default-encryption AES256), as a ratio to the plain one; the presign rate vs boto3; the
# store's RSS. Prints a table and PASS/FAIL per target. Everything runs on 127.0.0.1 and is
# stopped on exit; the run takes about 6 minutes.
#
#   bench/store_bench.sh                 # installs wrk/nginx if missing, builds, runs
#   DURATION=10 WARMUP=2 bench/store_bench.sh
#
# Environment: BUILD_DIR (default build-bench), DURATION and WARMUP (seconds per wrk run,
# default 8 and 2), PRESIGN_SECONDS (default 3), PYTHON (a python with moto 5.2.1 and boto3;
# default: the pyenv/PATH python3).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build-bench}
duration=${DURATION:-8}
warmup=${WARMUP:-2}
presign_seconds=${PRESIGN_SECONDS:-3}
conns=16
threads=2
python=${PYTHON:-$(command -v python3)}

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

# ---- dependencies (idempotent, as scripts/setup.sh does) ------------------------------------
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_need_packages wrk nginx curl
nginx -V 2>&1 | grep -q -- --with-http_dav_module && nginx_dav=1 || nginx_dav=0
"$python" -c 'import moto, boto3, flask' 2>/dev/null ||
  "$python" -m pip install -q 'moto[server]==5.2.1' boto3
moto_version=$("$python" -c 'import moto; print(moto.__version__)')
boto3_version=$("$python" -c 'import boto3; print(boto3.__version__)')
moto_server=$(dirname "$("$python" -c 'import sys; print(sys.executable)')")/moto_server
[ -x "$moto_server" ] || moto_server=$(command -v moto_server) || die "moto_server not found"

# ---- build ------------------------------------------------------------------------------------
log "building sparkify and sparkify_bench_sign in $build"
bench_build "$build" sparkify sparkify_bench_sign
sparkify=$build/sparkify
signer=$build/sparkify_bench_sign

# ---- scratch space and clean-up ---------------------------------------------------------------
bench_scratch bench

free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() {  # URL: until anything answers (at most 20 s)
  for _ in $(seq 200); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  return 1
}
rss_mb() {  # PID FIELD(VmRSS|VmHWM|RssAnon|RssFile) -> MB (10^6 bytes)
  awk -v f="$2:" '$1 == f { printf "%.1f", $2 * 1024 / 1e6 }' "/proc/$1/status"
}

# The bench's throwaway credentials: only our own store checks them.
export AWS_ACCESS_KEY_ID=BENCHROOTKEY0000
AWS_SECRET_ACCESS_KEY=$(head -c 30 /dev/urandom | base64 | tr -d '/+=')
export AWS_SECRET_ACCESS_KEY

# The same bytes for every server.
mkdir -p "$tmp/obj" "$tmp/www/bench" "$tmp/nginx/body" "$tmp/req"
head -c 4096 /dev/urandom > "$tmp/obj/4k"
head -c 1048576 /dev/urandom > "$tmp/obj/1m"

machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"\
       "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "tools: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | cut -d' ' -f3)," \
       "moto $moto_version, boto3 $boto3_version, python $("$python" -V 2>&1 | cut -d' ' -f2)"
}
machine
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk: -t$threads -c$conns, ${warmup}s warm-up then ${duration}s measured per row"

# ---- our store ------------------------------------------------------------------------------
bench_start_store "$sparkify"
sleep 1
rss_idle=$(rss_mb "$store_pid" VmRSS)
rss_idle_parts="anon $(rss_mb "$store_pid" RssAnon) MB + file-backed $(rss_mb "$store_pid" RssFile) MB,\
 $(awk '/\.so/ { print $6 }' "/proc/$store_pid/maps" | sort -u | wc -l) shared libraries mapped"

# ---- the same store encrypting at rest (SSE-S3 on every object) ---------------------------
plain_pid=$store_pid plain_port=$store_port
bench_start_store "$sparkify" sse --default-encryption AES256
sse_port=$store_port
store_pid=$plain_pid store_port=$plain_port

# ---- nginx: the same files, static; PUT through the dav module -----------------------------
nginx_port=$(free_port)
cp "$tmp/obj/4k" "$tmp/www/bench/get-4k"
cp "$tmp/obj/1m" "$tmp/www/bench/get-1m"
put_conf=""
[ "$nginx_dav" = 1 ] && put_conf="dav_methods PUT; create_full_put_path on;"
cat > "$tmp/nginx/nginx.conf" <<EOF
user root;
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 10000000;
  client_max_body_size 8m;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/body;
  fastcgi_temp_path $tmp/nginx/body;
  uwsgi_temp_path $tmp/nginx/body;
  scgi_temp_path $tmp/nginx/body;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/www;
    location / { $put_conf }
  }
}
EOF
nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" &
nginx_pid=$!
pids+=("$nginx_pid")

# ---- moto_server ------------------------------------------------------------------------------
moto_port=$(free_port)
"$moto_server" -H 127.0.0.1 -p "$moto_port" >"$tmp/moto.log" 2>&1 &
moto_pid=$!
pids+=("$moto_pid")

wait_http "http://127.0.0.1:$nginx_port/" || die "nginx did not start: $(cat "$tmp/nginx/error.log")"
wait_http "http://127.0.0.1:$moto_port/" || die "moto_server did not start: $(cat "$tmp/moto.log")"

# Create moto's bucket, then the GET objects on both S3 servers (presigned PUT), and check
# every server returns the same bytes.
"$signer" headers PUT "127.0.0.1:$moto_port" /bench > "$tmp/req/mb"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H @"$tmp/req/mb" "http://127.0.0.1:$moto_port/bench")
[ "$code" = 200 ] || die "moto CreateBucket answered $code"
for port in "$store_port" "$sse_port" "$moto_port"; do
  for size in 4k 1m; do
    url=$("$signer" presign PUT "127.0.0.1:$port" "/bench/get-$size")
    code=$(curl -s -o /dev/null -w '%{http_code}' -T "$tmp/obj/$size" "$url")
    [ "$code" = 200 ] || die "PUT get-$size on port $port answered $code"
  done
done
for port in "$store_port" "$sse_port" "$moto_port" "$nginx_port"; do
  for size in 4k 1m; do
    url=$("$signer" presign GET "127.0.0.1:$port" "/bench/get-$size")
    curl -sf -o "$tmp/check" "$url" && cmp -s "$tmp/check" "$tmp/obj/$size" ||
      die "GET get-$size on port $port did not return the uploaded bytes"
  done
done

# ---- the load ---------------------------------------------------------------------------------
results=$tmp/results
: > "$results"

# How much of the machine other processes took during a row (the machine is shared):
# clock ticks of every process outside this script's tree, over elapsed ticks x cores.
python_exe=$("$python" -c 'import sys; print(sys.executable)')
other_ticks() { "$python_exe" "$repo/bench/other_cpu.py" $$; }
now_ticks() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
hz=$(getconf CLK_TCK)

# run TARGET PORT METHOD SIZE AUTH: signs the requests (GET: one hot key; PUT: put_keys keys,
# so concurrent PUTs address different keys), checks the first one with curl, warms up,
# measures. Header auth is signed just before its row: it stays valid for 15 minutes.
put_keys=64
run() {
  local target=$1 port=$2 method=$3 size=$4 auth=$5
  local key="/bench/$(tr 'A-Z' 'a-z' <<< "$method")-$size" body="" count=1
  [ "$method" = PUT ] && body=$tmp/obj/$size && count=$put_keys
  local reqs=$tmp/req/$target-$method-$size-$auth
  "$signer" requests "$auth" "$method" "127.0.0.1:$port" "$key" "$count" ${body:+"$body"} > "$reqs"
  local fields curl_args=(-s -o /dev/null -w '%{http_code}' -X "$method")
  IFS=$'\t' read -r -a fields < "$reqs"
  local h
  for h in "${fields[@]:1}"; do curl_args+=(-H "$h"); done
  [ -n "$body" ] && curl_args+=(--data-binary @"$body" -H 'Content-Type:')
  local url="http://127.0.0.1:$port" code
  code=$(curl "${curl_args[@]}" "$url${fields[0]}")
  if [[ $code != 2* ]]; then
    log "$target $method $size $auth: the request answers $code, row skipped"
    echo "$target $method $size $auth error:$code" >> "$results"
    return
  fi
  export BENCH_METHOD=$method BENCH_BODY=$body BENCH_REQUESTS=$reqs BENCH_THREADS=$threads
  local wrk_args=(-t"$threads" -c"$conns" --timeout 10s -s "$repo/bench/s3_request.lua")
  timeout $((warmup + 30)) wrk "${wrk_args[@]}" -d"${warmup}s" "$url/" > /dev/null
  local line o0 t0 other
  o0=$(other_ticks) t0=$(now_ticks)
  line=$(timeout $((duration + 30)) wrk "${wrk_args[@]}" -d"${duration}s" "$url/" |
    grep '^RESULT') || line="RESULT error:wrk"
  other=$(awk -v o=$(($(other_ticks) - o0)) -v t=$(($(now_ticks) - t0)) -v n="$(nproc)" \
    -v hz="$hz" 'BEGIN { printf "%.0f", o / (t * hz / 100 * n) * 100 }')
  echo "$target $method $size $auth ${line#RESULT } other_cpu=$other" >> "$results"
  log "$target $method $size $auth: ${line#RESULT }"
}

for op in "GET 4k" "GET 1m" "PUT 4k" "PUT 1m"; do
  read -r method size <<< "$op"
  for auth in presigned header; do
    run store "$store_port" "$method" "$size" "$auth"
    if [ "$method" = GET ] || [ "$nginx_dav" = 1 ]; then
      run nginx "$nginx_port" "$method" "$size" "$auth"
    fi
    run moto "$moto_port" "$method" "$size" "$auth"
  done
  run sse "$sse_port" "$method" "$size" presigned
done
rss_after=$(rss_mb "$store_pid" VmRSS)
rss_peak=$(rss_mb "$store_pid" VmHWM)

# ---- presign rate -----------------------------------------------------------------------------
o0=$(other_ticks) t0=$(now_ticks)
read -r presign_ours _ < <("$signer" presign-rate "$presign_seconds")
read -r presign_boto3 _ < <("$python" "$repo/bench/presign_boto3.py" "$presign_seconds")
presign_other=$(awk -v o=$(($(other_ticks) - o0)) -v t=$(($(now_ticks) - t0)) -v n="$(nproc)" \
  -v hz="$hz" 'BEGIN { printf "%.0f", o / (t * hz / 100 * n) * 100 }')
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- report -----------------------------------------------------------------------------------
"$python" - "$results" "$nginx_dav" "$presign_ours" "$presign_boto3" "$rss_idle" "$rss_after" \
  "$rss_peak" "$rss_idle_parts" "$presign_other" <<'PY'
import sys

(path, nginx_dav, ours, boto, rss_idle, rss_after, rss_peak, rss_idle_parts,
 presign_other) = sys.argv[1:]
rows = {}
for line in open(path):
    target, method, size, auth, *rest = line.split()
    fields = dict(kv.split("=", 1) for kv in rest if "=" in kv)
    if rest and rest[0].startswith("error:"):
        fields = {"error": rest[0][6:]}
    rows[(target, method, size, auth)] = fields

def num(target, method, size, auth, field="rps"):
    f = rows.get((target, method, size, auth), {})
    return float(f[field]) if field in f else None

print()
print(f"{'op':<4} {'size':<5} {'auth':<9} {'server':<6} {'req/s':>9} {'data MiB/s':>10} "
      f"{'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'other CPU':>9} {'vs nginx':>9} {'vs moto':>8}")
for method in ("GET", "PUT"):
    for size in ("4k", "1m"):
        for auth in ("presigned", "header"):
            for target in ("store", "nginx", "moto"):
                label = {"4k": "4KiB", "1m": "1MiB"}[size]
                f = rows.get((target, method, size, auth))
                head = f"{method:<4} {label:<5} {auth:<9} {target:<6}"
                if f is None:
                    why = "n/a (nginx without dav module)" if target == "nginx" else "not run"
                    print(f"{head} {why:>9}")
                    continue
                if "error" in f:
                    what = "wrk failed" if f["error"] == "wrk" else "answers " + f["error"]
                    print(f"{head} {what:>9}")
                    continue
                errs = sum(int(f[k]) for k in f if k.startswith("errors_"))
                other = f.get("other_cpu", "?") + "%"
                vs = ""
                if target == "store":
                    n = num("nginx", method, size, auth)
                    m = num("moto", method, size, auth)
                    rps = float(f["rps"])
                    vs = (f"{rps / n:>9.2f}" if n else f"{'n/a':>9}") + \
                         (f" {rps / m:>7.1f}x" if m else f" {'n/a':>8}")
                payload = float(f["rps"]) * {"4k": 4096, "1m": 1048576}[size] / 1048576
                print(f"{head} {float(f['rps']):>9.0f} {payload:>10.1f} "
                      f"{float(f['p50_ms']):>8.2f} {float(f['p99_ms']):>8.2f} {errs:>7} {other:>9} {vs}")
print()
print("encrypted at rest (a second store with --default-encryption AES256), presigned:")
for method in ("GET", "PUT"):
    for size in ("4k", "1m"):
        label = {"4k": "4KiB", "1m": "1MiB"}[size]
        f = rows.get(("sse", method, size, "presigned"))
        plain = num("store", method, size, "presigned")
        if not f or "error" in f or plain is None:
            print(f"{method:<4} {label:<5} not measured")
            continue
        errs = sum(int(f[k]) for k in f if k.startswith("errors_"))
        print(f"{method:<4} {label:<5} {float(f['rps']):>9.0f} req/s  p50 {float(f['p50_ms']):.2f} "
              f"ms  p99 {float(f['p99_ms']):.2f} ms  errors {errs}  other CPU "
              f"{f.get('other_cpu', '?')}%  vs plain {float(f['rps']) / plain:.2f}")
print("(data MiB/s: object bytes moved, req/s x size; errors: wrk connect/read/write/timeout "
      "errors plus non-2xx answers; other CPU: share of the 2 cores that processes outside "
      "the benchmark used during the row; PUTs rotate over 64 keys; nginx ignores the "
      "auth, so its two rows send the same bytes unchecked)")
print()
print(f"presign rate: sigv4::PresignUrl {float(ours):.0f} URLs/s, boto3 generate_presigned_url "
      f"(s3v4) {float(boto):.0f} URLs/s, ratio {float(ours) / float(boto):.1f}x "
      f"(one thread each; other CPU {presign_other}%)")
print(f"store RSS: idle after start {rss_idle} MB ({rss_idle_parts}); after the load "
      f"{rss_after} MB; peak (VmHWM) {rss_peak} MB")
print()

def verdict(ok):
    return "PASS" if ok else "FAIL"

for auth in ("presigned", "header"):
    s, n, m = num("store", "GET", "4k", auth), num("nginx", "GET", "4k", auth), \
        num("moto", "GET", "4k", auth)
    if s is None or n is None:
        print(f"FAIL small GET ({auth}) >= 1/2 nginx: not measured")
    else:
        print(f"{verdict(s >= n / 2)} small GET ({auth}) >= 1/2 nginx: {s:.0f} vs {n:.0f} "
              f"req/s = {s / n:.2f}")
    if s is None or m is None:
        print(f"FAIL small GET ({auth}) >= 20x moto: not measured")
    else:
        print(f"{verdict(s >= 20 * m)} small GET ({auth}) >= 20x moto: {s:.0f} vs {m:.0f} "
              f"req/s = {s / m:.1f}x")
r = float(ours) / float(boto)
print(f"{verdict(r >= 100)} presign >= 100x boto3: {r:.1f}x")
print(f"{verdict(float(rss_idle) < 50)} store RSS idle < 50 MB: {rss_idle} MB")
print(f"{verdict(float(rss_peak) < 200)} store RSS under load < 200 MB: peak {rss_peak} MB")
PY
