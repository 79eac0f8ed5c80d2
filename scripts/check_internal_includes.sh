#!/usr/bin/env bash
# Fails when a file of one module includes another module's private header: every
# src/<module>/internal/*.h belongs to src/<module>/ alone (ARCHITECTURE.md). Files outside
# src/ (bench/, tools/, tests/) may include only public headers too.
#   scripts/check_internal_includes.sh [REPO]
set -euo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$repo"
bad=0
checked=0
while IFS= read -r file; do
  checked=$((checked + 1))
  module=""
  case $file in src/*/*) module=${file#src/}; module=${module%%/*} ;; esac
  while IFS= read -r line; do
    included=$(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*|\1|p' <<<"${line#*:}")
    owner=${included%%/*}
    if [ "$owner" != "$module" ]; then
      echo "$file:${line%%:*}: includes $included, private to src/$owner" >&2
      bad=$((bad + 1))
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/internal/' "$file" || true)
done < <(git ls-files --cached --others --exclude-standard 'src/**.h' 'src/**.cpp' 'src/**.cc' 'bench/**.cpp' 'tools/**.cpp' 'tests/**.cpp' 2>/dev/null)
echo "internal includes: $checked files checked, $bad cross-module includes of private headers"
[ "$bad" -eq 0 ]
