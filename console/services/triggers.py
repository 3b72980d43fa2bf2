"""What invokes a function and where its results go: the overview diagram and the Triggers list."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.urls import reverse

from ..arns import is_latest, parse_function_arn
from ..models import Account, EventInvokeConfig, Function, FunctionUrlConfig, HttpRoute, Invocation, ScheduleRule
from ..s3.models import Bucket
from ..s3.services.notifications import S3_PRINCIPAL, Rule, function_configurations, lambda_configuration_add
from ..s3.wire.errors import NoSuchBucket
from .http_apis import http_routes_of_function
from .permissions import EVENTS, allows_service, permission_add
from .schedules import schedule_rule_create


@dataclass
class Trigger:
    kind: str  # "function-url" | "http-api" | "schedule" | "s3"
    service: str  # as the AWS console names the source
    title: str
    detail: str
    link: str  # where its configuration is shown
    enabled: bool = True
    obj: object = None


@dataclass
class S3Trigger:
    """One configuration of a bucket's notifications that invokes the function."""

    bucket: Bucket
    rule: Rule

    @property
    def qualifier(self) -> str | None:
        ref = parse_function_arn(self.rule.arn)
        return ref.qualifier if ref else None


@dataclass
class Destination:
    condition: str  # "On success" | "On failure"
    arn: str
    name: str
    link: str | None


@dataclass
class Overview:
    triggers: list[Trigger] = field(default_factory=list)
    destinations: list[Destination] = field(default_factory=list)


def function_triggers(function: Function) -> list[Trigger]:
    """Every trigger of the function: its URLs, HTTP API routes, schedule rules and buckets."""
    triggers: list[Trigger] = []
    config_url = reverse("function-configuration", args=[function.name])
    for url in FunctionUrlConfig.objects.filter(function=function).order_by("created"):
        triggers.append(Trigger("function-url", "Function URL", "Function URL" + (f" ({url.qualifier})"
                                                                                   if url.qualifier else ""),
                                f"Auth type: {url.auth_type}", f"{config_url}?section=function-url", obj=url))
    route: HttpRoute
    for route in http_routes_of_function(function):
        triggers.append(Trigger("http-api", "API Gateway", f"{route.api.name}",
                                f"{route.route_key} (HTTP API {route.api.api_id})",
                                reverse("http-apis") + f"#api-{route.api.api_id}", obj=route))
    for rule in ScheduleRule.objects.filter(function=function).select_related("account", "periodic_task"):
        triggers.append(Trigger("schedule", "EventBridge (CloudWatch Events)", rule.name, rule.schedule_expression,
                                f"{config_url}?section=triggers#rule-{rule.name}",
                                enabled=rule.state == ScheduleRule.RuleState.ENABLED, obj=rule))
    for bucket, rule in function_configurations(function.account.account_id, function.name):
        details = [f"Event types: {', '.join(rule.events)}"]
        details += [f"{name}: {value}" for name, value in (("Prefix", rule.prefix), ("Suffix", rule.suffix)) if value]
        trigger = S3Trigger(bucket, rule)
        triggers.append(Trigger("s3", "S3", bucket.name + (f" ({trigger.qualifier})" if trigger.qualifier else ""),
                                "; ".join(details), f"{config_url}?section=triggers#s3-{bucket.name}-{rule.id}",
                                obj=trigger))
    return triggers


def s3_trigger_add(account: Account, function: Function, bucket_name: str, events: list[str], *,
                   prefix: str = "", suffix: str = "") -> Rule:
    """A bucket's notification configuration invoking the function, and the permission that lets S3 do it.

    As AWS's console does: the statement names s3.amazonaws.com, the bucket's ARN as SourceArn and
    the account as SourceAccount; the configuration is then checked as PutBucketNotificationConfiguration
    checks it (overlaps refused). The caller wraps this in a transaction, so a refused
    configuration leaves no statement behind.
    """
    bucket = Bucket.objects.select_related("account").filter(account=account, name=bucket_name).first()
    if bucket is None:
        raise NoSuchBucket(BucketName=bucket_name)
    if not allows_service(function, None, S3_PRINCIPAL, bucket.arn, account.account_id):
        permission_add(function, None, statement_id=f"lambda-{uuid.uuid4()}", action="lambda:InvokeFunction",
                       principal=S3_PRINCIPAL, source_arn=bucket.arn, source_account=account.account_id)
    return lambda_configuration_add(bucket, function.arn, events, prefix, suffix)


def schedule_trigger_add(account: Account, function: Function, name: str, expression: str, *, input: str = "",
                         description: str = "", enabled: bool = True, qualifier: str = "") -> ScheduleRule:
    """A schedule rule invoking the function, and the permission that lets EventBridge do it.

    AWS's console adds that statement (principal events.amazonaws.com, SourceArn the rule's
    ARN) when it adds an EventBridge trigger; without it the rule fires and Lambda refuses it.
    The caller wraps this in a transaction with what else it changes.
    """
    rule = schedule_rule_create(account, name, expression, function, input=input, description=description,
                                enabled=enabled, qualifier=qualifier)
    target = None if is_latest(qualifier) else qualifier
    if not allows_service(function, target, EVENTS, rule.arn, account.account_id):
        permission_add(function, target, statement_id=f"lambda-{uuid.uuid4()}",
                       action="lambda:InvokeFunction", principal=EVENTS, source_arn=rule.arn)
    return rule


def function_destinations(function: Function) -> list[Destination]:
    """The on-success and on-failure destinations of the function's unqualified configuration."""
    config = EventInvokeConfig.objects.filter(function=function, qualifier="$LATEST").first()
    if config is None:
        return []
    out = []
    for condition, arn in (("On success", config.on_success), ("On failure", config.on_failure)):
        if not arn:
            continue
        ref = parse_function_arn(arn)
        name = ref.name if ref else arn
        target = Function.objects.filter(account_id=function.account_id, name=name).first()
        out.append(Destination(condition, arn, name,
                               reverse("function", args=[target.name]) if target else None))
    return out


def function_overview(function: Function) -> Overview:
    return Overview(function_triggers(function), function_destinations(function))


def failed_events(function: Function, limit: int = 50) -> list[Invocation]:
    """Asynchronous events kept after exhausting their retries or age, with no failure destination."""
    return list(Invocation.objects.filter(function=function, dead_lettered=True).order_by("-received")[:limit])
