#!/bin/sh
# Entry point of the fault-proxy image: `faultproxy` in front of the emulator.
# Settings from the environment (docker-compose passes them through):
#   HARNESS_UPSTREAM  emulator URL, e.g. http://emulator:5000 (required)
#   HARNESS_LISTEN    default 0.0.0.0:4566 (set in the image)
#   HARNESS_PRESETS   fault presets, separated by commas or spaces, e.g. "slr-delay=5s,seed=7"
#   HARNESS_FLAVOR    moto | localstack | other | auto (default auto: probes the upstream)
#   HARNESS_SEED      global seed for probabilistic presets
#   HARNESS_CONTROL_API  loopback | any (set to any in the image: host clients come through the
#                     published port)
# Extra arguments are passed to `faultproxy` as they are.
set -eu
# docker-compose passes unset settings as empty strings: treat those as unset.
for v in HARNESS_SEED HARNESS_FLAVOR HARNESS_PRESETS; do
  eval "[ -n \"\${$v:-}\" ] || unset $v"
done
presets=$(printf '%s' "${HARNESS_PRESETS:-}" | tr ',' ' ')
for p in $presets; do
  set -- "$@" --preset "$p"
done
exec /usr/local/bin/faultproxy "$@"
