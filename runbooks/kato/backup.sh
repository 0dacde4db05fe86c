#!/usr/bin/env bash
# Exports this node's data (`kato data export --only-this-node`) and remembers its version, for rollback.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_run_id

dir="$(backup_dir "$FU_RUN_ID")"
mkdir -p "$dir"
current="$(kato_version)"
kato_run data export --only-this-node "$dir/data.tgz" >&2 || fail 1 "kato data export failed"
[ -s "$dir/data.tgz" ] || fail 1 "kato data export wrote no data to $dir/data.tgz"
printf '%s\n' "$current" >"$(previous_version_file)"
emit "{\"backup\":$(json_string "$dir/data.tgz"),\"version\":\"$current\"}"
