#!/usr/bin/env bash
# release/busybox.sh DIR: Debian's static busybox for linux/amd64 and
# linux/arm64 (pinned by version and SHA-256), extracted to
# DIR/busybox_linux_<arch>, for the image's -debug variant: GitLab's Docker
# executor runs a job's script with the image's shell, and the release
# image has none. The same version and sums as the Dockerfile's debug stage.
set -euo pipefail
dir=${1:?usage: release/busybox.sh DIR}
version=1.35.0-4+deb12u1+b1
declare -A sums=(
  [amd64]=3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744
  [arm64]=732c9135564fc71337e0e05fb4da4d11e6c28c1834bce3e405e575afef2a52f5
)
mkdir -p "$dir"
for arch in ${ARCHS:-amd64 arm64}; do
  out="$dir/busybox_linux_$arch"
  [ -x "$out" ] && continue
  tmp=$(mktemp -d)
  curl -fsSL -o "$tmp/bb.deb" "http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_${version}_${arch}.deb"
  echo "${sums[$arch]}  $tmp/bb.deb" | sha256sum -c --quiet
  dpkg-deb -x "$tmp/bb.deb" "$tmp/x"
  install -m 0755 "$tmp/x/bin/busybox" "$out"
  rm -rf "$tmp"
done
