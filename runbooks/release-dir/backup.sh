#!/usr/bin/env bash
# Backs up the application state before anything changes; one backup per run.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_run_id

dest="$(backup_dir "$FU_RUN_ID")"
if [ -f "$dest/.complete" ]; then
  emit "{\"backupId\":\"$FU_RUN_ID\",\"files\":$(cat "$dest/.complete"),\"cached\":true}"
  exit 0
fi
[ -d "$STATE_DIR" ] || fail 1 "$STATE_DIR is missing: nothing to back up"
rm -rf "$dest"
mkdir -p "$dest"
cp -a "$STATE_DIR/." "$dest/app/"
(cd "$dest/app" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) >"$dest/SHA256SUMS"
files="$(wc -l <"$dest/SHA256SUMS" | tr -d ' ')"
printf '%s\n' "$(current_version)" >"$dest/version"
printf '%s\n' "$files" >"$dest/.complete"
emit "{\"backupId\":\"$FU_RUN_ID\",\"files\":$files}"
