#!/usr/bin/env bash
# Brings the node's own fleet-upgrade tooling to the version of the document that runs it.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

self_update_runbook
