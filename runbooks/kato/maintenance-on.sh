#!/usr/bin/env bash
# Puts the cluster in maintenance mode (run on the core node).
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"

kato_run config set cloud_controller_ng maintenance_mode true >&2 || fail 1 "kato could not enable maintenance mode"
emit '{"maintenanceMode":true}'
