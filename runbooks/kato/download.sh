#!/usr/bin/env bash
# Downloads the target release onto the node without installing it (kato's --download-only),
# through HTTPS_PROXY when one is set.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_target_version

if [ -n "${HTTPS_PROXY:-}" ]; then export HTTPS_PROXY https_proxy="$HTTPS_PROXY"; fi
kato_run node upgrade --download-only --version "$FU_TARGET_VERSION" >&2 || fail 4 "kato could not download $FU_TARGET_VERSION"
emit "{\"downloaded\":\"$FU_TARGET_VERSION\"}"
