"""Event notifications: what a change to a bucket sends to the functions configured for it.

`object_changed` is called inside the transaction that records the change (the object's row
written or deleted), so the events and the change commit together: each event is queued as an
asynchronous invocation (`executor.invoke.invoke(..., "Event")`, whose Invocation row is
itself written in that transaction and sent once it commits), and neither a worker nor Redis
restarting between the write and the invocation can lose it (the reaper sends a queued row
whose message was lost). A change rolled back sends nothing.

The event is S3's, version 2.1, record for record (S3 User Guide, "Event message structure"):
the key URL-encoded as a form value with "/" kept ("red flower.jpg" -> "red+flower.jpg"),
removal events without size or eTag, and a sequencer that grows with each change of a key.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from django.db import transaction
from django.utils import timezone

from executor.invoke import invoke

from ... import authz
from ...errors import LambdaError
from ...models import Account
from ...services.permissions import allows_service
from ...sigv4 import Principal
from ..models import Bucket
from ..wire.xml import iso
from .notifications import S3_PRINCIPAL, Rule, destination_function, notification_rules

log = logging.getLogger(__name__)


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


def encoded_key(key: str) -> str:
    """The key as the event carries it: a form-encoded value, "/" kept (what filters compare too)."""
    return quote_plus(key, safe="/")


def customer_id(account: Account) -> str:
    """A stable stand-in for the owner's "Amazon retail customer ID" (A3NL1KOZZKExample)."""
    return "A" + base64.b32encode(hashlib.sha256(account.account_id.encode()).digest()).decode()[:13]


def principal_id(principal: Principal | None, bucket: Bucket) -> str:
    """userIdentity.principalId: AWS:<user id> for an IAM user, AWS:<role id>:<session> for a role
    session; a change with no signed caller (the console) is the owner's."""
    if principal is None:
        return customer_id(bucket.account)
    return f"AWS:{authz.caller_id(principal)}"


_sequence_lock = threading.Lock()
_last_sequence = 0


def sequencer() -> str:
    """Hex, 18 digits, growing: nanoseconds of the clock, never the same twice in this process.
    Changes of one key are serialised by its row lock, so a later change gets a larger value."""
    global _last_sequence
    with _sequence_lock:
        _last_sequence = max(time.time_ns(), _last_sequence + 1)
        return f"{_last_sequence:018X}"


def event_record(bucket: Bucket, change: Change, configuration_id: str, *, key: str | None = None,
                 sequence: str | None = None, when: Any = None) -> dict[str, Any]:
    """One S3 event record, in the order AWS writes its fields."""
    obj: dict[str, Any] = {"key": key if key is not None else encoded_key(change.key)}
    if change.event_name.startswith("ObjectCreated:"):
        obj["size"] = change.size or 0
        obj["eTag"] = change.etag or ""
    obj["sequencer"] = sequence or sequencer()
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": bucket.region,
        "eventTime": iso(when or timezone.now()),
        "eventName": change.event_name,
        "userIdentity": {"principalId": principal_id(change.principal, bucket)},
        "requestParameters": {"sourceIPAddress": change.source_ip},
        # The request's ids, as its response headers gave them (x-amz-id-2 is the request id here).
        "responseElements": {"x-amz-request-id": change.request_id, "x-amz-id-2": change.request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket.name, "ownerIdentity": {"principalId": customer_id(bucket.account)},
                       "arn": bucket.arn},
            "object": obj,
        },
    }


def _queue(bucket: Bucket, rule: Rule, event: dict[str, Any]) -> None:
    target = destination_function(rule.arn)
    if target is None:
        log.warning("bucket %s: configuration %s names %s, which does not exist; event %s dropped",
                    bucket.name, rule.id, rule.arn, event["Records"][0]["eventName"])
        return
    function, qualifier = target
    if not allows_service(function, qualifier, S3_PRINCIPAL, bucket.arn, bucket.account.account_id):
        # As on AWS: S3's call is refused by the function's resource-based policy.
        log.warning("bucket %s may not invoke %s: its resource-based policy does not allow %s from %s",
                    bucket.name, rule.arn, S3_PRINCIPAL, bucket.arn)
        return
    invoke(function, event, invocation_type="Event", qualifier=qualifier, source="s3")


def object_changed(bucket: Bucket, change: Change) -> None:
    """Queue the events `change` triggers under the bucket's notification configuration."""
    if not bucket.notification_configuration:
        return
    event_type = f"s3:{change.event_name}"
    key = encoded_key(change.key)
    rules = [rule for rule in notification_rules(bucket) if rule.matches(event_type, key)]
    if not rules:
        return
    sequence, when = sequencer(), timezone.now()
    for rule in rules:
        event = {"Records": [event_record(bucket, change, rule.id, key=key, sequence=sequence, when=when)]}
        try:
            # A savepoint each: an event that cannot be queued is logged, and the change (and the
            # other events) still commit: an upload never fails for its notification.
            with transaction.atomic():
                try:
                    _queue(bucket, rule, event)
                except LambdaError as exc:  # refused (throttled, inactive...): its record is kept
                    log.warning("bucket %s: event for %s not queued: %s %s", bucket.name, rule.arn, exc.code,
                                exc)
        except Exception:
            log.exception("bucket %s: event for %s not queued", bucket.name, rule.arn)
