#!/usr/bin/env bash
# Puts the cluster in maintenance mode (run on the core node).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kato_run config set cloud_controller_ng maintenance_mode true >&2 || fail 1 "kato could not enable maintenance mode"
emit '{"maintenanceMode":true}'
