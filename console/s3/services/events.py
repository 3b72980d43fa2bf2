"""Event notifications: what a change to a bucket sends to the functions configured for it.

`object_changed` is called inside the transaction that records the change (the object's row
written or deleted), so the events and the change commit together: each event is queued as an
asynchronous invocation (`executor.invoke.invoke(..., "Event")`, whose Invocation row is
itself written in that transaction and sent once it commits), and neither a worker nor Redis
restarting between the write and the invocation can lose it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...sigv4 import Principal
from ..models import Bucket


@dataclass(frozen=True)
class Change:
    """One change to one object, as the event describes it."""

    event_name: str  # "ObjectCreated:Put", "ObjectCreated:Copy", "ObjectRemoved:Delete", ...
    key: str
    size: int | None = None
    etag: str | None = None
    principal: Principal | None = None
    source_ip: str = "127.0.0.1"
    request_id: str = ""


def object_changed(bucket: Bucket, change: Change) -> None:
    """Queue the events `change` triggers under the bucket's notification configuration."""
    # Filled in by the notifications work: match configurations, build AWS's event, invoke.
    return None
