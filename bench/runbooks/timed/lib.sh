#!/usr/bin/env bash
# The benchmarks' runbook: every step sleeps its scaled duration and keeps the node's version in
# $ROOT/VERSION, nothing else. Durations (seconds) as issue 8 sets them: download 6, upgrade 4,
# restart 2, every other step 1; FU_BENCH_SCALE multiplies them (0: a no-op runbook).

# shellcheck disable=SC2034 # the step scripts that source this file use its variables

fu_lib_dir="$(dirname "${BASH_SOURCE[0]}")"
if [ -f "$fu_lib_dir/common.sh" ]; then
  # shellcheck source=../../../runbooks/shared/common.sh
  . "$fu_lib_dir/common.sh"
else
  # shellcheck source=../../../runbooks/shared/common.sh
  . "$fu_lib_dir/../../../runbooks/shared/common.sh"
fi

step_seconds() {
  case "$1" in
    download) echo 6 ;;
    upgrade) echo 4 ;;
    restart) echo 2 ;;
    *) echo 1 ;;
  esac
}

bench_step() {
  local step="$1" scale="${FU_BENCH_SCALE:-1}"
  [[ "$scale" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail 2 "FU_BENCH_SCALE is not a number: '$scale'"
  local seconds
  seconds="$(awk -v d="$(step_seconds "$step")" -v s="$scale" 'BEGIN { printf "%.3f", d * s }')"
  if [ "$seconds" != "0.000" ]; then sleep "$seconds"; fi
  local current
  current="$(tr -d '[:space:]' <"$ROOT/VERSION")"
  case "$step" in
    self-update) self_update_runbook ;;
    version-check)
      require_target_version
      emit "{\"version\":\"$current\"}"
      if [ "$current" = "$FU_TARGET_VERSION" ]; then exit 3; fi ;;
    upgrade)
      require_target_version
      printf '%s\n' "$current" >"$ROOT/VERSION.previous"
      printf '%s\n' "$FU_TARGET_VERSION" >"$ROOT/VERSION" ;;
    post-upgrade-validation)
      require_target_version
      [ "$current" = "$FU_TARGET_VERSION" ] || fail 1 "at $current, expected $FU_TARGET_VERSION"
      emit "{\"version\":\"$current\"}" ;;
    rollback)
      if [ -f "$ROOT/VERSION.previous" ]; then mv "$ROOT/VERSION.previous" "$ROOT/VERSION"; fi
      emit "{\"version\":\"$(tr -d '[:space:]' <"$ROOT/VERSION")\"}" ;;
    *) emit "{\"step\":\"$step\"}" ;;
  esac
}
