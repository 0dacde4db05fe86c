#!/usr/bin/env bash
# Puts the cluster in maintenance mode (run on the core node).
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"

mkdir -p "$RUN_DIR"
if [ ! -f "$RUN_DIR/maintenance" ]; then date -u +%Y-%m-%dT%H:%M:%SZ >"$RUN_DIR/maintenance"; fi
emit '{"maintenanceMode":true}'
