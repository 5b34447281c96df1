#!/usr/bin/env bash
# The scan cache: a cold run (empty --cache-dir) against warm ones (the
# same content again), whole process. First the secret scan alone, on this
# repository, the generated ~50 MB tree of bench/secrets.sh and its
# 5,000-commit repository's history (target: <= 0.1x); then the whole gate
# (secrets, deps, manifests, dockerfile; with the image from bin/image, the
# image checks and its packages) on bench/whole.sh's inputs (target:
# <= 0.15x). Prints the median of 3 warm runs over the cold one, that the
# findings are identical, and the cache's size.
#
# Usage: bench/cache.sh   (outputs under bench/.out/; run bench/secrets.sh once first for the tree and the repository;
#                          bench/whole.sh makes the multi-ecosystem tree; release/build-image.sh bin/image the image)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out
mkdir -p "$out/bin"
go build -o "$out/bin/secgate" ./cmd/secgate
# The cache's entries are authenticated with this key (README, "Scan cache").
export SECGATE_CACHE_KEY=bench-cache-key

# findings SECGATE-REPORT: one line per finding, what must not change
findings() { python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]:
    l=f["location"]; print(f["fingerprint"], l.get("path"), l.get("line"), l.get("commit"))' "$1" | sort; }

bench() {
  local name=$1; shift
  local c="$out/cache-$name"
  rm -rf "$c"
  local cold warm=()
  cold=$(measured "$out/bin/secgate" run --format json --cache-dir "$c" --report "$out/cold.json" "$@")
  for _ in 1 2 3; do warm+=("$(measured "$out/bin/secgate" run --format json --cache-dir "$c" --report "$out/warm.json" "$@")"); done
  local cw ww cc wc same
  cw=$(echo "$cold" | awk '{ print $1 }') ww=$(col 1 "${warm[@]}")
  cc=$(echo "$cold" | awk '{ print $2 }') wc=$(col 2 "${warm[@]}")
  same=identical
  [ "$(findings "$out/cold.json")" = "$(findings "$out/warm.json")" ] || same=DIFFERENT
  printf '%-40s cold %7.3fs %6.2f CPU-s   warm %6.3fs %5.2f CPU-s (%4d MB)   ratio %.3fx, CPU %.3fx (target <= %s)   findings %s (%d)   cache %s\n' \
    "$name" "$cw" "$cc" "$ww" "$wc" "$(col 3 "${warm[@]}")" "$(ratio "$ww" "$cw")" "$(ratio "$wc" "$cc")" "$target" "$same" "$(findings "$out/cold.json" | wc -l)" "$(du -sh "$c" | cut -f1)"
}

self="$out/self"
rm -rf "$self" && mkdir -p "$self" && git archive HEAD | tar -x -C "$self"
if [ -d "$out/tree50mb" ] && [ -d "$out/repo5000/.git" ]; then
  echo "secret scan with --cache-dir: cold, then the median of 3 warm runs"
  target=0.1x
  bench "this repository" --only secrets "$self"
  bench "generated tree ($(du -sm "$out/tree50mb" | cut -f1) MB)" --only secrets "$out/tree50mb"
  bench "history ($(git -C "$out/repo5000" rev-list --count --all) commits)" --only secrets --history "$out/repo5000"
else
  echo "(secret scan alone: run bench/secrets.sh first, it generates the tree and the repository)"
fi

# The whole gate, on bench/whole.sh's inputs (its offline database; a
# policy that accepts the database's age, so that deps judges rather than
# stops on stale data).
echo "the whole gate with --cache-dir: cold, then the median of 3 warm runs"
target=0.15x
db=testdata/osvdb
rm -f "$self/.gitleaks.toml" "$self/.secgate.yml"
multi="$out/multi"
if [ ! -d "$multi" ]; then
  go build -o "$out/bin/gentree" ./bench/gentree
  "$out/bin/gentree" -out "$multi" -mb 20
  cp -r gate/deps/testdata "$multi/lockfiles"
  cp -r testdata/demo "$multi/demo"
fi
printf 'version: 1\ndeps: {max_db_age: 3650d}\n' > "$out/cache-policy.yml"
whole=(--offline-db "$db" --policy "$out/cache-policy.yml")
bench "whole gate: this repository" "${whole[@]}" "$self"
bench "whole gate: multi-ecosystem tree ($(du -sm "$multi" | cut -f1) MB)" "${whole[@]}" "$multi"
if [ -d bin/image ]; then
  bench "whole gate: multi tree + image" "${whole[@]}" --image oci-layout:bin/image:ci "$multi"
else
  echo "(no image: release/build-image.sh bin/image first, PLATFORMS=linux/amd64 VERSION=ci)"
fi
