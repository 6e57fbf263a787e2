# Installs what the build, the demo and the tests need and are missing, so the
# README's two commands work on a fresh Debian 12 machine with only Swift on it.
# Sourced by scripts/demo.sh and Tests/run-all.sh (and through it by .ci/run).
#
#   need_build_packages    libsodium, libqrencode, SQLite and cairo headers, DejaVu fonts, pkg-config, git (swift build)
#   need_test_packages     the above plus sqlite3, openssl, curl, python3-venv, poppler-utils, and chromium
#                          with chromium-driver (the console's browser tests)
#   need_test_python       a virtual environment under .build/ with Tests/e2e/requirements.txt;
#                          sets TEST_PYTHON to its interpreter
#
# Debian packages are installed with apt-get as root, or through `sudo -n` when
# that works without a password; otherwise it stops and prints the exact
# command to run. Whatever is present already is left alone, so a second run
# installs nothing.

prereq_say() { printf '==> %s\n' "$*" >&2; }
prereq_stop() { printf '\nsetup: %s\n' "$*" >&2; exit 1; }

BUILD_PACKAGES=(libsodium-dev libqrencode-dev libsqlite3-dev libcairo2-dev fonts-dejavu-core pkg-config git ca-certificates)
TEST_PACKAGES=("${BUILD_PACKAGES[@]}" sqlite3 openssl curl python3 python3-venv poppler-utils chromium chromium-driver)

prereq_missing_packages() {
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$package"
    done
}

prereq_install_packages() {
    command -v swift >/dev/null \
        || prereq_stop "no Swift toolchain on PATH: install Swift 6 (https://www.swift.org/install/linux/) and run this again"
    if ! command -v dpkg-query >/dev/null; then
        # Not Debian: say what is needed rather than guess a package manager.
        pkg-config --exists libsodium libqrencode sqlite3 cairo 2>/dev/null && return 0
        prereq_stop "this is not a Debian system: install libsodium, libqrencode, SQLite 3 and cairo with their headers and pkg-config (macOS: brew install libsodium qrencode sqlite cairo pkg-config), then run this again"
    fi
    local missing
    mapfile -t missing < <(prereq_missing_packages "$@")
    [[ ${#missing[@]} -eq 0 ]] && return 0
    local as_root=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            prereq_stop "missing Debian packages: ${missing[*]}
Run this once as an administrator, then this command again:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
        fi
    fi
    prereq_say "installing Debian packages: ${missing[*]}"
    "${as_root[@]}" apt-get -o Acquire::Retries=3 update </dev/null \
        || prereq_stop "apt-get update failed (is the network reachable?)"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y --no-install-recommends \
        "${missing[@]}" </dev/null \
        || prereq_stop "apt-get install ${missing[*]} failed"
}

need_build_packages() { prereq_install_packages "${BUILD_PACKAGES[@]}"; }
need_test_packages() { prereq_install_packages "${TEST_PACKAGES[@]}"; }

# The venv is remade only when it is missing or requirements.txt changed (its
# checksum is kept beside it).
need_test_python() {
    local venv=".build/e2e-venv"
    local requirements="Tests/e2e/requirements.txt"
    local stamp="$venv/requirements.sha256"
    local wanted
    wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        TEST_PYTHON="$PWD/$venv/bin/python"
        return 0
    fi
    prereq_say "installing the Python test dependencies into $venv"
    mkdir -p .build
    python3 -m venv "$venv" || prereq_stop "python3 -m venv $venv failed (Debian: apt-get install python3-venv)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$venv/bin/python" -m pip install -q -r "$requirements" </dev/null \
        || prereq_stop "pip install -r $requirements failed (is the network reachable?)"
    printf '%s\n' "$wanted" >"$stamp"
    TEST_PYTHON="$PWD/$venv/bin/python"
}
