#!/usr/bin/env bash
# Install Workhorse into .venv and run `workhorse serve --demo` on the embedded SQLite database.
# Usage: ./scripts/demo.sh [serve options…]   (Ctrl-C stops it gracefully)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/workhorse serve --demo "$@"
