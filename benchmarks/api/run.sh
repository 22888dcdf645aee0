#!/usr/bin/env bash
# Load the HTTP API on loopback with wrk: POST /v1/jobs and GET /v1/jobs/{id}, 10 s each, 3 runs.
# Usage: benchmarks/api/run.sh [DATABASE_URL]   (default: a fresh SQLite file)
set -euo pipefail
cd "$(dirname "$0")/../.."
WH=.venv/bin/workhorse
tmp=$(mktemp -d)
url=${1:-sqlite:///$tmp/api.db}
port=8011
$WH migrate --database-url "$url" >/dev/null
export WORKHORSE_KEY=$($WH keys create --tenant acme --database-url "$url" | tail -n 1)
$WH api --app workhorse.bench.tasks:app --database-url "$url" --port $port --log-level warning &
api=$!
trap 'kill $api 2>/dev/null; wait $api 2>/dev/null || true; rm -rf "$tmp"' EXIT
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
id=$(curl -sf "http://127.0.0.1:$port/v1/jobs" -H "Authorization: Bearer $WORKHORSE_KEY" \
     -H 'Content-Type: application/json' -d '{"task": "noop"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for run in 1 2 3; do
    echo "== POST /v1/jobs run $run"
    wrk -t2 -c16 -d10s --latency -s benchmarks/api/post_job.lua "http://127.0.0.1:$port/v1/jobs" | grep -E "Requests/sec|99%|50%"
    echo "== GET /v1/jobs/$id run $run"
    wrk -t2 -c16 -d10s --latency -s benchmarks/api/get_job.lua "http://127.0.0.1:$port/v1/jobs/$id" | grep -E "Requests/sec|99%|50%"
done
