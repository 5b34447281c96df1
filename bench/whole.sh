#!/usr/bin/env bash
# The whole gate against the tools users would otherwise chain: `secgate run`
# with every scanner (secrets, deps, manifests, dockerfile; and the image
# checks and the image's packages when an image is given) against the
# gitleaks CLI and the osv-scanner CLI at the versions secgate links, run
# one after the other, with the same offline database, on the same inputs:
# this repository, and a generated multi-ecosystem tree (a ~20 MB source
# tree, the real projects' lockfiles of gate/deps/testdata, the demo's
# planted secrets). Prints wall time, CPU seconds and peak RSS of each, the
# ratio (target <= 0.35x), and the binary's size; then secgate with an
# image from a local registry (Debian's docker-registry when installed,
# else the OCI layout release/build-image.sh wrote to bin/image).
#
# Usage: bench/whole.sh   (outputs under bench/.out/)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out
mkdir -p "$out/bin"
db=testdata/osvdb

GITLEAKS_VERSION=v8.30.1 OSV_SCANNER_VERSION=v2.5.0
[ -x "$out/bin/gitleaks" ] || GOBIN="$PWD/$out/bin" go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
[ -x "$out/bin/osv-scanner" ] || GOBIN="$PWD/$out/bin" go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$OSV_SCANNER_VERSION"
go build -tags grpcnotrace -trimpath -ldflags "-s -w" -o "$out/bin/secgate" ./cmd/secgate
go build -o "$out/bin/gentree" ./bench/gentree

self="$out/self"
rm -rf "$self" && mkdir -p "$self" && git archive HEAD | tar -x -C "$self"
rm -f "$self/.gitleaks.toml" "$self/.secgate.yml"  # every tool with its defaults
multi="$out/multi"
if [ ! -d "$multi" ]; then
  "$out/bin/gentree" -out "$multi" -mb 20
  cp -r gate/deps/testdata "$multi/lockfiles"
  cp -r testdata/demo "$multi/demo"
fi

# anchors DIR: gitleaks then osv-scanner, one after the other (wall, CPU
# summed; RSS the larger)
anchors() {
  local g o
  g=$(measured "$out/bin/gitleaks" dir --no-banner --log-level error --exit-code 0 --report-format json --report-path "$out/gl.json" "$1")
  o=$(measured "$out/bin/osv-scanner" scan source --offline --local-db-path "$db" --recursive --format json --output "$out/osv.json" "$1")
  echo "$g $o" | awk '{ printf "%.3f %.3f %d\n", $1 + $4, $2 + $5, ($3 > $6 ? $3 : $6) }'
}

compare() {
  local name=$1 dir=$2 a=() s=()
  for _ in 1 2 3; do
    a+=("$(anchors "$dir")")
    s+=("$(measured "$out/bin/secgate" run --offline-db "$db" --format json "$dir")")
  done
  local aw sw ac sc ar sr
  aw=$(col 1 "${a[@]}") sw=$(col 1 "${s[@]}") ac=$(col 2 "${a[@]}") sc=$(col 2 "${s[@]}") ar=$(col 3 "${a[@]}") sr=$(col 3 "${s[@]}")
  printf '%-34s gitleaks+osv-scanner %6.2fs %6.2f CPU-s %4d MB   secgate %6.2fs %6.2f CPU-s %4d MB   ratio %.2fx (target <= 0.35x)\n' \
    "$name" "$aw" "$ac" "$ar" "$sw" "$sc" "$sr" "$(ratio "$sw" "$aw")"
}

echo "the whole gate, median of 3 runs"
compare "this repository" "$self"
compare "multi-ecosystem tree ($(du -sm "$multi" | cut -f1) MB)" "$multi"

image=oci-layout:bin/image:ci
if command -v docker-registry >/dev/null && [ -d bin/image ]; then
  reg=$(mktemp -d)
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:5057\n' "$reg" > "$reg/config.yml"
  docker-registry serve "$reg/config.yml" >/dev/null 2>&1 &
  regpid=$!
  trap 'kill $regpid 2>/dev/null; rm -rf "$reg"' EXIT
  sleep 1
  image=$(go run ./release/imagebuild -push 127.0.0.1:5057/secgate/secgate:bench -from bin/image -ref ci)
fi
if [ -d bin/image ]; then
  s=()
  for _ in 1 2 3; do s+=("$(measured "$out/bin/secgate" run --offline-db "$db" --format json --image "$image" "$multi")"); done
  printf '%-34s secgate %6.2fs %6.2f CPU-s %4d MB (every scanner, the image from %s)\n' "multi-ecosystem tree + image" "$(col 1 "${s[@]}")" "$(col 2 "${s[@]}")" "$(col 3 "${s[@]}")" "${image%%/*}"
else
  echo "no image: run release/build-image.sh bin/image first (PLATFORMS=linux/amd64 VERSION=ci)"
fi
ls -l "$out/bin/secgate" | awk '{ printf "binary: %.1f MB (stripped, -trimpath)\n", $5 / 1048576 }'
