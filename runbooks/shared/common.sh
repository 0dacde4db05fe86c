#!/usr/bin/env bash
# Functions every runbook shares. Embedded in every SSM document beside the runbook's own scripts and
# sourced by each runbook's lib.sh; never run on its own.
# Contract: environment in, exit code out (0 ok, 3 nothing to do, anything else failed); the last
# stdout line may be a JSON object with details. Every path is under $ROOT ("/" on a real node).

# shellcheck disable=SC2034 # the step scripts that source this file use these
# A failure inside $(…) stops the step too, not just the command substitution.
shopt -s inherit_errexit

ROOT="${FLEET_UPGRADE_ROOT:-/}"
ROOT="${ROOT%/}"
FU_DIR="$ROOT/var/lib/fleet-upgrade"

VERSION_RE='^[0-9]+(\.[0-9]+){0,3}(-[0-9A-Za-z]+(\.[0-9A-Za-z]+)*)?$'
RUN_ID_RE='^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$'

log() { printf '%s\n' "$*" >&2; }

# fail CODE MESSAGE: say why on stderr and stop the step with CODE.
fail() {
  local code="$1"
  shift
  log "error: $*"
  exit "$code"
}

# Details for the orchestrator: a compact JSON object as the last stdout line.
emit() { printf '%s\n' "$1"; }

# read_trimmed NAME FILE: FILE's content with every whitespace character removed, into the variable NAME
# ('' when FILE is missing). As `NAME="$(tr -d '[:space:]' <FILE)"`, without starting a process: a fork +
# exec costs milliseconds of CPU, and every step reads versions and pids.
read_trimmed() {
  local -n fu_read_into="$1"
  local fu_read_content=''
  fu_read_into=''
  [ -f "$2" ] || return 0
  IFS= read -r -d '' fu_read_content <"$2" || true
  fu_read_into="${fu_read_content//[[:space:]]/}"
}

json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}

require_target_version() {
  [[ "${FU_TARGET_VERSION:-}" =~ $VERSION_RE ]] || fail 2 "FU_TARGET_VERSION is not a version: '${FU_TARGET_VERSION:-}'"
}

require_run_id() {
  [[ "${FU_RUN_ID:-}" =~ $RUN_ID_RE ]] || fail 2 "FU_RUN_ID is not a run id: '${FU_RUN_ID:-}'"
}

backup_dir() { printf '%s/backups/%s' "$FU_DIR" "$1"; }

# Installs this runbook (the directory the running scripts came from) as the node's own tooling,
# unless the node already has this exact runbook version. Exit 3 when it was already current.
self_update_runbook() {
  local wanted="${FU_RUNBOOK_VERSION:-}"
  [[ "$wanted" =~ ^[0-9a-f]{8,64}$ ]] || fail 2 "FU_RUNBOOK_VERSION is not a runbook hash: '$wanted'"
  local dest="$ROOT/opt/fleet-upgrade/runbook"
  local have=''
  if [ -f "$dest/VERSION" ]; then read -r have <"$dest/VERSION" || true; fi
  if [ "$have" = "$wanted" ]; then
    emit "{\"runbookVersion\":\"$wanted\"}"
    exit 3
  fi
  local src
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
}
