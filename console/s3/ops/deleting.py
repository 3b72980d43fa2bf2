"""DeleteObjects (S3 API reference, "DeleteObjects"): up to 1000 keys in one request, each
answered on its own (Deleted or Error); Quiet leaves out the Deleted ones."""
from __future__ import annotations

from ..models import Bucket
from ..services import events
from ..services.buckets import bucket_named
from ..services.objects import object_delete
from ..wire import access, body
from ..wire.app import run
from ..wire.errors import InvalidRequest, MalformedXML, S3Error
from ..wire.request import S3Request
from ..wire.response import S3Response, xml_response
from ..wire.xml import MAX_XML, el, els, parse, text
from .common import source_ip

MAX_KEYS = 1000


def _objects(document: bytes) -> tuple[bool, list[tuple[str, str | None]]]:
    root = parse(document, "Delete")
    quiet = (text(root, "Quiet", "false") or "").strip().lower() == "true"
    objects = []
    for node in root.findall("Object"):
        key = text(node, "Key")
        if key is None:
            raise MalformedXML()
        objects.append((key, text(node, "VersionId")))
    if not objects or len(objects) > MAX_KEYS:
        raise MalformedXML()
    return quiet, objects


def _delete_all(req: S3Request, objects: list[tuple[str, str | None]]) -> list[tuple[str, str | None, S3Error | None]]:
    bucket: Bucket = bucket_named(req.bucket or "")
    outcomes = []
    for key, version in objects:
        try:
            access.check(req.principal, "s3:DeleteObject", bucket, key)
            if version is not None and version != "null":
                raise S3Error("Invalid version id specified", code="InvalidArgument", status=400)
            object_delete(bucket, key, events.Change("ObjectRemoved:Delete", key, principal=req.principal,
                                                     source_ip=source_ip(req), request_id=req.request_id))
            outcomes.append((key, version, None))
        except S3Error as exc:
            outcomes.append((key, version, exc))
    return outcomes


async def delete_objects(req: S3Request) -> S3Response:
    # S3 wants the body's integrity vouched for: Content-MD5 or one of the flexible checksums.
    if "content-md5" not in req.headers and not any(
            name.startswith("x-amz-checksum-") or name == "x-amz-sdk-checksum-algorithm" for name in req.headers):
        raise InvalidRequest("Missing required header for this request: Content-MD5")
    quiet, objects = _objects(await body.read_all(req, MAX_XML))
    outcomes = await run(_delete_all, req, objects)
    parts = []
    for key, version, exc in outcomes:
        if exc is None:
            if not quiet:
                parts.append(els("Deleted", [el("Key", key), el("VersionId", version)]))
        else:
            parts.append(els("Error", [el("Key", key), el("VersionId", version), el("Code", exc.code),
                                       el("Message", exc.message)]))
    return xml_response("DeleteResult", parts)
