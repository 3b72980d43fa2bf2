"""Validation rules shared by the console's forms, the API and the services."""
from __future__ import annotations

import re

from .errors import InvalidParameterValue
from .limits import EPHEMERAL_RANGE, ENVIRONMENT_LIMIT_BYTES, MEMORY_RANGE, TIMEOUT_RANGE

FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# module.function, where module may be a path (src/app) or dotted (pkg.mod).
HANDLER_RE = re.compile(r"^[^\s.][^\s]*\.[A-Za-z_$][\w$]*$")
ENV_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_ENV_KEYS = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}
RUNTIME_ALIASES = {"provided": "provided.al2023"}
RUNTIMES = ("python3.11", "nodejs18.x", "provided.al2023")


def validate_function_name(name: str) -> str:
    if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
        raise InvalidParameterValue(
            "Function name must be 1 to 64 characters: letters, numbers, hyphens or underscores.",
            field="FunctionName",
        )
    return name


def validate_runtime(runtime: str) -> str:
    runtime = RUNTIME_ALIASES.get(runtime, runtime)
    if runtime not in RUNTIMES:
        raise InvalidParameterValue(
            f"Value {runtime!r} at 'runtime' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(RUNTIMES)}]",
            field="Runtime",
        )
    return runtime


def validate_handler(handler: str, runtime: str) -> str:
    if not isinstance(handler, str) or not handler or len(handler) > 128 or re.search(r"\s", handler):
        raise InvalidParameterValue("Handler must be 1 to 128 characters without spaces.", field="Handler")
    # A custom runtime's bootstrap reads _HANDLER however it likes.
    if runtime != "provided.al2023" and not HANDLER_RE.match(handler):
        raise InvalidParameterValue(
            f"Handler {handler!r} must have the form module.function (for example lambda_function.lambda_handler).",
            field="Handler",
        )
    return handler


def _validate_int(value: object, field: str, low: int, high: int, unit: str) -> int:
    # Forms give strings of digits; JSON gives ints. Floats and booleans are refused.
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValue(f"{field} must be a whole number of {unit}.", field=field)
    if not low <= value <= high:
        raise InvalidParameterValue(f"{field} must be between {low} and {high} {unit}.", field=field)
    return value


def validate_memory(value: object) -> int:
    return _validate_int(value, "MemorySize", *MEMORY_RANGE, "MB")


def validate_timeout(value: object) -> int:
    return _validate_int(value, "Timeout", *TIMEOUT_RANGE, "seconds")


def validate_ephemeral_storage(value: object) -> int:
    return _validate_int(value, "EphemeralStorage", *EPHEMERAL_RANGE, "MB")


def validate_environment(variables: object) -> dict[str, str]:
    if not isinstance(variables, dict):
        raise InvalidParameterValue("Environment variables must be a map of names to values.", field="Environment")
    clean: dict[str, str] = {}
    for key, value in variables.items():
        if not isinstance(key, str) or not ENV_KEY_RE.match(key):
            raise InvalidParameterValue(
                f"Environment variable name {key!r} must start with a letter and hold only letters, numbers and underscores.",
                field="Environment",
            )
        if key in RESERVED_ENV_KEYS:
            raise InvalidParameterValue(
                f"Lambda was unable to configure your environment variables because the environment "
                f"variables you have provided contains reserved keys that are currently not supported "
                f"for modification. Reserved keys used in this request: {key}",
                field="Environment",
            )
        if not isinstance(value, str):
            raise InvalidParameterValue(f"Environment variable {key} must have a string value.", field="Environment")
        clean[key] = value
    size = sum(len(k.encode()) + len(v.encode()) for k, v in clean.items())
    if size > ENVIRONMENT_LIMIT_BYTES:
        raise InvalidParameterValue(
            f"Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {size} bytes",
            field="Environment",
        )
    return clean


# --- CORS of function URLs and HTTP APIs -----------------------------------------------------

CORS_KEYS = ("AllowCredentials", "AllowHeaders", "AllowMethods", "AllowOrigins", "ExposeHeaders", "MaxAge")
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,1024}$")
ORIGIN_RE = re.compile(r"^(\*|https?://[^\s/]{1,253})$")


def validate_cors(cors: object) -> dict:
    """A CORS configuration as AWS takes it; {} or None means no CORS."""
    if cors in (None, ""):
        return {}
    if not isinstance(cors, dict):
        raise InvalidParameterValue("Cors must be an object.", field="Cors")
    unknown = set(cors) - set(CORS_KEYS)
    if unknown:
        raise InvalidParameterValue(f"Unknown Cors keys: {', '.join(sorted(unknown))}. "
                                    f"Valid keys: {', '.join(CORS_KEYS)}.", field="Cors")
    clean: dict = {}
    for key, pattern, upper in (("AllowOrigins", ORIGIN_RE, False), ("AllowHeaders", HEADER_NAME_RE, False),
                                ("ExposeHeaders", HEADER_NAME_RE, False), ("AllowMethods", None, True)):
        if key not in cors:
            continue
        values = cors[key]
        if not isinstance(values, list) or len(values) > 100 or not all(isinstance(v, str) for v in values):
            raise InvalidParameterValue(f"Cors.{key} must be a list of at most 100 strings.", field="Cors")
        for value in values:
            if upper and value.upper() not in CORS_METHODS:
                raise InvalidParameterValue(
                    f"Cors.AllowMethods: {value!r} is not one of {', '.join(CORS_METHODS)}.", field="Cors")
            if pattern is not None and not pattern.match(value):
                raise InvalidParameterValue(f"Cors.{key}: {value!r} is not valid.", field="Cors")
        clean[key] = [v.upper() for v in values] if upper else list(values)
    if "MaxAge" in cors and cors["MaxAge"] is not None:
        clean["MaxAge"] = _validate_int(cors["MaxAge"], "Cors.MaxAge", 0, 86400, "seconds")
    if "AllowCredentials" in cors and cors["AllowCredentials"] is not None:
        if not isinstance(cors["AllowCredentials"], bool):
            raise InvalidParameterValue("Cors.AllowCredentials must be true or false.", field="Cors")
        clean["AllowCredentials"] = cors["AllowCredentials"]
    return clean


# --- Log retention --------------------------------------------------------------------------

# CloudWatch Logs' PutRetentionPolicy takes only these day counts; no value (None) is its
# default, "Never expire".
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)


def validate_log_retention(value: object) -> int | None:
    """A retention in days from CloudWatch's list, or None (also "" from a form) to never expire."""
    if value is None or value == "":
        return None
    days = value
    if isinstance(days, str) and re.fullmatch(r"\d+", days.strip()):
        days = int(days)
    if isinstance(days, bool) or not isinstance(days, int) or days not in LOG_RETENTION_DAYS:
        # CloudWatch's own wording for a value outside the list.
        raise InvalidParameterValue(
            f"1 validation error detected: Value '{value}' at 'retentionInDays' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(map(str, LOG_RETENTION_DAYS))}]",
            field="LogRetentionInDays",
        )
    return int(days)
