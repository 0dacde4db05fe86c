#!/usr/bin/env bash
# Restarts the service on the current release and waits until it is healthy.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"

restart_and_check
pid=''; read_trimmed pid "$PID_FILE"
version=''; read_trimmed version "$CURRENT/VERSION"
emit "{\"pid\":$pid,\"version\":\"$version\"}"
