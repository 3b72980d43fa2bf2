#!/usr/bin/env bash
# `make test`: the services the tests need, fresh runtime images, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
started_redis=""
scripts/services.sh docker chromium
if ! redis-cli -h 127.0.0.1 -p "${REDIS_PORT:-6379}" ping >/dev/null 2>&1; then
  scripts/services.sh redis
  started_redis="$(cat var/redis.pid)"
fi
trap '[ -n "$started_redis" ] && kill "$started_redis" 2>/dev/null || true' EXIT
.venv/bin/python -m executor.images
.venv/bin/python -m pytest "$@"
