"""`llmspell state migrate --to postgres --dsn DSN`: the configured SQLite store copied into an
empty PostgreSQL store, verified before it is committed.

The source is read from a consistent snapshot (SQLite's online backup, so a running kernel may
keep writing); every table of the PostgreSQL backend is copied in one transaction, blobs kept in
files inlined into the `bytea` column. Before the commit, each table's row count and a hash of
its rows (an order-independent SHA-256 over every row's values, a blob's content by its bytes)
are compared between the snapshot and what the transaction wrote; any difference rolls the
whole copy back. RAG's tables stay in SQLite (FTS5): when the postgres backend's RAG file is
another one than the source (no `[state] path`: `rag.db` beside `state.db`), they are copied
there the same way.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.state.database import SqliteDatabase, make_private_dirs
from llmspell_kernel.state.settings import DataSettings

if TYPE_CHECKING:
    from llmspell_kernel.state.database import Database

RAG_TABLES = ("rag_scopes", "rag_documents", "rag_chunks")
_BATCH = 500


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _canonical(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, float):
        return repr(value)
    return value


class _Digest:
    """Row count and an order-independent hash of rows (the sum of their SHA-256s)."""

    def __init__(self) -> None:
        self.rows = 0
        self._sum = 0

    def add(self, row: Iterable[Any]) -> None:
        text = json.dumps([_canonical(v) for v in row], separators=(",", ":"), default=str)
        self._sum = (self._sum + int(hashlib.sha256(text.encode()).hexdigest(), 16)) % (1 << 256)
        self.rows += 1

    @property
    def hex(self) -> str:
        return f"{self._sum:064x}"


def _batches(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _copy(
    source: sqlite3.Connection,
    target: Database,
    table: str,
    fix: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None,
) -> _Digest:
    """Copy one table (the source's columns, events in their order); the source's digest."""
    columns = _columns(source, table)
    names = ", ".join(columns)
    order = " ORDER BY rowid" if table in ("events", "rag_chunks") else ""
    digest = _Digest()
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"

    def rows() -> Iterator[tuple[Any, ...]]:
        for row in source.execute(f"SELECT {names} FROM {table}{order}"):
            fixed = row if fix is None else fix(row)
            digest.add(fixed)
            yield fixed

    for batch in _batches(rows()):
        target.write_many(insert, batch)
    return digest


def _digest_of(db: Database, table: str, columns: list[str]) -> _Digest:
    digest = _Digest()
    for row in db.query(f"SELECT {', '.join(columns)} FROM {table}"):
        digest.add(row)
    return digest


def _verify(source: sqlite3.Connection, target: Database, table: str, copied: _Digest) -> None:
    found = _digest_of(target, table, _columns(source, table))
    if (found.rows, found.hex) != (copied.rows, copied.hex):
        raise LlmspellError(
            f"verification failed for table {table}: {copied.rows} rows read, {found.rows} "
            f"written{' with other contents' if found.rows == copied.rows else ''}; "
            "nothing was committed"
        )


def _empty(db: Database, tables: Iterable[str], where: str) -> None:
    full = [(t, int(db.query(f"SELECT count(*) FROM {t}")[0][0])) for t in tables]
    held = [f"{count} in {table}" for table, count in full if count]
    if held:
        raise UsageError(
            f"{where} already holds data ({', '.join(held)}); migrate copies into an empty store",
            hint="point --dsn at an empty database (or schema)",
        )


def migrate_store(config: Any, dsn: str | None = None, to: str = "postgres") -> dict[str, Any]:
    """Copy the configured SQLite store into the PostgreSQL store at `dsn` (default: the
    configuration's `[state] dsn`); the report of what was copied and verified."""
    if to != "postgres":
        raise UsageError(f"unknown target backend '{to}' (only postgres)")
    settings = DataSettings.from_config(config)
    if settings.backend != "sqlite":
        raise UsageError(
            f'the configured store is state.backend = "{settings.backend}"; migrate copies a '
            'SQLite store (state.backend = "sqlite") into PostgreSQL'
        )
    target_dsn = (dsn or settings.dsn or "").strip()
    if not target_dsn:
        raise UsageError("--dsn is needed (or [state] dsn / LLMSPELL_STATE_DSN)")
    path = settings.database_path
    if path is None or not path.is_file():
        raise UsageError(f"there is no SQLite store at {path} to migrate")
    try:
        from llmspell_kernel.state.postgres import TABLES, PostgresDatabase
    except ImportError as exc:
        from llmspell_kernel.errors import ConfigError

        raise ConfigError(
            f"migrating to PostgreSQL needs psycopg and psycopg_pool ({exc})",
            hint="pip install 'llmspell[postgres]'",
        ) from exc

    fields = {name: getattr(settings, name) for name in DataSettings.__slots__}
    pg_settings = DataSettings(**{**fields, "backend": "postgres", "dsn": target_dsn})
    rag_path = pg_settings.database_path
    assert rag_path is not None
    blob_dir = settings.blob_dir
    make_private_dirs(path.parent)
    with tempfile.TemporaryDirectory(prefix=".migrate-", dir=path.parent) as staging:
        snapshot = Path(staging) / "state.db"
        live = SqliteDatabase(path, busy_timeout_ms=settings.busy_timeout_ms)
        try:
            live.snapshot(snapshot)
        finally:
            live.close()
        SqliteDatabase(snapshot).close()  # an older schema brought up to date
        source = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)

        def inline(row: tuple[Any, ...]) -> tuple[Any, ...]:
            if row[4] is not None or blob_dir is None:
                return row
            digest = str(row[0])
            try:
                data = (blob_dir / digest[:2] / digest).read_bytes()
            except OSError as exc:
                raise LlmspellError(f"blob {digest[:12]} of the store is missing: {exc}") from exc
            return (*row[:4], data)

        target = PostgresDatabase(target_dsn, rag_path=rag_path)
        report: dict[str, Any] = {"source": str(path), "target": target.location, "tables": {}}
        separate_rag = rag_path.resolve() != path.resolve()
        try:
            _empty(target, TABLES, f"the PostgreSQL store at {target.location}")
            if separate_rag:  # refused before anything is written, like a full target
                rag = SqliteDatabase(rag_path)
                try:
                    _empty(rag, RAG_TABLES, f"the RAG file {rag_path}")
                finally:
                    rag.close()
            with target.transaction():
                for table in TABLES:
                    copied = _copy(source, target, table, inline if table == "blobs" else None)
                    _verify(source, target, table, copied)
                    report["tables"][table] = {"rows": copied.rows, "sha256": copied.hex}
            if separate_rag:
                report["rag"] = _copy_rag(source, rag_path)
        finally:
            source.close()
            target.close()
    report["verified"] = True
    return report


def _copy_rag(source: sqlite3.Connection, rag_path: Path) -> dict[str, Any]:
    """RAG's tables into the postgres backend's RAG file, verified the same way."""
    rag = SqliteDatabase(rag_path)
    out: dict[str, Any] = {"path": str(rag_path), "tables": {}}
    try:
        _empty(rag, RAG_TABLES, f"the RAG file {rag_path}")
        with rag.transaction():
            for table in RAG_TABLES:
                copied = _copy(source, rag, table)
                _verify(source, rag, table, copied)
                out["tables"][table] = {"rows": copied.rows, "sha256": copied.hex}
        from llmspell_kernel.rag.store import rebuild_derived

        rebuild_derived(rag)  # the keyword index of the copied chunks
    finally:
        rag.close()
    return out
