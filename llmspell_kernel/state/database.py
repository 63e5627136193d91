"""The backend interface of the store and its SQLite implementation.

Everything above this module speaks plain SQL with `?` parameters through `Database`: `query`
for reads, `write` for one statement, `transaction` for several. The SQL sticks to what SQLite
and PostgreSQL share (upserts with `ON CONFLICT`), so a PostgreSQL `Database` for several hosts
can follow without touching the state, session or artifact code. `memory` is SQLite in memory;
postgres.py is the PostgreSQL backend (RAG's tables stay in SQLite there: `rag_database`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from llmspell_kernel.errors import LlmspellError

SCHEMA_VERSION = 5


def _usage_schema() -> str:
    from llmspell_kernel.usage.schema import SCHEMA

    return SCHEMA


def _rag_schema() -> str:
    from llmspell_kernel.rag.schema import SCHEMA

    return SCHEMA


def _events_schema() -> str:
    from llmspell_kernel.events.store import SCHEMA

    return SCHEMA


# Each entry upgrades the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE state (
        tenant TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at REAL NOT NULL,
        PRIMARY KEY (tenant, key)
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        tenant TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
        tags TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL,
        updated_at REAL NOT NULL, expires_at REAL, parent_session_id TEXT,
        metadata TEXT NOT NULL, next_sequence INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (tenant, id)
    );
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY, size INTEGER NOT NULL, stored_size INTEGER NOT NULL,
        compressed INTEGER NOT NULL, data BLOB
    );
    CREATE TABLE artifacts (
        tenant TEXT NOT NULL, session_id TEXT NOT NULL, sequence INTEGER NOT NULL,
        name TEXT NOT NULL, version INTEGER NOT NULL, content_hash TEXT NOT NULL,
        previous_hash TEXT, artifact_type TEXT NOT NULL, mime_type TEXT NOT NULL,
        description TEXT NOT NULL, tags TEXT NOT NULL, custom TEXT NOT NULL,
        size INTEGER NOT NULL, created_at REAL NOT NULL, created_by TEXT NOT NULL,
        PRIMARY KEY (tenant, session_id, sequence)
    );
    CREATE INDEX artifacts_by_hash ON artifacts (content_hash);
    CREATE INDEX artifacts_by_name ON artifacts (tenant, session_id, name, version);
    CREATE TABLE executions (
        tenant TEXT NOT NULL, session_id TEXT NOT NULL, step INTEGER NOT NULL,
        code TEXT NOT NULL, script_path TEXT, args TEXT NOT NULL, status TEXT NOT NULL,
        outputs TEXT NOT NULL, result TEXT, error TEXT, started_at REAL NOT NULL,
        duration_ms REAL NOT NULL,
        PRIMARY KEY (tenant, session_id, step)
    );
    """,
    # 2: provider calls (usage and cost); its owner is llmspell_kernel/usage/log.py (text in usage/schema.py).
    _usage_schema(),
    # 3: published events (audit, `llmspell events`); owner llmspell_kernel/events/store.py.
    _events_schema(),
    # 4: RAG documents, chunks, vectors and their FTS5 index; owner llmspell_kernel/rag/schema.py.
    _rag_schema(),
    # 5: a version per state value (1 when written, +1 per change): State.compare_and_set.
    "ALTER TABLE state ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
)


def make_private_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents owner-only (0700); existing ones are left
    as they are (mkdir(parents=True) would give the parents the default mode)."""
    missing = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


# Annotations only: typing is not loaded at run time (records.py), so the Protocol is
# declared for the type checker alone; every backend simply has these members.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Database(Protocol):
        """What the store needs from a database (the narrow backend interface)."""

        location: str

        def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

        def write(self, sql: str, params: Sequence[Any] = ()) -> int: ...

        def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

        def transaction(self) -> Any: ...

        def snapshot(self, target: Path) -> None: ...

        def close(self) -> None: ...


def pending_migrations(
    location: str, found: int | None, migrations: Sequence[str]
) -> Iterator[tuple[int, list[str]]]:
    """(version, its statements) of every migration a database at schema version `found` still
    needs; refuses a database newer than this llmspell."""
    version = int(found or 0)
    if version > SCHEMA_VERSION:
        raise LlmspellError(
            f"{location}: schema version {version} is newer than this llmspell "
            f"understands ({SCHEMA_VERSION}); upgrade llmspell"
        )
    for number in range(version, SCHEMA_VERSION):
        yield number + 1, [part for part in migrations[number].split(";") if part.strip()]


def rag_database(db: Database) -> Database:
    """The database of RAG's tables: `db` itself, or the SQLite companion of a backend without
    FTS5 (PostgresDatabase.rag)."""
    companion: Database | None = getattr(db, "rag", None)
    return db if companion is None else companion


class SqliteDatabase:
    """One SQLite connection (WAL mode) shared by the threads of one process under a lock."""

    def __init__(self, path: str | Path | None, *, busy_timeout_ms: int = 5000) -> None:
        self.memory = path is None
        self.location = ":memory:" if path is None else str(path)
        if path is not None:
            try:
                make_private_dirs(Path(path).parent)
            except OSError as exc:
                raise LlmspellError(
                    f"{path}: cannot create the state database's directory: {exc.strerror or exc}",
                    hint="set [state] path to a writable location",
                ) from exc
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._conn = sqlite3.connect(
                self.location,
                isolation_level=None,
                check_same_thread=False,
                timeout=busy_timeout_ms / 1000.0,
            )
            if path is not None:
                os.chmod(self.location, 0o600)
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise LlmspellError(
                f"{self.location}: cannot open the state database: {exc}",
                hint="restore it with `llmspell backup restore FILE`, or set state.path",
            ) from exc

    def _migrate(self) -> None:
        with self.transaction():
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            row = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
            for number, statements in pending_migrations(self.location, row[0], MIGRATIONS):
                for statement in statements:
                    self._conn.execute(statement)
                self._conn.execute("INSERT INTO schema_version VALUES (?)", (number,))

    @property
    def schema_version(self) -> int:
        """The schema version of this database."""
        return int(self.query("SELECT max(version) FROM schema_version")[0][0])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read statement."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement atomically; returns the number of rows changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row (call inside `transaction()` for atomicity)."""
        with self._lock:
            self._conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[SqliteDatabase]:
        """Everything inside commits together or not at all; nested uses join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self._conn.execute("COMMIT")

    def snapshot(self, target: Path) -> None:
        """A consistent copy of the whole database in `target` (SQLite online backup API)."""
        destination = sqlite3.connect(str(target))
        try:
            with self._lock:
                self._conn.backup(destination)
        finally:
            destination.close()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the main file."""
        if not self.memory:
            with self._lock:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close the connection (the database stays on disk)."""
        with self._lock:
            self._conn.close()


def integrity_problem(path: Path) -> str | None:
    """None when the SQLite file at `path` is sound and has our schema, else what is wrong."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            return f"integrity check failed: {result}"
        version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        if version is None or int(version) > SCHEMA_VERSION:
            return f"unsupported schema version {version}"
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()
    return None
