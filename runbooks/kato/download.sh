#!/usr/bin/env bash
# Downloads the target release onto the node without installing it (kato's --download-only),
# through HTTPS_PROXY when one is set.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version

if [ -n "${HTTPS_PROXY:-}" ]; then export HTTPS_PROXY https_proxy="$HTTPS_PROXY"; fi
kato_run node upgrade --download-only --version "$FU_TARGET_VERSION" >&2 || fail 4 "kato could not download $FU_TARGET_VERSION"
emit "{\"downloaded\":\"$FU_TARGET_VERSION\"}"
