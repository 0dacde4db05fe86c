#!/usr/bin/env bash
# `kato node inspect`: the node's own health checks. Changes nothing.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"

kato_run node inspect >&2 || fail 1 "kato node inspect reported failures (see above)"
emit '{"checks":["kato node inspect"]}'
