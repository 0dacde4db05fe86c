#!/usr/bin/env bash
# Installs the downloaded release (`kato node upgrade`), without restarting: restart is its own step.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_target_version
require_run_id

[ -f "$(previous_version_file)" ] || fail 1 "no backup of this run on the node: back up before upgrading"
kato_run node upgrade --version "$FU_TARGET_VERSION" --skip-download --no-restart >&2 || fail 1 "kato node upgrade to $FU_TARGET_VERSION failed"
emit "{\"version\":\"$FU_TARGET_VERSION\"}"
