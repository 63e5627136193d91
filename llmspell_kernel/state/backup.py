"""Backups: one tar.gz holding a consistent database snapshot (SQLite online backup API), the
artifact blob files, and a manifest with counts and the SHA-256 of every member.

`restore` extracts and verifies everything into a staging directory first, within a size bound
checked against every member's declared size before a byte of it is written. The archive's
database is never used as it is: its tables must have exactly our columns, and their rows are
copied into a fresh database made from our own schema (any trigger, view or index the archive
carries is left behind; blob contents must match their hashes). Only then is the old store saved
as a pre-restore backup, new blob files added, and the rows replaced in one transaction on the
live connection (so a kernel holding the database sees the restored data at once).

Tenancy: a backup covers the whole store (every tenant) or one tenant. A kernel serves one
tenant, so through a kernel `create` writes that tenant's data only, `restore` replaces only its
rows (from its own archives, or its part of a whole-store one), and `list`/`delete` see only the
archives it may use. A tenant archive restored offline replaces only that tenant's data.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmspell_kernel import __version__
from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.state.database import (
    MIGRATIONS,
    SCHEMA_VERSION,
    integrity_problem,
    make_private_dirs,
    rag_database,
)
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings

FORMAT = "llmspell-backup"
FORMAT_VERSION = 1
SUFFIX = ".tar.gz"
_MEMBER = re.compile(r"^(manifest\.json|state\.db|blobs/[0-9a-f]{64})$")
_CHUNK = 1 << 20
# An archive may expand to EXPANSION_RATIO times its own size, and always to EXPANSION_FLOOR.
EXPANSION_RATIO = 200
EXPANSION_FLOOR = 512 << 20
_MANIFEST_MAX = 10 * _CHUNK
_TAR_BLOCK = 512
# The tables that hold a tenant's rows (`blobs` is shared, deduplicated across tenants).
TENANT_TABLES = (
    "state",
    "sessions",
    "artifacts",
    "executions",
    "provider_calls",
    "events",
    "rag_scopes",
    "rag_documents",
    "rag_chunks",
)
_BATCH = 500


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
            "rag_chunks": conn.execute("SELECT count(*) FROM rag_chunks").fetchone()[0],
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


# -- the expected schema, and rows copied into a fresh database ------------------------------------
@functools.cache
def _schema(version: int) -> dict[str, list[tuple[Any, ...]]]:
    """The columns (PRAGMA table_xinfo) of every table our migrations make up to `version`."""
    conn = sqlite3.connect(":memory:")
    try:
        _create_schema(conn, version)
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_version'"
            )
        ]
        return {t: conn.execute(f'PRAGMA table_xinfo("{t}")').fetchall() for t in tables}
    finally:
        conn.close()


def _create_schema(conn: sqlite3.Connection, version: int) -> None:
    conn.execute("CREATE TABLE schema_version (version INTEGER)")
    for number in range(version):
        for statement in MIGRATIONS[number].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?)", (number + 1,))
    conn.commit()


def _open_archived(path: Path) -> sqlite3.Connection:
    """A read-only connection to a database from an archive, running none of its SQL."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA query_only = ON")
    return conn


def _archived_version(conn: sqlite3.Connection) -> int:
    """The schema version of an archived database whose tables are exactly ours."""
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'schema_version'").fetchone()
    if kind is None or kind[0] != "table":
        raise LlmspellError("the database in the archive has no schema version")
    version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise LlmspellError(f"the database in the archive has unsupported schema version {version}")
    for table, columns in _schema(version).items():
        found = conn.execute("SELECT type, sql FROM sqlite_master WHERE name = ?", (table,))
        row = found.fetchone()
        if row is None or row[0] != "table" or not str(row[1]).upper().startswith("CREATE TABLE"):
            raise LlmspellError(f"the database in the archive has no table '{table}'")
        if conn.execute(f'PRAGMA table_xinfo("{table}")').fetchall() != columns:
            raise LlmspellError(
                f"table '{table}' in the archive does not have the expected columns"
            )
    return version


