#!/usr/bin/env bash
# The project's one test command: build, unit/API tests, then the end-to-end suite
# against the freshly built debug binary. Run it from the repository root:
#   Tests/run-all.sh
# Needs a Swift toolchain, libsodium-dev, libsqlite3-dev, the sqlite3 shell, and
# python3 with Tests/e2e/requirements.txt installed (.ci/run sets that up on Debian 12).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$SECONDS

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nrun-all: FAILED: %s (after %ss)\n' "$*" "$((SECONDS - started))" >&2; exit 1; }

step "preflight"
command -v swift >/dev/null || fail "swift is not on PATH"
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is not installed (apt-get install sqlite3)"
python3 -c 'import pytest, requests, schemathesis, openapi_spec_validator, socketio, websocket, jsonschema' \
    || fail "python3 lacks the e2e dependencies: python3 -m pip install -r Tests/e2e/requirements.txt"

step "swift build (debug)"
swift build || fail "swift build"

step "swift test"
swift test || fail "swift test"

export E2E_SERVER_BIN="$PWD/.build/debug/recovery-server"
[[ -x "$E2E_SERVER_BIN" ]] || fail "swift build produced no $E2E_SERVER_BIN"

step "end-to-end tests against $E2E_SERVER_BIN"
status=0
python3 -m pytest Tests/e2e -q -p no:cacheprovider || status=$?
case $status in
    0) ;;
    5) fail "pytest collected no end-to-end tests (exit 5): a run that tests nothing is not a pass" ;;
    *) fail "end-to-end tests (pytest exit $status)" ;;
esac

printf '\nrun-all: OK: swift build, swift test and the end-to-end tests all passed (%ss)\n' "$((SECONDS - started))"
