#!/usr/bin/env bash
# Reports the node's version (`kato node version`); exit 3 when it is already at the target.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version

current="$(kato_version)"
emit "{\"version\":\"$current\"}"
if [ "$current" = "$FU_TARGET_VERSION" ]; then exit 3; fi
