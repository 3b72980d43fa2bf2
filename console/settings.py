"""Settings for the console and the executor.

Every setting that differs between machines comes from an environment variable, read
through the helpers below, which refuse a malformed value instead of guessing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote, urlparse

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_floats(name: str, default: str) -> list[float]:
    raw = os.environ.get(name) or default
    try:
        return [float(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be comma-separated numbers, got {raw!r}")


def env_ports(name: str, default: str) -> list[tuple[int, int]]:
    """Comma-separated ports or ranges ("29001-29032,8080") as (first, last) pairs."""
    raw = os.environ.get(name, default)
    ranges = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            pair = (int(first), int(last or first))
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be comma-separated ports or ranges, got {raw!r}")
        if not 1 <= pair[0] <= pair[1] <= 65535:
            raise ImproperlyConfigured(f"{name} has an invalid port range {part!r}")
        ranges.append(pair)
    return ranges


def env_cidrs(name: str, default: str) -> list[str]:
    """Comma-separated IPv4 or IPv6 networks ("10.1.0.0/16,fd00::/64"), normalised."""
    import ipaddress

    raw = os.environ.get(name, default)
    try:
        return [str(ipaddress.ip_network(p.strip(), strict=False)) for p in raw.split(",") if p.strip()]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be comma-separated networks (CIDR), got {raw!r}")


VAR_DIR = Path(env_str("LAMBDA_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY_FILE = VAR_DIR / "secret_key"


def read_or_create_secret(path: Path, make) -> str:
    """The secret kept in `path`, created once by whichever process comes first.

    The file is born with mode 0600 (never readable by others, not even for an instant)
    and appears complete: it is written under a temporary name and hard-linked into place,
    which fails if another process (the web server and the worker start together) won.
    """
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(make())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


def _secret_key() -> str:
    """A key from the environment, else one generated once and kept in var/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    import secrets

    return read_or_create_secret(SECRET_KEY_FILE, lambda: secrets.token_urlsafe(50))


def env_fernet_keys(name: str) -> list[str]:
    from cryptography.fernet import Fernet

    keys = [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]
    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: key {index + 1} is not a Fernet key (make one with Fernet.generate_key())")
    return keys


SECRET_KEY = _secret_key()
# Encrypt environment variables and access-key secrets at rest, and the specs in Celery
# messages. Fernet keys, comma-separated, newest first: values are written with the first
# and read with any, so a new key goes in front and `manage.py rotate_encryption_keys`
# moves old values onto it before the old key is dropped.
LAMBDA_ENCRYPTION_KEYS = env_fernet_keys("LAMBDA_ENCRYPTION_KEYS")
# The earlier single key, still read after LAMBDA_ENCRYPTION_KEYS. With neither set, a key
# derived from SECRET_KEY is used (and is always tried last, so older values stay readable).
LAMBDA_ENCRYPTION_KEY = env_str("LAMBDA_ENCRYPTION_KEY", "")
DEBUG = env_bool("DEBUG", False)
# The console's own host names. Trigger hosts (*.lambda-url.<domain>) are not among them: triggers are
# served by a listener of their own (LAMBDA_TRIGGER_* below), never on the console's origin.
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_celery_beat",
    "console",
    "console.iam",
    "console.s3",
    "executor",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "console.urls"
# The Lambda API takes request bodies whole: a 50 MB zip is ~67 MB of base64 in CreateFunction's
# JSON, and Invoke takes 6 MB. Larger bodies are refused with RequestTooLargeException.
DATA_UPLOAD_MAX_MEMORY_SIZE = 70 * 1024 * 1024
ASGI_APPLICATION = "console.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("postgres", "postgresql"):
            raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parsed.path.lstrip("/"),
            "USER": parsed.username or "",
            "PASSWORD": parsed.password or "",
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    path = env_str("SQLITE_PATH", str(VAR_DIR / "db.sqlite3"))
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # The web server and the worker write to one file: WAL lets readers go on while a
        # writer commits, IMMEDIATE avoids lock-upgrade deadlocks, and the timeout waits out
        # a short write instead of failing.
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        "TEST": {"NAME": env_str("SQLITE_TEST_PATH", str(VAR_DIR / "test-db.sqlite3"))},
        # Keep connections: Celery closes "obsolete" ones after every task, and reopening
        # SQLite (with its PRAGMAs) on each invocation costs more than the invocation.
        "CONN_MAX_AGE": None,
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# The console's cookies. Browsers do not isolate cookies by port, so pages served by the trigger
# listener on the same host could read or write them: the CSRF secret lives in the session (no
# cookie for a script to read), the session cookie is HttpOnly (the default) and its name is
# derived from SECRET_KEY, so a function can neither guess it nor learn it (trigger events and
# responses drop the console's cookies, console/triggers/cookies.py). Messages live in the session.
def _cookie_suffix() -> str:
    import hashlib
    import hmac

    return hmac.new(SECRET_KEY.encode(), b"console-cookie-names", hashlib.sha256).hexdigest()[:12]


