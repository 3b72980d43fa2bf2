"""The Code tab's view of a function: its files, edited in the browser and deployed as a zip."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .. import codestore
from ..errors import InvalidParameterValue
from ..limits import INLINE_EDIT_LIMIT
from ..models import Function, PackageType
from .functions import function_update_code

MAX_PATH = 256


@dataclass(frozen=True)
class CodeFile:
    path: str
    content: str | None  # None: a binary file the editor keeps but does not show
    executable: bool


def function_files(function: Function) -> list[CodeFile]:
    """The files of the function's current deployment package, text files with their content."""
    if function.package_type != PackageType.ZIP or not function.code_sha256:
        return []
    root = codestore.code_dir(function.code_sha256)
    files: list[CodeFile] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        try:
            content: str | None = data.decode("utf-8")
            if "\x00" in content:
                content = None
        except UnicodeDecodeError:
            content = None
        files.append(CodeFile(path.relative_to(root).as_posix(), content, bool(path.stat().st_mode & 0o111)))
    return files


def inline_editable(function: Function) -> bool:
    return function.package_type == PackageType.ZIP and function.code_size <= INLINE_EDIT_LIMIT


def _clean_path(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidParameterValue("Every file needs a name.", field="files")
    path = raw.strip()
    parts = PurePosixPath(path).parts
    if (path.startswith("/") or "\\" in path or len(path) > MAX_PATH or ".." in parts or "." in parts
            or any(part.strip() != part or not part for part in path.split("/"))):
        raise InvalidParameterValue(f"{raw!r} is not a valid file name.", field="files")
    return path


def function_files_update(function: Function, files: list[dict]) -> Function:
    """Deploy the editor's files: [{"path", "content"} | {"path", "binary": true}] replaces the code.

    A binary entry keeps that file from the current package (the editor cannot show it).
    The new zip goes through the same checks as an upload; a rejected one leaves the old code.
    """
    if function.package_type != PackageType.ZIP:
        raise InvalidParameterValue("A container image function has no inline code.", field="files")
    if not isinstance(files, list) or not files:
        raise InvalidParameterValue("A deployment package needs at least one file.", field="files")
    current = {f.path: f for f in function_files(function)}
    root = codestore.code_dir(function.code_sha256) if function.code_sha256 else None
    contents: dict[str, str | bytes] = {}
    executable: list[str] = []
    for entry in files:
        if not isinstance(entry, dict):
            raise InvalidParameterValue("Each file is an object with a path and content.", field="files")
        path = _clean_path(entry.get("path"))
        if path in contents:
            raise InvalidParameterValue(f"The file {path} appears twice.", field="files")
        if entry.get("binary"):
            if path not in current or root is None:
                raise InvalidParameterValue(f"There is no file {path} to keep.", field="files")
            contents[path] = (Path(root) / path).read_bytes()
        else:
            content = entry.get("content", "")
            if not isinstance(content, str):
                raise InvalidParameterValue(f"The content of {path} must be text.", field="files")
            contents[path] = content
        previous = current.get(path)
        if (previous and previous.executable) or os.path.basename(path) == "bootstrap":
            executable.append(path)
    return function_update_code(function, zip_file=codestore.make_zip(contents, executable=tuple(executable)))
