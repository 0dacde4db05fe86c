#!/usr/bin/env bash
# The demo application's service, shipped in every package as bin/service: a small daemon that
# writes a heartbeat with its version, and reports "drained" once asked to drain (retire).
# It looks five times a second but forks only to publish a changed heartbeat (once a second, or at
# once when it starts draining): a cluster of sandboxes must not spend the machine on `date` and `sleep`.
set -euo pipefail
root="${ROOT:?ROOT must name the node root}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(tr -d '[:space:]' <"$here/VERSION")"
run="$root/var/run/app"
mkdir -p "$run"
trap 'exit 0' TERM INT
# A FIFO opened read-write never delivers a line: `read -t` on it is a sleep without a process.
tick="$run/.tick.$$"
rm -f "$tick"
mkfifo "$tick"
exec 3<>"$tick"
rm -f "$tick"
last=''
while true; do
  state=serving
  if [ -f "$run/draining" ]; then state=drained; fi
  printf -v now '%(%s)T' -1
  line="version=$version pid=$$ time=$now state=$state"
  if [ "$line" != "$last" ]; then
    printf '%s\n' "$line" >"$run/heartbeat.tmp"
    mv -f "$run/heartbeat.tmp" "$run/heartbeat"
    last="$line"
  fi
  read -r -t 0.2 -u 3 _ || true
done
