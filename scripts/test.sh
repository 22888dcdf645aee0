#!/usr/bin/env bash
# Install everything the test suite needs, then run lint, type checks and every test.
# Usage: ./scripts/test.sh [pytest args…]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

bash scripts/ensure-services.sh

echo "== ruff"
.venv/bin/ruff check src tests
.venv/bin/ruff format --check src tests
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
# Coverage includes the CLI processes the tests start (see [tool.coverage.run]). Its threshold
# (fail_under) is for the whole suite: a run of some tests (paths, node ids, -k, -m) reports
# coverage without failing on it.
threshold=()
for arg in "$@"; do
    case "$arg" in
        -k | -k* | -m | -m* | --deselect* | --lf | --last-failed | --sw | --stepwise)
            threshold=(--cov-fail-under=0) ;;
        -*) ;;
        *) if [ -e "${arg%%::*}" ]; then threshold=(--cov-fail-under=0); fi ;;
    esac
done
# Two pytest-xdist workers, a test file each at a time: the suite waits on processes and
# databases more than on the CPU (WORKHORSE_TEST_WORKERS=0 runs it in one process).
exec .venv/bin/pytest -n "${WORKHORSE_TEST_WORKERS:-2}" --dist loadfile \
    --cov --cov-report=term:skip-covered "${threshold[@]}" "$@"
