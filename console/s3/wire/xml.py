"""Writing and reading S3's XML documents.

Writing: documents are small and regular, so they are built as text (`el`, `document`),
values escaped. Reading: `parse` turns a request body into an ElementTree element with
S3's namespace stripped, or raises MalformedXML; Python's expat refuses entity expansion
attacks (billion laughs) by itself.
"""
from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from typing import Iterable
from xml.sax.saxutils import escape

from .errors import MalformedXML

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML = 2 * 1024 * 1024  # a DeleteObjects of 1000 keys of 1024 bytes fits


def el(name: str, value: object) -> str:
    """<name>value</name>; booleans as S3 writes them, None left out."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        value = iso(value)
    return f"<{name}>{escape(str(value))}</{name}>"


def els(name: str, children: Iterable[str]) -> str:
    return f"<{name}>{''.join(children)}</{name}>"


def document(root: str, inner: str | Iterable[str]) -> bytes:
    if not isinstance(inner, str):
        inner = "".join(inner)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NAMESPACE}">{inner}</{root}>').encode()


def iso(moment: dt.datetime) -> str:
    """S3's timestamps in XML: 2009-10-12T17:50:30.000Z."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(moment: dt.datetime) -> str:
    """Last-Modified and the like: Wed, 12 Oct 2009 17:50:00 GMT."""
    return format_datetime(moment.astimezone(dt.timezone.utc).replace(microsecond=0), usegmt=True)


def parse(body: bytes, root: str | None = None) -> ET.Element:
    """The request's XML document with the namespace stripped; MalformedXML if it is not one (or not `root`)."""
    if not body or len(body) > MAX_XML:
        raise MalformedXML()
    try:
        tree = ET.fromstring(body)
    except ET.ParseError:
        raise MalformedXML()
    for node in tree.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            node.tag = node.tag.split("}", 1)[1]
    if root is not None and tree.tag != root:
        raise MalformedXML()
    return tree


def text(node: ET.Element, name: str, default: str | None = None) -> str | None:
    child = node.find(name)
    return default if child is None or child.text is None else child.text
