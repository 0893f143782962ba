# syntax=docker/dockerfile:1
# webhookd image: a static, stripped binary on distroless static, running as a non-root user.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t webhookd .
# The "receiver" target builds the sample webhook receiver used by docker-compose.yml.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so editing the code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# CGO off: the SQLite store is pure Go, so the binary runs on an image without libc.
# The sample receiver belongs to the deploy module (deploy/go.mod), hence go -C deploy.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/webhookd ./cmd/webhookd && \
    CGO_ENABLED=0 go -C deploy build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/receiver ./receiver && \
    mkdir -p /out/data

# Sample receiver (deploy/receiver) for docker-compose.yml.
FROM gcr.io/distroless/static-debian12:nonroot AS receiver
COPY --from=build /out/receiver /usr/local/bin/receiver
USER 65532:65532
EXPOSE 8090
ENTRYPOINT ["/usr/local/bin/receiver"]

# The default target: webhookd.
FROM gcr.io/distroless/static-debian12:nonroot AS webhookd
ARG VERSION=dev
LABEL org.opencontainers.image.title="webhookd" \
      org.opencontainers.image.description="Turns entity change events from NATS JetStream into signed, retried webhooks" \
      org.opencontainers.image.source="https://github.com/webhookd/webhookd" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/webhookd /usr/local/bin/webhookd
# The embedded NATS server's users: it listens on all interfaces here, which webhookd allows
# only with authentication. Standalone, run it with the roles' passwords in the environment:
# WEBHOOKD_NATS_USER=webhookd, NATS_WEBHOOKD_PASSWORD and WEBHOOKD_NATS_PASSWORD (the same: the
# server's and webhookd's own), NATS_PUBLISHER_PASSWORD, NATS_OPERATOR_PASSWORD,
# NATS_VIEWER_PASSWORD (docs/operations.md).
COPY deploy/nats/users.conf /etc/webhookd/nats-users.conf
# Standalone mode keeps the embedded NATS server's and the SQLite store's files here.
COPY --from=build --chown=65532:65532 /out/data /var/lib/webhookd
ENV WEBHOOKD_DATA_DIR=/var/lib/webhookd \
    WEBHOOKD_HTTP_ADDR=:8080 \
    WEBHOOKD_EMBEDDED_NATS_LISTEN=0.0.0.0:4222 \
    WEBHOOKD_EMBEDDED_NATS_CONFIG=/etc/webhookd/nats-users.conf \
    WEBHOOKD_NATS_INBOX_PREFIX=_INBOX_webhookd
# In a container the embedded NATS server (standalone mode) must listen on all interfaces to be
# reachable through a published port; it is only started when WEBHOOKD_NATS_URL is empty.
VOLUME ["/var/lib/webhookd"]
WORKDIR /var/lib/webhookd
USER 65532:65532
# 8080: /metrics, /healthz, /readyz. 4222: the embedded NATS server in standalone mode.
EXPOSE 8080 4222
ENTRYPOINT ["/usr/local/bin/webhookd"]