SESSION_COOKIE_NAME = f"console_session_{_cookie_suffix()}"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_USE_SESSIONS = True
CSRF_COOKIE_NAME = f"console_csrf_{_cookie_suffix()}"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "functions"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# The Redis that scripts/services.sh starts (`make run`, `make test`) listens on
# 127.0.0.1:REDIS_PORT and asks for the password it generated once into REDIS_PASSWORD_FILE.
# REDIS_URL, when set, names another Redis and replaces all three (REDIS_DB picks the database).
REDIS_PORT = env_int("REDIS_PORT", 6379, 1)
REDIS_PASSWORD_FILE = Path(env_str("REDIS_PASSWORD_FILE", str(BASE_DIR / "var" / "redis.password")))


def _redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    password = REDIS_PASSWORD_FILE.read_text().strip() if REDIS_PASSWORD_FILE.exists() else ""
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}127.0.0.1:{REDIS_PORT}/{env_int('REDIS_DB', 0, 0)}"


REDIS_URL = _redis_url()

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

# Celery: Redis carries the tasks and the results. Invocation tasks state their own
# acknowledgement and retry policy in executor/tasks.py.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_DEFAULT_QUEUE = "lambda"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Every thread that waits on an invocation (the API's, the triggers') publishes its task
# first: a pool smaller than those threads makes them queue for a broker connection.
CELERY_BROKER_POOL_LIMIT = env_int("CELERY_BROKER_POOL_LIMIT", 128, 1)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message a dead worker took is handed out again after this long. Our own reaper
# (executor/reaper.py) re-queues a dead worker's invocations much sooner; this is the net
# under it, so it must exceed the longest function timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("LAMBDA_VISIBILITY_TIMEOUT", 960, 60)}
# Synchronous invocations are consumed without acknowledgements: their caller is waiting
# and gives up on its own if a worker dies, so the broker's bookkeeping (two round trips
# per message) buys nothing there. Asynchronous ones are acknowledged when done.
CELERY_TASK_QUEUES = (Queue("lambda.sync", no_ack=True), Queue("lambda.async"))
# Kombu's Redis transport, told to skip the acknowledgement of unacknowledged messages.
CELERY_BROKER_TRANSPORT = "executor.broker:Transport"
# Seconds between housekeeping runs, which delete expired log lines, old invocation rows and
# unused code (console/services/retention.py; also `manage.py housekeeping`).
LAMBDA_HOUSEKEEPING_INTERVAL = env_int("LAMBDA_HOUSEKEEPING_INTERVAL", 3600, 60)
CELERY_BEAT_SCHEDULE = {
    # Workers reap every few seconds themselves; this catches a host whose workers all died.
    "reap-stale-invocations": {"task": "executor.tasks.reap", "schedule": 60.0},
    "housekeeping": {"task": "console.tasks.housekeeping", "schedule": float(LAMBDA_HOUSEKEEPING_INTERVAL)},
}
# Schedule rules are rows; beat's database scheduler picks up their changes as they happen.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat writes a schedule's last run to the database after each task it sends (not every 3
# minutes): a restarted beat neither fires again what it already fired, nor skips what was due.
CELERY_BEAT_SYNC_EVERY = 1

