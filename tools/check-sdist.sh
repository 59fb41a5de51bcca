#!/usr/bin/env bash
# Install this project as a user would, outside any git tree, in a fresh
# virtualenv each time, and run the installed command (tox -e sdist):
#   1. the sdist "python -m build --sdist" makes, unpacked: pbr must take
#      the version from the sdist's PKG-INFO;
#   2. a "git archive" tree: pbr cannot find a version, unless PBR_VERSION
#      gives it, as README.rst says.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/manageable-driver-sdist.XXXXXX)
trap 'rm -rf "$work"' EXIT

check_install() {  # VENV SOURCE VERSION [ENV...]
    local venv=$1 source=$2 version=$3 got
    shift 3
    python -m venv "$venv"
    env "$@" "$venv/bin/pip" install -q "$source"
    got=$("$venv/bin/manageable-driver" --version)
    if [ "$got" != "manageable-driver $version" ]; then
        echo "$source installed as '$got', expected $version" >&2
        exit 1
    fi
    "$venv/bin/manageable-driver" list volumes --dir "$work" --format json \
        > /dev/null
    "$venv/bin/python" -m unittest -q manageable_driver.examples.test_inventory
    echo "installed $source: $got"
}

python -m build --sdist --outdir "$work/dist" "$top"
sdist=$(ls "$work/dist"/manageable_driver-*.tar.gz)
version=$(basename "$sdist" .tar.gz | sed 's/^manageable_driver-//')
mkdir "$work/unpacked"
tar -xzf "$sdist" -C "$work/unpacked"
check_install "$work/venv-sdist" "$work/unpacked/manageable_driver-$version" \
    "$version"

mkdir "$work/archive"
git -C "$top" archive HEAD | tar -x -C "$work/archive"
python -m venv "$work/venv-bare"
if "$work/venv-bare/bin/pip" install -q "$work/archive" 2> "$work/err"; then
    echo "a git archive tree installed without PBR_VERSION" >&2
    exit 1
fi
grep -q "Versioning for this project requires" "$work/err"
check_install "$work/venv-archive" "$work/archive" 1.2.3 PBR_VERSION=1.2.3
