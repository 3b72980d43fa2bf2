"""ARNs and qualifiers: parsing, building and resolving the names of resources.

The general format follows "Identify AWS resources with Amazon Resource Names (ARNs)"
(docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html):
`arn:partition:service:region:account-id:resource`, where some services leave the region,
the account or both empty. Every service served here (Lambda now; IAM, STS, S3, SQS, SNS,
EventBridge and DynamoDB next) parses and builds its ARNs with this module.

The Lambda rules follow the Lambda API reference: FunctionName's name formats and pattern,
Qualifier (docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), and aliases with weighted
routing (docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable

from .errors import InvalidParameterValue, ResourceNotFound
from .validators import validate_function_name

if TYPE_CHECKING:
    from .models import Alias, Function, Version

PARTITION = "aws"
# Which fields a service's ARNs carry, as (region, account); the rest carry both. IAM and STS
# are global (arn:aws:iam::123456789012:role/x); S3 bucket and object ARNs name neither
# (arn:aws:s3:::bucket/key), as bucket names are unique in a partition.
SCOPES: dict[str, tuple[bool, bool]] = {"iam": (False, True), "sts": (False, True), "s3": (False, False)}


class InvalidArn(ValueError):
    """Text that is not an ARN, or an ARN that breaks its service's rules."""


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str  # "id", "type/id" or "type:id", as the service defines it; may hold colons

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn:
    """The fields of an ARN; InvalidArn when the text has not an ARN's shape.

    Only the shape is checked, as AWS's SDKs parse (six fields; partition, service and
    resource not empty); whether region and account may be empty is `check_scope`'s rule.
    """
    if not isinstance(text, str) or not text.startswith("arn:"):
        raise InvalidArn(f"{text!r} is not an ARN: it must start with 'arn:'.")
    parts = text.split(":", 5)
    if len(parts) != 6:
        raise InvalidArn(f"{text!r} is not an ARN: expected arn:partition:service:region:account-id:resource.")
    _, partition, service, region, account, resource = parts
    for name, value in (("partition", partition), ("service", service), ("resource", resource)):
        if not value:
            raise InvalidArn(f"{text!r} is not an ARN: its {name} is empty.")
    return Arn(partition, service, region, account, resource)


def check_scope(arn: Arn) -> Arn:
    """The ARN, if it carries a region and an account exactly where its service's ARNs do."""
    has_region, has_account = SCOPES.get(arn.service, (True, True))
    if bool(arn.region) != has_region:
        raise InvalidArn(f"{arn}: {arn.service} ARNs {'need' if has_region else 'have no'} region.")
    if bool(arn.account) != has_account:
        raise InvalidArn(f"{arn}: {arn.service} ARNs {'need' if has_account else 'have no'} account id.")
    return arn


def build_arn(service: str, resource: str, *, region: str = "", account: str = "",
              partition: str = PARTITION) -> str:
    """An ARN from its fields; InvalidArn if the service's ARNs carry other fields."""
    if not resource:
        raise InvalidArn(f"a {service} ARN needs a resource.")
    return str(check_scope(Arn(partition, service, region, account, resource)))


def qualified(arn: str, qualifier: str | None) -> str:
    """A function's ARN with a version or alias appended; unqualified when there is none."""
    return f"{arn}:{qualifier}" if qualifier else arn


# --- Lambda: function names, ARNs and qualifiers ----------------------------------------------

LATEST = "$LATEST"
# FunctionName as the API takes it: a name, a partial ARN (123456789012:function:name) or a full
# ARN, each optionally followed by ":qualifier". AWS's pattern also allows other partial forms
# (region:account:function:name, function:name); they were never accepted here.
FUNCTION_REF_RE = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):(?P<account>\d{12}):function:"
    r"|(?P<partial_account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]+))?$")
QUALIFIER_RE = re.compile(r"[A-Za-z0-9$_-]{1,128}")  # the API's Qualifier parameter
ALIAS_NAME_RE = re.compile(r"^(?!^[0-9]+$)[A-Za-z0-9_-]{1,128}$")  # not only digits: that is a version
VERSION_RE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class FunctionRef:
    """What a function name or ARN says: the name, and the qualifier, owner and region if given."""

    name: str
    qualifier: str | None = None
    account: str | None = None
    region: str | None = None


def function_arn(account: str, name: str, qualifier: str | None = None, *, region: str | None = None) -> str:
    """arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]; the region is ours by default."""
    if region is None:
        from django.conf import settings

        region = settings.LAMBDA_REGION
    return qualified(build_arn("lambda", f"function:{name}", region=region, account=account), qualifier)


def is_latest(qualifier: str | None) -> bool:
    """No qualifier, or $LATEST: the function's unpublished configuration."""
    return qualifier in (None, "", LATEST)


