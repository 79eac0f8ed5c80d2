#!/usr/bin/env bash
# Prepares Sparkify's default segmentation model in the cache, once:
#   npm package @imgly/background-removal-data@1.4.5 (sha512 pinned) -> /models/medium assembled
#   from its chunks (every chunk checked against its sha256 name, the whole against its size and
#   sha256) -> convert_isnet.py -> fp32 ONNX (the reference, kept for benchmarks and tests) ->
#   export_graph.py -> model.sgraph (what the engine runs) + manifest.json + the package's
#   licence files.
# Idempotent: when the model is in place, a run only checks its sha256 against the manifest
# (and prepares it again if its graph is an older format than export_graph.py writes).
# Prints the manifest's path on stdout; progress and errors go to stderr (exit 1 on any error).
#
#   tools/model/prepare-model.sh [--cache DIR] [--force]
#   default DIR: ${SPARKIFY_CACHE:-$HOME/.cache/sparkify}/models
#   --force     rebuild the converted model even if one is present (the download is reused)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SPARKIFY_CACHE:-$HOME/.cache/sparkify}/models
force=0
while (($#)); do
  case $1 in
    --cache) cache=${2:?--cache needs a directory}; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "prepare-model: unknown argument $1" >&2; exit 2 ;;
  esac
done

pkg=@imgly/background-removal-data
version=1.4.5
integrity=sha512-iRXZpPd7YirbJ4eOZ3SlvbdJkAc/LxVjzWLMHOezmRrVThPJPdPc+Y2kHEAVFEVvpDIuvBDyOfTTFBSJT2QR5w==
resource=/models/medium
source_size=88188479
source_sha256=b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb
name=isnet-general-medium
python=/usr/bin/python3   # Debian's, where python3-onnx lives (not a pyenv/venv python3)

tgz=$cache/download/imgly-background-removal-data-$version.tgz
source_dir=$cache/source/imgly-background-removal-data-$version
model_dir=$cache/$name
manifest=$model_dir/manifest.json

log() { echo "prepare-model: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Installs the Debian packages given that are missing; apt-get update only then.
ensure_debs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  local sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# npm's integrity string (sha512-<base64>) of a file.
integrity_of() {
  "$python" -c 'import base64,hashlib,sys
h=hashlib.sha512()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print("sha512-"+base64.b64encode(h.digest()).decode())' "$1"
}

ensure_debs python3 python3-onnx python3-numpy

# 1. Already prepared: verify and stop; a graph of an older format (e.g. sparkify-graph/1,
# whose 3x3 weights the engine must copy into its own layout at every start) is exported
# again, from the cached download.
if [ -f "$manifest" ] && ((!force)); then
  "$python" "$here/manifest.py" check "$manifest" >&2 ||
    die "the prepared model does not match its manifest (corrupt?); rerun with --force to rebuild"
  current=0
  "$python" "$here/export_graph.py" --is-current "$model_dir/model.sgraph" || current=$?
  # What the template alone decides (the precisions offered) follows it without a new export.
  "$python" "$here/manifest.py" sync "$here/$name.template.json" "$manifest" >&2 ||
    die "cannot update $manifest from the template"
  case $current in
    0) echo "$manifest"; exit 0 ;;
    3) if [ ! -f "$tgz" ]; then  # no download to export from: it still runs
         log "$model_dir/model.sgraph is an older export (the engine runs it, with more" \
             "memory and a slower start); no cached download to prepare it again from: kept" \
             "(prepare-model.sh --force downloads the package and prepares it again)"
         echo "$manifest"; exit 0
       fi
       log "$model_dir/model.sgraph is an older export: preparing the model again" ;;
    *) die "$model_dir/model.sgraph is not a graph this version can prepare (see above)" ;;
  esac
fi

# 2. The package tarball, kept in the cache so that a rebuild does not download again.
mkdir -p "$cache/download"
if [ -f "$tgz" ] && [ "$(integrity_of "$tgz")" != "$integrity" ]; then
  log "cached $tgz does not match the pinned integrity; fetching it again"
  rm -f "$tgz"
fi
if [ ! -f "$tgz" ]; then
  command -v npm >/dev/null || ensure_debs npm
  log "npm pack $pkg@$version"
  tmp_pack=$(mktemp -d "$cache/download/.pack.XXXXXX")
  trap 'rm -rf "$tmp_pack"' EXIT
  (cd "$tmp_pack" && npm pack --silent "$pkg@$version" >/dev/null) || die "npm pack $pkg@$version failed"
  packed=$(find "$tmp_pack" -maxdepth 1 -name '*.tgz' | head -n 1)
  [ -n "$packed" ] || die "npm pack produced no tarball"
  got=$(integrity_of "$packed")
  [ "$got" = "$integrity" ] || die "$pkg@$version has integrity $got, expected $integrity"
  mv "$packed" "$tgz"
fi

# 3. Assemble and verify the fp16 source model; copy the package's licence files beside it.
mkdir -p "$source_dir"
log "assembling $resource from $(basename "$tgz")"
source_json=$("$python" "$here/assemble_model.py" "$tgz" "$resource" \
  "$source_dir/medium-fp16.onnx" "$source_dir" --size "$source_size" --sha256 "$source_sha256") \
  || die "the package's $resource does not verify"

# 4. Convert once, into a staging directory that replaces the model directory atomically.
stage=$(mktemp -d "$cache/.$name.XXXXXX")
trap 'rm -rf "$stage" ${tmp_pack:+"$tmp_pack"}' EXIT
log "converting to fp32 (convert_isnet.py)"
conversion=$("$python" "$here/convert_isnet.py" "$source_dir/medium-fp16.onnx" \
  "$stage/model.onnx" --json) || die "conversion failed"
cp "$source_dir/LICENSE.md" "$source_dir/ThirdPartyLicenses.json" "$stage/"
onnx_version=$("$python" -c 'import onnx; print(onnx.__version__)')
source_facts=$("$python" -c 'import json,sys
s=json.loads(sys.argv[1]); print(json.dumps({"npm_integrity": sys.argv[2], "size": s["size"],
  "sha256": s["sha256"], "chunks": s["chunks"]}))' "$source_json" "$integrity")
conversion_facts=$("$python" -c 'import json,sys
c=json.loads(sys.argv[1]); c["tool"]="tools/model/convert_isnet.py"; c["onnx"]=sys.argv[2]
print(json.dumps(c))' "$conversion" "$onnx_version")
log "exporting the engine's graph (export_graph.py)"
export_stats=$("$python" "$here/export_graph.py" "$stage/model.onnx" "$stage/model.sgraph" --json) \
  || die "export failed"
conversion_facts=$("$python" -c 'import json,sys
c=json.loads(sys.argv[1]); c["export"]=json.loads(sys.argv[2]); print(json.dumps(c))' \
  "$conversion_facts" "$export_stats")
"$python" "$here/manifest.py" write "$here/$name.template.json" "$stage/model.sgraph" \
  "$stage/manifest.json" --source "$source_facts" --conversion "$conversion_facts" \
  || die "cannot write the manifest"
"$python" "$here/manifest.py" check "$stage/manifest.json" >/dev/null || die "fresh manifest does not verify"

rm -rf "$model_dir"
mv "$stage" "$model_dir"
chmod 755 "$model_dir"
log "ready: $model_dir ($(du -h "$model_dir/model.sgraph" | cut -f1), converted in $(
  "$python" -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$conversion") s)"
echo "$manifest"
