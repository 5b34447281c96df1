#!/usr/bin/env bash
# Benchmark of the image checks on random images of 10 MB, 100 MB and 1 GB in
# an in-process registry: requests and time of the config-only checks
# (target: <= 2 round trips, < 100 ms whatever the size), time and peak RSS
# of the full checks (target: <= 300 MB on 1 GB). Needs ~3 GB of memory.
#
# Usage: bench/image.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out # hidden: the go tool ignores it
mkdir -p "$out/bin"
go build -o "$out/bin/secgate" ./cmd/secgate
go build -o "$out/bin/imagebench" ./bench/imagebench
"$out/bin/imagebench" -secgate "$out/bin/secgate"
