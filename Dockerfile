# supra-sync: multi-stage build.
#
#   builder  rust (Debian bookworm) + cmake, libsasl2-dev, libssl-dev, ... for the vendored
#            librdkafka (Kafka feature, on by default) → release binary
#   runtime  debian:bookworm-slim with the shared libraries the binary links, the mapping
#            files, a non-root user
#
#   docker build -t supra-sync .
#   docker run --rm supra-sync --help

FROM rust:1.88-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake pkg-config libssl-dev libsasl2-dev zlib1g-dev libzstd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p supra-sync \
 && cp target/release/supra-sync /usr/local/bin/supra-sync

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 libsasl2-2 zlib1g libzstd1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/supra-sync supra-sync
COPY --from=builder /usr/local/bin/supra-sync /usr/local/bin/supra-sync
COPY mappings /etc/supra-sync/mappings
ENV SUPRA_SYNC_MAPPINGS=/etc/supra-sync/mappings
USER supra-sync
EXPOSE 9187
ENTRYPOINT ["supra-sync"]
CMD ["run"]
