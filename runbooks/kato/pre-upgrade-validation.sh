#!/usr/bin/env bash
# `kato node inspect`: the node's own health checks. Changes nothing.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kato_run node inspect >&2 || fail 1 "kato node inspect reported failures (see above)"
emit '{"checks":["kato node inspect"]}'
