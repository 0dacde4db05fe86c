#!/usr/bin/env bash
# Returns the node to the version it ran before this run, with its state restored from the backup.
# Safe after a failure at any step and safe to repeat.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_run_id

shopt -s nullglob
for partial in "$RELEASES"/*.partial; do rm -rf "$partial"; done
backup="$(backup_dir "$FU_RUN_ID")"
previous=''; read_trimmed previous "$backup/version"
current=''; read_trimmed current "$CURRENT/VERSION"
# Without this run's backup the node was not switched by this run (backup comes before upgrade): only a
# node at the target (switched by the run this one resumes) goes back to the version recorded at the switch.
# A node still at its old version stays there: previous-version may be from an earlier run's upgrade.
if [ -z "$previous" ] && [ "$current" = "${FU_TARGET_VERSION:-}" ]; then
  read_trimmed previous "$FU_DIR/previous-version"
fi
if [ -n "$previous" ] && [ "$current" != "$previous" ]; then
  switch_current "$previous"
fi
restored=false
if [ -f "$backup/.complete" ]; then
  mkdir -p "$STATE_DIR"
  find "$STATE_DIR" -mindepth 1 -delete
  cp -a "$backup/app/." "$STATE_DIR/"
  restored=true
fi
restart_and_check
read_trimmed current "$CURRENT/VERSION"
emit "{\"version\":\"$current\",\"restoredBackup\":$restored}"
