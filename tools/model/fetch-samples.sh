#!/usr/bin/env bash
# Fetches the sample photos that Debian's python3-skimage package ships (skimage/data) into the
# cache, without installing any Python module: `apt-get download` + `dpkg -x`, then keeps only
# the photos below and writes index.tsv (name, file, size, what it shows, licence as stated in
# skimage/data/_fetchers.py). Idempotent: a second run only lists what is there.
#
#   tools/model/fetch-samples.sh [--cache DIR] [--force]
#   default DIR: ${SPARKIFY_CACHE:-$HOME/.cache/sparkify}/samples
set -euo pipefail

dir=${SPARKIFY_CACHE:-$HOME/.cache/sparkify}/samples
force=0
while (($#)); do
  case $1 in
    --cache) dir=${2:?--cache needs a directory}; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "fetch-samples: unknown argument $1" >&2; exit 2 ;;
  esac
done

deb_pkg=python3-skimage
# name | file | what it shows | licence (as skimage states it)
samples=(
  "astronaut|astronaut.png|portrait of astronaut Eileen Collins|public domain (NASA)"
  "chelsea|chelsea.png|Chelsea the cat|CC0 (Stefan van der Walt)"
  "coffee|coffee.png|a cup of coffee on a saucer|CC0 (Rachel Michetti)"
  "rocket|rocket.jpg|launch of DSCOVR on a Falcon 9|public domain (SpaceX)"
  "camera|camera.png|man with a camera, greyscale|CC0 (Lav Varshney)"
  "coins|coins.png|Greek coins from Pompeii, greyscale|no known copyright restrictions"
  "clock|clock_motion.png|motion-blurred clock, greyscale|public domain (Stefan van der Walt)"
  "horse|horse.png|black-and-white horse silhouette|CC0 (Andreas Preuss)"
  "hubble|hubble_deep_field.jpg|Hubble eXtreme Deep Field|public domain (NASA)"
  "retina|retina.jpg|human retina|CC0 1.0"
  "ihc|ihc.png|immunohistochemistry slide|no known copyright restrictions"
  "logo|logo.png|scikit-image logo, RGBA (alpha test)|BSD-3-Clause (scikit-image)"
  "truncated|truncated.jpg|a truncated JPEG (bad-input test)|BSD-3-Clause (scikit-image)"
)

list() {
  column -t -s $'\t' "$dir/index.tsv" 2>/dev/null || cat "$dir/index.tsv"
  echo "fetch-samples: $(($(wc -l < "$dir/index.tsv") - 1)) files in $dir" >&2
}

complete() {
  [ -f "$dir/index.tsv" ] || return 1
  local entry
  for entry in "${samples[@]}"; do
    IFS='|' read -r _ file _ _ <<< "$entry"
    [ -s "$dir/$file" ] || return 1
  done
}

if ((!force)) && complete; then list; exit 0; fi

mkdir -p "$dir/debs"
deb=$(find "$dir/debs" -maxdepth 1 -name "${deb_pkg}_*.deb" | sort | tail -n 1)
if [ -z "$deb" ]; then
  apt-cache show "$deb_pkg" >/dev/null 2>&1 || {
    echo "fetch-samples: apt-get update" >&2
    apt-get update -qq
  }
  echo "fetch-samples: apt-get download $deb_pkg" >&2
  # Root downloads directly (the _apt sandbox user cannot write into the cache).
  (cd "$dir/debs" && apt-get download -qq -o APT::Sandbox::User=root "$deb_pkg")
  deb=$(find "$dir/debs" -maxdepth 1 -name "${deb_pkg}_*.deb" | sort | tail -n 1)
  [ -n "$deb" ] || { echo "fetch-samples: download of $deb_pkg failed" >&2; exit 1; }
fi
dpkg-deb --info "$deb" >/dev/null || { echo "fetch-samples: $deb is corrupt; delete it" >&2; exit 1; }

tmp=$(mktemp -d "$dir/.extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg -x "$deb" "$tmp"
data=$(find "$tmp" -type d -path '*/skimage/data' | head -n 1)
[ -n "$data" ] || { echo "fetch-samples: no skimage/data in $deb" >&2; exit 1; }

version=$(dpkg-deb -f "$deb" Version)
index=$tmp/index.tsv
printf 'name\tfile\tsize\twhat\tlicence\n' > "$index"
for entry in "${samples[@]}"; do
  IFS='|' read -r name file what licence <<< "$entry"
  [ -f "$data/$file" ] || { echo "fetch-samples: $deb has no skimage/data/$file" >&2; exit 1; }
  cp "$data/$file" "$dir/$file"
  size=$(file -b "$dir/$file" 2>/dev/null | grep -oE '[0-9]+ ?x ?[0-9]+' | tail -n 1 | tr -d ' ')
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$file" "${size:-?}" "$what" "$licence" >> "$index"
done
echo "# from Debian $deb_pkg $version (skimage/data); licences per skimage/data/_fetchers.py" \
  > "$dir/SOURCE"
mv "$index" "$dir/index.tsv"
list
