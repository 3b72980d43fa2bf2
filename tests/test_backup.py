"""Backup while serving, lose everything, restore: the functions, their code and secrets are back.

As docs/OPERATIONS.md tells an operator to do it, on a real `make run` (bench/stack.py).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from bench.stack import Stack
from console.codestore import make_zip

from .api_helpers import client_like, lambda_role

pytestmark = [pytest.mark.integration, pytest.mark.supervision]

SHOW = "import os\ndef lambda_handler(event, context):\n    return os.environ['GREETING']\n"


def create(client, name: str, greeting: str) -> None:
    client.create_function(FunctionName=name, Runtime="python3.11", Role=lambda_role(client),
                           Handler="lambda_function.lambda_handler",
                           Code={"ZipFile": make_zip({"lambda_function.py": SHOW})},
                           Environment={"Variables": {"GREETING": greeting}})


def test_a_backup_taken_while_serving_restores_functions_code_and_secrets(tmp_path):
    base = Path(settings.VAR_DIR) / f"backup-{uuid.uuid4().hex[:6]}"
    base.mkdir(parents=True)
    stack = Stack(base)
    try:
        stack.start()
        client = stack.lambda_client()
        create(client, "kept", "hello from before")
        assert json.loads(client.invoke(FunctionName="kept")["Payload"].read()) == "hello from before"
        s3 = client_like(client, "s3")
        s3.create_bucket(Bucket="kept-bucket")
        s3.put_object(Bucket="kept-bucket", Key="photo.jpg", Body=b"\xff\xd8 bytes of a photo")
        print(stack.manage("backup", str(tmp_path / "backup")))
        create(client, "after-backup", "not in the backup")
        s3.put_object(Bucket="kept-bucket", Key="after.txt", Body=b"not in the backup")
        stack.stop()

        # Everything the service keeps on disk is gone.
        for path in (base / "db.sqlite3", base / "media", base / "secret_key", base / "s3"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        for leftover in base.glob("db.sqlite3-*"):
            leftover.unlink()
        print(stack.manage("restore", str(tmp_path / "backup")))

        stack.start()
        client = stack.lambda_client()
        # Its code unpacked, its environment variable decrypted with the restored key.
        response = client.invoke(FunctionName="kept")
        assert "FunctionError" not in response
        assert json.loads(response["Payload"].read()) == "hello from before"
        with pytest.raises(ClientError) as gone:
            client.get_function(FunctionName="after-backup")
        assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
        # S3 objects come back with their bytes; what came after the backup does not.
        s3 = client_like(client, "s3")
        assert s3.get_object(Bucket="kept-bucket", Key="photo.jpg")["Body"].read() == b"\xff\xd8 bytes of a photo"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="kept-bucket").get("Contents", [])] == ["photo.jpg"]
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_backup_wants_a_new_directory_and_restore_a_backup(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    manage = [str(Path(settings.BASE_DIR) / ".venv/bin/python"), "manage.py"]
    refused = subprocess.run([*manage, "backup", str(tmp_path / "full")], capture_output=True, text=True,
                             cwd=settings.BASE_DIR)
    assert refused.returncode == 1 and "is not empty: back up into a new directory" in refused.stderr
    refused = subprocess.run([*manage, "restore", str(tmp_path)], capture_output=True, text=True,
                             cwd=settings.BASE_DIR)
    assert refused.returncode == 1 and "holds no backup" in refused.stderr
