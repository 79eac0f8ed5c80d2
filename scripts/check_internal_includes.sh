#!/usr/bin/env bash
# Fails when a file of one module includes another module's private header: every
# src/<module>/internal/*.h belongs to src/<module>/ alone (ARCHITECTURE.md). Files outside
# src/ (bench/, tools/, tests/) may include only public headers too. Both include forms count
# ("..." and <...>: src/ is on the include path).
#   scripts/check_internal_includes.sh [REPO]
set -euo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$repo"
# Every C++ file under the checked folders; from git when this is a checkout (tracked and new
# files, not ignored ones), else from the file system. An empty list is a failure, not a pass.
if files=$(git ls-files --cached --others --exclude-standard -- src bench tools tests 2>/dev/null); then
  :
else
  files=$(find src bench tools tests -type f 2>/dev/null || true)
fi
files=$(grep -E '\.(h|hh|hpp|inc|ipp|c|cc|cpp)$' <<<"$files" || true)
bad=0
checked=0
while IFS= read -r file; do
  [ -f "$file" ] || continue
  checked=$((checked + 1))
  module=""
  case $file in src/*/*) module=${file#src/}; module=${module%%/*} ;; esac
  while IFS= read -r line; do
    included=$(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]\([^">]*\)[">].*|\1|p' \
      <<<"${line#*:}")
    owner=${included%%/*}
    if [ "$owner" != "$module" ]; then
      echo "$file:${line%%:*}: includes $included, private to src/$owner" >&2
      bad=$((bad + 1))
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<][^">]*/internal/' "$file" || true)
done <<<"$files"
echo "internal includes: $checked files checked, $bad cross-module includes of private headers"
if [ "$checked" -eq 0 ]; then
  echo "internal includes: no file found to check under $repo" >&2
  exit 1
fi
[ "$bad" -eq 0 ]
