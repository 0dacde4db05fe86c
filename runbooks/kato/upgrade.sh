#!/usr/bin/env bash
# Installs the downloaded release (`kato node upgrade`), without restarting: restart is its own step.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version
require_run_id

[ -f "$(previous_version_file)" ] || fail 1 "no backup of this run on the node: back up before upgrading"
kato_run node upgrade --version "$FU_TARGET_VERSION" --skip-download --no-restart >&2 || fail 1 "kato node upgrade to $FU_TARGET_VERSION failed"
emit "{\"version\":\"$FU_TARGET_VERSION\"}"