def _columns(table: str, version: int = SCHEMA_VERSION) -> list[str]:
    return [c[1] for c in _schema(version)[table]]


def _copy_rows(
    source: sqlite3.Connection, table: str, columns: list[str], where: str, params: tuple[Any, ...]
) -> Any:
    """Batches of rows of one table (named columns only)."""
    names = ", ".join(columns)
    cursor = source.execute(f"SELECT {names} FROM {table}{where}", params)
    while batch := cursor.fetchmany(_BATCH):
        yield batch


def _insert(table: str, columns: list[str], conflict: str = "") -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){conflict}"


def _rebuild(
    source: Path, target: Path, tenant: str | None, blob_files: Path | None = None
) -> None:
    """Copy the rows of `source` (of one tenant, or all) into a fresh database at `target` made
    from our own schema. With `blob_files` (an archive's blobs) the source is untrusted: every
    blob is checked against its hash, and every artifact must have its blob."""
    conn = _open_archived(source)
    fresh = sqlite3.connect(str(target))
    try:
        version = _archived_version(conn)
        _create_schema(fresh, version)
        where, params = (" WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        for table in TENANT_TABLES:
            if table not in _schema(version):  # newer than the archive (e.g. provider_calls)
                continue
            columns = _columns(table, version)
            for batch in _copy_rows(conn, table, columns, where, params):
                fresh.executemany(_insert(table, columns), batch)
        wanted = {r[0] for r in fresh.execute("SELECT DISTINCT content_hash FROM artifacts")}
        columns = _columns("blobs", version)
        for batch in _copy_rows(conn, "blobs", columns, "", ()):
            rows = [row for row in batch if tenant is None or row[0] in wanted]
            if blob_files is not None:
                for row in rows:
                    _check_blob(row, blob_files)
            fresh.executemany(_insert("blobs", columns), rows)
        have = {r[0] for r in fresh.execute("SELECT hash FROM blobs")}
        missing = sorted(wanted - have)
        if missing:
            raise LlmspellError(f"blob {missing[0][:12]} of an artifact is not in the archive")
        fresh.commit()
    except sqlite3.Error as exc:
        raise LlmspellError(f"the database in the archive cannot be read: {exc}") from exc
    finally:
        conn.close()
        fresh.close()
    if version < SCHEMA_VERSION:
        from llmspell_kernel.state.database import SqliteDatabase

        SqliteDatabase(target).close()  # brought up to date by our own migrations


def _check_blob(row: tuple[Any, ...], blob_files: Path) -> None:
    """An archived blob row (hash, size, stored_size, compressed, data) must hold the content
    its hash names (else it could poison another tenant's deduplicated artifacts)."""
    import zlib

    digest, size, stored_size, compressed, data = row
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise LlmspellError(f"blob {str(digest)[:12]!r} in the archive has a malformed hash")
    if not isinstance(size, int) or not isinstance(stored_size, int):
        raise LlmspellError(f"blob {digest[:12]} in the archive has a malformed size")
    if data is not None and not isinstance(data, bytes):
        raise LlmspellError(f"blob {digest[:12]} in the archive holds {type(data).__name__}")
    hasher = hashlib.sha256()
    stored = length = 0
    inflate = zlib.decompressobj() if compressed else None
    try:
        for chunk in _stored_chunks(data, blob_files / digest):
            stored += len(chunk)
            pending = chunk
            while pending and length <= size:  # never inflate past the declared size
                plain = inflate.decompress(pending, _CHUNK) if inflate else pending
                pending = inflate.unconsumed_tail if inflate else b""
                hasher.update(plain)
                length += len(plain)
        if inflate is not None and length <= size:
            tail = inflate.flush()
            hasher.update(tail)
            length += len(tail)
    except FileNotFoundError:
        raise LlmspellError(
            f"blob {digest[:12]} referenced by the database is not in the archive"
        ) from None
    except (zlib.error, OSError) as exc:
        raise LlmspellError(f"blob {digest[:12]} in the archive cannot be read: {exc}") from exc
    if length != size or stored != stored_size or hasher.hexdigest() != digest:
        raise LlmspellError(f"blob {digest[:12]} in the archive does not match its hash")


def _stored_chunks(data: bytes | None, path: Path) -> Any:
    """The stored form of a blob: its inline data, else its file in pieces."""
    if data is not None:
        yield bytes(data)
        return
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


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
    tenant: str | None = None,
) -> dict[str, Any]:
    """Write a backup archive of the whole store, or of one `tenant`; returns
    `{id, path, size, manifest}`."""
    settings = hub.settings
    directory = settings.backups_dir
    if output:
        target = Path(output).expanduser().resolve()
        if target.is_dir():
            target = target / f"{prefix}-{_stamp()}{SUFFIX}"
    else:
        target = directory / f"{prefix}-{_stamp()}{SUFFIX}"
    make_private_dirs(target.parent)
    started = time.perf_counter()
    db = hub.database()
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as staging:
        snapshot = Path(staging) / "state.db"
        blob_dir = settings.blob_dir
        for _attempt in range(3):
            snapshot.unlink(missing_ok=True)
            if tenant is None:
                db.snapshot(snapshot)
            else:  # only this tenant's rows: nothing of another tenant, not even in free pages
                whole = Path(staging) / "whole.db"
                whole.unlink(missing_ok=True)
                db.snapshot(whole)
                _rebuild(whole, snapshot, tenant)
                whole.unlink()
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
                    "tenant": tenant,
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
        "tenant": tenant,
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
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(tmp, side)


