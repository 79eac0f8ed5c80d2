#!/usr/bin/env bash
# Builds the function's container image without a Docker engine, from the same recipe as
# deploy/Dockerfile (deploy/image/: packages.txt, files.txt, stubs.txt, assemble.sh,
# image.conf):
#   1. base    debootstrap --variant=minbase bookworm, slimmed the way debian:12-slim is
#              (cached as a tarball in $SPARKIFY_CACHE/deploy/)
#   2. stage   a copy of the base; assemble.sh install (apt-get install packages.txt); the
#              inputs (sparkify-ai from the build tree, the converted model from the model
#              cache, make-stubs.sh's stand-ins); assemble.sh collect -> /out
#   3. rootfs  the base plus /out                        -> OUT/rootfs
#   4. image   two layers (base, /out) and image.conf's config with umoci -> OUT/oci (OCI
#              layout, tag "latest"), then skopeo -> OUT/sparkify-function.tar (`docker load`)
# and writes OUT/image-files.txt (every path in the image) and OUT/image-sizes.json.
#
#   deploy/build-image.sh [--build-dir DIR] [--model-dir DIR] [--out DIR]
#     --build-dir  where sparkify-ai is built (default: $BUILD_DIR or build/; built if missing)
#     --model-dir  the converted model (default: $SPARKIFY_CACHE/models/isnet-general-medium)
#     --out        output directory (default: $SPARKIFY_CACHE/deploy/image)
# Runs as root (debootstrap, chroot). Installs debootstrap, umoci and skopeo if missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SPARKIFY_CACHE:-$HOME/.cache/sparkify}
build_dir=${BUILD_DIR:-$repo/build}
model_dir=$cache/models/isnet-general-medium
out=$cache/deploy/image
mirror=${SPARKIFY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --model-dir) model_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--model-dir DIR] [--out DIR]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "build-image: run as root (debootstrap and chroot need it)" >&2; exit 2; }
image_dir=$repo/deploy/image
# shellcheck source=image/image.conf
. "$image_dir/image.conf"
say() { echo "build-image: $*" >&2; }

