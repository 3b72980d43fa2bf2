"""Object tagging (S3 API reference, "PutObjectTagging", "GetObjectTagging", "DeleteObjectTagging"),
and the Tagging document they share with bucket tagging."""
from __future__ import annotations

from ..services.objects import object_at, object_tags_set
from ..wire import body
from ..wire.app import run
from ..wire.errors import MalformedXML
from ..wire.request import S3Request
from ..wire.response import S3Response, empty, xml_response
from ..wire.xml import el, els, parse
from .common import bucket_for


def tag_set_xml(tags: list[dict[str, str]]) -> str:
    return els("TagSet", (els("Tag", [el("Key", t["Key"]), el("Value", t["Value"])]) for t in tags))


def tags_from_xml(document: bytes) -> list[dict[str, str]]:
    """<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging> as a list; MalformedXML otherwise."""
    root = parse(document, "Tagging")
    tag_set = root.find("TagSet")
    if tag_set is None:
        raise MalformedXML()
    tags = []
    for tag in tag_set.findall("Tag"):
        key, value = tag.find("Key"), tag.find("Value")
        if key is None or value is None:
            raise MalformedXML()
        tags.append({"Key": key.text or "", "Value": value.text or ""})
    return tags


async def get_object_tagging(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:GetObjectTagging", req.key)
    obj = await run(object_at, bucket, req.key or "")
    return xml_response("Tagging", tag_set_xml(obj.tags))


async def put_object_tagging(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:PutObjectTagging", req.key)
    tags = tags_from_xml(await body.read_all(req, 256 * 1024))
    await run(object_tags_set, bucket, req.key or "", tags)
    return empty(200)


async def delete_object_tagging(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:DeleteObjectTagging", req.key)
    await run(object_tags_set, bucket, req.key or "", [])
    return empty(204)
