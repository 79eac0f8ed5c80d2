# Shared by the bench scripts (source it): the Debian packages and build they need, scratch
# space, and stopping every process they started, whatever way they end.
#   bench_need_packages PKG...  installs those not installed yet (apt-get; sudo unless root)
#   bench_build DIR TARGET...   configures a Release build in DIR if there is none, builds the
#                               targets; needs a die function
#   bench_scratch NAME   makes $tmp (under /var/tmp), an empty pids array, and the traps;
#                        add the pid of each background process to pids.

bench_need_packages() {
  local need=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  ((${#need[@]})) || return 0
  echo "bench: installing ${need[*]}" >&2
  local sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
}

bench_build() {
  local dir=$1 repo
  shift
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  [ -f "$dir/build.ninja" ] || cmake -S "$repo" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$dir" -j "$(nproc)" "$@" >/dev/null || die "build failed (ninja -C $dir $*)"
}

bench_cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}

bench_scratch() {
  tmp=$(mktemp -d "/var/tmp/sparkify-$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# bench_wait_listening PID FILE: waits, at most 150 s and without polling, for the "listening
# on" line that `sparkify` servers print; fails when PID ends first. (Polling every few ms
# would start processes while the server loads, on the cores it loads on.)
bench_wait_listening() {
  timeout 150 grep -m1 -q "listening on" < <(tail -n +1 -f --pid="$1" "$2" 2>/dev/null)
}

# bench_start_store SPARKIFY [NAME [FLAG...]]: starts `sparkify store` (data in $tmp/NAME,
# default "store", with any extra flags) on a free loopback port with the
# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY pair as root and a bucket named bench; sets
# store_pid and store_port once it listens. Needs $tmp and a die function.
bench_start_store() {
  local bin=$1 name=${2:-store}
  shift $(($# < 2 ? $# : 2))
  SPARKIFY_ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID SPARKIFY_ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
    "$bin" store --data "$tmp/$name" --listen 127.0.0.1:0 --create-bucket bench "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  store_pid=$!
  pids+=("$store_pid")
  for _ in $(seq 100); do
    grep -q "listening on" "$tmp/$name.out" 2>/dev/null && break
    kill -0 "$store_pid" 2>/dev/null || { cat "$tmp/$name.err" >&2; die "store did not start"; }
    sleep 0.1
  done
  store_port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/$name.out")
  [ -n "$store_port" ] || die "store did not print its port"
}
