# Shared by the bench scripts (source it): scratch space, and stopping every process they
# started, whatever way they end.
#   bench_scratch NAME   makes $tmp (under /var/tmp), an empty pids array, and the traps;
#                        add the pid of each background process to pids.

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

# bench_start_store SPARKIFY: starts `sparkify store` on a free loopback port with the
# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY pair as root and a bucket named bench; sets
# store_pid and store_port once it listens. Needs $tmp and a die function.
bench_start_store() {
  SPARKIFY_ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID SPARKIFY_ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
    "$1" store --data "$tmp/store" --listen 127.0.0.1:0 --create-bucket bench \
    >"$tmp/store.out" 2>"$tmp/store.err" &
  store_pid=$!
  pids+=("$store_pid")
  for _ in $(seq 100); do
    grep -q "listening on" "$tmp/store.out" 2>/dev/null && break
    kill -0 "$store_pid" 2>/dev/null || { cat "$tmp/store.err" >&2; die "store did not start"; }
    sleep 0.1
  done
  store_port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/store.out")
  [ -n "$store_port" ] || die "store did not print its port"
}
