#!/usr/bin/env bash
# The GitHub Action's start step (action.yml): starts `harness up` in the background (it outlives
# this step; report.sh stops it), waits until it prints its endpoint (it does so once moto and the
# fault proxy are ready; the first run installs moto, about a minute), and hands the job's later
# steps the endpoint, test credentials and region through $GITHUB_ENV, as `harness up` prints them.
#
# Reads: INPUT_PROFILE, INPUT_SEED, INPUT_TIME_SCALE, INPUT_PRESETS (space/comma separated),
#        INPUT_BACKEND, INPUT_LISTEN, RUNNER_TEMP; `harness` on PATH.
# Writes: $GITHUB_ENV (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
#         AWS_DEFAULT_REGION, HARNESS_ACCOUNT_ID); $GITHUB_OUTPUT (endpoint-url, account-id, dir);
#         $RUNNER_TEMP/first-apply/ (up.env, up.log, up.pid; journal.json once stopped).
set -euo pipefail
: "${GITHUB_ENV:?GITHUB_ENV is not set: this script runs as a GitHub Actions step}"
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: this script runs as a GitHub Actions step}"
dir="${RUNNER_TEMP:?RUNNER_TEMP is not set: this script runs as a GitHub Actions step}/first-apply"
mkdir -p "$dir"
command -v harness >/dev/null || { echo "first-apply: harness is not on PATH (the install step puts it there)" >&2; exit 1; }

args=(up --listen "${INPUT_LISTEN:-127.0.0.1:4566}" --journal "$dir/journal.json")
[ -n "${INPUT_BACKEND:-}" ] && args+=(--backend "$INPUT_BACKEND")
[ -n "${INPUT_PROFILE:-}" ] && args+=(--profile "$INPUT_PROFILE")
[ -n "${INPUT_SEED:-}" ] && args+=(--seed "$INPUT_SEED")
[ -n "${INPUT_TIME_SCALE:-}" ] && args+=(--time-scale "$INPUT_TIME_SCALE")
IFS=', ' read -r -a presets <<<"${INPUT_PRESETS:-}"
for preset in "${presets[@]}"; do
  [ -n "$preset" ] && args+=(--preset "$preset")
done

echo "first-apply: harness ${args[*]}"
# Its own session, so the end of this step does not signal it; stdin from /dev/null.
setsid harness "${args[@]}" >"$dir/up.env" 2>"$dir/up.log" </dev/null &
pid=$!
echo "$pid" >"$dir/up.pid"

# `harness up` prints the endpoint and credentials together, once ready; it exits on bad input.
limit=$((SECONDS + ${FIRST_APPLY_START_TIMEOUT:-600}))
until grep -q '^AWS_REGION=' "$dir/up.env"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "first-apply: harness up exited before it was ready:" >&2
    tail -n 40 "$dir/up.log" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$limit" ]; then
    echo "first-apply: harness up not ready after ${FIRST_APPLY_START_TIMEOUT:-600} s; its log:" >&2
    tail -n 40 "$dir/up.log" >&2
    exit 1
  fi
  sleep 1
done

value() { sed -n "s/^$1=//p" "$dir/up.env" | head -n 1; }
endpoint=$(value AWS_ENDPOINT_URL)
account=$(value AWS_ACCESS_KEY_ID)
region=$(value AWS_REGION)
{
  echo "AWS_ENDPOINT_URL=$endpoint"
  echo "AWS_ACCESS_KEY_ID=$account"
  echo "AWS_SECRET_ACCESS_KEY=$(value AWS_SECRET_ACCESS_KEY)"
  echo "AWS_REGION=$region"
  echo "AWS_DEFAULT_REGION=$region"
  echo "HARNESS_ACCOUNT_ID=$account"
} >>"$GITHUB_ENV"
{
  echo "endpoint-url=$endpoint"
  echo "account-id=$account"
  echo "dir=$dir"
} >>"$GITHUB_OUTPUT"
echo "first-apply: ready at $endpoint, account $account, region $region"
grep '^#' "$dir/up.env" || true
