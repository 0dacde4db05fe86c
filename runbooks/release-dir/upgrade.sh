#!/usr/bin/env bash
# Unpacks the verified package into its release directory and switches `current` to it.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version

v="$FU_TARGET_VERSION"
from=''; read_trimmed from "$CURRENT/VERSION"
if [ "$from" = "$v" ] && [ -d "$RELEASES/$v" ]; then
  emit "{\"from\":\"$(cat "$FU_DIR/previous-version" 2>/dev/null || printf '%s' "$v")\",\"to\":\"$v\"}"
  exit 0
fi
name="$(package_name "$v")"
dir="$(download_dir "$v")"
[ -f "$dir/$name.verified" ] || fail 1 "no verified download of $v: run the download step first"
if [ ! -d "$RELEASES/$v" ]; then
  rm -rf "$RELEASES/$v.partial"
  mkdir -p "$RELEASES/$v.partial"
  tar -xzf "$dir/$name" -C "$RELEASES/$v.partial"
  packaged=''; read_trimmed packaged "$RELEASES/$v.partial/VERSION"
  [ "$packaged" = "$v" ] || fail 1 "package $name does not contain version $v"
  mv "$RELEASES/$v.partial" "$RELEASES/$v"
fi
mkdir -p "$FU_DIR"
if [ -n "$from" ]; then printf '%s\n' "$from" >"$FU_DIR/previous-version"; fi
switch_current "$v"
emit "{\"from\":\"$from\",\"to\":\"$v\"}"
