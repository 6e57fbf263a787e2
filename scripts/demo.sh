#!/usr/bin/env bash
# Runs the throw-away demo appliance on http://127.0.0.1:3000, first installing
# what the build needs and is missing (see scripts/prerequisites.sh). Arguments
# are passed to `recovery-server serve --demo`, e.g. --port 8080.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/prerequisites.sh
need_build_packages
exec swift run recovery-server serve --demo "$@"
