#!/usr/bin/env bash
# The GitHub Action's first step (action.yml): where the harness is installed and the cache key
# of that install. With the `version` input (a tag of this repository) the key is that tag; without
# it the harness is built from the action's own checkout, and the key is a hash of its sources, so
# a changed checkout never reuses an old binary.
#
# Reads: INPUT_VERSION, GITHUB_ACTION_PATH, RUNNER_OS, RUNNER_TOOL_CACHE (else RUNNER_TEMP).
# Writes to $GITHUB_OUTPUT: key, root (the `cargo install --root`).
set -euo pipefail
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: this script runs as a GitHub Actions step}"
action_path="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: this script runs as a GitHub Actions step}"
base="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:?neither RUNNER_TOOL_CACHE nor RUNNER_TEMP is set}}"

if [ -n "${INPUT_VERSION:-}" ]; then
  case "$INPUT_VERSION" in
    *[!A-Za-z0-9._-]*) echo "first-apply: version '$INPUT_VERSION' is not a tag name (letters, digits, '.', '_', '-'), e.g. v0.1.0" >&2; exit 1 ;;
  esac
  id="tag-$INPUT_VERSION"
else
  # The sources the harness is built from: every Rust, Python and Cargo file of the checkout.
  hash=$(cd "$action_path" && find faultproxy harness provisioner Cargo.toml Cargo.lock \
    -type f \( -name '*.rs' -o -name '*.py' -o -name 'Cargo.*' -o -name '*.txt' \) -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  id="src-$hash"
fi
key="first-apply-harness-${RUNNER_OS:-Linux}-$id"
root="$base/first-apply/$id"
echo "key=$key" >>"$GITHUB_OUTPUT"
echo "root=$root" >>"$GITHUB_OUTPUT"
echo "first-apply: harness install root $root (cache key $key)"
