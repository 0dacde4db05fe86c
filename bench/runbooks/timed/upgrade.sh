#!/usr/bin/env bash
# Benchmark step upgrade: sleeps its scaled duration (see lib.sh).
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
bench_step upgrade
