#!/usr/bin/env bash
# Functions of the release-dir runbook (on top of the shared common.sh). Sourced by every step script; never run on its own.
# Contract: environment in, exit code out (0 ok, 3 nothing to do, anything else failed); the last
# stdout line may be a JSON object with details. Every path is under $ROOT ("/" on a real node).

# shellcheck disable=SC2034 # the step scripts that source this file use its variables

# In the SSM document every file sits in one directory; in the repository common.sh is in ../shared.
fu_lib_dir="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_lib_dir=.
if [ -f "$fu_lib_dir/common.sh" ]; then
  # shellcheck source=../shared/common.sh
  . "$fu_lib_dir/common.sh"
else
  # shellcheck source=../shared/common.sh
  . "$fu_lib_dir/../shared/common.sh"
fi

APP_DIR="$ROOT/opt/app"
RELEASES="$APP_DIR/releases"
CURRENT="$APP_DIR/current"
STATE_DIR="$ROOT/var/lib/app"
RUN_DIR="$ROOT/var/run/app"
LOG_DIR="$ROOT/var/log/app"
PID_FILE="$RUN_DIR/service.pid"
HEARTBEAT="$RUN_DIR/heartbeat"
HEALTH_TIMEOUT="${FU_HEALTH_TIMEOUT_SECONDS:-15}"

# The version `current` points to, or nothing when the node has no release installed.
# (In a hot path, `read_trimmed VAR "$CURRENT/VERSION"` saves the subshell.)
current_version() {
  local v
  read_trimmed v "$CURRENT/VERSION"
  printf '%s' "$v"
}

package_name() { printf 'app-%s.tar.gz' "$1"; }
download_dir() { printf '%s/downloads/%s' "$FU_DIR" "$1"; }

# Atomically points `current` at releases/<version> (relative link, so a sandbox can move).
switch_current() {
  local version="$1"
  [ -d "$RELEASES/$version" ] || fail 1 "release $version is not installed under $RELEASES"
  ln -sfn "releases/$version" "$APP_DIR/current.new"
  mv -T "$APP_DIR/current.new" "$CURRENT"
}

service_pid() {
  local pid
  read_trimmed pid "$PID_FILE"
  printf '%s' "$pid"
}

# Alive and not a zombie: a detached service that exited waits, unreaped, for init to collect it — on some
# machines for seconds — and `kill -0` still succeeds on it (that made every restart wait for the reaping).
pid_alive() {
  local pid="$1" stat=''
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/stat" ]; then
    read -r stat <"/proc/$pid/stat" 2>/dev/null || return 1
    stat="${stat##*) }"
    [ "${stat%% *}" != Z ] || return 1
  fi
  return 0
}

# The service's heartbeat ("version=V pid=P time=T state=S", one line, replaced atomically) into
# hb_version, hb_time and hb_state ('' when missing); no process.
read_heartbeat() {
  hb_version='' hb_time='' hb_state=''
  [ -f "$HEARTBEAT" ] || return 0
  local -a words=()
  local word
  read -r -a words <"$HEARTBEAT" || true
  for word in "${words[@]}"; do
    case "$word" in
      version=*) hb_version="${word#version=}" ;;
      time=*) hb_time="${word#time=}" ;;
      state=*) hb_state="${word#state=}" ;;
    esac
  done
}

# Healthy: the service process is alive and its heartbeat is fresh and reports the current version.
# Builtins only: restart and the validations call this in a loop.
service_healthy() {
  local pid now version
  read_trimmed pid "$PID_FILE"
  pid_alive "$pid" || return 1
  read_heartbeat
  [[ "$hb_time" =~ ^[0-9]+$ ]] || return 1
  printf -v now '%(%s)T' -1
  [ $((now - hb_time)) -le 5 ] || return 1
  read_trimmed version "$CURRENT/VERSION"
  [ "$hb_version" = "$version" ] || return 1
}

wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT))
  while ! service_healthy; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

stop_service() {
  local pid
  read_trimmed pid "$PID_FILE"
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while pid_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$PID_FILE"
}

# Starts the current release's service fully detached: it must not hold the step's output open.
start_service() {
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  [ -x "$CURRENT/bin/service" ] || fail 1 "the current release has no executable bin/service"
  rm -f "$HEARTBEAT"
  ROOT="$ROOT" setsid nohup "$CURRENT/bin/service" >>"$LOG_DIR/service.log" 2>&1 </dev/null &
  printf '%s\n' "$!" >"$PID_FILE"
}

restart_and_check() {
  stop_service
  start_service
  rm -f "$RUN_DIR/draining"
  wait_healthy || fail 1 "service did not become healthy at version $(current_version) within ${HEALTH_TIMEOUT}s (see $LOG_DIR/service.log)"
}
