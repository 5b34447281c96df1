# The secgate release image: one static binary on an empty base — no shell,
# no package manager, no git (history is read with go-git) — running as
# user 65532. release/build-image.sh builds the same image in Go, without an
# engine (release/imagebuild; its test holds the two in step), and the
# release workflow pushes, gates and signs it.
#
# Three targets, the same files:
#   docker build --target release .  the image for `docker run` and Kubernetes (USER 65532)
#   docker build --target debug .    the same with busybox in /busybox: GitLab jobs (their scripts need a shell)
#   docker build --target action .   the GitHub Action's image, and the last stage, because GitHub builds
#                                    action.yml's `image: Dockerfile` without a target (release tags pin
#                                    the pushed image instead). GitHub runs Docker actions as the image's
#                                    user and documents that only root can write the workspace and the
#                                    step's output files; secgate starts as root only to become the
#                                    workspace's owner (the runner's uid) before it reads anything.
#
# The build stage is pinned by digest (Dependabot's docker ecosystem keeps it current).
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build
ARG TARGETOS TARGETARCH VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# grpcnotrace: see release/build-image.sh (the binary is 35 MB with it, 48 without).
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags grpcnotrace -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/secgate ./cmd/secgate \
 && mkdir -p /dirs/home/nonroot /dirs/tmp

FROM scratch AS release
ARG VERSION=dev REVISION=unknown
COPY --from=build /out/secgate /usr/local/bin/secgate
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY release/rootfs/ /
COPY --from=build --chown=65532:65532 /dirs/home/nonroot /home/nonroot
COPY --from=build --chmod=1777 /dirs/tmp /tmp
ENV PATH=/usr/local/bin HOME=/home/nonroot
WORKDIR /src
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/secgate"]
LABEL org.opencontainers.image.title="secgate" \
      org.opencontainers.image.description="The security gate of a CI pipeline: secrets, dependencies, images and deploy manifests, judged by a CVSS-tiered policy" \
      org.opencontainers.image.source="https://github.com/secgate/secgate" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# GitLab's Docker executor runs a job's script with the image's shell: the
# debug variant adds Debian's static busybox (pinned by version and sum, as
# release/busybox.sh) in /busybox, as distroless' and kaniko's :debug do.
FROM build AS busybox
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) sum=3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744 ;; \
      arm64) sum=732c9135564fc71337e0e05fb4da4d11e6c28c1834bce3e405e575afef2a52f5 ;; \
      *) echo "no busybox for $TARGETARCH"; exit 1 ;; \
    esac \
 && curl -fsSLo /tmp/bb.deb "http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_1.35.0-4+deb12u1+b1_${TARGETARCH}.deb" \
 && echo "$sum  /tmp/bb.deb" | sha256sum -c \
 && dpkg-deb -x /tmp/bb.deb /tmp/bb && mkdir /busybox && install -m 0755 /tmp/bb/bin/busybox /busybox/busybox \
 && for a in sh ash cat chmod cp cut date echo env false grep gzip head id ls mkdir mv printf pwd rm sed sleep sort tail tar test touch tr true uname wc which xargs; do ln -s busybox "/busybox/$a"; done

FROM release AS debug
COPY --from=busybox /busybox/ /busybox/
ENV PATH=/usr/local/bin:/busybox

FROM release AS action
ENV SECGATE_AS_WORKSPACE_OWNER=1
USER 0:0
