#!/usr/bin/env bash
# Runs the GitHub Action's steps (action.yml -> scripts/action/*.sh) outside GitHub, as the runner
# would: GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP and
# RUNNER_TOOL_CACHE are temporary files and directories, and between steps the environment and
# PATH grow from GITHUB_ENV and GITHUB_PATH as on a runner. The harness is the one built here
# (HARNESS_BIN, default target/debug/harness), placed where actions/cache would restore it, so the
# install step takes its cached path. A client step calls STS through the exported endpoint, then
# the report step must stop `harness up` and leave a summary, a JUnit file and a journal.
#
# Not run here (GitHub is unreachable): actions/cache itself, install.sh's `cargo install` (the
# cache-miss path), the runner's expression evaluation of action.yml.
#
#   bash scripts/action/test.sh        (from .ci/run; needs python3)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HARNESS_BIN="${HARNESS_BIN:-$ROOT/target/debug/harness}"
[ -x "$HARNESS_BIN" ] || { echo "action test: no harness at $HARNESS_BIN; build it (cargo build -p harness) or set HARNESS_BIN" >&2; exit 1; }

tmp=$(mktemp -d)
up_pid=""
cleanup() {
  # A failed run must not leave `harness up` behind.
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then kill -TERM "$up_pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "action test: FAILED: $*" >&2; exit 1; }

export GITHUB_ENV="$tmp/github_env" GITHUB_PATH="$tmp/github_path" GITHUB_OUTPUT="$tmp/github_output"
export GITHUB_STEP_SUMMARY="$tmp/step_summary" RUNNER_TEMP="$tmp/runner_temp" RUNNER_TOOL_CACHE="$tmp/tool_cache"
export GITHUB_ACTION_PATH="$ROOT" RUNNER_OS=Linux
touch "$GITHUB_ENV" "$GITHUB_PATH" "$GITHUB_OUTPUT" "$GITHUB_STEP_SUMMARY"
mkdir -p "$RUNNER_TEMP" "$RUNNER_TOOL_CACHE"
# The installed copy is in no target dir: its files go to this cache (docs/src/installation.md).
export XDG_CACHE_HOME="$tmp/cache"
unset CARGO_TARGET_DIR AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION
# The moto this checkout's harness installed, so the copy does not install moto again.
moto=$(ls "$ROOT"/target/harness/moto-venv-*/bin/moto_server 2>/dev/null | head -n 1 || true)
if [ -n "$moto" ]; then
  export HARNESS_MOTO_SERVER="$moto"
else
  echo "action test: no moto venv under target/harness yet; the harness installs moto into $XDG_CACHE_HOME (about a minute)"
fi

# One action step: a fresh GITHUB_OUTPUT, then the environment a runner gives the next step.
step() {
  : >"$GITHUB_OUTPUT"
  echo "---- step: $*"
  local rc=0
  env "$@" || rc=$?
  while IFS= read -r dir; do PATH="$dir:$PATH"; done <"$GITHUB_PATH"
  : >"$GITHUB_PATH"
  set -a
  # shellcheck disable=SC1090
  . "$GITHUB_ENV"
  set +a
  return "$rc"
}
output() { sed -n "s/^$1=//p" "$GITHUB_OUTPUT" | tail -n 1; }

# action.yml runs these scripts and passes these inputs.
for script in key install start report; do
  grep -q "scripts/action/$script.sh" "$ROOT/action.yml" || fail "action.yml does not run scripts/action/$script.sh"
done
for input in VERSION PROFILE SEED TIME_SCALE PRESETS BACKEND LISTEN OUTCOME; do
  grep -q "INPUT_$input: \${{ inputs\." "$ROOT/action.yml" || fail "action.yml does not pass INPUT_$input"
done

# 1. key: the install root and the cache key.
step bash "$ROOT/scripts/action/key.sh"
root=$(output root)
key=$(output key)
case "$key" in first-apply-harness-Linux-src-*) ;; *) fail "cache key '$key'" ;; esac
[ "$root" = "$RUNNER_TOOL_CACHE/first-apply/${key#first-apply-harness-Linux-}" ] || fail "install root '$root'"
step INPUT_VERSION='v1;rm' bash "$ROOT/scripts/action/key.sh" 2>"$tmp/err" && fail "a bad version tag was accepted"
grep -q "is not a tag name" "$tmp/err" || fail "bad version message: $(cat "$tmp/err")"

