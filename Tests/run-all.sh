#!/usr/bin/env bash
# The project's one test command: build, unit/API tests, then the end-to-end suite
# against the freshly built debug binary. Run it from the repository root:
#   Tests/run-all.sh
# Needs only a Swift toolchain: what else is missing (Debian packages, the Python
# test dependencies in a virtual environment under .build/) it installs first,
# or says exactly what to run when it cannot (see scripts/prerequisites.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$SECONDS

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nrun-all: FAILED: %s (after %ss)\n' "$*" "$((SECONDS - started))" >&2; exit 1; }

step "preflight: system packages and Python test dependencies"
source scripts/prerequisites.sh
need_test_packages
need_test_python
"$TEST_PYTHON" -c 'import pytest, requests, schemathesis, openapi_spec_validator, socketio, websocket, jsonschema' \
    || fail "$TEST_PYTHON lacks the e2e dependencies: remove .build/e2e-venv and run this again"

step "swift build (debug)"
swift build || fail "swift build"

step "swift test"
swift test || fail "swift test"

export E2E_SERVER_BIN="$PWD/.build/debug/recovery-server"
[[ -x "$E2E_SERVER_BIN" ]] || fail "swift build produced no $E2E_SERVER_BIN"

step "end-to-end tests against $E2E_SERVER_BIN"
status=0
"$TEST_PYTHON" -m pytest Tests/e2e -q -p no:cacheprovider || status=$?
case $status in
    0) ;;
    5) fail "pytest collected no end-to-end tests (exit 5): a run that tests nothing is not a pass" ;;
    *) fail "end-to-end tests (pytest exit $status)" ;;
esac

printf '\nrun-all: OK: swift build, swift test and the end-to-end tests all passed (%ss)\n' "$((SECONDS - started))"
