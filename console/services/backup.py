"""Backup and restore of what `make run` keeps: the database, the code store and the keys.

A backup is a directory: `db.sqlite3` (SQLite's online backup, consistent while the
service writes), `code/` (every stored zip and its unpacked tree: written once under its
SHA-256, never changed, so a plain copy is consistent), `secret_key` (what decrypts
environment variables when LAMBDA_ENCRYPTION_KEYS is not set), `s3/` (the bytes of every S3
object and uploaded part, when they are kept on local disk: blobs are written once under
random names and never changed; they are copied before and after the database, so every row
of the copied database finds its bytes unless that object was replaced again within the
backup's own seconds) and `manifest.json`.
Redis is left out: the database row of every accepted event is what runs it (the reaper
sends a queued event whose message is missing again), so what Redis alone holds is live
state that rebuilds itself, and the records of synchronous invocations not written yet.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

from .. import codestore
from ..s3 import storage as s3_storage


class BackupError(Exception):
    """What the operator must do differently, in a sentence."""


@dataclass
class BackupReport:
    path: str
    database_bytes: int
    code_packages: int
    secret_key: bool
    created: str = ""
    s3_blobs: int = 0


def _sqlite_path() -> Path:
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        raise BackupError("the database is PostgreSQL: back it up with pg_dump (and restore with pg_restore); "
                          "this command copies SQLite only")
    return Path(connections["default"].settings_dict["NAME"])


def _copy_database(source: Path, target: Path) -> None:
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # page by page, consistent even while others write
    src.close()
    dst.close()


def _copy_new_files(source: Path | None, target: Path) -> int:
    """Copy the files of `source` missing from `target` (blobs never change); how many `target` holds."""
    if source is None or not source.exists():
        return 0
    count = 0
    for path in source.rglob("*"):
        if not path.is_file() or ".tmp" in path.relative_to(source).parts:
            continue
        destination = target / path.relative_to(source)
        count += 1
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
    return count


def backup(target: Path) -> BackupReport:
    """Copy the database, the code store and the secret key into `target` (a new directory)."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new directory")
    database = _sqlite_path()
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)  # it holds the secret key and every function's code
    blobs_root = s3_storage.blob_root()
    _copy_new_files(blobs_root, target / "s3")
    _copy_database(database, target / "db.sqlite3")
    blobs = _copy_new_files(blobs_root, target / "s3")
    code = codestore.code_root()
    packages = 0
    if code.exists():
        shutil.copytree(code, target / "code", symlinks=True, ignore=shutil.ignore_patterns("*.lock", "*.tmp*"))
        packages = len(list((target / "code").glob("*.zip")))
    has_key = settings.SECRET_KEY_FILE.exists() and not os.environ.get("SECRET_KEY")
    if has_key:
        shutil.copy2(settings.SECRET_KEY_FILE, target / "secret_key")
    report = BackupReport(str(target), (target / "db.sqlite3").stat().st_size, packages, has_key,
                          timezone.now().isoformat(), blobs)
    (target / "manifest.json").write_text(json.dumps(asdict(report), indent=1) + "\n")
    return report


def restore(source: Path) -> BackupReport:
    """Put a backup back in place. The service must be stopped: the database is overwritten."""
    manifest = source / "manifest.json"
    if not manifest.exists():
        raise BackupError(f"{source} holds no backup (no manifest.json)")
    report = BackupReport(**json.loads(manifest.read_text()))
    database = _sqlite_path()
    connections["default"].close()
    for suffix in ("-wal", "-shm"):  # a stale write-ahead log would be replayed over the restored file
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    _copy_database(source / "db.sqlite3", database)
    code = codestore.code_root()
    if (source / "code").exists():
        code.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source / "code", code, symlinks=True, dirs_exist_ok=True)
    blobs_root = s3_storage.blob_root()
    if (source / "s3").exists() and blobs_root is not None:
        _copy_new_files(source / "s3", blobs_root)
    if (source / "secret_key").exists():
        shutil.copy2(source / "secret_key", settings.SECRET_KEY_FILE)
        os.chmod(settings.SECRET_KEY_FILE, 0o600)
    return report
