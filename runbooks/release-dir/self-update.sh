#!/usr/bin/env bash
# Brings the node's own fleet-upgrade tooling to the version of the document that runs it.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

wanted="${FU_RUNBOOK_VERSION:-}"
[[ "$wanted" =~ ^[0-9a-f]{8,64}$ ]] || fail 2 "FU_RUNBOOK_VERSION is not a runbook hash: '$wanted'"
dest="$ROOT/opt/fleet-upgrade/runbook"
if [ -f "$dest/VERSION" ] && [ "$(tr -d '[:space:]' <"$dest/VERSION")" = "$wanted" ]; then
  emit "{\"runbookVersion\":\"$wanted\"}"
  exit 3
fi
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$dest.new"
cp "$src"/*.sh "$dest.new/"
printf '%s\n' "$wanted" >"$dest.new/VERSION"
rm -rf "$dest.old"
if [ -d "$dest" ]; then mv "$dest" "$dest.old"; fi
mv "$dest.new" "$dest"
rm -rf "$dest.old"
log "runbook $wanted installed in $dest"
emit "{\"runbookVersion\":\"$wanted\"}"
