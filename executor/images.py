"""Offline builder for the Lambda runtime images.

Everything is built locally (no registry): a debootstrapped Debian base image,
then one image per runtime from ``executor/runtimes/<runtime>/Dockerfile``.
Each image carries a ``lambda.inputs`` label with a hash of its inputs so we
only rebuild when something actually changed.

Usage: ``python -m executor.images [--force] [--only NAME]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNTIMES_DIR = Path(__file__).resolve().parent / "runtimes"
BASE_DIR = RUNTIMES_DIR / "base"
BASE_IMAGE = "lambda-runtime/base:latest"
INPUTS_LABEL = "lambda.inputs"
RUNTIME_LABEL = "lambda.runtime"

RUNTIMES: tuple[str, ...] = ("python3.11", "nodejs18.x", "provided.al2023")
_ALIASES = {"provided": "provided.al2023"}


class DockerUnavailable(RuntimeError):
    """The docker CLI is missing or the daemon cannot be reached."""


def image_for_runtime(runtime: str) -> str:
    """Return the local image tag for a Lambda runtime identifier."""
    name = _ALIASES.get(runtime, runtime)
    if name not in RUNTIMES:
        raise ValueError(f"unsupported runtime: {runtime!r} (supported: {', '.join(RUNTIMES)})")
    return f"lambda-runtime/{name}:latest"


# --- hashing -----------------------------------------------------------------

def _hash_dir(path: Path, seed: str = "") -> str:
    """sha256 over relative paths, modes and contents, in a stable order."""
    h = hashlib.sha256(seed.encode())
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        if "__pycache__" in f.parts:
            continue
        rel = f.relative_to(path).as_posix()
        # The exec bit matters (bootstrap scripts), so it is part of the hash.
        h.update(f"\0{rel}\0{f.stat().st_mode & 0o111:o}\0".encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def base_hash() -> str:
    return _hash_dir(BASE_DIR, "base")


def runtime_hash(runtime: str, base: str | None = None) -> str:
    return _hash_dir(RUNTIMES_DIR / runtime, base or base_hash())


def expected_hashes() -> dict[str, str]:
    """Image tag -> hash it should carry, base first."""
    b = base_hash()
    out = {BASE_IMAGE: b}
    for rt in RUNTIMES:
        out[image_for_runtime(rt)] = runtime_hash(rt, b)
    return out


# --- docker helpers -----------------------------------------------------------

def _docker(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["docker", *args], check=check, text=True, **kw)
    except FileNotFoundError as e:
        raise DockerUnavailable("docker CLI not found on PATH") from e


def ensure_docker() -> None:
    r = _docker("version", "--format", "{{.Server.Version}}", check=False, capture_output=True)
    if r.returncode != 0:
        raise DockerUnavailable(f"Docker daemon is not reachable: {r.stderr.strip() or r.stdout.strip()}")


def _inspect(tag: str, template: str) -> str | None:
    """`docker image inspect` of a local image, or None if the engine says it has no such image.

    Any other failure (the engine not answering, say) raises: an image that could not be
    looked at is not an image that is missing, and must not be rebuilt or reported as such.
    """
    r = _docker("image", "inspect", "--format", template, tag, check=False, capture_output=True)
    if r.returncode == 0:
        return r.stdout.strip()
    if "no such image" in r.stderr.lower():
        return None
    raise DockerUnavailable(f"cannot inspect {tag}: {r.stderr.strip() or r.stdout.strip()}")


def _image_label(tag: str) -> str | None:
    """Current lambda.inputs label of a local image, or None if the image is missing."""
    labels = _inspect(tag, "{{json .Config.Labels}}")
    if labels is None:
        return None
    return (json.loads(labels or "null") or {}).get(INPUTS_LABEL, "")


def _image_id(tag: str) -> str | None:
    return _inspect(tag, "{{.Id}}")


# --- builders ----------------------------------------------------------------

def _read_env(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip().strip('"')
    return out


def build_base(inputs: str) -> None:
    """debootstrap a minimal Debian rootfs and `docker import` it."""
    if os.geteuid() != 0:
        raise RuntimeError("building the base image needs root (debootstrap)")
    cfg = _read_env(BASE_DIR / "debootstrap.env")
    tmp = Path(tempfile.mkdtemp(prefix="lambda-base-"))
    root = tmp / "rootfs"
    try:
        cmd = ["debootstrap", f"--variant={cfg.get('VARIANT', 'minbase')}"]
        if cfg.get("INCLUDE"):
            cmd.append(f"--include={cfg['INCLUDE']}")
        cmd += [cfg.get("SUITE", "bookworm"), str(root), cfg.get("MIRROR", "http://deb.debian.org/debian")]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        # Trim what a container never needs; apt lists are re-fetched by runtime builds.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                     "usr/share/man", "usr/share/locale", "usr/share/info"):
            p = root / junk
            if p.is_dir():
                shutil.rmtree(p)
                p.mkdir(parents=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
        tar = tmp / "rootfs.tar"
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tar), "."], check=True)
        _docker(
            "import",
            "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change", "ENV LANG=C.UTF-8",
            "--change", 'CMD ["/bin/bash"]',
            "--change", f"LABEL {INPUTS_LABEL}={inputs}",
            str(tar), BASE_IMAGE,
            stdout=subprocess.DEVNULL,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def stage_packages(ctx: Path) -> None:
    """Install the runtime's pinned Python packages (its requirements.txt) into ctx/packages.

    pip runs here, on the host, with the host's own configuration (its index, proxy and CA
    bundle): the packages are pure Python, so the image needs no pip and no network for them.
    """
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--only-binary=:all:",
         "--target", str(ctx / "packages"), "-r", str(ctx / "requirements.txt")],
        check=False, capture_output=True, text=True,
    )
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise subprocess.CalledProcessError(r.returncode, r.args)
    shutil.rmtree(ctx / "packages" / "bin", ignore_errors=True)  # console scripts: nothing runs them


def build_runtime(runtime: str, inputs: str, no_cache: bool = False, tag: str | None = None) -> None:
    """Build a runtime's image (tagged `tag`, by default the one functions run)."""
    source = RUNTIMES_DIR / runtime
    with tempfile.TemporaryDirectory(prefix=f"lambda-{runtime}-") as tmp:
        ctx = source
        if (source / "requirements.txt").is_file():
            ctx = Path(tmp) / "context"
            shutil.copytree(source, ctx, ignore=shutil.ignore_patterns("__pycache__"))
            stage_packages(ctx)
        # The classic builder needs no buildx plugin; its deprecation banner and
        # step output are captured and only shown if the build fails.
        r = _docker(
            "build",
            "--build-arg", f"BASE={BASE_IMAGE}",
            "--label", f"{INPUTS_LABEL}={inputs}",
            "--label", f"{RUNTIME_LABEL}={runtime}",
            "-t", tag or image_for_runtime(runtime),
            *(["--no-cache"] if no_cache else []),
            str(ctx),
            check=False, capture_output=True,
            env={**os.environ, "DOCKER_BUILDKIT": os.environ.get("DOCKER_BUILDKIT", "0")},
        )
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise subprocess.CalledProcessError(r.returncode, r.args)


