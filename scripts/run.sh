#!/usr/bin/env bash
# `make run`: everything on this machine, stopped together on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
started_dockerd=""

scripts/services.sh docker
[ -f var/dockerd.pid ] && kill -0 "$(cat var/dockerd.pid)" 2>/dev/null && started_dockerd="$(cat var/dockerd.pid)"
scripts/services.sh redis-installed redis-password

processes="web triggers worker recorder beat"
# Our Redis asks for the password in var/redis.password, which every process reads
# (console/settings.py builds REDIS_URL from it); REDIS_URL, when set, names another Redis.
if [ -n "${REDIS_URL:-}" ]; then
  echo "using the Redis of REDIS_URL"
else
  case "$(scripts/services.sh redis-state)" in
    ours) echo "using the Redis already running on 127.0.0.1:${REDIS_PORT:-6379}" ;;
    open)
      echo "using the Redis already running on 127.0.0.1:${REDIS_PORT:-6379}"
      echo "warning: it asks for no password: any local process can read and send its messages," >&2
      echo "         environment variables aside. Stop it to have \`make run\` start one with a password." >&2
      export REDIS_URL="redis://127.0.0.1:${REDIS_PORT:-6379}/0" ;;
    other)
      echo "error: the Redis on 127.0.0.1:${REDIS_PORT:-6379} wants another password; set REDIS_URL or REDIS_PORT" >&2
      exit 1 ;;
    *)
      mkdir -p var/redis && chmod 700 var/redis  # its append-only file holds every message
      processes="redis $processes" ;;
  esac
fi

.venv/bin/python -m executor.images
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py ensure_admin

cleanup() {
  # The functions' firewall rules (the worker installs them too, when it starts as root).
  .venv/bin/python -m executor.netpolicy down || true
  if [ -n "$started_dockerd" ]; then
    echo "stopping dockerd"
    kill "$started_dockerd" 2>/dev/null || true
    rm -f var/dockerd.pid
  fi
}
trap cleanup EXIT
# Functions reach the internet and the Runtime API, not the host, the LAN or cloud metadata.
.venv/bin/python -m executor.netpolicy up

echo
echo "  Lambda console: http://127.0.0.1:${PORT}"
echo "  Function URLs and HTTP APIs: ${LAMBDA_TRIGGER_URL:-http://127.0.0.1:${LAMBDA_TRIGGER_PORT:-8001}}"
echo "  (Ctrl-C stops everything this started)"
echo
LAMBDA_WEB_PORT="$PORT" .venv/bin/honcho -f Procfile start $processes
