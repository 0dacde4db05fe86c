#!/usr/bin/env bash
# DEA only: `kato node retire` evacuates the node's applications; waits until it reports drained.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"

[[ "$RETIRE_TIMEOUT" =~ ^[0-9]+$ ]] || fail 2 "FU_RETIRE_TIMEOUT_SECONDS is not a number: '$RETIRE_TIMEOUT'"
kato_run node retire >&2 || fail 5 "kato node retire failed"
start=$SECONDS
until [ "$(kato_run node retire --status)" = "drained" ]; do
  [ $((SECONDS - start)) -lt "$RETIRE_TIMEOUT" ] || fail 5 "the node did not report drained within ${RETIRE_TIMEOUT}s"
  sleep 1
done
emit "{\"drained\":true,\"waitedSeconds\":$((SECONDS - start))}"
