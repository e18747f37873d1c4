#!/usr/bin/env bash
# docker-compose round trip with the locally built images (nothing pulled, nothing built by
# compose): up -d, AWS calls through the fault proxy on localhost:4566, then down.
# Exits non-zero on any failure; always brings the stack down.
#
#   scripts/compose-roundtrip.sh              IAM calls (curl) through the proxy, then
#                                             `provisioner apply` and `destroy` against it
#   HARNESS_ROUNDTRIP_PROVISIONER=0 scripts/compose-roundtrip.sh
#                                             only the curl calls
#   scripts/compose-roundtrip.sh all-in-one   the same against the all-in-one image (root
#                                             Dockerfile; docker-compose.all-in-one.yml), with the
#                                             fresh-account profile, a seed and a time scale from
#                                             the environment, and the control API from the host
#
# Needs the images: scripts/build-images.sh moto proxy (all-in-one: scripts/build-images.sh harness)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PORT=${HARNESS_PROXY_PORT:-4566}
URL="http://127.0.0.1:${PORT}"
PROJECT=${COMPOSE_PROJECT_NAME:-harness-roundtrip}
ACCOUNT=${HARNESS_ROUNDTRIP_ACCOUNT:-210987654321}  # not moto's default account: proves the proxy routes it
MODE=${1:-split}
case "$MODE" in
  split)
    COMPOSE=(docker-compose -p "$PROJECT" -f docker-compose.yml -f docker-compose.local.yml)
    IMAGES=("${HARNESS_MOTO_LOCAL_TAG:-harness-moto:5.2.5}" "${HARNESS_PROXY_LOCAL_TAG:-harness-proxy:local}")
    BUILD_HINT="scripts/build-images.sh moto proxy"
    ;;
  all-in-one)
    COMPOSE=(docker-compose -p "$PROJECT" -f docker-compose.all-in-one.yml)
    export HARNESS_IMAGE=${HARNESS_ALL_IN_ONE_LOCAL_TAG:-harness-all-in-one:local}
    IMAGES=("$HARNESS_IMAGE")
    BUILD_HINT="scripts/build-images.sh harness"
    # The image's settings come from the environment; short windows keep the apply quick.
    export HARNESS_PROFILE=${HARNESS_PROFILE:-fresh-account} HARNESS_SEED=${HARNESS_SEED:-7}
    export HARNESS_TIME_SCALE=${HARNESS_TIME_SCALE:-0.05}
    ;;
  *) printf '[compose-roundtrip] unknown mode %s (expected all-in-one, or nothing)\n' "$MODE" >&2; exit 2 ;;
esac

say() { printf '[compose-roundtrip] %s\n' "$*" >&2; }
die() { printf '[compose-roundtrip] FAILED: %s\n' "$*" >&2; exit 1; }

command -v docker-compose >/dev/null 2>&1 || die "docker-compose not found (Debian: apt-get install docker-compose)"
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine"
for image in "${IMAGES[@]}"; do
  docker image inspect "$image" >/dev/null 2>&1 || die "image $image missing: run $BUILD_HINT"
done

down() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    say "logs of the failed stack:"
    "${COMPOSE[@]}" logs --no-color --tail=40 >&2 || true
  fi
  say "docker-compose down"
  "${COMPOSE[@]}" down --remove-orphans --volumes >&2 || true
  left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
  if [ -n "$left" ]; then
    say "containers left behind: $left"
    rc=1
  fi
  exit "$rc"
}
trap down EXIT

# A SigV4-shaped header: the emulator does not verify signatures, the proxy reads the account,
# region and service from the credential scope.
auth() { printf 'AWS4-HMAC-SHA256 Credential=%s/20260101/us-east-1/%s/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000' "$ACCOUNT" "$1"; }
iam() {
  curl -sS -m 10 -X POST "$URL/" -H "Authorization: $(auth iam)" -H 'X-Amz-Date: 20260101T000000Z' \
    -H 'Content-Type: application/x-www-form-urlencoded; charset=utf-8' --data "$1&Version=2010-05-08"
}

t0=$(date +%s.%N)
say "docker-compose up -d --no-build (images: local)"
"${COMPOSE[@]}" up -d --no-build >&2

say "waiting for the proxy on $URL"
for _ in $(seq 1 120); do
  if curl -s -m 2 -o /dev/null "$URL/_harness/journal" 2>/dev/null || curl -s -m 2 -o /dev/null "$URL/" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
ready=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
say "stack answering after ${ready}s"

out=$(iam 'Action=ListRoles') || die "ListRoles through the proxy: curl failed"
grep -q '<ListRolesResponse' <<<"$out" || die "ListRoles: unexpected answer: $out"
say "ListRoles through the proxy: OK"

trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
enc=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$trust")
out=$(iam "Action=CreateRole&RoleName=roundtrip-role&AssumeRolePolicyDocument=$enc")
grep -q "arn:aws:iam::$ACCOUNT:role/roundtrip-role" <<<"$out" || die "CreateRole in account $ACCOUNT: $out"
say "CreateRole in account $ACCOUNT (proxy routed the account to moto): OK"
# Under the fresh-account profile a new role is "not found" for a moment (iam-read-after-write):
# asked again until it is there, as a client's retry would.
for _ in $(seq 1 60); do
  out=$(iam 'Action=GetRole&RoleName=roundtrip-role')
  grep -q '<RoleName>roundtrip-role</RoleName>' <<<"$out" && break
  grep -q 'NoSuchEntity' <<<"$out" || die "GetRole: $out"
  sleep 0.5
done
grep -q '<RoleName>roundtrip-role</RoleName>' <<<"$out" || die "GetRole: still not found: $out"
say "GetRole: OK"

if [ "$MODE" = all-in-one ]; then
  settings="profile $HARNESS_PROFILE, seed $HARNESS_SEED, time-scale $HARNESS_TIME_SCALE"
  logs=$("${COMPOSE[@]}" logs --no-color first-apply)
  grep -q "$settings" <<<"$logs" ||
    die "the container's harness up did not take '$settings' from the environment"
  say "harness up in the container: $settings"
  journal=$(curl -sS -m 10 "$URL/_harness/journal") || die "control API from the host: curl failed"
  grep -Eq '"operation": *"CreateRole"' <<<"$journal" || die "journal through the control API: $journal"
  say "control API from the host (journal): OK"
fi

if [ "${HARNESS_ROUNDTRIP_PROVISIONER:-1}" = 1 ]; then
  say "provisioner apply --endpoint-url $URL"
  export AWS_ACCESS_KEY_ID=$ACCOUNT AWS_SECRET_ACCESS_KEY=test AWS_REGION=${AWS_REGION:-ap-northeast-1}
  # HARNESS_PROVISIONER_BIN: a provisioner binary already built (CI passes the one from
  # `cargo build --workspace --all-targets`, which `cargo run -p provisioner` would rebuild with
  # the provisioner's own feature set).
  if [ -n "${HARNESS_PROVISIONER_BIN:-}" ]; then
    provisioner() { "$HARNESS_PROVISIONER_BIN" "$@"; }
  else
    provisioner() { cargo run -q -p provisioner -- "$@"; }
  fi
  provisioner apply --config "${HARNESS_ROUNDTRIP_STACK:-examples/stack.toml}" --endpoint-url "$URL" >&2 || die "provisioner apply"
  provisioner destroy --config "${HARNESS_ROUNDTRIP_STACK:-examples/stack.toml}" --endpoint-url "$URL" >&2 || die "provisioner destroy"
  say "provisioner apply + destroy: OK"
fi

say "round trip passed"
