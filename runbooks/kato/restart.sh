#!/usr/bin/env bash
# `kato restart`, then `kato status` must report every process running.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kato_run restart >&2 || fail 1 "kato restart failed"
kato_run status >&2 || fail 1 "kato status reports processes not running after the restart"
emit '{"restarted":true}'
