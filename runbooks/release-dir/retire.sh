#!/usr/bin/env bash
# Evacuates the node's work (DEA): asks the service to drain and waits until it reports drained.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"

timeout="${FU_RETIRE_TIMEOUT_SECONDS:-60}"
[[ "$timeout" =~ ^[0-9]+$ ]] || fail 2 "FU_RETIRE_TIMEOUT_SECONDS is not a number: '$timeout'"
[ -d "$RUN_DIR" ] || mkdir -p "$RUN_DIR"
TZ=UTC0 printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' -1 >"$RUN_DIR/draining"
start=$SECONDS
until read_heartbeat && [ "$hb_state" = "drained" ]; do
  [ $((SECONDS - start)) -lt "$timeout" ] || fail 5 "the node did not report drained within ${timeout}s"
  sleep 0.2
done
emit "{\"drained\":true,\"waitedSeconds\":$((SECONDS - start))}"
