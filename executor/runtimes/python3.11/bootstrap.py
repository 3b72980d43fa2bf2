"""Python 3.11 Lambda runtime: speaks the AWS Runtime API (2018-06-01).

Stdlib only and deliberately lazy: cold start cost is dominated by imports, so
http.client (~20 ms with email/ssl), logging (~10 ms) and traceback (~8 ms)
are avoided or imported only when needed. A small keep-alive HTTP/1.1 client
on a raw socket talks to the Runtime API instead of http.client.

Log protocol (ours, not AWS's): after each invocation's handler has finished,
and before its result is posted, ``\\x1e\\x1eLAMBDA-END <request id>\\x1e\\x1e\\n``
is written to fd 1 so the host knows it has read all of that invocation's output.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time

API_PREFIX = "/2018-06-01/runtime"
SENTINEL = "\x1e\x1eLAMBDA-END {}\x1e\x1e\n"
RUNTIME_PATHS = ("/var/task", "/opt/python/lib/python3.11/site-packages", "/opt/python")

# Request id of the running invocation (read by the logging filter).
_current_request_id = ""


class _Fault(Exception):
    """A runtime-level failure reported with an AWS ``Runtime.*`` error type."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


# --- Runtime API client ---------------------------------------------------------

class _ConnectionLost(Exception):
    pass


class RuntimeClient:
    """Minimal HTTP/1.1 keep-alive client: one connection, reconnect on failure."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port or 80))
        self.host_header = address
        self.sock: socket.socket | None = None
        self.rfile = None

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = self.rfile = None

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            reused = self.sock is not None
            if self.sock is None:
                s = socket.create_connection(self.address)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.sock, self.rfile = s, s.makefile("rb")
            lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host_header}",
                     f"Content-Length: {len(body)}"]
            if headers:
                lines += [f"{k}: {v}" for k, v in headers.items()]
            try:
                self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
                return self._read_response()
            except (OSError, _ConnectionLost):
                self.close()
                # Only a stale keep-alive connection is worth one silent retry.
                if not reused or attempt:
                    raise
        raise AssertionError("unreachable")

    def _read_response(self) -> tuple[int, dict[str, str], bytes]:
        rfile = self.rfile
        status_line = rfile.readline(65537)
        if not status_line:
            raise _ConnectionLost("connection closed by Runtime API")
        status = int(status_line.split(None, 2)[1])
        hdrs: dict[str, str] = {}
        while True:
            line = rfile.readline(65537)
            if not line:
                raise _ConnectionLost("connection closed in headers")
            if line in (b"\r\n", b"\n"):
                break
            k, _, v = line.decode("latin-1").partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(rfile.readline(65537).split(b";", 1)[0], 16)
                if size == 0:
                    while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(rfile.read(size))
                rfile.readline(65537)
            body = b"".join(chunks)
        elif "content-length" in hdrs:
            n = int(hdrs["content-length"])
            body = rfile.read(n)
            if len(body) != n:
                raise _ConnectionLost("short body")
        else:
            body = rfile.read()
            self.close()
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, body

    # Runtime API calls --------------------------------------------------------

    def next(self) -> tuple[dict[str, str], bytes]:
        status, hdrs, body = self.request("GET", API_PREFIX + "/invocation/next")
        if status != 200:
            raise RuntimeError(f"GET /invocation/next returned {status}: {body[:200]!r}")
        return hdrs, body

    def post_response(self, request_id: str, payload: bytes) -> None:
        self.request("POST", f"{API_PREFIX}/invocation/{request_id}/response", payload,
                     {"Content-Type": "application/json"})

    def post_error(self, request_id: str | None, error: dict) -> None:
        path = f"{API_PREFIX}/invocation/{request_id}/error" if request_id else API_PREFIX + "/init/error"
        self.request("POST", path, json.dumps(error).encode(), {
            "Content-Type": "application/json",
            "Lambda-Runtime-Function-Error-Type": error["errorType"],
        })


# --- context ------------------------------------------------------------------------

class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, raw: dict | None = None) -> None:
        raw = raw or {}
        self.cognito_identity_id = raw.get("cognitoIdentityId")
        self.cognito_identity_pool_id = raw.get("cognitoIdentityPoolId")


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")

    def __init__(self, raw: dict) -> None:
        self.installation_id = raw.get("installation_id")
        self.app_title = raw.get("app_title")
        self.app_version_name = raw.get("app_version_name")
        self.app_version_code = raw.get("app_version_code")
        self.app_package_name = raw.get("app_package_name")


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, raw: dict) -> None:
        self.client = Client(raw["client"]) if raw.get("client") else None
        self.custom = raw.get("custom")
        self.env = raw.get("env")


class LambdaContext:
    def __init__(self, request_id: str, hdrs: dict[str, str]) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = hdrs.get("lambda-runtime-invoked-function-arn", "")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 128)
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = int(hdrs.get("lambda-runtime-deadline-ms") or 0)
        identity = hdrs.get("lambda-runtime-cognito-identity")
        self.identity = CognitoIdentity(json.loads(identity) if identity else None)
        client_context = hdrs.get("lambda-runtime-client-context")
        self.client_context = ClientContext(json.loads(client_context)) if client_context else None

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},"
                f"function_name={self.function_name},function_version={self.function_version},"
                f"invoked_function_arn={self.invoked_function_arn},"
                f"memory_limit_in_mb={self.memory_limit_in_mb}])")


# --- logging (installed lazily, only if user code imports `logging`) ---------------

def _configure_logging(logging) -> None:
    class _RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _current_request_id
            return True

    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper()
    root.setLevel(level if level in logging._nameToLevel else "INFO")


class _LoggingImportHook:
    """Meta-path finder that configures `logging` right after its first import.

    Importing logging eagerly would add ~10 ms to every cold start, and most
    handlers never use it.
    """

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(_LoggingImportHook)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_configure(module) -> None:
            exec_module(module)
            _configure_logging(module)

        spec.loader.exec_module = exec_and_configure
        return spec


# --- errors ----------------------------------------------------------------------

def _error_body(error_type: str, message: str, trace: list[str], request_id: str = "") -> dict:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": trace}


def _log_error(error: dict) -> None:
    """Print an error as one log record, in the AWS python runtime's format."""
    head = "[ERROR]"
    if error["errorType"]:
        head += " " + error["errorType"] + (":" if error["errorMessage"] else "")
    if error["errorMessage"]:
        head += " " + error["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        lines += element.splitlines() or [""]
    sys.stdout.write("\n".join(lines) + "\n")


def _exception_error(exc: BaseException, request_id: str) -> dict:
    import traceback  # lazy: only needed on failure

    frames = traceback.extract_tb(exc.__traceback__)
    # Drop the runtime's own frames (and import machinery, for errors raised
    # while importing the handler module) so the trace starts in user code.
    while frames and (frames[0].filename == __file__
                      or frames[0].filename.startswith("<frozen importlib")
                      or frames[0].filename.endswith("/importlib/__init__.py")):
        frames.pop(0)
    return _error_body(type(exc).__name__, str(exc), traceback.format_list(frames), request_id)


# --- handler loading ------------------------------------------------------------

def load_handler(spec: str):
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {e}") from None
    import importlib

    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _Fault("Runtime.BuiltInModuleConflict",
                         f"Cannot use built-in module {modname} as a handler module")
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}") from None
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise _Fault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}", trace) from None
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'") from None


