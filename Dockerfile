# The all-in-one image: moto and the harness, serving a fresh AWS account on port 4566.
#
#   docker build -t first-apply .
#   docker run --rm -p 127.0.0.1:4566:4566 -e HARNESS_SEED=42 first-apply
#   AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=123456789012 AWS_SECRET_ACCESS_KEY=test \
#     AWS_REGION=ap-northeast-1 terraform apply
#
# Settings from the environment (`harness up`'s flags, docs/src/containers.md):
#   HARNESS_PROFILE      fresh-account (this image's default) or default
#   HARNESS_SEED         seed of the model windows and probabilistic presets (default: random, logged)
#   HARNESS_TIME_SCALE   multiplies every model window (0.05 runs a 20 s window in 1 s)
#   HARNESS_PRESETS      fault presets, comma separated: throttle=10,latency=50
#   HARNESS_CONTROL_API  any (this image's default: clients come through the published port) or loopback
# Machines without a registry build the same image from local packages instead:
# scripts/build-images.sh harness (images/harness/Dockerfile.local).
ARG MOTO_VERSION=5.2.5

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p harness --bin harness \
 && install -m 0755 target/release/harness /usr/local/bin/harness

FROM debian:bookworm-slim
ARG MOTO_VERSION
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/moto \
 && /opt/moto/bin/pip install --no-cache-dir "moto[server]==${MOTO_VERSION}" \
 && (/opt/moto/bin/python -m compileall -q -j 0 /opt/moto/lib >/dev/null || true)
COPY --from=build /usr/local/bin/harness /usr/local/bin/harness
# The moto installed above; the harness would otherwise install its own on first start.
ENV HARNESS_MOTO_SERVER=/opt/moto/bin/moto_server \
    HARNESS_BACKEND=moto \
    HARNESS_PROFILE=fresh-account \
    HARNESS_CONTROL_API=any \
    MOTO_IAM_LOAD_MANAGED_POLICIES=true \
    LANG=C.UTF-8
EXPOSE 4566
# Ready when the control API answers (harness up prints the endpoint at the same moment).
HEALTHCHECK --interval=2s --timeout=3s --start-period=5s --retries=60 \
  CMD ["/opt/moto/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4566/_harness/health', timeout=2)"]
ENTRYPOINT ["/usr/local/bin/harness", "up", "--listen", "0.0.0.0:4566"]
CMD []
