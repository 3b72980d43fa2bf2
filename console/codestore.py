"""Function code on disk, content-addressed by the sha256 of its zip.

Each zip is checked and unpacked once into MEDIA_ROOT/code/<sha256>/, which the executor
mounts read-only at /var/task. A rejected zip leaves nothing behind.

Housekeeping (console/services/retention.py) deletes code that no revision uses. An upload
claims its code under a shared lock (`code_lock`): it refreshes the directory's mtime and
drops the "unused since" mark, so code that is about to be used again is never deleted.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from django.conf import settings

from .errors import InvalidParameterValue, RequestTooLarge
from .limits import MAX_UNZIPPED_BYTES, MAX_ZIP_BYTES

MAX_FILES = 20000


@dataclass(frozen=True)
class StoredCode:
    sha256: str  # hex
    size: int  # bytes of the zip

    @property
    def path(self) -> Path:
        return code_dir(self.sha256)


def code_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "code"


def code_dir(sha256: str) -> Path:
    return code_root() / sha256


def zip_path(sha256: str) -> Path:
    return code_root() / f"{sha256}.zip"


def unused_mark(sha256: str) -> Path:
    """A file whose mtime says since when housekeeping has seen this code unused."""
    return code_root() / ".unused" / sha256


@contextlib.contextmanager
def code_lock(exclusive: bool = False) -> Iterator[None]:
    """Uploads hold it shared while they claim or unpack code; housekeeping holds it alone."""
    code_root().mkdir(parents=True, exist_ok=True)
    with open(code_root() / ".lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield  # closing the file releases the lock


def _claim(sha256: str) -> bool:
    """Mark stored code as wanted now (under code_lock); False if it is not all there."""
    try:
        os.utime(code_dir(sha256))
    except FileNotFoundError:
        return False
    unused_mark(sha256).unlink(missing_ok=True)
    return zip_path(sha256).exists()


def store_zip(data: bytes) -> StoredCode:
    """Validate a deployment package and unpack it; raise InvalidParameterValue if it is unfit."""
    if len(data) > MAX_ZIP_BYTES:
        raise RequestTooLarge(
            f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes; zipped upload must be "
            f"smaller than {MAX_ZIP_BYTES} bytes.",
            field="ZipFile",
        )
    sha = hashlib.sha256(data).hexdigest()
    if code_root().is_dir():
        with code_lock():
            if _claim(sha):
                return StoredCode(sha, len(data))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise InvalidParameterValue("Could not unzip uploaded file. Please check your file, then try to upload again.", field="ZipFile")
    with archive:
        members = _checked_members(archive)  # before anything is written
        with code_lock():
            if not _claim(sha):  # unless another upload of this zip got there meanwhile
                _unpack(archive, members, data, sha)
    return StoredCode(sha, len(data))


def _unpack(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], data: bytes, sha: str) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=code_root()))
    try:
        try:
            _extract(archive, members, staging)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise InvalidParameterValue(
                f"Could not unzip uploaded file: {exc}. Please check your file, then try to upload again.",
                field="ZipFile")
        staging.chmod(0o755)
        zip_path(sha).write_bytes(data)
        try:
            os.rename(staging, code_dir(sha))
        except OSError:
            # Another process unpacked the same zip first; theirs is identical.
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _checked_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    if len(members) > MAX_FILES:
        raise InvalidParameterValue(f"The deployment package holds more than {MAX_FILES} files.", field="ZipFile")
    total = 0
    for info in members:
        name = PurePosixPath(info.filename)
        if info.filename.startswith("/") or "\\" in info.filename or ".." in name.parts:
            raise InvalidParameterValue(
                f"The deployment package has a path outside its root: {info.filename!r}.", field="ZipFile"
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise InvalidParameterValue(
                f"The deployment package has a symbolic link, which is not allowed: {info.filename!r}.",
                field="ZipFile",
            )
        total += info.file_size
        if total > MAX_UNZIPPED_BYTES:
            raise InvalidParameterValue(
                f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes", field="ZipFile"
            )
    return members


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], root: Path) -> None:
    # zipfile inflates no member past the size its central directory declares, and those
    # sizes were summed against MAX_UNZIPPED_BYTES: a zip that lies about its sizes cannot
    # write more (tests/test_codestore.py holds both to it).
    for info in members:
        dest = root / info.filename
        if info.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            dest.chmod(0o755)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        executable = (info.external_attr >> 16) & 0o111
        dest.chmod(0o755 if executable else 0o644)
    for path in root.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)


def make_zip(files: dict[str, str | bytes], executable: tuple[str, ...] = ()) -> bytes:
    """Build a deployment package from {path: content}; used for starter code and tests."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = ((0o100755 if name in executable else 0o100644) << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()
