# syntax=docker/dockerfile:1
# The vace-mcp container image: one static binary on distroless, as a non-root user.
#   docker run -i --rm -e DASHSCOPE_API_KEY -v vace-mcp:/data ghcr.io/vace-mcp/vace-mcp
# stdio by default; for remote use add `--transport http` and an auth token (see README).
# CI (.ci/packaging) cannot build images: it lints this file and runs its `go build` line.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
# Set by BuildKit for each --platform.
ARG TARGETOS
ARG TARGETARCH
# The release tag (v1.2.3), printed by --version.
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w -X main.version=$VERSION" -o /out/vace-mcp .
# The volume's directories, owned by the image's user so a new named volume is writable.
RUN mkdir -p /out/data/state /out/data/videos

FROM gcr.io/distroless/static-debian12:nonroot
LABEL io.modelcontextprotocol.server.name="io.github.vace-mcp/vace-mcp" \
      org.opencontainers.image.title="vace-mcp" \
      org.opencontainers.image.description="MCP server for video editing with Alibaba Cloud DashScope (Wan VACE)" \
      org.opencontainers.image.source="https://github.com/vace-mcp/vace-mcp" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/vace-mcp /usr/local/bin/vace-mcp
COPY --from=build --chown=65532:65532 /out/data /data
# The job journal and saved videos live in /data: keep it in a volume so they outlive the
# container. 0.0.0.0 because a container's loopback is unreachable from outside; serving
# HTTP there still requires --auth-token (or --insecure-no-auth).
ENV VACE_MCP_STATE_DIR=/data/state \
    VACE_MCP_OUTPUT_DIR=/data/videos \
    VACE_MCP_ADDR=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/vace-mcp"]
