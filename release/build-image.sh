#!/usr/bin/env bash
# release/build-image.sh OUTDIR: the release image, built without a
# container engine. Cross-compiles the static, stripped binary for each
# platform (CGO off, -trimpath, the version stamped) into dist/, then writes
# OUTDIR as an OCI layout holding three multi-platform indexes — VERSION
# (the image for docker run and Kubernetes, user 65532), VERSION-debug (the
# same with Debian's static busybox, for GitLab jobs: release/busybox.sh)
# and VERSION-action (the GitHub Action's, USER 0:0, see the Dockerfile) — with
# the Dockerfile's final-stage files, user, entrypoint and labels
# (release/imagebuild; its test holds the two in step).
#
#   PLATFORMS   default "linux/amd64 linux/arm64"
#   VERSION     default git describe;  REVISION  default the HEAD commit
#   SOURCE_DATE_EPOCH  the images' creation time (default the epoch: reproducible)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: release/build-image.sh OUTDIR}
export GOFLAGS=-buildvcs=false
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
revision=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
platforms=${PLATFORMS:-linux/amd64 linux/arm64}
mkdir -p dist
args=()
archs=()
for p in $platforms; do
  goos=${p%/*} goarch=${p#*/}
  bin="dist/secgate_${goos}_${goarch}"
  # -tags grpcnotrace: gRPC (linked through osv-scalibr's and sigstore's
  # clients) then leaves out golang.org/x/net/trace, whose init renders
  # html/template pages. A template's method calls are reflect.Method, and
  # with one reachable the linker keeps every exported method of every
  # linked type: 48.3 MiB without the tag, 33.3 MiB with it (issue 30).
  # .ci/run fails when a reflect.Method call is reachable again.
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -tags grpcnotrace -trimpath -ldflags "-s -w -X main.version=$version" -o "$bin" ./cmd/secgate
  args+=(-binary "$p=$bin" -busybox "$p=dist/busybox_${goos}_${goarch}")
  archs+=("$goarch")
done
ARCHS="${archs[*]}" release/busybox.sh dist
go run ./release/imagebuild -out "$out" -version "$version" -revision "$revision" "${args[@]}"