def is_version(qualifier: str | None) -> bool:
    """A published version's number (anything else that is not $LATEST names an alias)."""
    return bool(qualifier) and VERSION_RE.fullmatch(qualifier) is not None


def is_alias_name(name: str | None) -> bool:
    return bool(name) and ALIAS_NAME_RE.match(name) is not None


def match_function_ref(ref: str) -> FunctionRef | None:
    """The parts of a FunctionName parameter, or None if it has none of the accepted forms."""
    match = FUNCTION_REF_RE.match(ref or "")
    if match is None:
        return None
    return FunctionRef(match["name"], match["qualifier"], match["account"] or match["partial_account"],
                       match["region"])


def parse_function_name(ref: str, account: str, region: str) -> tuple[str, str | None]:
    """(name, qualifier or None) from a FunctionName parameter naming a function of `account`.

    A malformed value is InvalidParameterValue; an ARN of another account or region names a
    function that does not exist here (ResourceNotFound), as AWS answers for any function not found.
    """
    parts = match_function_ref(ref)
    if parts is None:
        validate_function_name(ref)  # raises, naming what is wrong with the name
        raise InvalidParameterValue(f"{ref!r} is not a function name or ARN.", field="FunctionName")
    name = validate_function_name(parts.name)
    if (parts.account and parts.account != account) or (parts.region and parts.region != region):
        raise ResourceNotFound(f"Function not found: {ref}", field="FunctionName")
    return name, parts.qualifier


def request_qualifier(derived: str | None, given: str | None) -> str | None:
    """The qualifier of a request: from the function's ARN or from the Qualifier parameter, which must agree."""
    given = given or None
    if given is not None and not QUALIFIER_RE.fullmatch(given):
        raise InvalidParameterValue(f"Invalid Qualifier: {given}", field="Qualifier")
    if derived and given and derived != given:
        raise InvalidParameterValue("The derived qualifier from the function name does not match the specified "
                                    "qualifier.", field="Qualifier")
    return derived or given


def parse_function_arn(text: str) -> FunctionRef | None:
    """The function a full ARN of the aws partition names (arn:aws:lambda:...:function:name[:qualifier]),
    or None; as destinations take it. The region and account are returned, not checked."""
    try:
        arn = parse_arn(text)
    except InvalidArn:
        return None
    if arn.partition != PARTITION or arn.service != "lambda":
        return None
    kind, *rest = arn.resource.split(":")
    if kind != "function" or len(rest) not in (1, 2):
        return None
    return FunctionRef(rest[0], rest[1] if len(rest) == 2 else None, arn.account, arn.region)


# --- Resolving a qualifier to the version it runs -----------------------------------------------

@dataclass(frozen=True)
class Resolved:
    version: str  # "$LATEST" or a version number
    config: Function | Version  # the row holding that version's configuration
    alias: Alias | None = None  # the alias the qualifier named, if it named one


def alias_target(function_version: str, routing_config: dict[str, Any] | None,
                 pick: Callable[[], float] = random.random) -> str:
    """The version an alias sends one call to: its additional version for that weighted share."""
    for extra, weight in (routing_config or {}).items():
        return extra if pick() < float(weight) else function_version  # AWS allows one additional version
    return function_version


def resolve(function: Function, qualifier: str | None, *, weighted: bool = False, field: str = "Qualifier",
            pick: Callable[[], float] = random.random) -> Resolved:
    """The version a qualifier names ($LATEST, a number, or an alias's version) and its configuration.

    With `weighted`, an alias with a routing config resolves to its additional version for that
    share of calls, picked at random (what an invocation runs); without, always to its own
    version (what GetFunctionConfiguration shows). ResourceNotFound if nothing has that name.
    """
    if is_latest(qualifier):
        return Resolved(LATEST, function)
    assert qualifier is not None
    if is_version(qualifier):
        version = function.versions.filter(number=int(qualifier)).first()
        if version is not None:
            return Resolved(str(version.number), version)
    else:
        alias = function.aliases.filter(name=qualifier).first()
        if alias is not None:
            target = alias_target(alias.function_version, alias.routing_config, pick) if weighted \
                else alias.function_version
            return replace(resolve(function, target, field=field), alias=alias)
    raise ResourceNotFound(f"Function not found: {function.arn}:{qualifier}", field=field)


def version_exists(function: Function, qualifier: str | None) -> bool:
    """True for a published version of the function ($LATEST and aliases are not versions)."""
    return is_version(qualifier) and function.versions.filter(number=int(qualifier)).exists()


def alias_exists(function: Function, name: str | None) -> bool:
    return bool(name) and function.aliases.filter(name=name).exists()
