#!/usr/bin/env bash
# The scan cache: a cold run (empty --cache-dir) against warm ones (the
# same content again), whole process, on this repository, the generated
# ~50 MB tree of bench/secrets.sh and its 5,000-commit repository's
# history. Prints the median of 3 warm runs over the cold one (target:
# <= 0.1x), that the findings are identical, and the cache's size.
#
# Usage: bench/cache.sh   (outputs under bench/.out/; run bench/secrets.sh once first for the tree and the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out
mkdir -p "$out/bin"
go build -o "$out/bin/secgate" ./cmd/secgate
[ -d "$out/tree50mb" ] && [ -d "$out/repo5000/.git" ] || { echo "run bench/secrets.sh first (it generates the tree and the repository)"; exit 1; }

# findings SECGATE-REPORT: one line per finding, what must not change
findings() { python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]:
    l=f["location"]; print(f["fingerprint"], l.get("path"), l.get("line"), l.get("commit"))' "$1" | sort; }

bench() {
  local name=$1; shift
  local c="$out/cache-$name"
  rm -rf "$c"
  local cold warm=()
  cold=$(measured "$out/bin/secgate" run --only secrets --format json --cache-dir "$c" --report "$out/cold.json" "$@")
  for _ in 1 2 3; do warm+=("$(measured "$out/bin/secgate" run --only secrets --format json --cache-dir "$c" --report "$out/warm.json" "$@")"); done
  local cw ww same
  cw=$(echo "$cold" | awk '{ print $1 }') ww=$(col 1 "${warm[@]}")
  same=identical
  [ "$(findings "$out/cold.json")" = "$(findings "$out/warm.json")" ] || same=DIFFERENT
  printf '%-30s cold %7.3fs   warm %6.3fs (%4d MB)   ratio %.3fx (target <= 0.1x)   findings %s (%d)   cache %s\n' \
    "$name" "$cw" "$ww" "$(col 3 "${warm[@]}")" "$(ratio "$ww" "$cw")" "$same" "$(findings "$out/cold.json" | wc -l)" "$(du -sh "$c" | cut -f1)"
}

echo "secret scan with --cache-dir: cold, then the median of 3 warm runs"
self="$out/self"
rm -rf "$self" && mkdir -p "$self" && git archive HEAD | tar -x -C "$self"
bench "this repository" "$self"
bench "generated tree ($(du -sm "$out/tree50mb" | cut -f1) MB)" "$out/tree50mb"
bench "history ($(git -C "$out/repo5000" rev-list --count --all) commits)" --history "$out/repo5000"