def _json_default(o):
    # AWS serialises Decimal (e.g. from DynamoDB); check without importing decimal.
    dec = sys.modules.get("decimal")
    if dec is not None and isinstance(o, dec.Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


# --- main loop ------------------------------------------------------------------

def _end_of_output(request_id: str) -> None:
    """Flush everything the invocation printed, then write the end sentinel."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.write(1, SENTINEL.format(request_id).encode())


def invoke(client: RuntimeClient, handler, hdrs: dict[str, str], body: bytes) -> None:
    global _current_request_id
    request_id = hdrs.get("lambda-runtime-aws-request-id", "")
    _current_request_id = request_id
    trace_id = hdrs.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    # New credentials of the function's role (our header, not AWS's): in os.environ before the
    # handler runs, where botocore's environment provider reads them again as AWS_CREDENTIAL_EXPIRATION nears.
    renewed = hdrs.get("lambda-runtime-aws-credentials")
    if renewed:
        os.environ.update(json.loads(renewed))

    payload = error = None
    try:
        try:
            event = json.loads(body) if body else None
        except ValueError as e:
            raise _Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}") from None
        result = handler(event, LambdaContext(request_id, hdrs))
        try:
            payload = json.dumps(result, default=_json_default).encode()
        except Exception as e:  # TypeError, circular reference ValueError, ...
            raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {e}") from None
    except _Fault as f:
        error = _error_body(f.error_type, f.message, f.trace, request_id)
    except Exception as e:
        error = _exception_error(e, request_id)
    if error is not None:
        _log_error(error)
    _end_of_output(request_id)
    if error is not None:
        client.post_error(request_id, error)
    else:
        client.post_response(request_id, payload)
    _current_request_id = ""


def main() -> None:
    # One ordered stream for the host: stderr shares stdout's pipe.
    os.dup2(1, 2)
    # The image sets PYTHONUNBUFFERED; line buffering is the fallback without it.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)

    # PID 1 ignores SIGTERM unless a handler is installed; `_signal` avoids
    # importing signal.py (which pulls in enum).
    import _signal

    _signal.signal(_signal.SIGTERM, lambda *_: os._exit(0))

    # AWS order: task, layers, the runtime's own dir, then the stdlib.
    runtime_dir = os.path.dirname(os.path.abspath(__file__))
    head = [*RUNTIME_PATHS, runtime_dir]
    sys.path[:] = [*head, *[p for p in sys.path if p not in head and p != ""]]
    sys.meta_path.insert(0, _LoggingImportHook)
    os.environ.setdefault("LAMBDA_TASK_ROOT", "/var/task")

    # As in AWS's base images, a container image names its handler as the command.
    if len(sys.argv) > 1 and sys.argv[1]:
        os.environ["_HANDLER"] = sys.argv[1]
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except _Fault as f:
        error = _error_body(f.error_type, f.message, f.trace)
    except Exception as e:  # any exception raised by the module's top-level code
        error = _exception_error(e, "")
    else:
        error = None
    if error is not None:
        _log_error(error)
        sys.stdout.flush()
        try:
            client.post_error(None, error)
        finally:
            os._exit(1)

    while True:
        hdrs, body = client.next()
        invoke(client, handler, hdrs, body)


if __name__ == "__main__":
    main()
