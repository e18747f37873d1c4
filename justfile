# Thin shortcuts over cargo and the scripts in scripts/. `just --list` shows them.
# Nothing here is required: every recipe is one or two commands you can run by hand.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Run every test (what CI runs): moto is bootstrapped on first use.
test:
    cargo test --workspace

# Reproduce the first-apply failure in a fresh account, then show both fixes.
repro:
    cargo run -p harness -- repro

# Emulator + fault proxy in the foreground; prints AWS_ENDPOINT_URL first. Extra args go to `harness up`.
up *ARGS:
    cargo run -p harness -- up {{ARGS}}

# Run a command in a fresh account behind the fault proxy, then report what it met:
# `just run -- aws sts get-caller-identity`, `just run --profile fresh-account -- terraform apply`.
# Arguments are passed as they are (quoted ones stay one argument: `just run -- sh -c 'a; b'`).
[positional-arguments]
run *ARGS:
    cargo run -q -p harness -- run "$@"

# Start / stop the docker-compose stack (moto + fault proxy on localhost:4566) with the locally
# built images (`just images` first). The foreground `just up` stops with Ctrl-C instead.
compose-up:
    docker-compose -f docker-compose.yml -f docker-compose.local.yml up -d --no-build

down:
    docker-compose -f docker-compose.yml -f docker-compose.local.yml down --remove-orphans

# docker-compose up, provisioner apply + destroy through the proxy, down.
compose-roundtrip:
    bash scripts/compose-roundtrip.sh

# Benchmarks: writes target/bench/results.json and results.md. The bench-fast profile is release
# for the proxy's path and debug-speed for the AWS SDK (Cargo.toml). Extra args go to the bench,
# e.g. `just bench --suite`.
bench *ARGS:
    cargo run --profile bench-fast -p bench -- {{ARGS}}

# Format check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Build the emulator and proxy images locally, without pulling anything (`just images all` adds LocalStack).
images *ARGS:
    bash scripts/build-images.sh {{ARGS}}

# Exactly what CI runs.
ci:
    bash .ci/run

# Regenerate faultproxy's operation table from the pinned botocore (creates target/botocore-venv).
gen-operations:
    python3 scripts/gen-operations.py

# Build the book (docs/ -> docs/book) and run the docs checks CI runs; needs `mdbook` 0.5.4 on
# PATH (`cargo install mdbook --locked --version 0.5.4`). `mdbook serve docs` previews it.
docs:
    mdbook build docs
    python3 scripts/check-docs.py --html docs/book
    python3 scripts/check-history.py
