#!/usr/bin/env bash
# `make test`: the services the tests need, fresh runtime images, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
started_redis=""
scripts/services.sh docker chromium
# The suite runs against a Redis that asks for a password (tests/test_redis_auth.py checks it):
# ours, started here when none answers, or one already started with var/redis.password.
# REDIS_URL, when set, names another Redis and none of this happens.
if [ -z "${REDIS_URL:-}" ]; then
  case "$(scripts/services.sh redis-state)" in
    none)
      scripts/services.sh redis
      started_redis="$(cat "${REDIS_DIR:-var/redis}/redis.pid")" ;;
    open)
      scripts/services.sh redis  # warns that it has no password
      export REDIS_URL="redis://127.0.0.1:${REDIS_PORT:-6379}/15" ;;
    *) scripts/services.sh redis ;;  # ours: nothing to do; another password: says so and stops
  esac
fi
# The functions' network policy on the tests' network, removed on the way out.
netpolicy() { DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python -m executor.netpolicy "$1"; }
trap '[ -n "$started_redis" ] && kill "$started_redis" 2>/dev/null; netpolicy down || true' EXIT
netpolicy up
.venv/bin/python -m executor.images
# Libraries the blueprints zip beside their code (Pillow), installed now, not during a test.
DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python manage.py blueprint_packages
# The AWS SDK for JavaScript v3 (pinned), for the tests that call S3 with it as Node code would.
if command -v npm >/dev/null 2>&1 && [ ! -d var/node-s3sdk/node_modules/@aws-sdk/client-s3 ]; then
  npm install --prefix var/node-s3sdk --no-audit --no-fund --loglevel=error @aws-sdk/client-s3@3.1175.0 \
    || echo "warning: the AWS SDK for JavaScript could not be installed; its tests will be skipped" >&2
fi
.venv/bin/python -m pytest "$@"
