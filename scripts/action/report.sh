#!/usr/bin/env bash
# The GitHub Action's report step (action.yml, `step: report`, run last with `if: always()`):
# stops the `harness up` that start.sh started (SIGTERM; it writes its journal as it stops), turns
# the journal into a JUnit file and a Markdown summary (`harness report`), and appends the summary
# to $GITHUB_STEP_SUMMARY. The journal, the JUnit file and the logs stay in
# $RUNNER_TEMP/first-apply/ for actions/upload-artifact.
#
# Reads: INPUT_OUTCOME (the job's status: success, failure, cancelled; or an exit code), RUNNER_TEMP.
# Writes: $GITHUB_STEP_SUMMARY; $GITHUB_OUTPUT (dir, junit, journal, summary).
set -euo pipefail
: "${GITHUB_STEP_SUMMARY:?GITHUB_STEP_SUMMARY is not set: this script runs as a GitHub Actions step}"
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: this script runs as a GitHub Actions step}"
dir="${RUNNER_TEMP:?RUNNER_TEMP is not set: this script runs as a GitHub Actions step}/first-apply"

case "${INPUT_OUTCOME:-}" in
  success) code=0 ;;
  failure | cancelled) code=1 ;;
  '' ) echo "first-apply: the report step needs the job's outcome: add 'outcome: \${{ job.status }}' to its with:" >&2; exit 1 ;;
  *[!0-9]*) echo "first-apply: outcome '$INPUT_OUTCOME' is not success, failure, cancelled or an exit code" >&2; exit 1 ;;
  *) code=$INPUT_OUTCOME ;;
esac
[ -f "$dir/up.pid" ] || { echo "first-apply: no harness up was started in this job ($dir/up.pid missing): the start step must run first" >&2; exit 1; }

pid=$(cat "$dir/up.pid")
if kill -TERM "$pid" 2>/dev/null; then
  # It stops the proxy and the emulator and writes the journal, then exits.
  limit=$((SECONDS + ${FIRST_APPLY_STOP_TIMEOUT:-120}))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$limit" ]; then
      echo "first-apply: harness up (pid $pid) still running ${FIRST_APPLY_STOP_TIMEOUT:-120} s after SIGTERM; its log:" >&2
      tail -n 40 "$dir/up.log" >&2
      exit 1
    fi
    sleep 1
  done
fi
[ -f "$dir/journal.json" ] || { echo "first-apply: harness up wrote no journal ($dir/journal.json); its log:" >&2; tail -n 40 "$dir/up.log" >&2; exit 1; }

harness report --journal "$dir/journal.json" --exit-code "$code" \
  --report "junit=$dir/junit.xml" --report "markdown=$dir/summary.md"
cat "$dir/summary.md" >>"$GITHUB_STEP_SUMMARY"
{
  echo "dir=$dir"
  echo "junit=$dir/junit.xml"
  echo "journal=$dir/journal.json"
  echo "summary=$dir/summary.md"
} >>"$GITHUB_OUTPUT"
