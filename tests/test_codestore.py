"""Deployment packages: what is accepted, what is refused, and that a refusal changes nothing."""
from __future__ import annotations

import io
import stat
import zipfile
import zlib

import pytest

from console.codestore import MAX_UNZIPPED_BYTES, code_dir, code_root, make_zip, store_zip
from console.errors import InvalidParameterValue
from console.services.functions import function_update_code

from .conftest import python_function


def zip_with(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def test_a_zip_is_unpacked_read_only_with_exec_bits_kept(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    stored = store_zip(make_zip({"bootstrap": "#!/bin/sh\n", "lib/util.py": "X = 1\n"}, executable=("bootstrap",)))
    root = code_dir(stored.sha256)
    assert (root / "lib" / "util.py").read_text() == "X = 1\n"
    assert stat.S_IMODE((root / "bootstrap").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "lib" / "util.py").stat().st_mode) == 0o644


def test_not_a_zip_is_refused(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(InvalidParameterValue) as caught:
        store_zip(b"this is not a zip file")
    assert caught.value.field == "ZipFile"
    assert "Could not unzip" in caught.value.message


@pytest.mark.parametrize("name", ["../escape.py", "a/../../escape.py", "/etc/passwd"])
def test_paths_escaping_the_root_are_refused(settings, tmp_path, name):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(InvalidParameterValue) as caught:
        store_zip(zip_with([(name, b"x")]))
    assert "outside its root" in caught.value.message
    assert not list(tmp_path.rglob("escape.py"))


def test_symbolic_links_are_refused(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    link = zipfile.ZipInfo("passwd")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(InvalidParameterValue) as caught:
        store_zip(zip_with([(link, b"/etc/passwd")]))
    assert "symbolic link" in caught.value.message


def test_a_zip_that_unpacks_past_250_mb_is_refused(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    bomb = zip_with([("zeros.bin", b"\0" * (MAX_UNZIPPED_BYTES + 1))])
    assert len(bomb) < 1024 * 1024  # small on the wire, huge unpacked
    with pytest.raises(InvalidParameterValue) as caught:
        store_zip(bomb)
    assert "Unzipped size must be smaller than 262144000 bytes" in caught.value.message
    assert not [p for p in tmp_path.rglob("*") if p.is_dir()]


def lying_about_its_size(honest: bytes, size: int, crc: int) -> bytes:
    """The one-member zip with the size and CRC of its central directory entry rewritten."""
    data = bytearray(honest)
    central = data.rfind(b"PK\x01\x02")
    data[central + 16:central + 20] = crc.to_bytes(4, "little")
    data[central + 24:central + 28] = size.to_bytes(4, "little")
    return bytes(data)


def test_a_zip_that_under_declares_its_size_never_unpacks_more_than_it_declares(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("console.codestore.MAX_UNZIPPED_BYTES", 1000)
    real = b"\0" * 5000  # past the limit, but the zip says 10 bytes, under it
    honest = zip_with([("a.bin", real)])
    assert zipfile.ZipFile(io.BytesIO(honest)).infolist()[0].file_size == 5000

    # The CRC of the whole content gives the lie away once 10 bytes are out: refused, nothing kept.
    with pytest.raises(InvalidParameterValue) as caught:
        store_zip(lying_about_its_size(honest, 10, zlib.crc32(real)))
    assert "Could not unzip uploaded file" in caught.value.message
    assert not [p for p in tmp_path.rglob("*") if p.is_dir() and p != code_root()]

    # A CRC that matches the 10 declared bytes: nothing else flags the lie, and only 10 bytes are written.
    stored = store_zip(lying_about_its_size(honest, 10, zlib.crc32(real[:10])))
    assert (stored.path / "a.bin").read_bytes() == real[:10]


def test_rejected_upload_leaves_the_old_code_in_place(alice_account, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 'old'\n")
    before = (fn.code_sha256, fn.code_size, fn.revision_id)
    with pytest.raises(InvalidParameterValue):
        function_update_code(fn, zip_file=b"garbage")
    fn.refresh_from_db()
    assert (fn.code_sha256, fn.code_size, fn.revision_id) == before
    assert (code_dir(fn.code_sha256) / "lambda_function.py").read_text().endswith("return 'old'\n")