# Lambda behaviour.
LAMBDA_REGION = env_str("AWS_REGION", "us-east-1")
LAMBDA_IDLE_TIMEOUT = env_int("LAMBDA_IDLE_TIMEOUT", 600, 1)
# Invocations each account may run at once (AWS's ConcurrentExecutions quota), reserved
# concurrency included; a tenth of it always stays unreserved (console/services/concurrency.py).
LAMBDA_ACCOUNT_CONCURRENCY = env_int("LAMBDA_ACCOUNT_CONCURRENCY", 50, 1)
# MB of memory that a worker's environments (idle, busy and starting, each counted at its
# memory size) may hold; 0: three quarters of the host's RAM. Idle ones are stopped, oldest
# first, to make room; a start that still does not fit is throttled (executor/pool.py).
LAMBDA_HOST_MEMORY_MB = env_int("LAMBDA_HOST_MEMORY_MB", 0, 0)
LAMBDA_ASYNC_RETRY_DELAYS = env_floats("LAMBDA_ASYNC_RETRY_DELAYS", "60,120")
# Asynchronous events waiting per function; one more is refused with 429, so one tenant
# cannot fill the database and the broker with events no worker will reach for hours.
LAMBDA_MAX_QUEUED_EVENTS_PER_FUNCTION = env_int("LAMBDA_MAX_QUEUED_EVENTS_PER_FUNCTION", 10000, 1)
LAMBDA_DOCKER_NETWORK = env_str("LAMBDA_DOCKER_NETWORK", "lambda-functions")
# Image repositories every account may run as an Image function, comma-separated prefixes
# matched against ImageUri's repository (e.g. "registry.example.com/shared/"). Beyond these an
# account may run only images of its own ECR repositories (<account-id>.dkr.ecr.<region>
# .amazonaws.com/...), as on AWS; our runtime images (lambda-runtime/) only if listed here.
LAMBDA_IMAGE_ALLOWED_PREFIXES = [p.strip() for p in env_str("LAMBDA_IMAGE_ALLOWED_PREFIXES", "").split(",")
                                 if p.strip()]
