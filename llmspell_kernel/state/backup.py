"""Backups: one tar.gz holding a consistent database snapshot (SQLite online backup API), the
artifact blob files, and a manifest with counts and the SHA-256 of every member.

`restore` extracts and verifies everything into a staging directory first; only a sound archive
touches the store, and then the old store is saved as a pre-restore backup, new blob files are
added, and the database content is replaced in one transaction through the backup API (so a
kernel holding the database keeps a valid connection and sees the restored data).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmspell_kernel import __version__
from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.state.database import SCHEMA_VERSION, integrity_problem
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings

FORMAT = "llmspell-backup"
FORMAT_VERSION = 1
SUFFIX = ".tar.gz"
_MEMBER = re.compile(r"^(manifest\.json|state\.db|blobs/[0-9a-f]{64})$")
_CHUNK = 1 << 20


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _counts(db_file: Path) -> tuple[dict[str, int], list[str]]:
    """Row counts of a snapshot and the hashes of its blobs that live in files."""
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        counts = {
            "state_keys": conn.execute("SELECT count(*) FROM state").fetchone()[0],
            "sessions": conn.execute("SELECT count(*) FROM sessions").fetchone()[0],
            "artifacts": conn.execute("SELECT count(*) FROM artifacts").fetchone()[0],
            "executions": conn.execute("SELECT count(*) FROM executions").fetchone()[0],
            "blobs": conn.execute("SELECT count(*) FROM blobs").fetchone()[0],
            "tenants": conn.execute(
                "SELECT count(*) FROM (SELECT tenant FROM state UNION SELECT tenant FROM sessions)"
            ).fetchone()[0],
        }
        files = [
            r[0] for r in conn.execute("SELECT hash FROM blobs WHERE data IS NULL ORDER BY hash")
        ]
    finally:
        conn.close()
    return counts, files


class _Hashing:
    """A file reader that hashes what tarfile reads from it."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def create_backup(
    hub: DataHub,
    output: str | Path | None = None,
    *,
    prefix: str = "backup",
    retention: bool = True,
) -> dict[str, Any]:
    """Write a backup archive; returns `{id, path, size, manifest}`."""
    settings = hub.settings
    directory = settings.backups_dir
    if output:
        target = Path(output).expanduser().resolve()
        if target.is_dir():
            target = target / f"{prefix}-{_stamp()}{SUFFIX}"
    else:
        target = directory / f"{prefix}-{_stamp()}{SUFFIX}"
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    db = hub.database()
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as staging:
        snapshot = Path(staging) / "state.db"
        blob_dir = settings.blob_dir
        for _attempt in range(3):
            snapshot.unlink(missing_ok=True)
            db.snapshot(snapshot)
            counts, blob_files = _counts(snapshot)
            # A blob deleted after the snapshot was taken is retried with a fresh snapshot.
            if blob_dir is None or all((blob_dir / h[:2] / h).is_file() for h in blob_files):
                break
        else:
            raise LlmspellError("the store kept changing under the backup; try again")
        members: dict[str, dict[str, Any]] = {}
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
                sources = [("state.db", snapshot)]
                sources += [(f"blobs/{h}", blob_dir / h[:2] / h) for h in blob_files if blob_dir]
                for name, source in sources:
                    info = tarfile.TarInfo(name)
                    info.size = source.stat().st_size
                    info.mtime = int(time.time())
                    info.mode = 0o600
                    with open(source, "rb") as handle:
                        reader = _Hashing(handle)
                        tar.addfile(info, reader)
                    members[name] = {"sha256": reader.digest.hexdigest(), "size": info.size}
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "llmspell_version": __version__,
                    "schema_version": SCHEMA_VERSION,
                    "created_at": datetime.now(UTC)
                    .isoformat(timespec="seconds")
                    .replace("+00:00", "Z"),
                    "source": db.location,
                    "counts": counts,
                    "members": members,
                }
                data = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
                info = tarfile.TarInfo("manifest.json")
                info.size = len(data)
                info.mtime = int(time.time())
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
            os.chmod(partial, 0o600)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    _write_sidecar(target, manifest)
    if retention and directory.resolve() == target.parent.resolve():
        apply_retention(settings)
    return {
        "id": backup_id(target),
        "path": str(target),
        "size": target.stat().st_size,
        "seconds": round(time.perf_counter() - started, 3),
        "manifest": manifest,
    }


def backup_id(path: Path) -> str:
    """The id of an archive: its file name without `.tar.gz`."""
    name = path.name
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name


def _sidecar(path: Path) -> Path:
    return path.with_name(f"{backup_id(path)}.manifest.json")


