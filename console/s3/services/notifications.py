"""A bucket's notification configuration: checked, stored, matched (business rules; the wire is
ops/notifications.py).

Only Lambda destinations are served (LambdaFunctionConfigurations; "CloudFunctionConfiguration"
in the XML). The rules follow the S3 User Guide: "Supported event types" (the ObjectCreated and
ObjectRemoved families), "Configuring event notifications using object key name filtering"
(one prefix and one suffix rule at most, compared with the URL-encoded key, and no two
configurations that could both match one event), and PutBucketNotificationConfiguration's
destination check: S3 refuses a function whose resource-based policy does not let
s3.amazonaws.com invoke it for this bucket, with AWS's own message and numbered
ArgumentName/ArgumentValue pairs, one per refused destination.

The stored document is GetBucketNotificationConfiguration's, normalised:
{"LambdaFunctionConfigurations": [{"Id", "LambdaFunctionArn", "Events": [...],
"Filter": {"Key": {"FilterRules": [{"Name": "Prefix"|"Suffix", "Value"}]}}}]}, the Filter left out
when it has no rule, and {} when notifications are off.
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from django.conf import settings
from django.db import transaction

from ...arns import alias_exists, is_latest, parse_function_arn, version_exists
from ...models import Function
from ...services.permissions import allows_service
from ..models import Bucket
from ..wire.errors import InvalidArgument, MalformedXML

S3_PRINCIPAL = "s3.amazonaws.com"
CREATED = ("s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
           "s3:ObjectCreated:CompleteMultipartUpload")
REMOVED = ("s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated")
# What a configuration may name: each family's events, and the family's wildcard.
EVENT_TYPES = ("s3:ObjectCreated:*", *CREATED, "s3:ObjectRemoved:*", *REMOVED)
MAX_FILTER_VALUE = 1024  # FilterRule's documented maximum
MAX_ID = 255

UNVALIDATED = "Unable to validate the following destination configurations"
OVERLAP = "Configurations overlap. Configurations on the same bucket cannot share a common event type."
AMBIGUOUS = ("Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes "
             "are overlapping for the same event type.")


@dataclass(frozen=True)
class Rule:
    """One LambdaFunctionConfiguration, as the matching and the console read it."""

    id: str
    arn: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""

    @classmethod
    def of(cls, config: dict[str, Any]) -> "Rule":
        rules = {r["Name"]: r["Value"] for r in config.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
        return cls(config["Id"], config["LambdaFunctionArn"], tuple(config["Events"]), rules.get("Prefix", ""),
                   rules.get("Suffix", ""))

    def document(self) -> dict[str, Any]:
        config: dict[str, Any] = {"Id": self.id, "LambdaFunctionArn": self.arn, "Events": list(self.events)}
        rules = [{"Name": name, "Value": value} for name, value in (("Prefix", self.prefix), ("Suffix", self.suffix))
                 if value]
        if rules:
            config["Filter"] = {"Key": {"FilterRules": rules}}
        return config

    def matches(self, event_type: str, encoded_key: str) -> bool:
        """Does an event (say "s3:ObjectCreated:Put") on a key, URL-encoded as the event carries it, match?"""
        return (any(event_type in expand(e) for e in self.events)
                and encoded_key.startswith(self.prefix) and encoded_key.endswith(self.suffix))


def expand(event: str) -> tuple[str, ...]:
    """The concrete events an event type names: a wildcard names its whole family."""
    if event == "s3:ObjectCreated:*":
        return CREATED
    if event == "s3:ObjectRemoved:*":
        return REMOVED
    return (event,)


def generated_id() -> str:
    # AWS names a configuration sent without an Id with the base64 of a random UUID's text.
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


# --- Checking a document ----------------------------------------------------------------------

def _filter_rules(config: dict[str, Any]) -> tuple[str, str]:
    prefix = suffix = None
    for rule in config.get("Filter", {}).get("Key", {}).get("FilterRules", []):
        name, value = (rule.get("Name") or ""), rule.get("Value") or ""
        kind = name.lower()
        if kind not in ("prefix", "suffix"):
            raise InvalidArgument("filter rule name must be either prefix or suffix", ArgumentName="FilterRule",
                                  ArgumentValue=name)
        if not value:
            raise InvalidArgument("filter value cannot be empty", ArgumentName=kind, ArgumentValue=value)
        if len(value.encode()) > MAX_FILTER_VALUE:
            raise InvalidArgument("Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation",
                                  ArgumentName=kind, ArgumentValue=value)
        if (prefix if kind == "prefix" else suffix) is not None:
            raise InvalidArgument(f"Cannot specify more than one {kind} rule in a filter.", ArgumentName="FilterRule",
                                  ArgumentValue=kind)
        if kind == "prefix":
            prefix = value
        else:
            suffix = value
    return prefix or "", suffix or ""


def _rule(config: dict[str, Any]) -> Rule:
    events = list(dict.fromkeys(config.get("Events") or []))
    if not events:  # the schema requires at least one Event
        raise MalformedXML()
    for event in events:
        if event not in EVENT_TYPES:
            raise InvalidArgument("The event is not supported for notifications", ArgumentName="Event",
                                  ArgumentValue=event)
    arn = config.get("LambdaFunctionArn") or ""
    if parse_function_arn(arn) is None:
        raise InvalidArgument("The ARN could not be parsed", ArgumentName="LambdaFunctionArn", ArgumentValue=arn)
    config_id = config.get("Id") or generated_id()
    if len(config_id) > MAX_ID:
        raise InvalidArgument("The ID of a configuration is at most 255 characters.", ArgumentName="Id",
                              ArgumentValue=config_id)
    prefix, suffix = _filter_rules(config)
    return Rule(config_id, arn, tuple(events), prefix, suffix)


def _shared_event(a: Rule, b: Rule) -> tuple[str, str] | None:
    for x in a.events:
        for y in b.events:
            if set(expand(x)) & set(expand(y)):
                return x, y
    return None


def _check_overlaps(rules: list[Rule]) -> None:
    """S3 refuses two configurations that one event could both match: a common event type, and
    filters that a single key can satisfy together (each prefix a prefix of the other, each
    suffix a suffix of the other; no filter matches every key)."""
    for i, a in enumerate(rules):
        for b in rules[i + 1:]:
            shared = _shared_event(a, b)
            if shared is None:
                continue
            prefixes = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
            suffixes = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
            if not (prefixes and suffixes):
                continue
            if not (a.prefix or a.suffix or b.prefix or b.suffix):
                raise InvalidArgument(OVERLAP, ArgumentName="Event", ArgumentValue=", ".join(shared))
            raise InvalidArgument(AMBIGUOUS)


def destination_function(arn: str) -> tuple[Function, str | None] | None:
    """The function (and qualifier) a LambdaFunctionArn names, if it exists here."""
    ref = parse_function_arn(arn)
    if ref is None or ref.region != settings.LAMBDA_REGION:
        return None
    function = Function.objects.select_related("account").filter(account__account_id=ref.account,
                                                                 name=ref.name).first()
    if function is None:
        return None
    qualifier = ref.qualifier
    if not is_latest(qualifier) and not (version_exists(function, qualifier) or alias_exists(function, qualifier)):
        return None
    return function, qualifier


def may_invoke(bucket: Bucket, arn: str) -> bool:
    """Does the function exist, and does its resource-based policy let S3 invoke it for this bucket?"""
    target = destination_function(arn)
    if target is None:
        return False
    function, qualifier = target
    return allows_service(function, qualifier, S3_PRINCIPAL, bucket.arn, bucket.account.account_id)


def _check_destinations(bucket: Bucket, rules: list[Rule]) -> None:
    # S3 cannot tell a missing function from one it may not invoke: both answer the same.
    refused = list(dict.fromkeys(rule.arn for rule in rules if not may_invoke(bucket, rule.arn)))
    if refused:
        fields: dict[str, str] = {}
        for n, arn in enumerate(refused, start=1):
            fields[f"ArgumentName{n}"] = f"{arn}, null"
            fields[f"ArgumentValue{n}"] = f"Not authorized to invoke function [{arn}]"
        raise InvalidArgument(UNVALIDATED, **fields)


def checked_document(bucket: Bucket, configurations: Iterable[dict[str, Any]], *,
                     skip_destination_validation: bool = False) -> dict[str, Any]:
    """The normalised document of these LambdaFunctionConfigurations, or InvalidArgument."""
    rules = [_rule(config) for config in configurations]
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InvalidArgument("Same ID used for multiple configurations. IDs must be unique", ArgumentName="Id",
                              ArgumentValue=duplicate)
    _check_overlaps(rules)
    if not skip_destination_validation:
        _check_destinations(bucket, rules)
    return {"LambdaFunctionConfigurations": [rule.document() for rule in rules]} if rules else {}


# --- Reading and writing ----------------------------------------------------------------------

def notification_put(bucket: Bucket, configurations: Iterable[dict[str, Any]], *,
                     skip_destination_validation: bool = False) -> dict[str, Any]:
    """Replace the bucket's configuration (PutBucketNotificationConfiguration); none turns them off."""
    document = checked_document(bucket, configurations, skip_destination_validation=skip_destination_validation)
    Bucket.objects.filter(pk=bucket.pk).update(notification_configuration=document)
    bucket.notification_configuration = document
    return document


