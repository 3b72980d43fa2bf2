#!/usr/bin/env bash
# `make run`: everything on this machine, stopped together on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
started_dockerd=""

scripts/services.sh docker
[ -f var/dockerd.pid ] && kill -0 "$(cat var/dockerd.pid)" 2>/dev/null && started_dockerd="$(cat var/dockerd.pid)"
scripts/services.sh redis-installed
.venv/bin/python -m executor.images
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py ensure_admin

processes="web worker recorder beat"
if redis-cli -h 127.0.0.1 -p "${REDIS_PORT:-6379}" ping >/dev/null 2>&1; then
  echo "using the Redis already running on 127.0.0.1:${REDIS_PORT:-6379}"
else
  mkdir -p var/redis
  processes="redis $processes"
fi

cleanup() {
  if [ -n "$started_dockerd" ]; then
    echo "stopping dockerd"
    kill "$started_dockerd" 2>/dev/null || true
    rm -f var/dockerd.pid
  fi
}
trap cleanup EXIT

echo
echo "  Lambda console: http://127.0.0.1:${PORT}"
echo "  (Ctrl-C stops everything this started)"
echo
LAMBDA_WEB_PORT="$PORT" .venv/bin/honcho -f Procfile start $processes
