#!/usr/bin/env bash
# The web app's benchmark: time from submit to collage for N covers (default 30), cold (fresh
# data dir: nothing cached) and warm (the same covers again: cut-outs cached), and the landing
# page's transfer size and time to first render, measured in headless chromium (Playwright).
#   bench/web_bench.sh [--model-size 320] [--covers 30] [--function-workers N] [--bin build/sparkify]
# Needs scripts/setup.sh --deps (chromium, npm playwright-core, samples, model).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${SPARKIFY_BIN:-$repo/build/sparkify}
[ -x "$bin" ] || { echo "web_bench: build $bin first (scripts/setup.sh)" >&2; exit 1; }

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bench/web_bench.sh $*"
# CPU that processes outside this benchmark took meanwhile (a shared machine), as a share of
# all cores over the run.
other_ticks() { /usr/bin/python3 "$repo/bench/other_cpu.py" $$; }
ticks0=$(other_ticks); t0=$(date +%s.%N)
json=$(node "$repo/bench/web_bench.mjs" --bin "$bin" "$@")
ticks1=$(other_ticks); t1=$(date +%s.%N)
echo "$json"
awk -v a="$ticks0" -v b="$ticks1" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" \
  'BEGIN { printf "other processes: %.0f%% of the %d cores during the %.0f s run\n", 100 * (b - a) / hz / (t1 - t0) / n, n, t1 - t0 }'
node -e '
const r = JSON.parse(process.argv[1]);
const s = (ms) => (ms / 1000).toFixed(1) + " s";
console.log(`model size ${r.model_size}, ${r.covers} covers`);
console.log(`  cold: submit -> collage ${s(r.cold.ms)} (${r.cold.invocations} invocations, ${r.cold.images} images, ${r.cold.failed_covers} failed)`);
console.log(`  warm: submit -> collage ${s(r.warm.ms)} (${r.warm.invocations} invocations, ${r.warm.images} images)`);
const p = r.page;
console.log(`  page: ${p.requests} requests, ${(p.transfer_bytes / 1024).toFixed(1)} KiB transferred (${(p.body_bytes / 1024).toFixed(1)} KiB uncompressed), first contentful paint ${p.first_contentful_paint_ms} ms, ready ${p.ready_wall_ms} ms`);
' "$json"
