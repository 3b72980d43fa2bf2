"""The AWS CLI, unchanged, against our S3: what a user types and what they see.

Commands follow the AWS CLI reference (docs.aws.amazon.com/cli/latest/reference/s3/ and s3api/),
which call the S3 API operations PutObject, GetObject, HeadObject, ListObjectsV2, DeleteObject(s).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.s3.models import S3Object

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


def done(out: str, verb: str) -> list[str]:
    """The CLI's "upload: a to b" lines (progress lines, rewritten with CR, left out)."""
    lines = (line.strip() for line in out.replace("\r", "\n").splitlines())
    return sorted(line for line in lines if line.startswith(f"{verb}:"))


@pytest.fixture
def aws(alice_s3, tmp_path):
    """Run `aws ...` as alice, with only the environment a user would set; returns stdout."""
    credentials = alice_s3._request_signer._credentials.get_frozen_credentials()
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_ENDPOINT_URL": alice_s3.meta.endpoint_url,
           "AWS_ACCESS_KEY_ID": credentials.access_key, "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1"}
    program = ROOT / ".venv" / "bin" / "aws"
    command = [str(program)] if program.exists() else [sys.executable, "-m", "awscli"]

    def run(*args: str, check: bool = True) -> str:
        done = subprocess.run(command + list(args), env=env, capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)
        if check:
            assert done.returncode == 0, done.stderr
        return done.stdout if check else done

    alice_s3.create_bucket(Bucket="cli-bucket")
    return run


def test_cp_both_ways_and_s3api(aws, tmp_path):
    # `aws s3 cp` (PutObject, HeadObject + GetObject), `aws s3api put-object`, `head-object`, `list-objects-v2`.
    source = tmp_path / "hello.txt"
    source.write_bytes(b"hello from the cli\n")
    out = aws("s3", "cp", str(source), "s3://cli-bucket/in/hello.txt")
    assert done(out, "upload") == ["upload: ./hello.txt to s3://cli-bucket/in/hello.txt"]
    aws("s3", "cp", "s3://cli-bucket/in/hello.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_bytes() == b"hello from the cli\n"
    put = json.loads(aws("s3api", "put-object", "--bucket", "cli-bucket", "--key", "meta.json", "--body", str(source),
                         "--content-type", "application/json", "--metadata", "owner=alice"))
    head = json.loads(aws("s3api", "head-object", "--bucket", "cli-bucket", "--key", "meta.json"))
    assert head["ETag"] == put["ETag"] and head["ContentLength"] == 19
    assert head["ContentType"] == "application/json" and head["Metadata"] == {"owner": "alice"}
    listed = json.loads(aws("s3api", "list-objects-v2", "--bucket", "cli-bucket"))
    assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [("in/hello.txt", 19), ("meta.json", 19)]
    missing = aws("s3api", "head-object", "--bucket", "cli-bucket", "--key", "nope", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr


def test_sync_ls_and_rm(aws, tmp_path):
    # `aws s3 sync` uploads what is new or changed (size, or newer than LastModified), nothing else.
    site = tmp_path / "site"
    (site / "img").mkdir(parents=True)
    files = {"index.html": b"<h1>hi</h1>", "img/a b.png": b"\x89PNG" * 10, "img/c.png": b"c" * 300,
             "notes.txt": b"notes"}
    for name, data in files.items():
        (site / name).write_bytes(data)
    first = aws("s3", "sync", str(site), "s3://cli-bucket/site")
    assert sorted(line.split(" to ")[-1] for line in done(first, "upload")) == sorted(
        f"s3://cli-bucket/site/{name}" for name in files)
    assert sorted(S3Object.objects.filter(bucket__name="cli-bucket").values_list("key", "size")) == sorted(
        (f"site/{name}", len(data)) for name, data in files.items())
    assert done(aws("s3", "sync", str(site), "s3://cli-bucket/site"), "upload") == []  # nothing changed: nothing copied
    time.sleep(1.1)  # a newer modification time than the upload's
    (site / "notes.txt").write_bytes(b"notes, longer now")
    again = aws("s3", "sync", str(site), "s3://cli-bucket/site")
    assert done(again, "upload") == [
        "upload: site/notes.txt to s3://cli-bucket/site/notes.txt"]
    down = tmp_path / "down"
    aws("s3", "sync", "s3://cli-bucket/site", str(down))
    assert {p.relative_to(down).as_posix(): p.read_bytes() for p in down.rglob("*") if p.is_file()} == {
        **files, "notes.txt": b"notes, longer now"}
    # `aws s3 ls`: folders as PRE, objects with their size; --recursive every key.
    top = aws("s3", "ls", "s3://cli-bucket/site/").splitlines()
    assert any(line.split() == ["PRE", "img/"] for line in top)
    assert any(line.split()[-2:] == ["11", "index.html"] for line in top)
    recursive = aws("s3", "ls", "--recursive", "s3://cli-bucket/").splitlines()
    assert sorted(line.split(None, 3)[3] for line in recursive) == sorted(f"site/{name}" for name in files)
    assert "cli-bucket" in aws("s3", "ls")
    removed = aws("s3", "rm", "--recursive", "s3://cli-bucket/site/img/")
    assert len(done(removed, "delete")) == 2
    assert sorted(S3Object.objects.filter(bucket__name="cli-bucket").values_list("key", flat=True)) == [
        "site/index.html", "site/notes.txt"]
    aws("s3", "rm", "--recursive", "s3://cli-bucket/")
    assert not S3Object.objects.filter(bucket__name="cli-bucket").exists()
    aws("s3", "rb", "s3://cli-bucket")
