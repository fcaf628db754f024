# syntax=docker/dockerfile:1

# Build stage: the host binary, with the bundled strategy components (built
# for wasm32-wasip2 by host/build.rs) and sample data compiled in.
FROM rust:1.95.0-slim-bookworm AS build
RUN rustup target add wasm32-wasip2
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin stratbox \
    && cp target/release/stratbox /stratbox

# Runtime stage: no shell, no package manager, a numeric non-root user.
# The exchange key is fetched at run time; no secret is in any layer.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /stratbox /usr/local/bin/stratbox
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/stratbox"]
CMD ["backtest"]