# The functions' network policy (executor/netpolicy.py): functions reach the internet and
# the project's own endpoints on the host, nothing else. Off: no firewall rules are installed.
LAMBDA_NETWORK_POLICY = env_bool("LAMBDA_NETWORK_POLICY", True)
# Ports the Runtime API may listen on (each worker binds the first free one): the rules
# open exactly these on the bridge's gateway, so they stay the same however many workers run.
LAMBDA_RUNTIME_API_PORTS = env_ports("LAMBDA_RUNTIME_API_PORTS", "29001-29032")
# Other ports of the host's gateway address functions may call (the project's service endpoints).
LAMBDA_FUNCTION_HOST_PORTS = env_ports("LAMBDA_FUNCTION_HOST_PORTS", "")
# Private or special ranges functions may reach anyway: our counterpart of a VPC configuration.
LAMBDA_FUNCTION_ALLOWED_CIDRS = env_cidrs("LAMBDA_FUNCTION_ALLOWED_CIDRS", "")
# The AWS endpoint functions call (AWS_ENDPOINT_URL inside them): a listener of its own
# (Procfile `endpoint`, console.asgi:endpoint_application) on the functions' bridge gateway
# address, serving the AWS APIs and nothing else; the network policy opens this port.
LAMBDA_ENDPOINT_PORT = env_int("LAMBDA_ENDPOINT_PORT", 8002, 1)
# Seconds a function's temporary credentials (its execution role's session) are valid: STS's
# default session length and a role's default MaxSessionDuration. Our Python and Node runtimes
# get new ones before half of it has passed; other runtimes' environments are retired first.
# A leaked token is useful for at most this long, and minting costs about 0.1 ms.
LAMBDA_CREDENTIALS_TTL = env_int("LAMBDA_CREDENTIALS_TTL", 3600, 10)
LAMBDA_WORKER_HEARTBEAT = env_int("LAMBDA_WORKER_HEARTBEAT", 10, 2)
# Seconds a worker told to stop (SIGTERM, Ctrl-C) lets running invocations finish; past it they are
# cut short: their events go back to the queue uncounted, their synchronous callers get a ServiceException.
LAMBDA_WORKER_STOP_GRACE = env_int("LAMBDA_WORKER_STOP_GRACE", 30, 0)
# Connections a worker's Runtime API serves at once, all environments together (each
# environment may hold 16; executor/runtime_api.py). Past it new ones are turned away with 429.
LAMBDA_RUNTIME_API_MAX_CONNECTIONS = env_int("LAMBDA_RUNTIME_API_MAX_CONNECTIONS", 1024, 16)
# Bytes of output one invocation keeps (UTF-8 plus CloudWatch's 26 bytes per line, and at most
# 10,000 lines); later lines are dropped and counted in one "[lambda] ... dropped" line.
LAMBDA_MAX_LOG_BYTES_PER_INVOCATION = env_int("LAMBDA_MAX_LOG_BYTES_PER_INVOCATION", 2 * 1024 * 1024, 64 * 1024)
# Days an invocation's row (Monitor tab, request history) is kept once it is done; queued
# and running ones are never removed. Log lines follow each function's own log retention.
LAMBDA_INVOCATION_RETENTION_DAYS = env_int("LAMBDA_INVOCATION_RETENTION_DAYS", 30, 1)
# Days a failed event with no failure destination stays in the console's list of failed
# events (counted from its arrival): SQS's longest message retention, a dead-letter queue's.
LAMBDA_DEAD_LETTER_RETENTION_DAYS = env_int("LAMBDA_DEAD_LETTER_RETENTION_DAYS", 14, 1)
# Seconds unpacked code must have been unused (and unclaimed by an upload) before it is
# deleted: longer than the longest function timeout, so a running invocation keeps its code.
LAMBDA_CODE_GRACE_SECONDS = env_int("LAMBDA_CODE_GRACE_SECONDS", 3600, 960)
# Threads that wait on function URL and HTTP API invocations (each holds one request).
LAMBDA_HTTP_THREADS = env_int("LAMBDA_HTTP_THREADS", 64, 1)
# HTTP triggers (function URLs, HTTP APIs) have a listener of their own (Procfile `triggers`,
# console.asgi:triggers_application), so a function's HTML never runs on the console's origin.
LAMBDA_TRIGGER_PORT = env_int("LAMBDA_TRIGGER_PORT", 8001, 1)
# Where clients reach that listener: the base of every trigger URL the API and the console hand out.
LAMBDA_TRIGGER_URL = env_str("LAMBDA_TRIGGER_URL", f"http://127.0.0.1:{LAMBDA_TRIGGER_PORT}").rstrip("/")
# Function URLs are also served host-based, at <url-id>.lambda-url.<LAMBDA_URL_DOMAIN>, by the trigger
# listener; that form is the one handed out only when the operator set the domain (it needs DNS).
LAMBDA_URL_DOMAIN = env_str("LAMBDA_URL_DOMAIN", "localhost").lower()
LAMBDA_URL_DOMAIN_SET = bool(os.environ.get("LAMBDA_URL_DOMAIN"))
# More Host names the trigger listener answers to, comma-separated (ALLOWED_HOSTS syntax), besides
# 127.0.0.1, localhost, LAMBDA_TRIGGER_URL's host and *.lambda-url.<LAMBDA_URL_DOMAIN>.
LAMBDA_TRIGGER_HOSTS = [h for h in env_str("LAMBDA_TRIGGER_HOSTS", "").split(",") if h]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# S3 (console/s3). Objects' bytes go through Django's storage API: the "s3" storage below,
# files under the data directory by default; an operator may name another backend (say
# django-storages' S3 backend) in LAMBDA_S3_STORAGE_BACKEND with its options as JSON.
LAMBDA_S3_ROOT = Path(env_str("LAMBDA_S3_ROOT", str(VAR_DIR / "s3")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "s3": {"BACKEND": env_str("LAMBDA_S3_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
           "OPTIONS": json.loads(os.environ["LAMBDA_S3_STORAGE_OPTIONS"])
           if os.environ.get("LAMBDA_S3_STORAGE_OPTIONS") else {"location": str(LAMBDA_S3_ROOT / "objects")}},
}
# Virtual-hosted-style requests name the bucket in the host: <bucket>.s3.<this domain>[:port]
# (*.localhost resolves to the loopback address on most systems).
LAMBDA_S3_DOMAIN = env_str("LAMBDA_S3_DOMAIN", "localhost")
# The largest object one PUT (or one part) may carry: S3's own limit is 5 GiB.
LAMBDA_S3_MAX_OBJECT_SIZE = env_int("LAMBDA_S3_MAX_OBJECT_SIZE", 5 * 1024 ** 3, 1)
# fsync each object's file before it is moved into place: an acknowledged PUT survives a power cut.
LAMBDA_S3_FSYNC = env_bool("LAMBDA_S3_FSYNC", True)
