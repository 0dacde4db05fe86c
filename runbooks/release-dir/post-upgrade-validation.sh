#!/usr/bin/env bash
# Proves the upgrade: target release current, service healthy at it, application state present.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version

current=''; read_trimmed current "$CURRENT/VERSION"
[ "$current" = "$FU_TARGET_VERSION" ] || fail 1 "current release is '$current', expected $FU_TARGET_VERSION"
wait_healthy || fail 1 "service is not healthy at $FU_TARGET_VERSION (heartbeat '$(cat "$HEARTBEAT" 2>/dev/null || true)')"
if [ -n "${FU_RUN_ID:-}" ] && [ -f "$(backup_dir "$FU_RUN_ID")/app/state.json" ]; then
  [ -s "$STATE_DIR/state.json" ] || fail 1 "$STATE_DIR/state.json is missing after the upgrade"
fi
emit "{\"version\":\"$current\"}"
