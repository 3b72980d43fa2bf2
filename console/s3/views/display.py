"""What the S3 pages show about buckets and objects: read-only wording over the rows, the way
the S3 console words it (event types, object types, previews)."""
from __future__ import annotations

import codecs
import posixpath
from dataclasses import dataclass
from urllib.parse import quote

from ...arns import parse_function_arn
from ...models import Function
from ..models import Bucket, S3Object
from .. import storage

TEXT_PREVIEW_BYTES = 64 * 1024
# Raster images a browser shows in an <img>; SVG is left out: it can carry scripts.
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif", "image/x-icon"}
TEXT_TYPES = {"application/json", "application/xml", "application/javascript", "application/x-yaml",
              "application/yaml", "application/x-sh", "application/x-python", "application/toml",
              "application/x-ndjson", "application/sql"}
TEXT_EXTENSIONS = {"txt", "md", "csv", "tsv", "json", "xml", "yaml", "yml", "log", "py", "js", "ts", "sh", "html",
                   "htm", "css", "ini", "cfg", "conf", "toml", "sql", "ndjson", "jsonl", "rst", "java", "go", "rb",
                   "rs", "c", "h", "cpp", "env"}
# The S3 console's names for event types ("Event notification types and destinations").
EVENT_LABELS = {
    "s3:ObjectCreated:*": "All object create events", "s3:ObjectCreated:Put": "Put",
    "s3:ObjectCreated:Post": "Post", "s3:ObjectCreated:Copy": "Copy",
    "s3:ObjectCreated:CompleteMultipartUpload": "Multipart upload completed",
    "s3:ObjectRemoved:*": "All object removal events", "s3:ObjectRemoved:Delete": "Permanently deleted",
    "s3:ObjectRemoved:DeleteMarkerCreated": "Delete marker created",
}


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def extension(key: str) -> str:
    name = posixpath.basename(key)
    return name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""


def type_label(key: str) -> str:
    """The Type column: "Folder", or the file's extension ("-" without one), as in the console."""
    return "Folder" if key.endswith("/") else (extension(key) or "-")


def is_image(obj: S3Object) -> bool:
    return media_type(obj.content_type) in IMAGE_TYPES


def text_preview(obj: S3Object) -> tuple[str, bool] | None:
    """The start of a text object (decoded, replacement characters for bad bytes) and whether it was
    cut, or None when the object is not text. Escaped by the template, never marked safe."""
    kind = media_type(obj.content_type)
    texty = kind.startswith("text/") or kind in TEXT_TYPES or kind.endswith(("+json", "+xml"))
    unknown = kind in ("binary/octet-stream", "application/octet-stream", "")
    if not texty and not (unknown and extension(obj.key) in TEXT_EXTENSIONS):
        return None
    with storage.open_blob(obj.blob) as handle:
        head = handle.read(TEXT_PREVIEW_BYTES)
    if b"\x00" in head:
        return None
    cut = obj.size > len(head)
    # Not final when cut: a character split at the 64 KB mark is left out, not shown as an error.
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=not cut)
    return text, cut


def s3_uri(bucket: Bucket, key: str = "") -> str:
    return f"s3://{bucket.name}/{key}"


def object_arn(bucket: Bucket, key: str) -> str:
    return f"arn:aws:s3:::{bucket.name}/{key}"


def object_url(base: str, bucket: Bucket, key: str) -> str:
    """Path-style, on this deployment's endpoint (S3's own is https://<bucket>.s3.<region>.amazonaws.com/<key>)."""
    return f"{base}/{bucket.name}/{quote(key, safe='/~')}"


def folder_crumbs(prefix: str) -> list[tuple[str, str]]:
    """(label, prefix) for each folder of `prefix`: "a/b/" gives ("a", "a/"), ("b", "a/b/")."""
    crumbs, path = [], ""
    for part in prefix.split("/")[:-1]:
        path += part + "/"
        crumbs.append((part, path))
    return crumbs


def parent_prefix(key: str) -> str:
    """The folder an object or folder is in ("a/b/c.txt" and "a/b/" are both in "a/" or "a/b/")."""
    trimmed = key[:-1] if key.endswith("/") else key
    return trimmed[:trimmed.rfind("/") + 1] if "/" in trimmed else ""


@dataclass
class NotificationRow:
    name: str
    events: list[str]
    filters: list[str]
    function_arn: str
    function_name: str | None  # set when it is a function of this account, to link to


def notification_rows(bucket: Bucket) -> list[NotificationRow]:
    """The bucket's Lambda event notifications, as the Properties tab's table lists them."""
    rows = []
    for config in (bucket.notification_configuration or {}).get("LambdaFunctionConfigurations", []):
        arn = config.get("LambdaFunctionArn", "")
        rules = ((config.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
        filters = [f"{r.get('Name', '').capitalize()}: {r.get('Value', '')}" for r in rules]
        rows.append(NotificationRow(config.get("Id", ""), [EVENT_LABELS.get(e, e) for e in config.get("Events", [])],
                                    filters, arn, _own_function(bucket, arn)))
    return rows


def _own_function(bucket: Bucket, arn: str) -> str | None:
    ref = parse_function_arn(arn)
    if ref is None or ref.account != bucket.account.account_id:
        return None  # shown as written, not linked
    return ref.name if Function.objects.filter(account=bucket.account, name=ref.name).exists() else None
