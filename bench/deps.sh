#!/usr/bin/env bash
# Benchmark of secgate's dependency stage against the osv-scanner CLI of the
# same version, on the same lockfiles with the same offline database, three
# interleaved runs each: prints the ratio (target <= 1.0x) and diffs the sets
# of advisories found (target: identical).
#
# Usage: bench/deps.sh [DIR]   (default: gate/deps/testdata; outputs under bench/.out/)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out # hidden: the go tool ignores it
mkdir -p "$out/bin"
dir=${1:-gate/deps/testdata}
db=testdata/osvdb

OSV_SCANNER_VERSION=v2.5.0
if [ ! -x "$out/bin/osv-scanner" ]; then
  echo "building osv-scanner $OSV_SCANNER_VERSION ..." >&2
  GOBIN="$PWD/$out/bin" go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$OSV_SCANNER_VERSION"
fi
go build -o "$out/bin/secgate" ./cmd/secgate

osv=("$out/bin/osv-scanner" scan source --offline --local-db-path "$db" --recursive --format json --output "$out/osv.json" "$dir")
sg=("$out/bin/secgate" run --only deps --offline-db "$db" --format json --report "$out/secgate.json" "$dir")
o=() s=()
for _ in 1 2 3; do
  o+=("$(timed "${osv[@]}")")
  s+=("$(timed "${sg[@]}")")
done
om=$(median "${o[@]}") sm=$(median "${s[@]}")
printf 'dependency stage on %s, median of 3 runs\n' "$dir"
printf '  osv-scanner %6.3fs   secgate %6.3fs   ratio %.2fx (target <= 1.00x)\n' "$om" "$sm" "$(ratio "$sm" "$om")"

# The advisories found, one line per (lockfile, package, version, advisory
# group), each group named as secgate names it (its GHSA id if any).
python3 - "$out/osv.json" "$out/secgate.json" "$PWD/$dir" <<'PY'
import json, os, sys
osv, sg, root = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
def rep(ids):
    rank = lambda i: (0 if i.startswith("GHSA-") else 2 if i.startswith("CVE-") else 1, i)
    return sorted(ids, key=rank)[0]
a = set()
for src in osv.get("results", []):
    path = os.path.relpath(src["source"]["path"], root)
    for p in src["packages"]:
        for g in p.get("groups", []):
            a.add((path, p["package"]["name"], p["package"]["version"], rep(g["ids"])))
b = {(f["location"]["path"], f["location"]["package"], f["location"]["version"], f["id"])
     for f in sg["findings"] if f["kind"] == "vulnerability"}
print(f"  advisories: osv-scanner {len(a)}, secgate {len(b)}, only osv-scanner {len(a - b)}, only secgate {len(b - a)}")
for x in sorted(a - b): print("    only osv-scanner:", *x)
for x in sorted(b - a): print("    only secgate:    ", *x)
print("  identical" if a == b else "  DIFFERENT")
PY
