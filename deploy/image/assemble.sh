#!/bin/sh
# Lays out the image's files, run as root inside a throw-away Debian 12 stage (debian:12-slim,
# or build-image.sh's debootstrap equivalent, plus packages.txt). Both image builders
# (deploy/Dockerfile and deploy/build-image.sh) run exactly this, so the image has one recipe.
# The image is OUT alone, on no base system: no shell, no package manager, only what
# sparkify-ai runs with.
#
#   assemble.sh install   installs packages.txt with apt-get
#   assemble.sh collect [LIST [OUT]]
#                         with /stage/in holding bin/sparkify-ai and what LIST names (model/
#                         for the function, samples/ for the web app), writes OUT: LIST's
#                         files; the dynamic loader and every shared library it resolves for
#                         sparkify-ai (the real ones: no stand-ins) with their packages'
#                         copyright notices; passwd and group with root and the unprivileged
#                         user; and /tmp. LIST is a file in /stage
#                         (default files.txt: the function's image; files-web.txt: the web
#                         app's), OUT a directory (default /out). One install serves any number
#                         of collects.
set -eu
stage=/stage
out=${3:-/out}
files=$stage/${2:-files.txt}
libdir=/usr/lib/x86_64-linux-gnu
uid=10001

lists() { grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$'; }
# The Debian package that owns PATH (as the loader names it, its target, with or without the
# /usr of the merged /usr); fails the build when none does: its notice would be missing.
owner() {
  for p in "$1" "$(readlink -f "$1")"; do
    for q in "$p" "/usr$p" "${p#/usr}"; do
      o=$(dpkg -S "$q" 2>/dev/null | grep -v '^diversion' | head -1)
      [ -n "$o" ] && { echo "${o%%:*}"; return 0; }
    done
  done
  echo "assemble: no Debian package owns $1" >&2
  exit 1
}

case ${1:-} in
install)
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
  # What the loader loads. "not found" fails the build.
  loader=/lib64/ld-linux-x86-64.so.2
  listing=$("$loader" --list "$binary")
  if echo "$listing" | grep -q 'not found'; then
    echo "$listing" >&2
    echo "assemble: unresolved libraries" >&2
    exit 1
  fi
  echo "$listing" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r soname path; do
    install -m 0644 -o 0 -g 0 "$(readlink -f "$path")" "$out$libdir/$soname"
    owner "$path" >> "$stage/owners"
  done
  # The loader at the path the binary names (PT_INTERP).
  install -D -m 0755 -o 0 -g 0 "$(readlink -f "$loader")" "$out$loader"
  owner "$loader" >> "$stage/owners"
  # The copyright notice of every package a file came from (the LGPL, BSD and other licences
  # of glibc, GnuTLS, LAPACK, ... ask for it to travel with the binaries); the CA bundle is
  # generated from ca-certificates' files.
  echo ca-certificates >> "$stage/owners"
  sort -u "$stage/owners" | while read -r package; do
    notice=/usr/share/doc/$package/copyright
    if [ ! -f "$notice" ]; then
      # Some packages keep theirs in a sibling's folder (libgcc-s1: gcc-12-base's): take the
      # notice of a package built from the same source.
      source=$(dpkg-query -W -f '${source:Package}' "$package")
      for sibling in $(dpkg-query -W -f '${binary:Package} ${source:Package}\n' |
                       awk -v s="$source" '$2 == s { sub(/:.*/, "", $1); print $1 }'); do
        [ -f "/usr/share/doc/$sibling/copyright" ] && { notice=/usr/share/doc/$sibling/copyright; break; }
      done
    fi
    [ -f "$notice" ] || { echo "assemble: no copyright notice for $package" >&2; exit 1; }
    install -D -m 0644 -o 0 -g 0 "$(readlink -f "$notice")" "$out/usr/share/doc/$package/copyright"
  done
  rm -f "$stage/owners"
  # root, and the unprivileged user (Lambda picks its own; docker and the sandbox use this one).
  mkdir -p "$out/etc"
  printf '%s\n' "root:x:0:0:root:/root:/usr/sbin/nologin" \
    "sparkify:x:$uid:$uid:Sparkify:/tmp:/usr/sbin/nologin" > "$out/etc/passwd"
  printf '%s\n' "root:x:0:" "sparkify:x:$uid:" > "$out/etc/group"
  # Name lookups: files, then DNS; localhost without DNS (docker and ECS mount their own hosts).
  printf '%s\n' "passwd: files" "group: files" "hosts: files dns" > "$out/etc/nsswitch.conf"
  printf '%s\n' "127.0.0.1 localhost" "::1 localhost ip6-localhost ip6-loopback" > "$out/etc/hosts"
  # The runtime mounts its resolver here (docker, ECS): an empty file gives it a mount point
  # even where it cannot make one (and means a resolver on 127.0.0.1 to glibc, as no file does).
  : > "$out/etc/resolv.conf"
  chmod 0644 "$out/etc/passwd" "$out/etc/group" "$out/etc/nsswitch.conf" "$out/etc/hosts" \
    "$out/etc/resolv.conf"
  # Lambda and the sandbox mount their own /tmp here; `docker run` without --tmpfs uses this.
  install -d -m 1777 -o 0 -g 0 "$out/tmp"
  # Mount points for the runtime's /proc and /dev (bubblewrap, for one, cannot make them in a
  # read-only root; docker and Lambda make their own).
  install -d -m 0755 -o 0 -g 0 "$out/proc" "$out/dev"
  ;;
*)
  echo "usage: assemble.sh install | assemble.sh collect [LIST [OUT]]" >&2
  exit 2
  ;;
esac
