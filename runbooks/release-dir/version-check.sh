#!/usr/bin/env bash
# Reports the installed version; exit 3 when the node already runs the target version.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version

current=''; read_trimmed current "$CURRENT/VERSION"
[ -n "$current" ] || fail 1 "no release is installed: $CURRENT/VERSION is missing"
[[ "$current" =~ $VERSION_RE ]] || fail 1 "installed version is not a version: '$current'"
emit "{\"version\":\"$current\"}"
if [ "$current" = "$FU_TARGET_VERSION" ]; then exit 3; fi