# --- Tools (the image build's own installer step; the default test run does not need them).
tools=()
command -v debootstrap >/dev/null || tools+=(debootstrap)
command -v umoci >/dev/null || tools+=(umoci)
command -v skopeo >/dev/null || tools+=(skopeo)
if ((${#tools[@]})); then
  say "installing ${tools[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tools[@]}" >/dev/null
fi

# --- Inputs.
[ -f "$model_dir/manifest.json" ] || { say "no model in $model_dir (run tools/model/prepare-model.sh)"; exit 1; }
if [ ! -x "$build_dir/sparkify-ai" ]; then
  say "building sparkify-ai in $build_dir"
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build_dir" --target sparkify-ai -j 2 >/dev/null

# --- 1. The base, cached. Its key is the script's slimming recipe, so a change rebuilds it.
mkdir -p "$cache/deploy/debs" "$cache/deploy/apt-archives"
slim_recipe='path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*'
base_key=$(printf '%s\n%s\n' "$slim_recipe" "$mirror" | sha256sum | cut -c1-12)
base_tar=$cache/deploy/base-bookworm-$base_key.tar
work=$out/work
rm -rf "$work"
mkdir -p "$work"
if [ ! -f "$base_tar" ]; then
  say "debootstrap bookworm (debs cached in $cache/deploy/debs)"
  base=$work/base
  debootstrap --variant=minbase --cache-dir="$cache/deploy/debs" bookworm "$base" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # The debian:12-slim treatment: no docs (but copyrights), manuals, locales; no apt caches.
  printf '%s\n' "$slim_recipe" > "$base/etc/dpkg/dpkg.cfg.d/docker"
  find "$base/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$base/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$base"/usr/share/{groff,info,linda,locale,man}/* "$base/usr/share/lintian/overrides"/*
  rm -rf "$base"/var/lib/apt/lists/* "$base"/var/cache/apt/*.bin "$base"/var/cache/apt/archives/*.deb
  rm -f "$base"/var/log/*.log "$base"/var/log/apt/* "$base/etc/machine-id"
  cat > "$base/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  tar -C "$base" --numeric-owner -cf "$base_tar.tmp" .
  mv "$base_tar.tmp" "$base_tar"
  rm -rf "$base"
fi

# --- 2. The stage.
stage=$work/stage
mkdir -p "$stage"
tar -C "$stage" --numeric-owner -xf "$base_tar"
mkdir -p "$stage/stage/in/bin" "$stage/stage/in/model" "$stage/stage/in/stubs"
cp "$image_dir"/{assemble.sh,packages.txt,files.txt,stubs.txt} "$stage/stage/"
cp /etc/resolv.conf "$stage/etc/resolv.conf"
cp -l "$cache/deploy/apt-archives/"*.deb "$stage/var/cache/apt/archives/" 2>/dev/null || true
say "stage: apt-get install $(grep -vc '^#' "$image_dir/packages.txt") packages"
chroot "$stage" /bin/sh /stage/assemble.sh install
cp -nl "$stage/var/cache/apt/archives/"*.deb "$cache/deploy/apt-archives/" 2>/dev/null || true
cp "$build_dir/sparkify-ai" "$stage/stage/in/bin/"
strip --strip-unneeded "$stage/stage/in/bin/sparkify-ai"
for f in manifest.json model.sgraph LICENSE.md ThirdPartyLicenses.json; do  # not the reference ONNX
  cp "$model_dir/$f" "$stage/stage/in/model/"
done
"$image_dir/make-stubs.sh" "$build_dir/sparkify-ai" "$stage/stage/in/stubs"
chroot "$stage" /bin/sh /stage/assemble.sh collect

# --- 3. The root file system.
rootfs=$out/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"
tar -C "$rootfs" --numeric-owner -xf "$base_tar"
cp -a "$stage/out/." "$rootfs/"
(cd "$rootfs" && find . -mindepth 1 | sed 's|^\./|/|' | LC_ALL=C sort) > "$out/image-files.txt"

# --- 4. The image: layer 1 = the base, layer 2 = /out; the config from image.conf.
oci=$out/oci
bundle=$work/bundle
rm -rf "$oci" "$bundle"
umoci init --layout "$oci"
umoci new --image "$oci:latest"
umoci unpack --image "$oci:latest" "$bundle" >/dev/null
tar -C "$bundle/rootfs" --numeric-owner -xf "$base_tar"
umoci repack --refresh-bundle --image "$oci:latest" --history.created_by "debootstrap bookworm, slimmed" "$bundle"
cp -a "$stage/out/." "$bundle/rootfs/"
umoci repack --image "$oci:latest" --history.created_by "deploy/image/assemble.sh collect" "$bundle"
config=(--image "$oci:latest" --os linux --architecture amd64 --clear config.cmd
        --clear config.entrypoint --config.user "$IMAGE_USER" --config.workingdir "$IMAGE_WORKDIR"
        --config.exposedports "$IMAGE_PORT" --no-history)
for word in $IMAGE_ENTRYPOINT; do config+=(--config.entrypoint "$word"); done
for kv in $IMAGE_ENV; do config+=(--config.env "$kv"); done
umoci config "${config[@]}"
umoci gc --layout "$oci"
archive=$out/sparkify-function.tar
rm -f "$archive"
skopeo copy --quiet "oci:$oci:latest" "docker-archive:$archive:sparkify-function:latest"
added=$(du -sb "$stage/out" | cut -f1)
rm -rf "$work"

# --- Sizes: unpacked (what the layers hold), compressed (the OCI blobs = what a registry
# stores and Lambda pulls), and the docker-archive file.
unpacked=$(du -sb "$rootfs" | cut -f1)
model_bytes=$(du -sb "$rootfs/opt/sparkify/model" | cut -f1)
compressed=$(find "$oci/blobs" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
archive_bytes=$(stat -c %s "$archive")
cat > "$out/image-sizes.json" <<EOF
{"unpacked_bytes": $unpacked, "model_bytes": $model_bytes, "added_bytes": $added,
 "base_bytes": $((unpacked - added)), "compressed_bytes": $compressed, "docker_archive_bytes": $archive_bytes}
EOF
say "rootfs $rootfs ($((unpacked / 1000000)) MB unpacked, model $((model_bytes / 1000000)) MB)"
say "OCI layout $oci:latest ($((compressed / 1000000)) MB compressed); docker load -i $archive ($((archive_bytes / 1000000)) MB)"
