#!/usr/bin/env bash
# `kato restart`, then `kato status` must report every process running.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"

kato_run restart >&2 || fail 1 "kato restart failed"
kato_run status >&2 || fail 1 "kato status reports processes not running after the restart"
emit '{"restarted":true}'
