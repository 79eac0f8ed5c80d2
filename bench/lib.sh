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
