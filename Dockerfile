# A minimal image for the action: the secgate binary and git (the range
# scans run git). It runs as root because GitHub requires it of Docker
# actions (a USER cannot write the mounted GITHUB_WORKSPACE); secgate's own
# image-runs-as-root check flags that, rightly. The shipping work refines it
# (pinned base digests, a release image pinned in action.yml).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/secgate ./cmd/secgate

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
COPY --from=build /out/secgate /usr/local/bin/secgate
ENTRYPOINT ["/usr/local/bin/secgate"]
