#!/bin/sh
# Lays out the image's own files, run as root inside a throw-away Debian 12 stage whose root
# is the image's base (debian:12-slim, or build-image.sh's debootstrap equivalent). Both image
# builders (deploy/Dockerfile and deploy/build-image.sh) run exactly this, so the image has
# one recipe:
#
#   assemble.sh install   records what the base has (libraries, users), then installs
#                         packages.txt with apt-get
#   assemble.sh collect [LIST [OUT]]
#                         with /stage/in holding bin/sparkify-ai, stubs/ (from make-stubs.sh)
#                         and what LIST names (model/ for the function, samples/ for the web
#                         app), writes OUT: LIST's files, the shared libraries the loader
#                         resolves for sparkify-ai that the base lacks (stand-ins from stubs/
#                         for stubs.txt's), and the base's passwd/group plus the unprivileged
#                         user. The image is then the base plus OUT. LIST is a file in /stage
#                         (default files.txt: the function's image; files-web.txt: the web
#                         app's), OUT a directory (default /out). One install serves any
#                         number of collects.
set -eu
stage=/stage
out=${3:-/out}
files=$stage/${2:-files.txt}
libdir=/usr/lib/x86_64-linux-gnu
uid=10001

lists() { grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$'; }

case ${1:-} in
install)
  find /lib/x86_64-linux-gnu/ /usr/lib/x86_64-linux-gnu/ /lib/ /usr/lib/ -maxdepth 1 \
    -name '*.so*' -printf '%f\n' 2>/dev/null | sort -u > "$stage/base-libs.txt"
  cp /etc/passwd "$stage/base-passwd"
  cp /etc/group "$stage/base-group"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2046
  apt-get install -y -qq --no-install-recommends $(lists "$stage/packages.txt") >/dev/null
  ;;
collect)
  rm -rf "$out"
  mkdir -p "$out"
  [ -f "$files" ] || { echo "assemble: no list $files" >&2; exit 1; }
  lists "$files" | while read -r dest mode source; do
    case $source in
      in:*) from=$stage/in/${source#in:} ;;
      root:*) from=${source#root:} ;;
      *) echo "assemble: bad source $source in $files" >&2; exit 1 ;;
    esac
    [ -f "$from" ] || { echo "assemble: missing $from (for $dest)" >&2; exit 1; }
    install -D -m "$mode" -o 0 -g 0 "$from" "$out$dest"
  done
  binary=$out/opt/sparkify/bin/sparkify-ai
  [ -x "$binary" ] || { echo "assemble: $files must install sparkify-ai" >&2; exit 1; }

  mkdir -p "$out$libdir"
  # What the loader loads, with the stand-ins found first. "not found" fails the build.
  listing=$(LD_LIBRARY_PATH=$stage/in/stubs /lib64/ld-linux-x86-64.so.2 --list "$binary")
  if echo "$listing" | grep -q 'not found'; then
    echo "$listing" >&2
    echo "assemble: unresolved libraries" >&2
    exit 1
  fi
  echo "$listing" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r soname path; do
    if grep -qxF "$soname" "$stage/base-libs.txt"; then continue; fi
    install -m 0644 -o 0 -g 0 "$(readlink -f "$path")" "$out$libdir/$soname"
  done
  # The unprivileged user (Lambda picks its own; docker and the sandbox use this one).
  mkdir -p "$out/etc"
  { cat "$stage/base-passwd"; echo "sparkify:x:$uid:$uid:Sparkify function:/tmp:/usr/sbin/nologin"; } > "$out/etc/passwd"
  { cat "$stage/base-group"; echo "sparkify:x:$uid:"; } > "$out/etc/group"
  chmod 0644 "$out/etc/passwd" "$out/etc/group"
  ;;
*)
  echo "usage: assemble.sh install | assemble.sh collect [LIST [OUT]]" >&2
  exit 2
  ;;
esac
