#!/usr/bin/env bash
# Side-by-side benchmark of Workhorse and its peers (see README.md beside this file).
# Usage: benchmarks/peers/run.sh [--jobs N] [--workers P] [--concurrency C] [--runs K] [--only …]
# Creates benchmarks/peers/.venv with the pinned peers if missing; Workhorse runs from ./.venv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-python3}

if [ ! -x "$repo/.venv/bin/workhorse" ]; then
    echo "no $repo/.venv/bin/workhorse: run  python3 -m venv .venv && .venv/bin/pip install -e .  first" >&2
    exit 2
fi
if [ ! -x "$here/.venv/bin/python" ]; then
    "$PYTHON" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
exec "$here/.venv/bin/python" "$here/run.py" "$@"
