#!/usr/bin/env bash
# Functions of the kato runbook: drives an Application Lifecycle Service (Stackato/Helion) node
# through its own `kato` commands. Sourced by every step script; never run on its own.

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

RETIRE_TIMEOUT="${FU_RETIRE_TIMEOUT_SECONDS:-600}"
# The version the node ran before this run's upgrade step switched it (what rollback returns to).
previous_version_file() { printf '%s/previous-version' "$(backup_dir "$FU_RUN_ID")"; }

# kato ARGS…: runs kato, echoing the command to the step's output so the operator sees what ran.
kato_run() {
  command -v kato >/dev/null 2>&1 || fail 127 "kato is not on the PATH of this node (is it an ALS node?)"
  log "+ kato $*"
  kato "$@"
}

# The node's version as kato reports it, checked against the version pattern.
kato_version() {
  local v
  v="$(kato_run node version | tr -d '[:space:]')"
  [[ "$v" =~ $VERSION_RE ]] || fail 1 "kato node version printed '$v', which is not a version"
  printf '%s' "$v"
}