def _write_sidecar(path: Path, manifest: dict[str, Any]) -> None:
    side = _sidecar(path)
    tmp = side.with_name(f".{side.name}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, side)


def verify_archive(path: Path, staging: Path) -> dict[str, Any]:
    """Extract an archive into `staging`, checking every member against the manifest."""
    if not path.is_file():
        raise UsageError(f"backup not found: {path}")
    seen: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if not member.isfile() or not _MEMBER.match(member.name):
                    raise LlmspellError(f"unexpected member '{member.name}'")
                if member.name in seen or (member.name == "manifest.json" and manifest):
                    raise LlmspellError(f"duplicate member '{member.name}'")
                source = tar.extractfile(member)
                assert source is not None
                if member.name == "manifest.json":
                    manifest = json.loads(source.read(10 * _CHUNK).decode("utf-8"))
                    continue
                digest = hashlib.sha256()
                destination = staging / member.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                size = 0
                with open(destination, "wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                seen[member.name] = {"sha256": digest.hexdigest(), "size": size}
    except (tarfile.TarError, OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise LlmspellError(f"cannot read the archive: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise LlmspellError("the manifest is missing or is not an llmspell backup manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise LlmspellError(f"unsupported backup format version {manifest.get('format_version')}")
    expected = manifest.get("members")
    if not isinstance(expected, dict) or "state.db" not in expected:
        raise LlmspellError("the manifest lists no database")
    for name, entry in expected.items():
        if name not in seen:
            raise LlmspellError(f"member '{name}' listed in the manifest is missing")
        if seen[name] != entry:
            raise LlmspellError(f"member '{name}' does not match its checksum in the manifest")
    extra = set(seen) - set(expected)
    if extra:
        raise LlmspellError(f"member '{sorted(extra)[0]}' is not listed in the manifest")
    problem = integrity_problem(staging / "state.db")
    if problem:
        raise LlmspellError(f"the database in the archive is unusable: {problem}")
    _counts_found, files = _counts(staging / "state.db")
    missing = [h for h in files if f"blobs/{h}" not in seen]
    if missing:
        raise LlmspellError(
            f"blob {missing[0][:12]} referenced by the database is not in the archive"
        )
    return manifest


def restore_backup(hub: DataHub, path: str | Path) -> dict[str, Any]:
    """Verify an archive, keep the current store as a pre-restore backup, then replace it."""
    archive = Path(path).expanduser().resolve()
    settings = hub.settings
    db_path = settings.database_path
    work_parent = db_path.parent if db_path is not None else Path(tempfile.gettempdir())
    work_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=work_parent) as tmp:
        staging = Path(tmp)
        try:
            manifest = verify_archive(archive, staging)
        except LlmspellError as exc:
            if isinstance(exc, UsageError):
                raise
            raise LlmspellError(
                f"backup {archive} is damaged: {exc.message}; nothing was changed"
            ) from exc
        had_store = db_path is None or db_path.exists() or hub.is_open
        pre_restore = None
        old_files: set[str] = set()
        if had_store:
            pre_restore = create_backup(hub, prefix="pre-restore", retention=False)
            old_files = _disk_blobs(hub)
        blob_dir = settings.blob_dir
        if blob_dir is not None:
            for source in (
                sorted((staging / "blobs").glob("*")) if (staging / "blobs").is_dir() else []
            ):
                target = blob_dir / source.name[:2] / source.name
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(source, target)
        db = hub.database()
        source_conn = sqlite3.connect(str(staging / "state.db"))
        try:
            with db._lock:  # noqa: SLF001 - one transaction replaces every page
                source_conn.backup(db._conn)  # noqa: SLF001
                db._migrate()  # noqa: SLF001 - an older schema is brought up to date
        finally:
            source_conn.close()
        if blob_dir is not None:
            for digest in old_files - _disk_blobs(hub):
                (blob_dir / digest[:2] / digest).unlink(missing_ok=True)
    return {
        "restored": str(archive),
        "counts": manifest.get("counts", {}),
        "pre_restore_backup": pre_restore["path"] if pre_restore else None,
    }


def _disk_blobs(hub: DataHub) -> set[str]:
    return {r[0] for r in hub.database().query("SELECT hash FROM blobs WHERE data IS NULL")}


def list_backups(settings: DataSettings) -> list[dict[str, Any]]:
    """Archives in the backup directory, newest first."""
    directory = settings.backups_dir
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(f"*{SUFFIX}"):
        try:
            manifest = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        stat = path.stat()
        found.append(
            {
                "id": backup_id(path),
                "path": str(path),
                "size": stat.st_size,
                "created_at": manifest.get("created_at")
                or datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds"),
                "counts": manifest.get("counts", {}),
                "_mtime": stat.st_mtime,
            }
        )
    found.sort(key=lambda b: (b["_mtime"], b["id"]), reverse=True)
    for entry in found:
        del entry["_mtime"]
    return found


def delete_backup(settings: DataSettings, ident: str) -> str:
    """Delete one archive (by id, unique id prefix, or path); returns its path."""
    candidate = Path(ident).expanduser()
    if candidate.name.endswith(SUFFIX) and candidate.is_file():
        path = candidate
    else:
        matches = [b for b in list_backups(settings) if b["id"] == ident]
        if not matches:
            matches = [b for b in list_backups(settings) if b["id"].startswith(ident)]
        if not matches:
            raise UsageError(f"no backup '{ident}'", hint="`llmspell backup list` shows them")
        if len(matches) > 1:
            raise UsageError(f"backup id '{ident}' is ambiguous ({len(matches)} backups match)")
        path = Path(matches[0]["path"])
    path.unlink()
    _sidecar(path).unlink(missing_ok=True)
    return str(path)


def apply_retention(settings: DataSettings) -> list[str]:
    """Delete the oldest archives beyond `backup.max_backups`; returns what was deleted."""
    keep = settings.max_backups
    if not keep:
        return []
    removed = []
    for entry in list_backups(settings)[keep:]:
        Path(entry["path"]).unlink(missing_ok=True)
        _sidecar(Path(entry["path"])).unlink(missing_ok=True)
        removed.append(entry["path"])
    return removed
