#!/usr/bin/env bash
# Prepare a fresh Debian/Ubuntu machine to run every test of this project:
# the system packages of bindep.txt, and tox in a virtualenv at .venv/.
# Safe to run twice. Uses sudo for apt-get when not run as root.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian names of the packages bindep.txt lists for dpkg platforms.
packages=$(sed -n 's/^\([a-z0-9.+-]*\) .*platform:dpkg.*/\1/p' bindep.txt)
missing=""
for pkg in $packages; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    as_root apt-get update -qq
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $missing
fi

# The unprivileged user the drivers run as in the functional tests (through
# sudo and rootwrap), and cinder-volume in tools/deploy.
if ! getent passwd md-cinder >/dev/null; then
    as_root useradd --system --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin md-cinder
fi

python=${PYTHON:-python3}
# Some tools write .venv as a *file* (a pointer to an environment kept
# elsewhere); venv cannot create a directory over it. Keep it, renamed,
# rather than delete what another tool wrote.
if [ -e .venv ] && [ ! -d .venv ]; then
    kept=".venv.file.$(date +%Y%m%d%H%M%S)"
    mv .venv "$kept"
    echo "test-setup: .venv was a file; kept as $kept, creating .venv/"
fi
if [ ! -x .venv/bin/tox ]; then
    "$python" -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q 'tox>=4.0.0'
fi
echo "test setup done: run .venv/bin/tox"
