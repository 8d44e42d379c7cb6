"""Backup and restore of a deployment: the database (pg_dump custom format) and the stored files
(MEDIA_ROOT: uploads, inspection photos, signatures, evidence) in one tar archive with a
manifest of SHA-256 checksums, so a restore can tell a complete archive from a damaged one
before it touches anything."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connections

FORMAT = 1
DUMP = "database.dump"
MANIFEST = "manifest.json"


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_env(db: dict) -> tuple[list[str], dict]:
    args = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def backup(output_dir: Path, *, alias: str = "default") -> Path:
    """Write pneumo-backup-<time>.tar into output_dir; returns its path."""
    db = connections[alias].settings_dict
    media = Path(settings.MEDIA_ROOT)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output_dir.mkdir(parents=True, exist_ok=True)
    archive = output_dir / f"pneumo-backup-{stamp}.tar"
    with tempfile.TemporaryDirectory(dir=output_dir) as work:
        dump = Path(work) / DUMP
        args, env = _pg_env(db)
        subprocess.run(["pg_dump", *args, "-Fc", "--no-owner", "--no-privileges", "-f", str(dump), db["NAME"]],
                       env=env, check=True, capture_output=True)
        files = [{"path": DUMP, "size": dump.stat().st_size, "sha256": _sha256(dump)}]
        media_files = sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []
        for path in media_files:
            files.append({"path": f"media/{path.relative_to(media).as_posix()}", "size": path.stat().st_size,
                          "sha256": _sha256(path)})
        manifest = {"format": FORMAT, "created_at": datetime.datetime.now().astimezone().isoformat(),
                    "database": db["NAME"], "files": files}
        manifest_path = Path(work) / MANIFEST
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        partial = archive.with_suffix(".tar.partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(manifest_path, arcname=MANIFEST)
            tar.add(dump, arcname=DUMP)
            for path in media_files:
                tar.add(path, arcname=f"media/{path.relative_to(media).as_posix()}")
        partial.rename(archive)  # a crash leaves a .partial, never a truncated archive with the real name
    return archive


def restore(archive: Path, *, database: str, media_root: Path, alias: str = "default") -> dict:
    """Check every checksum, then load the dump into `database` (which must exist and be empty)
    and put the files under media_root. Returns the manifest."""
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")  # refuses absolute paths, .. and links out of the tree
        manifest_path = work / MANIFEST
        if not manifest_path.exists():
            raise BackupError(f"{archive}: no {MANIFEST}; not a portal backup")
        manifest = json.loads(manifest_path.read_text())
        problems = []
        for item in manifest["files"]:
            path = work / item["path"]
            if not path.is_file():
                problems.append(f"missing {item['path']}")
            elif path.stat().st_size != item["size"] or _sha256(path) != item["sha256"]:
                problems.append(f"checksum mismatch {item['path']}")
        if problems:
            raise BackupError(f"{archive}: damaged, nothing restored: " + "; ".join(problems[:10]))
        db = connections[alias].settings_dict
        args, env = _pg_env(db)
        check = subprocess.run(["psql", *args, "-d", database, "-tAc",
                                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"],
                               env=env, check=True, capture_output=True, text=True)
        if int(check.stdout.strip() or 0):
            raise BackupError(f"database {database} is not empty; restore into a new, empty database")
        subprocess.run(["pg_restore", *args, "--no-owner", "--no-privileges", "--exit-on-error", "-d", database,
                        str(work / DUMP)], env=env, check=True, capture_output=True)
        media_root.mkdir(parents=True, exist_ok=True)
        source = work / "media"
        if source.exists():
            for path in source.rglob("*"):
                if path.is_file():
                    target = media_root / path.relative_to(source)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
    return manifest
