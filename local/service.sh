#!/usr/bin/env bash
# The demo application's service, shipped in every package as bin/service: a small daemon that
# writes a heartbeat with its version, and reports "drained" once asked to drain (retire).
set -euo pipefail
root="${ROOT:?ROOT must name the node root}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(tr -d '[:space:]' <"$here/VERSION")"
run="$root/var/run/app"
mkdir -p "$run"
trap 'exit 0' TERM INT
while true; do
  state=serving
  if [ -f "$run/draining" ]; then state=drained; fi
  printf 'version=%s pid=%s time=%s state=%s\n' "$version" "$$" "$(date +%s)" "$state" >"$run/heartbeat.tmp"
  mv -f "$run/heartbeat.tmp" "$run/heartbeat"
  sleep 0.2 &
  wait $!
done
