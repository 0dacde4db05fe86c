#!/usr/bin/env bash
# Exports this node's data (`kato data export --only-this-node`) and remembers its version, for rollback.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_run_id

dir="$(backup_dir "$FU_RUN_ID")"
mkdir -p "$dir"
current="$(kato_version)"
kato_run data export --only-this-node "$dir/data.tgz" >&2 || fail 1 "kato data export failed"
[ -s "$dir/data.tgz" ] || fail 1 "kato data export wrote no data to $dir/data.tgz"
printf '%s\n' "$current" >"$(previous_version_file)"
emit "{\"backup\":$(json_string "$dir/data.tgz"),\"version\":\"$current\"}"
