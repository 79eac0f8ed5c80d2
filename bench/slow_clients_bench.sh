#!/usr/bin/env bash
# The slow-client benchmark (issue 10, item 3): a presigned GET of a 4 KiB object under wrk,
# p50/p99 and errors, first alone and then while SLOW (600) slow clients hold connections
# (half send a request head one byte every 2 s, half send nothing; any the server closes come
# straight back), spread over 10 loopback addresses so the per-address cap is not what
# saves us. The peer is nginx (event-driven, its defaults: 60 s head timeout), serving the same
# file under the same attack in the same run. Everything runs on 127.0.0.1.
#
#   bench/slow_clients_bench.sh
#   DURATION=10 SLOW=1200 bench/slow_clients_bench.sh
#
# Environment: BUILD_DIR (default build-bench), DURATION (seconds per wrk row, default 10),
# SLOW (slow clients, default 600), PYTHON (default python3).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build-bench}
duration=${DURATION:-10}
slow=${SLOW:-600}
conns=16
threads=2
python=${PYTHON:-$(command -v python3)}

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_need_packages wrk nginx curl iproute2
log "building sparkify and sparkify_bench_sign in $build"
bench_build "$build" sparkify sparkify_bench_sign
sparkify=$build/sparkify
signer=$build/sparkify_bench_sign
bench_scratch slow

free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
export AWS_ACCESS_KEY_ID=BENCHROOTKEY0000
AWS_SECRET_ACCESS_KEY=$(head -c 30 /dev/urandom | base64 | tr -d '/+=')
export AWS_SECRET_ACCESS_KEY
mkdir -p "$tmp/www/bench" "$tmp/nginx/body"
head -c 4096 /dev/urandom > "$tmp/www/bench/get-4k"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"\
     "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "tools: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | cut -d' ' -f3)"
echo "wrk: -t$threads -c$conns -d${duration}s per row; slow clients: $slow from 10 addresses"

# ---- the two servers ------------------------------------------------------------------------
bench_start_store "$sparkify"
url=$("$signer" presign PUT "127.0.0.1:$store_port" /bench/get-4k)
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$tmp/www/bench/get-4k" "$url")
[ "$code" = 200 ] || die "PUT answered $code"
store_url=$("$signer" presign GET "127.0.0.1:$store_port" /bench/get-4k)

nginx_port=$(free_port)
cat > "$tmp/nginx/nginx.conf" <<EOF
user root;
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/body;
  fastcgi_temp_path $tmp/nginx/body;
  uwsgi_temp_path $tmp/nginx/body;
  scgi_temp_path $tmp/nginx/body;
  server { listen 127.0.0.1:$nginx_port; root $tmp/www; }
}
EOF
nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" &
pids+=("$!")
nginx_url="http://127.0.0.1:$nginx_port/bench/get-4k"
for _ in $(seq 100); do curl -sf -o /dev/null "$nginx_url" && break; sleep 0.1; done
for u in "$store_url" "$nginx_url"; do
  curl -sf -o "$tmp/check" "$u" && cmp -s "$tmp/check" "$tmp/www/bench/get-4k" ||
    die "GET $u did not return the object"
done

# ---- rows ---------------------------------------------------------------------------------------
results=$tmp/results
: > "$results"
established() {  # PORT: connections the server side holds open
  ss -Htn state established "( sport = :$1 )" | wc -l
}
# row NAME PORT URL: wrk's numbers, plus the connections the server held during the row.
row() {
  local name=$1 port=$2 target=$3 out held
  timeout $((duration + 30)) wrk -t"$threads" -c"$conns" --timeout 5s -d2s "$target" >/dev/null
  held=$(established "$port")
  out=$(timeout $((duration + 30)) wrk -t"$threads" -c"$conns" --timeout 5s --latency \
    -d"${duration}s" "$target") || out=""
  "$python" - "$name" "$held" <<PY >> "$results"
import re, sys
name, held = sys.argv[1:]
text = """$out"""
def ms(s):
    v, unit = re.match(r"([\d.]+)(us|ms|s)", s).groups()
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
errs = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
if not rps or "99" not in lat:
    print(f"{name} failed held={held}")
else:
    print(f"{name} rps={float(rps.group(1)):.0f} p50={ms(lat['50']):.2f} "
          f"p99={ms(lat['99']):.2f} errors={errs} held={held}")
PY
  log "$(tail -1 "$results")"
}

attack() {  # PORT: starts the slow clients, waits until the server holds most of them
  "$python" "$repo/bench/slow_clients.py" "$1" --count "$slow" > "$tmp/slow.log" &
  slow_pid=$!
  pids+=("$slow_pid")
  for _ in $(seq 100); do
    [ "$(established "$1")" -ge $((slow * 9 / 10)) ] && break
    sleep 0.1
  done
  sleep 3  # some of the slowloris heads are under way
}
stop_attack() {
  kill "$slow_pid" 2>/dev/null || true
  wait "$slow_pid" 2>/dev/null || true
  sleep 2
}

row "store alone" "$store_port" "$store_url"
attack "$store_port"
row "store attacked" "$store_port" "$store_url"
stop_attack
row "nginx alone" "$nginx_port" "$nginx_url"
attack "$nginx_port"
row "nginx attacked" "$nginx_port" "$nginx_url"
stop_attack

# ---- report -----------------------------------------------------------------------------------
"$python" - "$results" "$slow" <<'PY'
import sys
path, slow = sys.argv[1], int(sys.argv[2])
rows = {}
for line in open(path):
    parts = line.split()
    name = " ".join(parts[:2])
    rows[name] = dict(kv.split("=", 1) for kv in parts[2:] if "=" in kv)
print()
print(f"{'server':<16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'held conns':>10}")
for name in ("store alone", "store attacked", "nginx alone", "nginx attacked"):
    r = rows.get(name, {})
    if "rps" not in r:
        print(f"{name:<16} {'failed':>8}")
        continue
    print(f"{name:<16} {float(r['rps']):>8.0f} {float(r['p50']):>8.2f} {float(r['p99']):>8.2f} "
          f"{int(r['errors']):>7} {int(r['held']):>10}")
print("(held conns: connections the server held open as the row began: the slow clients)")
def get(name, k):
    return float(rows.get(name, {}).get(k, "nan"))
sa, sx = get("store alone", "p99"), get("store attacked", "p99")
na, nx = get("nginx alone", "p99"), get("nginx attacked", "p99")
print()
print(f"p99 attacked / alone: store {sx / sa:.2f}x, nginx {nx / na:.2f}x")
print(f"store vs nginx, attacked: p99 {sx / nx:.2f}x nginx's, "
      f"throughput {get('store attacked', 'rps') / get('nginx attacked', 'rps'):.2f}x nginx's")
ok = get("store attacked", "errors") == 0 and get("store attacked", "held") >= slow * 0.9
print(f"{'PASS' if ok else 'FAIL'} with {slow} slow clients held open, every GET answered 200")
PY
