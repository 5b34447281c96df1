#!/usr/bin/env bash
# Interop check of secgate's signatures with the cosign CLI: builds cosign
# v2.6.5 with `go install` (minutes when cold; cached in bench/.out/bin),
# starts Debian's docker-registry on loopback unless SECGATE_TEST_REGISTRY
# names one, then runs gate/sign's TestSignOnDistributionWithCosign: secgate
# signs and attests random images (without and with a transparency-log entry
# from an in-process Rekor) with the verdict, an SBOM (CycloneDX without the
# log, SPDX with it) and a VEX document, and `cosign verify`, `cosign
# verify-attestation --type <secgate's predicate>`, `--type cyclonedx` or
# `--type spdxjson`, and `--type openvex` must accept them, while another key
# must be refused.
#
# Usage: bench/cosign-interop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out
mkdir -p "$out/bin"
COSIGN_VERSION=v2.6.5
if [ ! -x "$out/bin/cosign" ] || ! "$out/bin/cosign" version 2>/dev/null | grep -q "${COSIGN_VERSION#v}"; then
  echo "building cosign $COSIGN_VERSION (go install)"
  GOBIN="$PWD/$out/bin" go install "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"
fi
if [ -z "${SECGATE_TEST_REGISTRY:-}" ]; then
  command -v docker-registry >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null; }
  regdir=$(mktemp -d)
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/data\nhttp:\n  addr: 127.0.0.1:5056\n' "$regdir" > "$regdir/config.yml"
  docker-registry serve "$regdir/config.yml" > "$regdir/log" 2>&1 &
  regpid=$!
  trap 'kill $regpid 2>/dev/null; rm -rf "$regdir"' EXIT
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/5056) 2>/dev/null && break; sleep 0.1; done
  export SECGATE_TEST_REGISTRY=127.0.0.1:5056
fi
SECGATE_COSIGN="$PWD/$out/bin/cosign" go test -count=1 -v -run TestSignOnDistributionWithCosign ./gate/sign | grep -E 'cosign|PASS|FAIL|ok'
