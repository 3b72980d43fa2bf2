"""Our rows in the response shapes of AWS's Lambda API."""
from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from .. import arns
from ..models import Alias, Function, PackageType, State, Version


def timestamp(value: dt.datetime) -> str:
    """AWS's LastModified: 2024-01-31T12:00:00.000+0000."""
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def code_sha256(hex_digest: str) -> str:
    """The API's CodeSha256 is the base64 of the digest; the models keep it in hex."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode() if hex_digest else ""


def function_configuration(function: Function, config: Function | Version | None = None,
                           version: str = "$LATEST", arn: str | None = None) -> dict[str, Any]:
    config = config or function
    state = function.state if config is function else State.ACTIVE
    out: dict[str, Any] = {
        "FunctionName": function.name,
        "FunctionArn": arn or arns.qualified(function.arn, None if version == arns.LATEST else version),
        "CodeSize": config.code_size,
        "Description": config.description,
        "Timeout": config.timeout,
        "MemorySize": config.memory_size,
        "LastModified": timestamp(config.last_modified),
        "CodeSha256": code_sha256(config.code_sha256),
        "Version": version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": str(config.revision_id),
        "State": state,
        "LastUpdateStatus": "Successful",
        "PackageType": config.package_type,
        "Architectures": [config.architecture],
        "EphemeralStorage": {"Size": config.ephemeral_storage},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": function.log_group_name},
    }
    if config.role:  # every function made through the API or the console has one
        out["Role"] = config.role
    if state != State.ACTIVE:
        out["StateReason"] = function.state_reason
    if config.package_type == PackageType.ZIP:
        out["Runtime"] = config.runtime
        out["Handler"] = config.handler
    elif config.image_config:
        out["ImageConfigResponse"] = {"ImageConfig": dict(config.image_config)}
    if config.environment:
        out["Environment"] = {"Variables": dict(config.environment)}
    return out


def alias_configuration(alias: Alias) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AliasArn": alias.arn,
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": str(alias.revision_id),
    }
    if alias.routing_config:
        out["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.routing_config)}
    return out
