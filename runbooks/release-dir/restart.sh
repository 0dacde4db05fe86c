#!/usr/bin/env bash
# Restarts the service on the current release and waits until it is healthy.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

restart_and_check
emit "{\"pid\":$(service_pid),\"version\":\"$(current_version)\"}"
