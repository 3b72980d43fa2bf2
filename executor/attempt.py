"""One invocation as an execution environment sees it: the event it hands its runtime, what
the runtime answered, and how the invocation ended."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Protocol

from . import logs


@dataclass
class Delivery:
    payload: bytes
    headers: dict[str, str]


class DeliveryWaiter(Protocol):
    def deliver(self, delivery: Delivery) -> None: ...


@dataclass
class Attempt:
    """One invocation as this environment sees it."""

    request_id: str
    payload: bytes
    invoked_arn: str
    timeout: float
    log: logs.LogBuffer = field(default_factory=logs.LogBuffer)
    delivered_at: float | None = None  # monotonic
    answered_at: float | None = None
    answer: bytes | None = None
    error_type: str | None = None  # None: a result; else the runtime reported an error
    end_seen: bool = False
    last_output_at: float = 0.0


@dataclass
class Outcome:
    request_id: str
    ok: bool
    payload: bytes
    error_type: str = ""
    duration_ms: float = 0.0
    init_duration_ms: float | None = None
    max_memory_mb: int | None = None
    lines: list[tuple[int, str]] = field(default_factory=list)
    log_stream_name: str = ""
    interrupted: bool = False  # cut short by the worker's stop, not by the function: to be run again

    @property
    def billed_ms(self) -> int:
        """AWS bills every invocation rounded up to the next millisecond."""
        return max(1, math.ceil(self.duration_ms))

    @property
    def function_error(self) -> str | None:
        return None if self.ok else "Unhandled"


def error_type_of(payload: bytes) -> str:
    """The errorType of an error document a runtime sent, or ""."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return ""
    return doc.get("errorType", "") if isinstance(doc, dict) else ""
