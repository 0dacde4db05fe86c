#!/usr/bin/env bash
# Puts the cluster in maintenance mode (run on the core node).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$RUN_DIR"
if [ ! -f "$RUN_DIR/maintenance" ]; then date -u +%Y-%m-%dT%H:%M:%SZ >"$RUN_DIR/maintenance"; fi
emit '{"maintenanceMode":true}'
