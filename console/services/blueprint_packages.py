"""Third-party libraries a blueprint's deployment package carries (Pillow for the thumbnail one).

Packaged the way AWS's tutorial packages them: `pip install --platform manylinux2014_x86_64
--only-binary=:all: --target package ...` for the function's Python, then the `package`
directory zipped at the root of the function's .zip beside its code. Here pip runs once per
pinned version (its wheel checked against the sha256 below), at setup (`make run`, `make test`
and `make images` call `manage.py blueprint_packages`) or, failing that, when the blueprint is
first used; the installed tree is kept under LAMBDA_PACKAGES_DIR (var/packages by default,
shared by `make run` and the tests) and zipped from there without the network.
"""
from __future__ import annotations

import compileall
import hashlib
import io
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import ServiceError

ROOT = Path(__file__).resolve().parent.parent.parent
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PinnedPackage:
    name: str
    version: str
    sha256: str  # of the wheel pip must download, or it refuses
    python_version: str = "3.11"  # the function's runtime, not the host's
    platform: str = "manylinux2014_x86_64"

    @property
    def tree_name(self) -> str:
        return f"{self.name}-{self.version}-cp{self.python_version.replace('.', '')}-{self.platform}"


PILLOW = PinnedPackage("pillow", "12.2.0", "8bd7903a5f2a4545f6fd5935c90058b89d30045568985a71c79f5fd6edf9b91e")
PACKAGES: dict[str, PinnedPackage] = {PILLOW.name: PILLOW}


def packages_dir() -> Path:
    return Path(os.environ.get("LAMBDA_PACKAGES_DIR") or ROOT / "var" / "packages")


def installed_tree(package: PinnedPackage) -> Path:
    """The directory `pip install --target` filled for this package (it may not exist yet)."""
    return packages_dir() / package.tree_name


def ensure(package: PinnedPackage) -> Path:
    """The package's installed tree, installing it with pip if it is not there yet."""
    tree = installed_tree(package)
    if tree.is_dir():
        return tree
    packages_dir().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{package.name}-", dir=packages_dir()))
    try:
        requirements = staging / "requirements.txt"
        requirements.write_text(f"{package.name}=={package.version} --hash=sha256:{package.sha256}\n")
        target = staging / "package"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
             "--platform", package.platform, "--implementation", "cp", "--python-version", package.python_version,
             "--only-binary=:all:", "--require-hashes", "--target", str(target), "-r", str(requirements)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ServiceError(f"Could not install {package.name} {package.version} for the blueprint's "
                               f"package: {detail[-1] if detail else 'pip failed'}")
        shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: nothing runs them
        if f"{sys.version_info.major}.{sys.version_info.minor}" == package.python_version:
            # The code is mounted read-only, so Python cannot cache what it compiles: bytecode
            # valid whatever the files' times (unpacking sets them) saves compiling PIL on every
            # cold start. Only the runtime's own Python version can write it.
            compileall.compile_dir(str(target), quiet=1, workers=1,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        try:
            os.rename(target, tree)
        except OSError:
            if not tree.is_dir():  # not merely another process that installed it first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tree


def tree_files(tree: Path) -> Iterator[tuple[str, Path]]:
    """(path inside the zip, file) for every file of an installed tree, in a stable order."""
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        yield path.relative_to(tree).as_posix(), path


def ensure_all() -> list[Path]:
    return [ensure(package) for package in PACKAGES.values()]


def deployment_zip(files: dict[str, str], packages: tuple[str, ...]) -> bytes:
    """The tutorial's function.zip: each package's installed tree at the root, the code beside it.

    Entries carry a fixed date, so the same blueprint always makes the same zip (and the code
    store keeps one copy of it however many functions use it).
    """
    trees = [ensure(PACKAGES[name]) for name in packages]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for tree in trees:
            for name, path in tree_files(tree):
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.external_attr = (0o100755 if path.stat().st_mode & 0o111 else 0o100644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def cached_deployment_zip(key: str, files: dict[str, str], packages: tuple[str, ...]) -> bytes:
    """deployment_zip, kept on disk beside the packages: deflating Pillow takes seconds, which
    neither the wizard's request nor a test should wait for more than once."""
    digest = hashlib.sha256(json.dumps([files, [PACKAGES[name].tree_name for name in packages]],
                                       sort_keys=True).encode()).hexdigest()[:16]
    path = packages_dir() / "zips" / f"{key}-{digest}.zip"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = deployment_zip(files, packages)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".zip-", delete=False) as out:
        out.write(data)
    os.chmod(out.name, 0o644)
    os.replace(out.name, path)  # whole or not at all, whoever wins a race
    return data
