#!/usr/bin/env bash
# What a build costs a new user and a contributor (issue 30), measured as
# the issue measured it: the packages cmd/secgate links, the modules a cold
# build downloads, the README's first command from empty module and build
# caches (download, compile, the dry run on testdata/demo), the release
# binary's size and `secgate version`'s start-up. Run it on an idle
# machine: the cold build is two cores' worth of compiling.
#
# Usage: bench/build.sh   (outputs under bench/.out/build, removed first;
#                          network: the Go module proxy)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out/build
rm -rf "$out" && mkdir -p "$out"
out=$PWD/$out

printf 'packages linked (go list -deps ./cmd/secgate): %d; with the release tag grpcnotrace: %d (target <= 1,100)\n' \
  "$(go list -deps ./cmd/secgate | wc -l)" "$(go list -deps -tags grpcnotrace ./cmd/secgate | wc -l)"

# The README's first command, from empty caches: GOFLAGS=-modcacherw lets
# the script remove the module cache afterwards.
set +e
/usr/bin/time -f '%e %U %S' -o "$out/time" env GOMODCACHE="$out/mod" GOCACHE="$out/cache" GOFLAGS="$GOFLAGS -modcacherw" \
  go run ./cmd/secgate run --offline-db testdata/osvdb testdata/demo > "$out/readme.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "the README's first command exited $rc, want 1 (the demo fails the gate):"; tail "$out/readme.log"; exit 1; }
tail -n 1 "$out/time" | awk '{ printf "README first command, cold: %.1f s wall, %.1f CPU-s (target <= 100 s)\n", $1, $2 + $3 }'
du -sm "$out/mod/cache/download" | awk '{ printf "modules downloaded: %d MB (target <= 300 MB)\n", $1 }'
find "$out/mod/cache/download" -name '*.zip' -printf '%s %P\n' | sort -rn | head -5 |
  awk '{ sub(/\/@v\//, "@", $2); sub(/\.zip$/, "", $2); printf "  %5.1f MB  %s\n", $1 / 1e6, $2 }'

# The release binary (release/build-image.sh's settings), from the warm cache.
CGO_ENABLED=0 GOCACHE="$out/cache" GOMODCACHE="$out/mod" go build -tags grpcnotrace -trimpath -ldflags "-s -w" -o "$out/secgate" ./cmd/secgate
ls -l "$out/secgate" | awk '{ printf "release binary: %.1f MB (target <= 45 MB)\n", $5 / 1048576 }'
v=()
for _ in 1 2 3 4 5 6 7; do v+=("$(timed "$out/secgate" version)"); done
awk -v s="$(median "${v[@]}")" 'BEGIN { printf "secgate version: %.0f ms (median of 7)\n", s * 1000 }'
chmod -R u+w "$out/mod" && rm -rf "$out/mod" "$out/cache"
