#!/usr/bin/env bash
# The GitHub Action's install step (action.yml): puts `harness` on the job's PATH. When the
# install root already holds a harness that runs (restored by actions/cache under key.sh's key),
# nothing is built; otherwise `cargo install` builds it (a few minutes: the runner needs a Rust
# toolchain), from the action's own checkout, or from the tag given as the `version` input.
#
# Reads: HARNESS_INSTALL_ROOT (key.sh's root), INPUT_VERSION, GITHUB_ACTION_PATH,
#        GITHUB_ACTION_REPOSITORY. Writes: the root's bin/ to $GITHUB_PATH.
set -euo pipefail
: "${GITHUB_PATH:?GITHUB_PATH is not set: this script runs as a GitHub Actions step}"
root="${HARNESS_INSTALL_ROOT:?HARNESS_INSTALL_ROOT is not set (the root output of key.sh)}"
bin="$root/bin/harness"

if [ -x "$bin" ] && version=$("$bin" --version 2>/dev/null); then
  echo "first-apply: cached $version at $bin"
else
  command -v cargo >/dev/null || {
    echo "first-apply: no cargo on this runner to build the harness with; add a Rust toolchain step (e.g. dtolnay/rust-toolchain@stable) before this action" >&2
    exit 1
  }
  if [ -n "${INPUT_VERSION:-}" ]; then
    repo="${GITHUB_ACTION_REPOSITORY:?GITHUB_ACTION_REPOSITORY is not set: a local action (uses: ./) builds from its checkout; leave version empty}"
    echo "first-apply: building the harness $INPUT_VERSION from https://github.com/$repo"
    cargo install --locked --root "$root" --git "https://github.com/$repo" --tag "$INPUT_VERSION" harness
  else
    src="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}/harness"
    echo "first-apply: building the harness from $src"
    cargo install --locked --root "$root" --path "$src"
  fi
  version=$("$bin" --version)
  echo "first-apply: installed $version at $bin"
fi
echo "$root/bin" >>"$GITHUB_PATH"
