#!/usr/bin/env bash
# Benchmark step rollback: sleeps its scaled duration (see lib.sh).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_step rollback
