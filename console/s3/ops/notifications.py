"""PutBucketNotificationConfiguration and GetBucketNotificationConfiguration (S3 API reference).

The XML names a Lambda configuration CloudFunctionConfiguration and its ARN CloudFunction;
Event and FilterRule repeat without a wrapping list. Only Lambda destinations are served: a
document naming an SQS queue, an SNS topic or EventBridge is refused whole with S3's
NotImplemented (501, not retried by SDKs) saying so, and nothing is changed.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..services.notifications import notification_put
from ..wire import body
from ..wire.app import run
from ..wire.errors import MalformedXML, NotImplementedError_
from ..wire.request import S3Request
from ..wire.response import S3Response, empty, xml_response
from ..wire.xml import el, els, parse, text
from .common import bucket_for

MAX_DOCUMENT = 256 * 1024
_NOT_SERVED = {
    "QueueConfiguration": "QueueConfigurations (Amazon SQS) are not served here",
    "TopicConfiguration": "TopicConfigurations (Amazon SNS) are not served here",
    "EventBridgeConfiguration": "EventBridgeConfiguration (Amazon EventBridge) is not served here",
}


def _lambda_configuration(node: ET.Element) -> dict[str, Any]:
    config: dict[str, Any] = {"Events": [], "Filter": {"Key": {"FilterRules": []}}}
    for child in node:
        if child.tag == "Id":
            config["Id"] = child.text or ""
        elif child.tag == "CloudFunction":
            config["LambdaFunctionArn"] = (child.text or "").strip()
        elif child.tag == "Event":
            config["Events"].append((child.text or "").strip())
        elif child.tag == "Filter":
            for key in child:
                if key.tag != "S3Key":
                    raise MalformedXML()
                for rule in key:
                    if rule.tag != "FilterRule":
                        raise MalformedXML()
                    config["Filter"]["Key"]["FilterRules"].append(
                        {"Name": text(rule, "Name", ""), "Value": text(rule, "Value", "")})
        else:
            raise MalformedXML()
    if not config.get("LambdaFunctionArn") or not config["Events"]:
        raise MalformedXML()  # both required by the schema
    return config


def parse_configuration(document: bytes) -> list[dict[str, Any]]:
    """The LambdaFunctionConfigurations of a NotificationConfiguration document."""
    root = parse(document, "NotificationConfiguration")
    configurations = []
    for node in root:
        if node.tag in _NOT_SERVED:
            raise NotImplementedError_(f"{_NOT_SERVED[node.tag]}: only LambdaFunctionConfigurations "
                                       "(CloudFunctionConfiguration) are. Nothing was changed.")
        if node.tag != "CloudFunctionConfiguration":
            raise MalformedXML()
        configurations.append(_lambda_configuration(node))
    return configurations


def render_configuration(document: dict[str, Any]) -> str:
    parts = []
    for config in document.get("LambdaFunctionConfigurations", []):
        rules = config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        inner = [el("Id", config["Id"])]
        if rules:
            inner.append(els("Filter", [els("S3Key", (els("FilterRule", [el("Name", r["Name"]), el("Value", r["Value"])])
                                                      for r in rules))]))
        inner.append(el("CloudFunction", config["LambdaFunctionArn"]))
        inner.extend(el("Event", event) for event in config["Events"])
        parts.append(els("CloudFunctionConfiguration", inner))
    return "".join(parts)


async def put_bucket_notification_configuration(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:PutBucketNotification")
    configurations = parse_configuration(await body.read_all(req, MAX_DOCUMENT))
    skip = req.headers.get("x-amz-skip-destination-validation", "").strip().lower() == "true"
    await run(notification_put, bucket, configurations, skip_destination_validation=skip)
    return empty(200)


async def get_bucket_notification_configuration(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:GetBucketNotification")
    return xml_response("NotificationConfiguration", render_configuration(bucket.notification_configuration or {}))
