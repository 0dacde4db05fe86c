#!/usr/bin/env bash
# Takes the cluster out of maintenance mode (run on the core node).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kato_run config set cloud_controller_ng maintenance_mode false >&2 || fail 1 "kato could not disable maintenance mode"
emit '{"maintenanceMode":false}'
