#!/usr/bin/env bash
# Checks the node can be upgraded: service healthy, state present, enough disk. Changes nothing.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"

service_healthy || fail 1 "check service: the service is not healthy (pid $(service_pid), heartbeat '$(cat "$HEARTBEAT" 2>/dev/null || true)')"
[ -d "$STATE_DIR" ] || fail 1 "check state: $STATE_DIR is missing"
[ -d "$FU_DIR" ] || mkdir -p "$FU_DIR"
free_kb="$(df -Pk "$FU_DIR" | awk 'NR == 2 { print $4 }')"
need_kb=$((50 * 1024))
[ "$free_kb" -ge "$need_kb" ] || fail 1 "check disk: ${free_kb} KiB free under $FU_DIR, need ${need_kb} KiB"
emit '{"checks":["service","state","disk"]}'
