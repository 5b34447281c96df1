#!/usr/bin/env bash
# End-to-end check of a real Debian image, built with no container engine
# and no image pull: mmdebstrap makes a bookworm root filesystem from
# Debian's packages, umoci turns it into an OCI image, skopeo copies it to a
# docker-archive. The image runs as root, has a shell and apt: secgate must
# say so, on both sources. Installs the three tools with apt when missing.
#
# Usage: bench/debian-e2e.sh   (outputs under bench/.out/debian/; about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out/debian
mkdir -p "$out" bench/.out/bin
for tool in mmdebstrap umoci skopeo; do
  command -v "$tool" >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap umoci skopeo >/dev/null; break; }
done
go build -o bench/.out/bin/secgate ./cmd/secgate

if [ ! -f "$out/debian.tar" ]; then
  rm -rf "$out/oci" "$out/bundle"
  mmdebstrap --quiet bookworm "$out/rootfs.tar"
  umoci init --layout "$out/oci"
  umoci new --image "$out/oci:bookworm"
  umoci unpack --rootless --image "$out/oci:bookworm" "$out/bundle"
  tar -C "$out/bundle/rootfs" -xf "$out/rootfs.tar"
  umoci repack --image "$out/oci:bookworm" "$out/bundle"
  umoci config --image "$out/oci:bookworm" --config.cmd=/bin/bash
  skopeo copy --quiet "oci:$out/oci:bookworm" "docker-archive:$out/debian.tar:debian:bookworm"
  rm -rf "$out/bundle" "$out/rootfs.tar"
fi
du -h "$out/debian.tar" | cut -f1 | xargs echo "docker-archive size:"

fail=0
for src in "oci-layout:$out/oci" "docker-archive:$out/debian.tar"; do
  start=$(date +%s.%N)
  bench/.out/bin/secgate run --only image --format json --report "$out/report.json" --image "$src" "$out" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  python3 - "$out/report.json" "$src" "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
rules = sorted({f["rule"] for f in r["findings"]})
print(f"{sys.argv[2]}: {sys.argv[3]} s, verdict {r['verdict']}, checks fired: {', '.join(rules)}")
want = {"image-runs-as-root", "image-has-shell", "image-has-package-manager"}
missing = want - set(rules)
if missing or r["scanners"][0]["status"] != "ok":
    print("  MISSING:", sorted(missing), r["scanners"])
    sys.exit(1)
PY
done
exit $fail
