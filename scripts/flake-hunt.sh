#!/usr/bin/env bash
# Runs the whole workspace suite N times in a row with CPU burners beside it, and reports every
# failure of every run: a test that passes only on an idle machine fails here.
#
#   bash scripts/flake-hunt.sh [N] [-- extra cargo test arguments]
#
#   N                  runs (default 5)
#   FLAKE_BURNERS      busy-looping processes beside the suite (default: one per core)
#   FLAKE_COMMAND      the suite (default: cargo test --workspace --no-fail-fast: a failing test
#                      binary does not stop the others, so every failure of a run is seen); e.g.
#                      FLAKE_COMMAND="cargo test -p scenarios" HARNESS_BACKEND=localstack+moto ...
#
# Every run's output goes to target/flake-hunt/run-<i>.log. At the end: one line per failed
# test (run, test, log), then "flake-hunt: K of N runs failed". Exits 1 if any run failed. The
# burners are this script's own children and are stopped when it exits, however it exits.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:-5}
shift $(( $# > 0 ? 1 : 0 ))
[ "${1:-}" = "--" ] && shift
case $runs in
  '' | *[!0-9]* | 0) echo "flake-hunt: N must be a positive number of runs, got '$runs'" >&2; exit 2 ;;
esac
burners=${FLAKE_BURNERS:-$(nproc)}
case $burners in
  '' | *[!0-9]*) echo "flake-hunt: FLAKE_BURNERS must be a number, got '$burners'" >&2; exit 2 ;;
esac
read -r -a base <<< "${FLAKE_COMMAND:-cargo test --workspace --no-fail-fast}"
suite=("${base[@]}" "$@")

out=target/flake-hunt
mkdir -p "$out"

burner_pids=()
stop_burners() {
  for pid in "${burner_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${burner_pids[@]}"; do wait "$pid" 2>/dev/null; done
  burner_pids=()
}
trap stop_burners EXIT
trap 'exit 130' INT TERM

echo "flake-hunt: building the suite once before the runs (not timed, no burners)"
if ! "${base[@]}" --no-run >"$out/build.log" 2>&1; then
  tail -n 30 "$out/build.log" >&2
  echo "flake-hunt: the suite does not build; see $out/build.log" >&2
  exit 2
fi

for _ in $(seq "$burners"); do
  ( while :; do :; done ) &
  burner_pids+=("$!")
done
echo "flake-hunt: $runs run(s) of '${suite[*]}' beside $burners CPU burner(s) on $(nproc) core(s)"

failed_runs=0
report=()
for i in $(seq "$runs"); do
  log="$out/run-$i.log"
  start=$SECONDS
  "${suite[@]}" >"$log" 2>&1
  rc=$?
  took=$((SECONDS - start))
  if [ "$rc" -eq 0 ]; then
    echo "flake-hunt: run $i of $runs passed in ${took} s"
    continue
  fi
  failed_runs=$((failed_runs + 1))
  # libtest prints "test NAME ... FAILED" per failed test; a binary that crashed or did not
  # build has none, so the run is reported as a whole then.
  names=$(grep -E '^test .* \.\.\. FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' | sort -u)
  if [ -z "$names" ]; then
    names="(no test named; exit code $rc: $(grep -E '^error' "$log" | head -n 1))"
  fi
  while IFS= read -r name; do
    report+=("run $i: $name  ($log)")
  done <<< "$names"
  echo "flake-hunt: run $i of $runs FAILED in ${took} s (exit $rc); log: $log"
done
stop_burners

if [ "${#report[@]}" -gt 0 ]; then
  echo
  echo "flake-hunt: failures"
  printf '  %s\n' "${report[@]}"
fi
echo "flake-hunt: $failed_runs of $runs runs failed"
[ "$failed_runs" -eq 0 ]
