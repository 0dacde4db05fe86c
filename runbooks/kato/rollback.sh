#!/usr/bin/env bash
# Returns the node to the version it ran before this run and re-imports its data. Idempotent, and safe
# at any point: before the backup nothing was changed, so there is nothing to undo.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_run_id

dir="$(backup_dir "$FU_RUN_ID")"
if [ ! -f "$(previous_version_file)" ]; then
  log "no backup of run $FU_RUN_ID on this node: it was not changed"
  emit "{\"version\":\"$(kato_version)\",\"restoredBackup\":false}"
  exit 0
fi
previous="$(tr -d '[:space:]' <"$(previous_version_file)")"
[[ "$previous" =~ $VERSION_RE ]] || fail 1 "the recorded previous version is not a version: '$previous'"
if [ "$(kato_version)" != "$previous" ]; then
  kato_run node upgrade --version "$previous" --skip-download --no-restart --force >&2 || fail 1 "kato could not return to $previous"
fi
kato_run data import --only-this-node "$dir/data.tgz" >&2 || fail 1 "kato data import of $dir/data.tgz failed"
kato_run restart >&2 || fail 1 "kato restart failed"
kato_run status >&2 || fail 1 "kato status reports processes not running after the rollback"
emit "{\"version\":\"$previous\",\"restoredBackup\":true}"
