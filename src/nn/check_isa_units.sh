#!/bin/sh
# Checks that the per-instruction-set units of LIBRARY (a static archive) define nothing with
# external linkage but their entry point (see winograd_block.h): any other such symbol built
# with -mavx512f could be the copy the linker keeps for the whole program.
# Usage: check_isa_units.sh LIBRARY
set -eu
lib=$1
symbols=$(nm -A --defined-only "$lib" | grep -E 'winograd_block_avx(2|512)[.]cpp[.]o:') || true
entries=$(printf '%s\n' "$symbols" | grep -cE ' T .*WinogradBlockAvx(2|512)') || true
if [ "$entries" != 2 ]; then
  echo "expected the 2 entry points WinogradBlockAvx2/512 in $lib, found $entries"
  exit 1
fi
# Lower-case types are local; T/D/R/B global; W/V/u/i weak or unique (shared between units).
# DW.ref.__gxx_personality_v0 is data (the unwinder's pointer to the C++ personality routine,
# the same in every unit; a sanitizer build emits it), not code.
others=$(printf '%s\n' "$symbols" | grep -vE ' [tdrb] ' | grep -vE ' T .*WinogradBlockAvx(2|512)' |
  grep -vE ' V DW\.ref\.__gxx_personality_v0$') || true
if [ -n "$others" ]; then
  echo "symbols with external linkage in the per-instruction-set units:"
  printf '%s\n' "$others"
  exit 1
fi
echo "ok: only WinogradBlockAvx2 and WinogradBlockAvx512 are external"
