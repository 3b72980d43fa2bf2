"""What one invocation came to: the one shape a worker hands back, a caller reads and the
recorder writes.

The worker builds an `InvokeResult`; it crosses Redis as JSON (`to_wire`/`from_wire`, the
payload in base64: a function may answer any bytes, and JSON carries text); `invoke` hands
the same object to its caller (the API, the console, a trigger); the recorder writes an
Invocation row from it (`row_fields`). A field added here travels the whole way.
"""
from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from typing import Any

from console.models import Invocation


@dataclass
class InvokeResult:
    request_id: str
    status: str = Invocation.Status.SUCCEEDED  # what the invocation's row says: an Invocation.Status
    status_code: int = 200  # AWS's answer to Invoke: 200 RequestResponse, 202 Event, 204 DryRun
    payload: bytes = b""  # the function's answer, byte for byte
    function_error: str | None = None  # "Unhandled" when the function failed
    error_type: str = ""
    throttle_reason: str = ""  # AWS's Reason of a TooManyRequestsException
    executed_version: str = "$LATEST"
    memory_size: int = 128
    # None unless the function ran (a throttle, or an environment that did not start, ran nothing).
    duration_ms: float | None = None
    billed_duration_ms: int | None = None
    init_duration_ms: float | None = None
    max_memory_used_mb: int | None = None
    log_stream_name: str = ""
    log_tail: str = ""  # the end of the invocation's log (4 KB at most)
    log_result: str | None = None  # base64 of log_tail, when the caller asked for it (LogType Tail)

    @property
    def ran(self) -> bool:
        return self.duration_ms is not None

    def to_wire(self) -> dict[str, Any]:
        """Plain JSON values; the payload in base64."""
        values = dataclasses.asdict(self)
        values["payload"] = encode_payload(self.payload)
        return values

    @classmethod
    def from_wire(cls, values: dict[str, Any]) -> InvokeResult:
        return cls(**{**values, "payload": decode_payload(values["payload"])})

    def row_fields(self) -> dict[str, Any]:
        """The columns of its Invocation row that the result decides."""
        return dict(
            request_id=self.request_id,
            version=self.executed_version,
            status=self.status,
            error_type=self.error_type or self.throttle_reason,
            duration_ms=self.duration_ms,
            billed_duration_ms=self.billed_duration_ms,
            init_duration_ms=self.init_duration_ms,
            memory_size=self.memory_size,
            max_memory_used_mb=self.max_memory_used_mb,
            response_size=len(self.payload) if self.ran else 0,
            log_stream_name=self.log_stream_name,
        )

    def response_text(self) -> str:
        """The answer as an event's row keeps it (`Invocation.response`, a text column that a
        destination's record quotes as JSON): bytes that are not UTF-8 cannot be kept as they are."""
        return self.payload.decode("utf-8", errors="replace")


def encode_payload(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def decode_payload(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
