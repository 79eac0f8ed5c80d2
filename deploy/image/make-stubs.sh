#!/bin/sh
# Builds small stand-ins for the shared libraries in stubs.txt: libraries that Debian's OpenCV
# core links but Sparkify never calls. Shipping the real ones would add ~12 MB to the image:
#   LAPACK      cv::solve/invert/SVD/QR only, which the function never calls (with
#               libgfortran: ~10 MB)
#   GLX         OpenGL interop (cv::ogl) only (with X11: ~2.5 MB)
# (OpenCV's imgcodecs, which linked GDAL and GDCM, ~130 MB with their dependencies, is no
# longer linked: the function decodes with libjpeg-turbo, libpng and libwebp directly.)
# Each stand-in has the real library's soname and defines exactly the symbols that the
# binary's libraries import from it (they are bound at load time, BIND_NOW), each of which
# prints what happened and aborts if it is ever called, except any stubs.txt names as no-ops
# (symbols a library calls while it starts up; none today).
#
#   make-stubs.sh BINARY OUTDIR   (run where BINARY's real libraries and a C compiler are
#                                  installed: the Dockerfile's build stage, or the build host)
set -eu
binary=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
libdir=/usr/lib/x86_64-linux-gnu
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Everything the binary and its libraries import.
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' > "$work/closure"
echo "$binary" >> "$work/closure"
while read -r f; do nm -D --undefined-only "$f"; done < "$work/closure" |
  awk '{print $NF}' | sed 's/@.*//' | sort -u > "$work/wanted"
grep -v '^#' "$here/stubs.txt" | while read -r soname noops; do
  [ -n "$soname" ] || continue
  real=$libdir/$soname
  [ -e "$real" ] || { echo "make-stubs: $real is not installed" >&2; exit 1; }
  while read -r f; do
    if readelf -V "$f" | grep -q "File: $soname"; then
      echo "make-stubs: $f needs versioned symbols from $soname; a stub cannot stand in" >&2
      exit 1
    fi
  done < "$work/closure"
  nm -D --defined-only "$real" | awk '{print $NF}' | sed 's/@.*//' | sort -u > "$work/defined"
  comm -12 "$work/wanted" "$work/defined" > "$work/symbols"
  [ -s "$work/symbols" ] || { echo "make-stubs: nothing imported from $soname" >&2; exit 1; }
  c=$work/$soname.c
  {
    echo '#include <stdio.h>'
    echo '#include <stdlib.h>'
    echo "static void sparkify_stub_called(const char* symbol) {"
    printf '  fprintf(stderr, "sparkify image: %%s from %s was called, but the image ships a stand-in for it (deploy/image/make-stubs.sh)\\n", symbol);\n' "$soname"
    echo "  abort();"
    echo "}"
    n=0
    while read -r sym; do
      n=$((n + 1))
      echo "void sparkify_stub_$n(void) __asm__(\"$sym\");"
      case " $noops " in
        *" $sym "*) echo "void sparkify_stub_$n(void) {}" ;;
        *) echo "void sparkify_stub_$n(void) { sparkify_stub_called(\"$sym\"); }" ;;
      esac
    done < "$work/symbols"
  } > "$c"
  gcc -shared -fPIC -O2 -Wall -Werror -Wl,-soname,"$soname" -o "$out/$soname" "$c"
  echo "make-stubs: $soname: $(wc -l < "$work/symbols") symbols" >&2
done
