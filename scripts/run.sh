#!/usr/bin/env bash
# `make run`: everything on this machine, each process restarted when it dies
# (scripts/supervise.py), all stopped together on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
started_dockerd=""

# dockerd is stopped on the way out only if this run started it: one started earlier (by
# `make test`, another `make run`) may be serving others.
dockerd_before="$(cat var/dockerd.pid 2>/dev/null || true)"
scripts/services.sh docker
dockerd_now="$(cat var/dockerd.pid 2>/dev/null || true)"
if [ -n "$dockerd_now" ] && [ "$dockerd_now" != "$dockerd_before" ] && kill -0 "$dockerd_now" 2>/dev/null; then
  started_dockerd="$dockerd_now"
fi
scripts/services.sh redis-installed redis-password

# In starting order; scripts/supervise.py stops them in reverse: beat and the worker before the
# recorder (which writes the worker's last records), the web tier after them, Redis last.
processes="web triggers endpoint recorder worker beat"
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
      redis_dir="${REDIS_DIR:-var/redis}"
      mkdir -p "$redis_dir" && chmod 700 "$redis_dir"  # its append-only file holds every message
      processes="redis $processes" ;;
  esac
fi

.venv/bin/python -m executor.images
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py ensure_admin
.venv/bin/python manage.py blueprint_packages

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
echo "  AWS endpoint of the functions (AWS_ENDPOINT_URL): port ${LAMBDA_ENDPOINT_PORT:-8002} of their network's gateway"
echo "  (Ctrl-C stops everything this started)"
echo
# In the background, so that a SIGTERM to this script reaches the supervisor too (Ctrl-C's SIGINT
# reaches both), and the cleanup above runs once it has stopped everything.
LAMBDA_WEB_PORT="$PORT" .venv/bin/python -u scripts/supervise.py -f Procfile $processes &
supervisor=$!
trap 'kill -TERM "$supervisor" 2>/dev/null || true' INT TERM HUP
while kill -0 "$supervisor" 2>/dev/null; do wait "$supervisor" || true; done
