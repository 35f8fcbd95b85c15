#!/usr/bin/env bash
# Two voice-stream instances (ports 3101 and 3102) sharing Redis, behind nginx on 127.0.0.1:3100. For a local trial:
#   REDIS_URL=redis://127.0.0.1:6379 deploy/scale-out/run-two.sh
# With DATABASE_URL set both instances share PostgreSQL; without it each gets its own embedded PGlite folder
# (PGlite is one process per folder, so two instances can never share one). Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${REDIS_URL:?set REDIS_URL (the instances share limits and per-user caps through it)}"
export STREAM_TRUSTED_PROXIES="${STREAM_TRUSTED_PROXIES:-127.0.0.1/32}"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait || true; }
trap cleanup EXIT INT TERM
for port in 3101 3102; do
  data="${STREAM_DATA_DIR_BASE:-./data}/instance-$port"
  mkdir -p "$data"
  STREAM_WS_PORT=$port STREAM_INSTANCE_ID="$(hostname):$port" STREAM_DATA_DIR="$data" node --max-semi-space-size=16 src/main.ts &
  pids+=("$!")
done
deploy/scale-out/nginx.sh 3100 3101 3102 &
pids+=("$!")
wait -n
