#!/usr/bin/env bash
# Make sure a service the project needs is installed and answering.
#   scripts/services.sh docker     the Docker engine (installs Debian's docker.io as root)
#   scripts/services.sh redis      a Redis on 127.0.0.1:6379 asking for the password in
#                                  var/redis.password, started in the background
#   scripts/services.sh redis-password  that password, generated once (mode 0600)
#   scripts/services.sh redis-state     prints what answers on the Redis port: none, ours
#                                  (our password), open (no password) or other (another password)
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
  # Three tries, as a service manager restarts a failed engine: after a dockerd was killed,
  # the next one's containerd can time out while it takes over the old containers.
  local attempt
  : >var/dockerd.log  # this start's log; its tries append to it
  for attempt in 1 2 3; do
    start_dockerd && return
    echo "dockerd did not come up (try $attempt of 3); see var/dockerd.log" >&2
    kill "$(cat var/dockerd.pid)" 2>/dev/null || true
    sleep 2
  done
  echo "error: dockerd did not come up; see var/dockerd.log" >&2
  exit 1
}

start_dockerd() {
  # A dockerd that was killed (or a machine that crashed) leaves its pid file behind, and a
  # new dockerd refuses to start while that pid still exists, even as an unreaped zombie.
  local pid
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  if [ -n "$pid" ] && { [ ! -d "/proc/$pid" ] || grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; }; then
    echo "removing the pid file of a dockerd that is gone ($pid)"
    rm -f /var/run/docker.pid
  fi
  echo "starting dockerd"
  nohup dockerd >>var/dockerd.log 2>&1 &
  echo $! >var/dockerd.pid
  for _ in $(seq 1 120); do
    docker_answers && { echo "dockerd is up"; return 0; }
    kill -0 "$(cat var/dockerd.pid)" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

# The project's Redis: its data in REDIS_DIR, its password (read by console/settings.py too)
# in REDIS_PASSWORD_FILE. A message on it decides which host directory a container mounts.
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_DIR="${REDIS_DIR:-$PWD/var/redis}"
REDIS_PASSWORD_FILE="${REDIS_PASSWORD_FILE:-$PWD/var/redis.password}"

redis_ping() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true; }

redis_state() {
  case "$(redis_ping)" in
    PONG) echo open ;;
    NOAUTH*)
      # REDISCLI_AUTH, not -a: a command line is visible to every user in `ps`.
      if [ -s "$REDIS_PASSWORD_FILE" ] && \
         [ "$(REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis_ping)" = PONG ]; then echo ours; else echo other; fi ;;
    *) echo none ;;
  esac
}

ensure_redis_installed() {
  command -v redis-server >/dev/null 2>&1 || { echo "installing redis-server"; apt_install redis-server; }
}

ensure_redis_password() {
  [ -s "$REDIS_PASSWORD_FILE" ] && return
  mkdir -p "$(dirname "$REDIS_PASSWORD_FILE")"
  local made
  made="$(mktemp "$REDIS_PASSWORD_FILE.XXXXXX")"  # mktemp creates it with mode 0600
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$made"
  # Linked into place whole, once: if another start got there first, its password stays.
  ln "$made" "$REDIS_PASSWORD_FILE" 2>/dev/null && echo "generated the Redis password in $REDIS_PASSWORD_FILE"
  rm -f "$made"
}

ensure_redis() {
  ensure_redis_installed
  case "$(redis_state)" in
    ours) return ;;
    open)
      echo "warning: the Redis on 127.0.0.1:$REDIS_PORT asks for no password: any local process can read" >&2
      echo "         and send its messages; stop it to have one started with a password" >&2
      return ;;
    other)
      echo "error: the Redis on 127.0.0.1:$REDIS_PORT wants a password other than $REDIS_PASSWORD_FILE's;" >&2
      echo "       set REDIS_URL (redis://:PASSWORD@127.0.0.1:$REDIS_PORT/0) or REDIS_PORT" >&2
      exit 1 ;;
  esac
  ensure_redis_password
  mkdir -p "$REDIS_DIR" && chmod 700 "$REDIS_DIR"  # its append-only file holds every message
  # The password goes in as configuration on stdin, not as an argument `ps` would show.
  printf 'requirepass %s\n' "$(cat "$REDIS_PASSWORD_FILE")" | redis-server - --bind 127.0.0.1 --port "$REDIS_PORT" \
    --dir "$REDIS_DIR" --appendonly yes --save "" --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
    --logfile "$REDIS_DIR/redis.log" >/dev/null
  for _ in $(seq 1 50); do [ "$(redis_state)" = ours ] && { echo "redis is up"; return; }; sleep 0.1; done
  echo "error: redis did not start; see $REDIS_DIR/redis.log" >&2
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
    redis-password) ensure_redis_password ;;
    redis-state) redis_state ;;
    chromium) ensure_chromium ;;
    wrk) ensure_wrk ;;
    *) echo "unknown service: $what" >&2; exit 2 ;;
  esac
done
