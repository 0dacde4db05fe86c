#!/usr/bin/env bash
# Reports the node's version (`kato node version`); exit 3 when it is already at the target.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_target_version

current="$(kato_version)"
emit "{\"version\":\"$current\"}"
if [ "$current" = "$FU_TARGET_VERSION" ]; then exit 3; fi
