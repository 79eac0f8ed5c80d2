#!/usr/bin/env bash
# Builds the container images without a Docker engine, from the same recipe as
# deploy/Dockerfile (deploy/image/: packages.txt, assemble.sh, and per image a file list and a
# run configuration: files.txt + image.conf for the function, files-web.txt + image-web.conf
# for the web app):
#   1. base    debootstrap --variant=minbase bookworm, slimmed the way debian:12-slim is
#              (cached as a tarball in $SPARKIFY_CACHE/deploy/): the stage's system only
#   2. stage   a copy of the base; assemble.sh install (apt-get install packages.txt), once
#              whatever the images; the inputs (sparkify-ai from the build tree, the converted
#              model from the model cache for the function, the sample covers from the
#              samples cache for the web app); then one assemble.sh collect per image -> /out
#              (function), /out-web (web)
#   3. rootfs  that image's collect alone (no base system: as the Dockerfile's FROM scratch)
#   4. image   one layer (the collect) and the image's run configuration with umoci -> an OCI
#              layout (tag "latest"), then skopeo -> a `docker load` archive; plus every path
#              in the image and its sizes:
#        function  OUT/rootfs, OUT/oci, OUT/sparkify-function.tar, OUT/image-files.txt,
#                  OUT/image-sizes.json
#        web       OUT/web/rootfs, OUT/web/oci, OUT/sparkify-web.tar, OUT/web/image-files.txt,
#                  OUT/web/image-sizes.json
#
#   deploy/build-image.sh [--image function|web|all] [--build-dir DIR] [--model-dir DIR]
#                         [--samples-dir DIR] [--out DIR]
#     --image        which image (default: function); all: both, from one stage
#     --build-dir    where sparkify-ai is built (default: $BUILD_DIR or build/; built if missing)
#     --model-dir    the converted model, for the function (default:
#                    $SPARKIFY_CACHE/models/isnet-general-medium)
#     --samples-dir  the sample covers, for the web app (default: $SPARKIFY_CACHE/samples, as
#                    tools/model/fetch-samples.sh fills it; its files, not its debs/)
#     --out          output directory (default: $SPARKIFY_CACHE/deploy/image)
# Runs as root (debootstrap, chroot). Installs debootstrap, umoci and skopeo if missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SPARKIFY_CACHE:-$HOME/.cache/sparkify}
build_dir=${BUILD_DIR:-$repo/build}
model_dir=$cache/models/isnet-general-medium
samples_dir=$cache/samples
out=$cache/deploy/image
which=function
mirror=${SPARKIFY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
usage="usage: $0 [--image function|web|all] [--build-dir DIR] [--model-dir DIR] [--samples-dir DIR] [--out DIR]"
while (($#)); do
  case $1 in
    --image) which=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --model-dir) model_dir=$2; shift 2 ;;
    --samples-dir) samples_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
case $which in
  function | web) images=("$which") ;;
  all) images=(function web) ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "build-image: run as root (debootstrap and chroot need it)" >&2; exit 2; }
image_dir=$repo/deploy/image
say() { echo "build-image: $*" >&2; }
wants() { [[ " ${images[*]} " == *" $1 "* ]]; }
# Per image: its file list (in the stage's /stage), its run configuration (shell syntax:
# IMAGE_USER, IMAGE_WORKDIR, IMAGE_ENTRYPOINT, IMAGE_PORT, IMAGE_ENV), the collect's output in
# the stage, where its outputs go, and the folder in /opt/sparkify that its sizes name.
files_of() { case $1 in function) echo files.txt ;; web) echo files-web.txt ;; esac; }
conf_of() { case $1 in function) echo "$image_dir/image.conf" ;; web) echo "$image_dir/image-web.conf" ;; esac; }
collect_of() { case $1 in function) echo /out ;; web) echo /out-web ;; esac; }
dir_of() { case $1 in function) echo "$out" ;; web) echo "$out/web" ;; esac; }
payload_of() { case $1 in function) echo model ;; web) echo samples ;; esac; }

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
if wants function && [ ! -f "$model_dir/manifest.json" ]; then
  say "no model in $model_dir (run tools/model/prepare-model.sh)"; exit 1
fi
if wants web && [ ! -f "$samples_dir/index.tsv" ]; then
  say "no samples in $samples_dir (run tools/model/fetch-samples.sh)"; exit 1
fi
if [ ! -x "$build_dir/sparkify-ai" ]; then
  say "building sparkify-ai in $build_dir"
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if ! log=$(cmake --build "$build_dir" --target sparkify-ai -j 2 2>&1); then
  printf '%s\n' "$log" | tail -30 >&2
  say "building sparkify-ai in $build_dir failed"
  exit 1
fi

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

