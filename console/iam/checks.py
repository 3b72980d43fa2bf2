"""The checks IAM makes of names, paths, descriptions, tags and documents, in IAM's words.

A value outside the API model's constraints is a ValidationError worded as AWS words it
("1 validation error detected: Value 'x y' at 'roleName' failed to satisfy constraint: ...");
a document `console.policy` refuses is a MalformedPolicyDocument with IAM's reason.
"""
from __future__ import annotations

import re
from typing import Any

from .. import policy
from .errors import LimitExceeded, MalformedPolicyDocument, validation_error

NAME_RE = re.compile(r"[\w+=,.@-]+", re.ASCII)  # Java's \w, as IAM's pattern means
NAME_PATTERN = r"[\w+=,.@-]+"
PATH_RE = re.compile(r"/|/[\x21-\x7e]+/")
PATH_PATTERN = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)"
DESCRIPTION_RE = re.compile(r"[\t\n\r\x20-\x7e\xa1-\xff]*")
DESCRIPTION_PATTERN = r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*"
MIN_SESSION, MAX_SESSION = 3600, 43200
MAX_TAGS = 50


def check_name(name: Any, where: str = "roleName", max_length: int = 64, field: str = "name") -> str:
    if not isinstance(name, str) or not name:
        raise validation_error(name if isinstance(name, str) else None, where,
                               "have length greater than or equal to 1", field=field)
    if len(name) > max_length:
        raise validation_error(name, where, f"have length less than or equal to {max_length}", field=field)
    if not NAME_RE.fullmatch(name):
        raise validation_error(name, where, f"satisfy regular expression pattern: {NAME_PATTERN}", field=field)
    return name


def check_path(path: Any, where: str = "path") -> str:
    if not isinstance(path, str) or not path:
        raise validation_error(None, where, "have length greater than or equal to 1", field="path")
    if len(path) > 512:
        raise validation_error(path, where, "have length less than or equal to 512", field="path")
    if not PATH_RE.fullmatch(path):
        raise validation_error(path, where, f"satisfy regular expression pattern: {PATH_PATTERN}", field="path")
    return path


def check_description(description: str) -> str:
    if len(description) > 1000:
        raise validation_error(description, "description", "have length less than or equal to 1000",
                               field="description")
    if not DESCRIPTION_RE.fullmatch(description):
        raise validation_error(description, "description",
                               f"satisfy regular expression pattern: {DESCRIPTION_PATTERN}", field="description")
    return description


def check_session_duration(seconds: Any) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise validation_error(seconds, "maxSessionDuration", "be a whole number", field="max_session_duration")
    if seconds < MIN_SESSION:
        raise validation_error(seconds, "maxSessionDuration", f"have value greater than or equal to {MIN_SESSION}",
                               field="max_session_duration")
    if seconds > MAX_SESSION:
        raise validation_error(seconds, "maxSessionDuration", f"have value less than or equal to {MAX_SESSION}",
                               field="max_session_duration")
    return seconds


def check_tags(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    if len(tags) > MAX_TAGS:
        raise validation_error("[...]", "tags", f"have length less than or equal to {MAX_TAGS}", field="tags")
    clean: dict[str, dict[str, str]] = {}
    for tag in tags:
        key, value = tag.get("Key", ""), tag.get("Value", "")
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            raise validation_error(key, "tags.member.key", "have length between 1 and 128 and not start with aws:",
                                   field="tags")
        if len(value) > 256:
            raise validation_error(value, "tags.member.value", "have length less than or equal to 256", field="tags")
        clean[key] = {"Key": key, "Value": value}
    return list(clean.values())


def parse_document(document: Any, kind: str, where: str, field: str = "document") -> policy.Policy:
    """The parsed policy; MalformedPolicyDocument (LimitExceeded when too large) with IAM's reason otherwise."""
    if not isinstance(document, str) or not document.strip():
        raise validation_error(None, where, "not be null", field=field)
    try:
        return policy.parse(document, kind)
    except policy.PolicyTooLarge as exc:
        raise LimitExceeded(str(exc), field=field)
    except policy.MalformedPolicy as exc:
        raise MalformedPolicyDocument(str(exc), field=field)
