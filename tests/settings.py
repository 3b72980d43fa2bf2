"""Settings for the test suite: the project's own, with state kept apart from `make run`."""
import os
from pathlib import Path

_var = Path(__file__).resolve().parent.parent / "var" / "test"
os.environ.setdefault("LAMBDA_VAR_DIR", str(_var))
# The Redis of scripts/services.sh (its password read from var/redis.password), database 15;
# an explicit REDIS_URL replaces it.
os.environ.setdefault("REDIS_DB", "15")
os.environ.setdefault("LAMBDA_DOCKER_NETWORK", "lambda-functions-test")
# Seconds instead of AWS's minutes, so retry and crash recovery can be seen in a test.
os.environ.setdefault("LAMBDA_ASYNC_RETRY_DELAYS", "1,2")
os.environ.setdefault("LAMBDA_WORKER_HEARTBEAT", "3")
# A worker the fixtures restart stops within seconds even with an invocation still running.
os.environ.setdefault("LAMBDA_WORKER_STOP_GRACE", "5")

from console.settings import *  # noqa: E402,F401,F403