# 2. install: what actions/cache restores under that key is used as it is.
mkdir -p "$root/bin"
cp "$HARNESS_BIN" "$root/bin/harness"
step HARNESS_INSTALL_ROOT="$root" bash "$ROOT/scripts/action/install.sh" >"$tmp/install.out"
grep -q "^first-apply: cached harness " "$tmp/install.out" || fail "install did not take the cached harness: $(cat "$tmp/install.out")"
[ "$(command -v harness)" = "$root/bin/harness" ] || fail "harness on PATH is $(command -v harness)"

# 3. start: harness up in the background; the endpoint, credentials and region exported.
step INPUT_PROFILE=fresh-account INPUT_SEED=7 INPUT_TIME_SCALE=0.5 INPUT_PRESETS="throttle=100, latency=1" \
  INPUT_BACKEND=moto INPUT_LISTEN=127.0.0.1:0 bash "$ROOT/scripts/action/start.sh"
up_pid=$(cat "$RUNNER_TEMP/first-apply/up.pid")
for var in AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION HARNESS_ACCOUNT_ID; do
  grep -q "^$var=." "$GITHUB_ENV" || fail "$var not in GITHUB_ENV: $(cat "$GITHUB_ENV")"
done
case "$AWS_ENDPOINT_URL" in http://127.0.0.1:[0-9]*) ;; *) fail "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" ;; esac
[[ "$AWS_ACCESS_KEY_ID" =~ ^[0-9]{12}$ ]] || fail "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID is not an account id"
[ "$(output account-id)" = "$AWS_ACCESS_KEY_ID" ] || fail "account-id output"
grep -q "seed 7, time-scale 0.5" "$RUNNER_TEMP/first-apply/up.env" || fail "harness up did not get the inputs: $(cat "$RUNNER_TEMP/first-apply/up.env")"

grep -q "presets=.*throttle=100 latency=1" "$RUNNER_TEMP/first-apply/up.log" \
  || fail "the presets input did not reach harness up: $(cat "$RUNNER_TEMP/first-apply/up.log")"

# 4. the job's own step: one STS call through the exported settings (throttled by the preset).
code=$(python3 - <<'PY'
import os, urllib.request, urllib.error
ep, key, region = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_REGION"]
h = {"Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/sts/aws4_request, SignedHeaders=host, Signature=0",
     "Content-Type": "application/x-www-form-urlencoded"}
req = urllib.request.Request(ep + "/", data=b"Action=GetCallerIdentity&Version=2011-06-15", headers=h)
try:
    with urllib.request.urlopen(req) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
)
[ "$code" = 400 ] || fail "the throttled STS call answered $code"

# 5. report: needs the outcome; then stops harness up, writes summary, JUnit file and journal.
step bash "$ROOT/scripts/action/report.sh" 2>"$tmp/err" && fail "report ran without an outcome"
grep -q "outcome: \${{ job.status }}" "$tmp/err" || fail "missing-outcome message: $(cat "$tmp/err")"
step INPUT_OUTCOME=failure bash "$ROOT/scripts/action/report.sh"
kill -0 "$up_pid" 2>/dev/null && fail "harness up (pid $up_pid) still runs after the report step"
dir="$RUNNER_TEMP/first-apply"
[ "$(output junit)" = "$dir/junit.xml" ] || fail "junit output '$(output junit)'"
grep -q '| `preset:throttle` | failed | sts:GetCallerIdentity Throttling x' "$GITHUB_STEP_SUMMARY" || fail "step summary: $(cat "$GITHUB_STEP_SUMMARY")"
grep -q 'On but never triggered (' "$GITHUB_STEP_SUMMARY" || fail "step summary names no quiet behaviour"
grep -q '<skipped message="never triggered"/>' "$dir/junit.xml" || fail "JUnit file: $(cat "$dir/junit.xml")"
grep -q '<testcase classname="harness.the job" name="preset:throttle">' "$dir/junit.xml" || fail "JUnit file: $(cat "$dir/junit.xml")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["program"] is None and d["entries"], d' "$dir/journal.json" \
  || fail "journal $dir/journal.json"
grep -rqs "AWS4-HMAC-SHA256" "$dir" && fail "a request's Authorization header ended up in $dir"

# 6. a bad input fails the start step with harness up's own message.
: >"$GITHUB_ENV"
step INPUT_PROFILE=old-account INPUT_LISTEN=127.0.0.1:0 bash "$ROOT/scripts/action/start.sh" 2>"$tmp/err" \
  && fail "start accepted profile old-account"
grep -q "harness up exited before it was ready" "$tmp/err" && grep -q "old-account" "$tmp/err" \
  || fail "bad-profile message: $(cat "$tmp/err")"
[ -s "$GITHUB_ENV" ] && fail "a failed start exported: $(cat "$GITHUB_ENV")"

echo "action test: all steps passed"