def _runtime_of(tag: str) -> str:
    return tag.split("/", 1)[1].rsplit(":", 1)[0]


def build_all(force: bool = False, only: str | None = None) -> list[str]:
    """Build stale images (all if ``force``); return the tags that were built."""
    ensure_docker()
    wanted = {BASE_IMAGE, *(image_for_runtime(r) for r in RUNTIMES)}
    if only:
        wanted = {BASE_IMAGE if only == "base" else image_for_runtime(only)}
    built: list[str] = []
    for tag, inputs in expected_hashes().items():
        t0 = time.monotonic()
        stale = _image_label(tag) != inputs
        # Runtimes are built FROM base and their hash covers it, so a stale base
        # is rebuilt even when only a runtime was asked for.
        if tag not in wanted and not (tag == BASE_IMAGE and stale):
            continue
        # A freshly built base must propagate into the runtimes built FROM it.
        if stale or force or (tag != BASE_IMAGE and BASE_IMAGE in built):
            old_id = _image_id(tag)
            if tag == BASE_IMAGE:
                build_base(inputs)
            else:
                build_runtime(_runtime_of(tag), inputs, no_cache=force)
            if old_id and old_id != _image_id(tag):
                # Drop the superseded image; fails harmlessly if still in use.
                _docker("rmi", old_id, check=False, capture_output=True)
            built.append(tag)
            print(f"{tag}: built ({time.monotonic() - t0:.1f}s)", flush=True)
        else:
            print(f"{tag}: up to date ({time.monotonic() - t0:.1f}s)", flush=True)
    return built


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m executor.images", description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    ap.add_argument("--only", metavar="NAME", choices=("base", *RUNTIMES, *_ALIASES),
                    help="build just this image (base or a runtime)")
    args = ap.parse_args(argv)
    try:
        build_all(force=args.force, only=args.only)
    except DockerUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"error: command failed ({e.returncode}): {' '.join(map(str, e.cmd))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
