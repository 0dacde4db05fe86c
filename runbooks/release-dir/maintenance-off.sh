#!/usr/bin/env bash
# Takes the cluster out of maintenance mode (run on the core node).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rm -f "$RUN_DIR/maintenance"
emit '{"maintenanceMode":false}'
