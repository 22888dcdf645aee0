"""Workhorse's single-call enqueue rate: `noop.enqueue()` once per job, from Python.

Workhorse alone, with its built-in no-op (the side-by-side's `single_enqueue_per_s` comes from
`run.py`); runs with any interpreter that has Workhorse installed and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from workhorse.bench.tasks import app, noop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    app.database_url = args.database_url
    noop.enqueue()  # opens (and migrates) the database: not timed, as for the peers
    started = time.perf_counter()
    for _ in range(args.jobs):
        noop.enqueue()
    elapsed = time.perf_counter() - started
    app.close()
    print(json.dumps({"single_enqueue_per_s": args.jobs / elapsed}))


if __name__ == "__main__":
    main()