def notification_rules(bucket: Bucket) -> list[Rule]:
    return [Rule.of(c) for c in (bucket.notification_configuration or {}).get("LambdaFunctionConfigurations", [])]


def lambda_configuration_add(bucket: Bucket, arn: str, events: list[str], prefix: str = "",
                             suffix: str = "") -> Rule:
    """Add one Lambda configuration to the bucket's others (the console's Add trigger), checked as a
    PutBucketNotificationConfiguration of the whole would be."""
    with transaction.atomic():
        locked = Bucket.objects.select_for_update().select_related("account").get(pk=bucket.pk)
        configs = [rule.document() for rule in notification_rules(locked)]
        filters = [{"Name": name, "Value": value} for name, value in (("prefix", prefix), ("suffix", suffix)) if value]
        new: dict[str, Any] = {"Id": generated_id(), "LambdaFunctionArn": arn, "Events": events}
        if filters:
            new["Filter"] = {"Key": {"FilterRules": filters}}
        document = notification_put(locked, configs + [new])
    bucket.notification_configuration = document
    return Rule.of(document["LambdaFunctionConfigurations"][-1])


def lambda_configuration_remove(bucket: Bucket, config_id: str) -> bool:
    """Remove one configuration by its Id; True if it was there."""
    with transaction.atomic():
        locked = Bucket.objects.select_for_update().get(pk=bucket.pk)
        rules = notification_rules(locked)
        kept = [rule.document() for rule in rules if rule.id != config_id]
        if len(kept) == len(rules):
            return False
        document = {"LambdaFunctionConfigurations": kept} if kept else {}
        Bucket.objects.filter(pk=bucket.pk).update(notification_configuration=document)
    bucket.notification_configuration = document
    return True


def function_configurations(account_id: str, function_name: str) -> list[tuple[Bucket, Rule]]:
    """Every (bucket, configuration) naming this function (any qualifier): its S3 triggers."""
    found = []
    for bucket in Bucket.objects.exclude(notification_configuration={}).order_by("name"):
        for rule in notification_rules(bucket):
            ref = parse_function_arn(rule.arn)
            if ref is not None and ref.account == account_id and ref.name == function_name:
                found.append((bucket, rule))
    return found
