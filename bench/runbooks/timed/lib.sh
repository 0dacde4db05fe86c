#!/usr/bin/env bash
# The benchmarks' runbook: every step sleeps its scaled duration and keeps the node's version in
# $ROOT/VERSION, nothing else. Durations (seconds) as issue 8 sets them: download 6, upgrade 4,
# restart 2, every other step 1; FU_BENCH_SCALE multiplies them (0: a no-op runbook).

# shellcheck disable=SC2034 # the step scripts that source this file use its variables

fu_lib_dir="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_lib_dir=.
if [ -f "$fu_lib_dir/common.sh" ]; then
  # shellcheck source=../../../runbooks/shared/common.sh
  . "$fu_lib_dir/common.sh"
else
  # shellcheck source=../../../runbooks/shared/common.sh
  . "$fu_lib_dir/../../../runbooks/shared/common.sh"
fi

# Step durations in milliseconds.
step_ms() {
  case "$1" in
    download) fu_ms=6000 ;;
    upgrade) fu_ms=4000 ;;
    restart) fu_ms=2000 ;;
    *) fu_ms=1000 ;;
  esac
}

# Only builtins up to the sleep: at scale 0 the runbook starts no process at all (it measures the orchestration).
bench_step() {
  local step="$1" scale="${FU_BENCH_SCALE:-1}"
  [[ "$scale" =~ ^([0-9]+)(\.([0-9]{1,3})[0-9]*)?$ ]] || fail 2 "FU_BENCH_SCALE is not a number: '$scale'"
  # scale in thousandths, as integers: bash has no floating point.
  local whole="${BASH_REMATCH[1]}" frac="${BASH_REMATCH[3]}000"
  local permille=$((10#$whole * 1000 + 10#${frac:0:3}))
  step_ms "$step"
  local ms=$((fu_ms * permille / 1000))
  if ((ms > 0)); then
    local millis
    printf -v millis '%03d' $((ms % 1000))
    sleep "$((ms / 1000)).$millis"
  fi
  local current
  read -r current <"$ROOT/VERSION" || [ -n "$current" ]
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
      read -r current <"$ROOT/VERSION" || [ -n "$current" ]
      emit "{\"version\":\"$current\"}" ;;
    *) emit "{\"step\":\"$step\"}" ;;
  esac
}