# --- 2. The stage: installed once, collected once per image.
stage=$work/stage
mkdir -p "$stage"
tar -C "$stage" --numeric-owner -xf "$base_tar"
mkdir -p "$stage/stage/in/bin"
cp "$image_dir"/{assemble.sh,packages.txt,files.txt,files-web.txt} "$stage/stage/"
cp /etc/resolv.conf "$stage/etc/resolv.conf"
cp -l "$cache/deploy/apt-archives/"*.deb "$stage/var/cache/apt/archives/" 2>/dev/null || true
say "stage: apt-get install $(grep -vc '^#' "$image_dir/packages.txt") packages"
chroot "$stage" /bin/sh /stage/assemble.sh install
cp -nl "$stage/var/cache/apt/archives/"*.deb "$cache/deploy/apt-archives/" 2>/dev/null || true
cp "$build_dir/sparkify-ai" "$stage/stage/in/bin/"
strip --strip-unneeded "$stage/stage/in/bin/sparkify-ai"
if wants function; then
  mkdir -p "$stage/stage/in/model"
  for f in manifest.json model.sgraph LICENSE.md ThirdPartyLicenses.json; do  # not the reference ONNX
    cp "$model_dir/$f" "$stage/stage/in/model/"
  done
fi
if wants web; then  # the photos, index.tsv and SOURCE; not debs/ (the package they came from)
  mkdir -p "$stage/stage/in/samples"
  find "$samples_dir/" -maxdepth 1 -type f -exec cp -t "$stage/stage/in/samples/" {} +
fi
for image in "${images[@]}"; do
  chroot "$stage" /bin/sh /stage/assemble.sh collect "$(files_of "$image")" "$(collect_of "$image")"
done

bundle=$work/bundle
for image in "${images[@]}"; do
  dir=$(dir_of "$image")
  added_dir=$stage$(collect_of "$image")
  mkdir -p "$dir"

  # --- 3. The root file system.
  rootfs=$dir/rootfs
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  cp -a "$added_dir/." "$rootfs/"
  (cd "$rootfs" && find . -mindepth 1 | sed 's|^\./|/|' | LC_ALL=C sort) > "$dir/image-files.txt"

  # --- 4. The image: one layer, the collect; the config from the image's run configuration.
  oci=$dir/oci
  rm -rf "$oci"
  umoci init --layout "$oci"
  umoci new --image "$oci:latest"
  umoci unpack --image "$oci:latest" "$bundle" >/dev/null
  cp -a "$added_dir/." "$bundle/rootfs/"
  umoci repack --image "$oci:latest" --history.created_by "deploy/image/assemble.sh collect" "$bundle"
  rm -rf "$bundle"
  (
    # shellcheck source=image/image.conf
    . "$(conf_of "$image")"
    config=(--image "$oci:latest" --os linux --architecture amd64 --clear config.cmd
            --clear config.entrypoint --config.user "$IMAGE_USER" --config.workingdir "$IMAGE_WORKDIR"
            --config.exposedports "$IMAGE_PORT" --no-history)
    for word in $IMAGE_ENTRYPOINT; do config+=(--config.entrypoint "$word"); done
    for kv in $IMAGE_ENV; do config+=(--config.env "$kv"); done
    umoci config "${config[@]}"
  )
  umoci gc --layout "$oci"
  archive=$out/sparkify-$image.tar
  rm -f "$archive"
  skopeo copy --quiet "oci:$oci:latest" "docker-archive:$archive:sparkify-$image:latest"

  # --- Sizes: unpacked (what the layer holds), compressed (the OCI blobs = what a registry
  # stores and Lambda or ECS pulls), and the docker-archive file; with the model's (function)
  # or the samples' (web) share, and the loader's and libraries'.
  payload=$(payload_of "$image")
  unpacked=$(du -sb "$rootfs" | cut -f1)
  payload_bytes=$(du -sb "$rootfs/opt/sparkify/$payload" | cut -f1)
  library_bytes=$(du -scb "$rootfs/usr/lib" "$rootfs/lib64" | tail -1 | cut -f1)
  library_count=$(find "$rootfs/usr/lib" "$rootfs/lib64" -type f | wc -l)
  compressed=$(find "$oci/blobs" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  archive_bytes=$(stat -c %s "$archive")
  cat > "$dir/image-sizes.json" <<EOF
{"unpacked_bytes": $unpacked, "${payload}_bytes": $payload_bytes, "library_bytes": $library_bytes,
 "library_files": $library_count, "compressed_bytes": $compressed, "docker_archive_bytes": $archive_bytes}
EOF
  say "$image: rootfs $rootfs ($((unpacked / 1000000)) MB unpacked, $payload $((payload_bytes / 1000000)) MB)"
  say "$image: OCI layout $oci:latest ($((compressed / 1000000)) MB compressed); docker load -i $archive ($((archive_bytes / 1000000)) MB)"
done
rm -rf "$work"
