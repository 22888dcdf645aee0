#!/usr/bin/env bash
# Side-by-side benchmark of Workhorse and its peers (see README.md beside this file).
# Usage: benchmarks/peers/run.sh [--jobs N] [--workers P] [--concurrency C] [--runs K] [--quick] …
# Creates benchmarks/peers/.venv with the pinned peers and this checkout of Workhorse if missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-python3}

if [ ! -x "$here/.venv/bin/python" ]; then
    "$PYTHON" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$here/requirements.txt" -e "$repo"
exec "$here/.venv/bin/python" "$here/run.py" "$@"
