"""Where objects' bytes live: one interface over Django's storage API (the "s3" storage).

Every version of every object and part gets a blob of its own, named at random, never after
its key. A writer streams the bytes to a temporary file while hashing them (MD5 for the ETag,
plus whatever checksums the request asked for), and `commit` moves the file into place
(fsync'd first, `LAMBDA_S3_FSYNC`) only once the whole body has arrived and checked out:
a crash mid-upload leaves a temporary file, never a half object under a live name.

On the default FileSystemStorage the move is an `os.replace` in the same directory tree;
any other backend (django-storages...) gets the finished temporary file through `save`.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import BinaryIO, Iterable, Protocol

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

CHUNK = 256 * 1024
SPOOL = 256 * 1024  # a writer keeps this much in memory before it makes its temporary file


class Hasher(Protocol):
    def update(self, data: bytes) -> None: ...


def backend() -> Storage:
    return storages["s3"]


def _local_root() -> Path | None:
    store = backend()
    return Path(store.location) if isinstance(store, FileSystemStorage) else None


def blob_root() -> Path | None:
    """The directory holding the blobs when the storage is local (what a backup copies), else None."""
    return _local_root()


def sweep_temporary(older_than: float = 24 * 3600) -> int:
    """Remove temporary files of uploads that never finished (a crash mid-upload); how many."""
    removed = 0
    directory = _tmp_dir()
    if not directory.is_dir():  # made by the first upload past the writer's in-memory spool
        return 0
    limit = time.time() - older_than
    for path in directory.iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def _tmp_dir() -> Path:
    root = _local_root()
    return (root / ".tmp") if root is not None else (settings.LAMBDA_S3_ROOT / "tmp")


def _in_dir(operation, path: Path):
    """`operation()`, making `path`'s directory first only if it is missing (not a mkdir per blob)."""
    try:
        return operation()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return operation()


def is_local() -> bool:
    """Whether blobs are files on this machine (the default FileSystemStorage)."""
    return _local_root() is not None


def new_blob_name() -> str:
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


class BlobWriter:
    """An object's bytes on their way in. Use as a context manager: not committed means discarded.

    The first SPOOL bytes are kept in memory and the temporary file is only made past them (or
    by `commit`): writers are fed on the event loop, and a small object's file is then created,
    written, fsync'd and moved in one go on the thread that commits it, with no file system
    call on the loop (each one lets the pool's threads take the interpreter lock from it).
    """

    def __init__(self, hashers: Iterable[Hasher] = ()) -> None:
        self.md5 = hashlib.md5()
        self.hashers = list(hashers)
        self.size = 0
        self.name: str | None = None
        self._file: BinaryIO | None = None
        self._spool: list[bytes] = []

    def _open(self) -> BinaryIO:
        if self._file is None:
            tmp = _tmp_dir()
            self._file = _in_dir(lambda: tempfile.NamedTemporaryFile(dir=tmp, delete=False, prefix="up-"),
                                 tmp / "up-")
            self._file.write(b"".join(self._spool))
            self._spool = []
        return self._file

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._file is None and self.size + len(data) <= SPOOL:
            self._spool.append(bytes(data))
        else:
            self._open().write(data)
        self.md5.update(data)
        for hasher in self.hashers:
            hasher.update(data)
        self.size += len(data)

    @property
    def etag(self) -> str:
        return self.md5.hexdigest()

    def commit(self) -> str:
        """Make the bytes durable under a new blob name, and return the name."""
        name = new_blob_name()
        file = self._open()
        file.flush()
        if settings.LAMBDA_S3_FSYNC:
            os.fsync(file.fileno())
        file.close()
        root = _local_root()
        if root is not None:
            target = root / name
            _in_dir(lambda: os.replace(file.name, target), target)
        else:
            with open(file.name, "rb") as handle:
                name = backend().save(name, File(handle))
            os.unlink(file.name)
        self.name = name
        return name

    def discard(self) -> None:
        self._spool = []
        if self._file is None:
            return
        if not self._file.closed:
            self._file.close()
        if self.name is None:
            try:
                os.unlink(self._file.name)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "BlobWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


def open_blob(name: str) -> BinaryIO:
    """The bytes of a blob, as a seekable binary file."""
    root = _local_root()
    if root is not None:
        return open(root / name, "rb")
    return backend().open(name, "rb")


def blob_path(name: str) -> Path | None:
    """The blob's file, when the storage is local (for copying without reading through Python)."""
    root = _local_root()
    return root / name if root is not None else None


def delete_blob(name: str) -> None:
    if not name:
        return
    try:
        backend().delete(name)
    except FileNotFoundError:
        pass


def iter_blob(name: str, start: int = 0, end: int | None = None, chunk: int = CHUNK):
    """The bytes of a blob from `start` to `end` inclusive (None: to the end), in chunks."""
    with open_blob(name) as handle:
        handle.seek(start)
        left = None if end is None else end - start + 1
        while left is None or left > 0:
            data = handle.read(chunk if left is None else min(chunk, left))
            if not data:
                return
            if left is not None:
                left -= len(data)
            yield data
