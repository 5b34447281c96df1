#!/usr/bin/env bash
# Benchmark of secgate's secret stage against the gitleaks CLI of the same
# version (built with `go install`: Go's regexp, as the library we link), on
# the same trees (this repository, a real Go module from the module cache,
# and a generated ~50 MB tree dense with keywords) and on the history of a
# generated 5,000-commit repository (`gitleaks git` against `secgate run
# --history`), three runs each: wall time, CPU seconds and peak RSS, and a
# fourth, untimed, for the peak anonymous and file-backed memory of each
# tool's process tree (gitleaks' git log counts with it); then a
# commit-range scan of a 100-line diff on top of that repository. Targets:
# ratio <= 1.0x (goal 0.9x) on trees and history, RSS <= 1.3x, range scan
# < 1 s.
#
# Usage: bench/secrets.sh   (outputs under bench/.out/, reused between runs;
# after bench/precision.sh, also three real repositories' histories)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out  # hidden: the go tool ignores it (generated .go files)
mkdir -p "$out/bin"

GITLEAKS_VERSION=v8.30.1
if [ ! -x "$out/bin/gitleaks" ]; then
  echo "building gitleaks $GITLEAKS_VERSION ..." >&2
  GOBIN="$PWD/$out/bin" go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
fi
go build -o "$out/bin/secgate" ./cmd/secgate
go build -o "$out/bin/gentree" ./bench/gentree

tree="$out/tree50mb"
if [ ! -d "$tree" ]; then
  echo "generating $tree ..." >&2
  "$out/bin/gentree" -out "$tree" -mb 50
fi

# three runs of each tool, interleaved so that a slow spell of this shared
# machine hits both alike; medians compared (wall, CPU and peak RSS each)
compare() {
  local name=$1 dir=$2 gargs=$3 sargs=$4 g=() s=()
  # the two command lines, measured by $1 (measured, peakmem)
  # shellcheck disable=SC2086
  gl() { "$1" "$out/bin/gitleaks" $gargs --no-banner --log-level error --exit-code 0 --report-format json --report-path "$out/gitleaks-report.json" "$dir"; }
  # shellcheck disable=SC2086
  sg() { "$1" "$out/bin/secgate" run --only secrets --format json $sargs "$dir"; }
  for _ in 1 2 3; do
    g+=("$(gl measured)")
    s+=("$(sg measured)")
  done
  local gw sw gc sc gr sr gm sm
  gw=$(col 1 "${g[@]}") sw=$(col 1 "${s[@]}") gc=$(col 2 "${g[@]}") sc=$(col 2 "${s[@]}") gr=$(col 3 "${g[@]}") sr=$(col 3 "${s[@]}")
  gm=$(gl peakmem) sm=$(sg peakmem)
  printf '%-30s gitleaks %6.3fs %6.2f CPU-s %4d MB   secgate %6.3fs %6.2f CPU-s %4d MB   ratio wall %.2fx CPU %.2fx RSS %.2fx\n' \
    "$name" "$gw" "$gc" "$gr" "$sw" "$sc" "$sr" "$(ratio "$sw" "$gw")" "$(ratio "$sc" "$gc")" "$(ratio "$sr" "$gr")"
  printf '%-30s   memory of the process tree (a run of its own): anonymous / file-backed MB: gitleaks %s / %s, secgate %s / %s\n' \
    "" ${gm% *} ${gm#* } ${sm% *} ${sm#* }
}

median3() { local t=(); for _ in 1 2 3; do t+=("$(timed "$@")"); done; median "${t[@]}"; }

# this repository as committed (bench/.out itself excluded)
self="$out/self"
rm -rf "$self" && mkdir -p "$self" && git archive HEAD | tar -x -C "$self"
rm -f "$self/.gitleaks.toml" # both tools with the default rules: gitleaks would use only this file's

# a real Go module (go-git, as the module proxy serves it)
module=$(go mod download -json github.com/go-git/go-git/v5@v5.19.2 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
real="$out/go-git"
rm -rf "$real" && cp -r "$module" "$real" && chmod -R u+w "$real"

echo "secret stage, median of 3 runs (target: ratio <= 1.00x)"
compare "this repository" "$self" dir ""
compare "go-git v5.19.2 ($(du -sm "$real" | cut -f1) MB)" "$real" dir ""
compare "generated tree ($(du -sm "$tree" | cut -f1) MB)" "$tree" dir ""

repo="$out/repo5000"
if [ ! -d "$repo/.git" ]; then
  echo "generating a 5,000-commit repository ..." >&2
  git init -q -b main "$repo"
  "$out/bin/gentree" -commits 5000 | git -C "$repo" fast-import --quiet
  git -C "$repo" checkout -q main
  # a 100-line change on top
  for i in $(seq 1 100); do echo "line $i of the change: value$i := compute($i)"; done > "$repo/change.go"
  git -C "$repo" add change.go
  git -C "$repo" -c user.name=b -c user.email=b@example.com commit -qm "a 100-line change"
fi
r=$(median3 "$out/bin/secgate" run --only secrets --format json --base HEAD~1 --head HEAD "$repo")
h=$(median3 "$out/bin/secgate" run --only secrets --format json --history "$repo")
printf '%-28s %6.3fs   (target < 1 s)\n' "range scan, 100-line diff" "$r"
printf '%-28s %6.3fs   (for scale: all %d commits)\n' "full history scan" "$h" "$(git -C "$repo" rev-list --count HEAD)"
# secgate reads history with go-git (no git binary), gitleaks runs git log -p
compare "history, $(git -C "$repo" rev-list --count --all) commits" "$repo" git --history

# Real histories, when bench/precision.sh has fetched its repositories
# (pinned commits): the generated one is dense with keywords and has small
# blobs; these have real deltas, diffs and encoded test data.
for name in spf13+cobra heartcombo+devise psf+requests; do
  real="$out/precision/repos/$name"
  if [ -d "$real/.git" ]; then
    compare "history of ${name/+//} ($(git -C "$real" rev-list --count --all))" "$real" git --history
  else
    echo "history of ${name/+//}: not fetched (run bench/precision.sh first)"
  fi
done
