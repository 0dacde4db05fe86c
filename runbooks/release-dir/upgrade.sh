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
verified_key=''
if [ -f "$dir/$name.verified" ]; then read -r _ verified_key <"$dir/$name.verified" || true; fi
# Only a package whose signature the download step checked against the key pinned now is installed.
if [ -z "$verified_key" ] || [ "$verified_key" != "${FU_PACKAGE_KEY:-}" ]; then
  fail 1 "no download of $v verified with the pinned package key: run the download step first"
fi
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