def _expansion_bound(path: Path) -> int:
    """How many bytes an archive may expand to while it is extracted."""
    return max(EXPANSION_FLOOR, EXPANSION_RATIO * path.stat().st_size)


def _check_member(member: tarfile.TarInfo, used: int, bound: int, staging: Path) -> None:
    """Refuse a member before extracting it: its kind, its name, and its declared size against
    the expansion bound and the free disk space."""
    if not member.isfile() or member.issparse() or not _MEMBER.match(member.name):
        raise LlmspellError(f"unexpected member '{member.name}'")
    if member.name == "manifest.json" and member.size > _MANIFEST_MAX:
        raise LlmspellError(f"the manifest declares {member.size} bytes, over {_MANIFEST_MAX}")
    if used + member.size > bound:
        raise LlmspellError(
            f"member '{member.name}' declares {member.size} bytes: the archive would expand "
            f"beyond {bound} bytes ({EXPANSION_RATIO} times its size, at least "
            f"{EXPANSION_FLOOR >> 20} MB)"
        )
    free = shutil.disk_usage(staging).free
    if member.size > free:
        raise LlmspellError(
            f"member '{member.name}' declares {member.size} bytes, more than the {free} "
            f"bytes free in {staging.parent}"
        )


def _extract(source: Any, destination: Path, declared: int) -> dict[str, Any]:
    """Stream one member to an owner-only file, never past its declared size."""
    digest = hashlib.sha256()
    make_private_dirs(destination.parent)
    size = 0
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(min(_CHUNK, declared - size + 1)):
            size += len(chunk)
            if size > declared:
                raise LlmspellError(f"member '{destination.name}' is longer than it declares")
            digest.update(chunk)
            out.write(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def verify_archive(path: Path, staging: Path) -> dict[str, Any]:
    """Extract an archive into `staging`, checking every member against the manifest."""
    if not path.is_file():
        raise UsageError(f"backup not found: {path}")
    seen: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    used = 0
    try:
        bound = _expansion_bound(path)
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                _check_member(member, used, bound, staging)
                used += member.size + _TAR_BLOCK
                if member.name in seen or (member.name == "manifest.json" and manifest):
                    raise LlmspellError(f"duplicate member '{member.name}'")
                source = tar.extractfile(member)
                assert source is not None
                if member.name == "manifest.json":
                    manifest = json.loads(source.read(_MANIFEST_MAX).decode("utf-8"))
                    continue
                seen[member.name] = _extract(source, staging / member.name, member.size)
    except (tarfile.TarError, OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise LlmspellError(f"cannot read the archive: {exc}") from exc
    except RecursionError:
        raise LlmspellError("cannot read the archive: its manifest nests too deeply") from None
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
    archived_tenant = manifest.get("tenant")
    if archived_tenant is not None and not isinstance(archived_tenant, str):
        raise LlmspellError("the manifest names a malformed tenant")
    problem = integrity_problem(staging / "state.db")
    if problem:
        raise LlmspellError(f"the database in the archive is unusable: {problem}")
    return manifest


def _restore_scope(manifest: dict[str, Any], tenant: str | None) -> str | None:
    """The tenant a restore replaces (None: the whole store)."""
    archived = manifest.get("tenant")
    if tenant is None:
        return archived
    if archived is not None and archived != tenant:
        raise UsageError(
            f"this backup holds tenant '{archived}', not '{tenant}' (the tenant served here)"
        )
    return tenant


def restore_backup(hub: DataHub, path: str | Path, *, tenant: str | None = None) -> dict[str, Any]:
    """Verify an archive, keep the current data as a pre-restore backup, then replace it: the
    whole store, or only `tenant`'s rows (always only the archive's tenant for a tenant
    archive)."""
    archive = Path(path).expanduser().resolve()
    settings = hub.settings
    db_path = settings.database_path
    work_parent = db_path.parent if db_path is not None else Path(tempfile.gettempdir())
    make_private_dirs(work_parent)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=work_parent) as tmp:
        staging = Path(tmp)
        try:
            manifest = verify_archive(archive, staging)
            scope = _restore_scope(manifest, tenant)
            rebuilt = staging / "rebuilt.db"  # only rows, never the archive's own SQL
            _rebuild(staging / "state.db", rebuilt, scope, staging / "blobs")
        except LlmspellError as exc:
            if isinstance(exc, UsageError):
                raise
            raise LlmspellError(
                f"backup {archive} is damaged: {exc.message}; nothing was changed"
            ) from exc
        had_store = db_path is None or db_path.exists() or hub.is_open
        pre_restore = None
        if had_store:
            pre_restore = create_backup(hub, prefix="pre-restore", retention=False, tenant=scope)
        counts, files = _counts(rebuilt)
        blob_dir = settings.blob_dir
        if blob_dir is not None:
            for digest in files:
                target = blob_dir / digest[:2] / digest
                if not target.exists():
                    make_private_dirs(target.parent)
                    os.replace(staging / "blobs" / digest, target)
        orphans = _replace_rows(hub, rebuilt, scope, staging / "blobs")
        for orphan in orphans:
            orphan.unlink(missing_ok=True)
        from llmspell_kernel.rag.store import rebuild_derived

        # the RAG keyword index; vector indexes follow revisions
        rebuild_derived(rag_database(hub.database()))
    return {
        "restored": str(archive),
        "tenant": scope,
        "counts": counts,
        "pre_restore_backup": pre_restore["path"] if pre_restore else None,
    }


def _peek_manifest(archive: Path) -> dict[str, Any] | None:
    """The sidecar manifest beside an archive (what `list` shows; restore reads the archive's)."""
    try:
        found = json.loads(_sidecar(archive).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def _replace_rows(hub: DataHub, rebuilt: Path, tenant: str | None, blob_files: Path) -> list[Path]:
    """Replace the live rows (of `tenant`, or all) by those of `rebuilt` in one transaction;
    returns the blob files nothing references any more (to unlink after the commit)."""
    db = hub.database()
    rag = rag_database(db)  # db itself, or the SQLite companion of the postgres backend
    blob_dir = hub.settings.blob_dir
    source = sqlite3.connect(f"file:{rebuilt}?mode=ro", uri=True)
    try:
        with db.transaction(), rag.transaction():
            for table in TENANT_TABLES:
                target = rag if table.startswith("rag_") else db
                if tenant is None:
                    target.write(f"DELETE FROM {table}")
                else:
                    target.write(f"DELETE FROM {table} WHERE tenant = ?", (tenant,))
                columns = _columns(table)
                for batch in _copy_rows(source, table, columns, "", ()):
                    target.write_many(_insert(table, columns), batch)
            columns = _columns("blobs")
            for batch in _copy_rows(source, "blobs", columns, "", ()):
                if blob_dir is None:  # a store without a blob directory keeps every blob inline
                    batch = [_inline(row, blob_files) for row in batch]
                db.write_many(_insert("blobs", columns, " ON CONFLICT (hash) DO NOTHING"), batch)
            unused = "hash NOT IN (SELECT content_hash FROM artifacts)"
            orphans = db.query(f"SELECT hash FROM blobs WHERE data IS NULL AND {unused}")
            db.write(f"DELETE FROM blobs WHERE {unused}")
    finally:
        source.close()
    if blob_dir is None:
        return []
    return [blob_dir / h[:2] / h for (h,) in orphans]


def _inline(row: tuple[Any, ...], blob_files: Path) -> tuple[Any, ...]:
    if row[4] is not None:
        return row
    return (*row[:4], (blob_files / row[0]).read_bytes())


def list_backups(settings: DataSettings, tenant: str | None = None) -> list[dict[str, Any]]:
    """Archives in the backup directory, newest first; for a `tenant`, only its own archives
    and whole-store ones (from which a restore takes only its rows)."""
    directory = settings.backups_dir
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(f"*{SUFFIX}"):
        try:
            manifest = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            manifest = {}
        if not isinstance(manifest, dict):
            manifest = {}
        owner = manifest.get("tenant")
        if tenant is not None and owner not in (None, tenant):
            continue
        stat = path.stat()
        found.append(
            {
                "id": backup_id(path),
                "path": str(path),
                "size": stat.st_size,
                "tenant": owner,
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


def find_backup(settings: DataSettings, ident: str, tenant: str | None = None) -> dict[str, Any]:
    """The archive named by a path, an id or a unique id prefix (as every backup command
    accepts it): its `list_backups` entry (a path outside the backup directory gets one too)."""
    if not ident:
        raise UsageError("no backup named (give an id from `llmspell backup list` or a path)")
    listed = list_backups(settings, tenant)
    candidate = Path(ident).expanduser()
    if candidate.is_file():
        resolved = candidate.resolve()
        for entry in listed:
            if Path(entry["path"]).resolve() == resolved:
                return entry
        manifest = _peek_manifest(resolved) or {}
        return {"id": backup_id(resolved), "path": str(resolved), "tenant": manifest.get("tenant")}
    matches = [b for b in listed if b["id"] == ident] or [
        b for b in listed if b["id"].startswith(ident)
    ]
    if len(matches) > 1:
        shown = ", ".join(b["id"] for b in matches[:3]) + (", ..." if len(matches) > 3 else "")
        raise UsageError(
            f"backup id '{ident}' is ambiguous ({len(matches)} backups match: {shown})",
            hint="type more of the id",
        )
    if matches:
        return matches[0]
    if os.sep in ident or ident.endswith(SUFFIX):
        raise UsageError(f"backup not found: {candidate.resolve()}")
    raise UsageError(f"no backup '{ident}'", hint="`llmspell backup list` shows them")


def delete_backup(settings: DataSettings, ident: str, tenant: str | None = None) -> str:
    """Delete one archive (by id, unique id prefix, or path); returns its path. For a `tenant`,
    only that tenant's own archives."""
    entry = find_backup(settings, ident, tenant)
    path = Path(entry["path"])
    if not path.name.endswith(SUFFIX):
        raise UsageError(f"{path} is not a backup archive (*{SUFFIX})")
    if tenant is not None and entry.get("tenant") != tenant:
        raise UsageError(
            f"backup {entry['id']} holds every tenant's data; a kernel of tenant '{tenant}' "
            "cannot delete it",
            hint="delete it offline: llmspell --config FILE backup delete ID",
        )
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
