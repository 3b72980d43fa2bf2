#!/usr/bin/env bash
# Make sure a service the project needs is installed and answering.
#   scripts/services.sh docker     the Docker engine (installs Debian's docker.io as root)
#   scripts/services.sh redis      a Redis on 127.0.0.1:6379, started in the background
#   scripts/services.sh chromium   Debian's Chromium for the browser tests
#   scripts/services.sh wrk        the HTTP load tool of bench/http_triggers.py
# Each prints what it did. Started daemons have their pid in var/<name>.pid.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var

is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  if ! is_root; then
    echo "error: $* is not installed; install it (apt-get install $*) or run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f var/.apt-updated ]; then
    apt-get update -qq && touch var/.apt-updated
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

docker_answers() { docker info >/dev/null 2>&1; }

ensure_docker() {
  if docker_answers; then return; fi
  command -v dockerd >/dev/null 2>&1 || { echo "installing Docker engine (docker.io)"; apt_install docker.io; }
  if docker_answers; then return; fi
  if ! is_root; then
    echo "error: the Docker engine is not running and only root can start it here;" >&2
    echo "       start it (sudo dockerd &, or systemctl start docker) or add yourself to the docker group" >&2
    exit 1
  fi
  echo "starting dockerd"
  nohup dockerd >var/dockerd.log 2>&1 &
  echo $! >var/dockerd.pid
  for _ in $(seq 1 120); do
    docker_answers && { echo "dockerd is up"; return; }
    sleep 0.5
  done
  echo "error: dockerd did not come up; see var/dockerd.log" >&2
  exit 1
}

redis_answers() { redis-cli -h 127.0.0.1 -p "${REDIS_PORT:-6379}" ping >/dev/null 2>&1; }

ensure_redis_installed() {
  command -v redis-server >/dev/null 2>&1 || { echo "installing redis-server"; apt_install redis-server; }
}

ensure_redis() {
  ensure_redis_installed
  if redis_answers; then return; fi
  mkdir -p var/redis
  redis-server --bind 127.0.0.1 --port "${REDIS_PORT:-6379}" --dir "$PWD/var/redis" --appendonly yes \
    --save "" --daemonize yes --pidfile "$PWD/var/redis.pid" --logfile "$PWD/var/redis/redis.log"
  for _ in $(seq 1 50); do redis_answers && { echo "redis is up"; return; }; sleep 0.1; done
  echo "error: redis did not start; see var/redis/redis.log" >&2
  exit 1
}

ensure_tools() {
  # What building the runtime images needs besides the engine.
  command -v debootstrap >/dev/null 2>&1 || { echo "installing debootstrap"; apt_install debootstrap; }
}

ensure_wrk() {
  command -v wrk >/dev/null 2>&1 || { echo "installing wrk"; apt_install wrk; }
}

ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || { echo "installing chromium"; apt_install chromium fonts-liberation; }
}

for what in "$@"; do
  case "$what" in
    docker) ensure_docker; ensure_tools ;;
    redis) ensure_redis ;;
    redis-installed) ensure_redis_installed ;;
    chromium) ensure_chromium ;;
    wrk) ensure_wrk ;;
    *) echo "unknown service: $what" >&2; exit 2 ;;
  esac
done
