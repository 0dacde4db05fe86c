#!/usr/bin/env bash
# After the restart: the node reports the target version and `kato node inspect` passes.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version

current="$(kato_version)"
[ "$current" = "$FU_TARGET_VERSION" ] || fail 1 "kato node version reports $current, expected $FU_TARGET_VERSION"
kato_run node inspect >&2 || fail 1 "kato node inspect reported failures after the upgrade (see above)"
emit "{\"version\":\"$current\"}"
