"""The PostgreSQL `Database`: one store shared by every kernel and command on a DSN.

`[state] backend = "postgres"` with `dsn` (or `LLMSPELL_STATE_DSN`) puts state, sessions,
artifacts (blobs in a `bytea` column), executions, usage and events in PostgreSQL through
psycopg 3 and a psycopg_pool pool (the `llmspell[postgres]` extra; this module is imported only
for that backend). The store above speaks the same SQL as on SQLite: `?` placeholders become
`%s` here, and the schema is the PostgreSQL dialect of database.py's migrations, recorded in
the same `schema_version` table.

RAG stays on SQLite: its keyword index is an FTS5 table, so its tables live in a SQLite file
beside the configuration's `[state] path` (`rag` below), opened on the first RAG call.

Atomicity is SQLite's: `write` runs one statement in autocommit; `transaction()` runs its
statements in one PostgreSQL transaction that first takes one database-wide advisory lock, so
transactions of every kernel on the database follow each other as SQLite's `BEGIN IMMEDIATE`
writers do (a read-then-write inside one sees no other transaction's writes in between).

Reconnects: a statement outside a transaction whose connection breaks (a server restart, a
dropped socket) is retried on a fresh connection with exponential backoff until
`reconnect_timeout_seconds`; only then does the caller see an error. Every statement the store
runs that way is idempotent (upserts, deletes, updates to a value) except inserts with a unique
key, where a retry that finds its row already there counts as done, and the events table's
inserts (no unique key), which are at-least-once for a statement whose commit reply was lost.
A transaction whose connection breaks is not retried (its Python body cannot be replayed): it
raises, and nothing of it was committed (unless the break came during COMMIT itself).
"""

from __future__ import annotations

import logging
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg.adapt import Buffer, Loader
from psycopg_pool import ConnectionPool, PoolTimeout

from llmspell_kernel.errors import ConfigError, LlmspellError
from llmspell_kernel.state.database import MIGRATIONS as SQLITE_MIGRATIONS
from llmspell_kernel.state.database import SCHEMA_VERSION, SqliteDatabase, pending_migrations
from llmspell_kernel.state.dsn import mask_dsn, mask_secrets

T = TypeVar("T")

# The advisory lock every transaction takes ('llmspell' in ASCII: one key per database).
LOCK_KEY = 0x6C6C6D7370656C6C

_IDLE = psycopg.pq.TransactionStatus.IDLE
_RECYCLE_SECONDS = 60.0  # idle connections go back to the pool at least this often

# The tables this backend holds (RAG's are in the SQLite companion), in copy order.
TABLES = ("state", "sessions", "blobs", "artifacts", "executions", "provider_calls", "events")


def _dialect(sql: str) -> str:
    """One SQLite migration in PostgreSQL's dialect: SQLite's REAL (8 bytes) is DOUBLE
    PRECISION, INTEGER (8 bytes) BIGINT, BLOB BYTEA; the events table's insertion order
    (SQLite's implicit rowid) is an explicit `rowid` sequence."""
    sql = re.sub(r"\)\s*WITHOUT ROWID", ")", sql)
    sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql)
    return sql.replace("CREATE TABLE events (", "CREATE TABLE events (rowid BIGSERIAL PRIMARY KEY,")


# database.MIGRATIONS, entry for entry, in PostgreSQL's dialect; RAG's tables (migration 4) stay
# in the SQLite companion (FTS5), so that entry only records the version here.
MIGRATIONS: tuple[str, ...] = tuple(
    "" if "rag_chunks" in sql else _dialect(sql) for sql in SQLITE_MIGRATIONS
)
assert len(MIGRATIONS) == SCHEMA_VERSION

_log = logging.getLogger(__name__)
# The pool logs every failed reconnection attempt as a warning; during a server restart that is
# expected and retried here, and the only message a user should see is ours, once, on give-up.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


class StoreUnavailable(LlmspellError):
    """The PostgreSQL server could not be reached (or the connection was lost) in time."""


class _Number(Loader):
    """NUMERIC (what sum() of BIGINT returns) as int or float, as SQLite returns it."""

    def load(self, data: Buffer) -> int | float:
        text = bytes(data).decode("ascii")
        try:
            return int(text)
        except ValueError:
            return float(text)


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", _Number)


def translate(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (a literal `%` doubled); quoted text and
    identifiers are copied as they are."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
            out.append("%%" if char == "%" else char)
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _password(dsn: str) -> str | None:
    try:
        return psycopg.conninfo.conninfo_to_dict(dsn).get("password")  # type: ignore[return-value]
    except psycopg.Error:
        return None


class PostgresDatabase:
    """A psycopg_pool pool on one DSN; each thread's transaction holds its own connection."""

    def __init__(
        self,
        dsn: str,
        *,
        rag_path: Path | None = None,
        max_connections: int = 8,
        connect_timeout_seconds: float = 5.0,
        reconnect_timeout_seconds: float = 30.0,
        busy_timeout_ms: int = 5000,
    ) -> None:
        if not dsn.strip():
            raise ConfigError(
                'state.backend = "postgres" needs state.dsn',
                hint="set [state] dsn or LLMSPELL_STATE_DSN, e.g. postgresql://user@host/db",
            )
        self.dsn = dsn
        self.location = mask_dsn(dsn)
        self._password = _password(dsn)
        self.rag_path = rag_path
        self.busy_timeout_ms = busy_timeout_ms
        self.reconnect_timeout = max(0.0, float(reconnect_timeout_seconds))
        self.memory = False
        self._sql: dict[str, str] = {}
        self._local = threading.local()
        self._rag: SqliteDatabase | None = None
        self._rag_lock = threading.Lock()
        timeout = max(1, round(connect_timeout_seconds))
        first = self._connect_first(timeout)
        try:
            _configure(first)
            self._migrate(first)
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"PostgreSQL at {self.location}: cannot prepare the schema: {self._clean(exc)}"
            ) from exc
        finally:
            first.close()
        self._pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max(1, int(max_connections)),
            kwargs={"autocommit": True, "connect_timeout": timeout},
            configure=_configure,
            open=False,
            name="llmspell-state",
            timeout=max(1.0, self.reconnect_timeout),
            reconnect_timeout=max(60.0, self.reconnect_timeout * 2),
        )
        self._pool.open(wait=False)
        # Idle connections most recently used first (the pool hands them out oldest first, so
        # one thread's statements would visit every server process in turn): a thread takes
        # the last one put back; they return to the pool now and then, and after a failure.
        self._idle: list[psycopg.Connection[Any]] = []
        self._idle_lock = threading.Lock()
        self._idle_since = time.monotonic()

    def _get(self, deadline: float) -> psycopg.Connection[Any]:
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        try:
            return self._pool.getconn(timeout=max(0.1, deadline - time.monotonic()))
        except PoolTimeout as exc:
            raise self._gave_up(exc) from exc

    def _put(self, conn: psycopg.Connection[Any]) -> None:
        if conn.broken or conn.closed or conn.info.transaction_status != _IDLE:
            self._pool.putconn(conn)  # discarded (broken) or rolled back by the pool
            return
        with self._idle_lock:
            self._idle.append(conn)
            if time.monotonic() - self._idle_since < _RECYCLE_SECONDS:
                return
        self._flush()  # let the pool apply its lifetime and idle limits

    def _flush(self) -> None:
        """Every idle connection back to the pool."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
            self._idle_since = time.monotonic()
        for conn in idle:
            self._pool.putconn(conn)

    def _connect_first(self, timeout: int) -> psycopg.Connection[Any]:
        """The first connection, with the errors people see: a DSN libpq cannot parse is a
        configuration error; a server that refuses is reported at once, except one that is
        starting up or shutting down (a restart), which is waited for up to the reconnect
        timeout."""
        deadline = time.monotonic() + self.reconnect_timeout
        delay = 0.1
        while True:
            try:
                return psycopg.connect(self.dsn, autocommit=True, connect_timeout=timeout)
            except psycopg.ProgrammingError as exc:  # libpq could not parse the DSN
                raise ConfigError(
                    f"state.dsn is not a valid PostgreSQL connection string: {self._clean(exc)}",
                    hint="use postgresql://user:password@host:port/database or "
                    "'host=... dbname=...'",
                ) from exc
            except psycopg.Error as exc:
                text = str(exc)
                restarting = "starting up" in text or "shutting down" in text
                if not restarting or time.monotonic() + delay >= deadline:
                    raise StoreUnavailable(
                        f"cannot connect to PostgreSQL at {self.location}: {self._clean(exc)}",
                        hint="check that the server runs and accepts this DSN ([state] dsn)",
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    # -- schema ---------------------------------------------------------------------------------
    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            found = row[0] if row else None
            for number, statements in pending_migrations(self.location, found, MIGRATIONS):
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (%s)", (number,))

    @property
    def schema_version(self) -> int:
        """The schema version of this database."""
        return int(self.query("SELECT max(version) FROM schema_version")[0][0])

    # -- statements -----------------------------------------------------------------------------
    def _translated(self, sql: str) -> str:
        found = self._sql.get(sql)
        if found is None:
            found = self._sql[sql] = translate(sql)
        return found

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read statement."""
        pg = self._translated(sql)
        return self._run(lambda conn: conn.execute(pg, params).fetchall(), insert=False)

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement atomically; returns the number of rows changed."""
        pg = self._translated(sql)
        insert = sql.lstrip()[:6].upper() == "INSERT"
        return self._run(lambda conn: conn.execute(pg, params).rowcount, insert=insert)

    def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row (call inside `transaction()` for atomicity)."""
        if not rows:
            return
        pg = self._translated(sql)

        def run(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor() as cursor:
                cursor.executemany(pg, rows)

        self._run(run, insert=False)

    def _run(self, fn: Callable[[psycopg.Connection[Any]], T], *, insert: bool) -> T:
        """`fn` on this thread's transaction connection, or on a pooled one with reconnects."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                return fn(conn)
            except psycopg.OperationalError as exc:
                if conn.broken or conn.closed:
                    raise StoreUnavailable(
                        f"the connection to PostgreSQL at {self.location} was lost during a "
                        f"transaction (nothing of it was committed): {self._clean(exc)}"
                    ) from exc
                raise
        return self._retrying(fn, insert=insert)[1]

    def _retrying(
        self, fn: Callable[[psycopg.Connection[Any]], T], *, insert: bool, keep: bool = False
    ) -> tuple[psycopg.Connection[Any] | None, T]:
        """`fn` on a pooled connection; a broken connection is discarded and `fn` retried on a
        fresh one with exponential backoff until `reconnect_timeout`. With `keep`, the
        connection stays borrowed and is returned with the result."""
        deadline = time.monotonic() + self.reconnect_timeout
        delay = 0.05
        attempt = 0
        while True:
            conn = self._get(deadline)
            try:
                result = fn(conn)
            except psycopg.errors.UniqueViolation:
                self._put(conn)
                if insert and attempt:  # the attempt whose reply was lost had committed it
                    return None, 1  # type: ignore[return-value]
                raise
            except psycopg.OperationalError as exc:
                lost = conn.broken or conn.closed or isinstance(exc, psycopg.errors.AdminShutdown)
                self._pool.putconn(conn)  # a broken connection is discarded by the pool
                if not lost:
                    raise
                if time.monotonic() + delay >= deadline:
                    raise self._gave_up(exc) from exc
                _log.info("PostgreSQL connection lost (%s); retrying", self._clean(exc))
                # The other idle connections went with the server: the pool tests them (and
                # replaces the dead); the first retry is at once, as the server may be back.
                self._flush()
                self._pool.check()
                if attempt:
                    time.sleep(delay * (0.5 + random.random() / 2))
                    delay = min(delay * 2, 1.0)
                attempt += 1
                continue
            except BaseException:
                self._put(conn)
                raise
            if keep:
                return conn, result
            self._put(conn)
            return None, result

    def _gave_up(self, exc: BaseException) -> StoreUnavailable:
        reason = self._clean(exc)
        if isinstance(exc, PoolTimeout):  # no connection came free or could be made in time
            reason = (
                f"no connection within the time (the server is down, or all "
                f"{self._pool.max_size} connections of [state] pool_max_size stay busy)"
            )
        return StoreUnavailable(
            f"PostgreSQL at {self.location} is unreachable (retried for "
            f"{self.reconnect_timeout:g} s): {reason}",
            hint="check that the server runs; [state] reconnect_timeout_seconds bounds the wait",
        )

    def _clean(self, exc: BaseException) -> str:
        return mask_secrets(_first_line(exc), self.dsn, self._password)

    @contextmanager
    def transaction(self) -> Iterator[PostgresDatabase]:
        """Everything inside commits together or not at all; nested uses join the outer one.
        Transactions of every process on the database run one at a time (advisory lock)."""
        local = self._local
        if getattr(local, "conn", None) is not None:
            local.depth += 1
            try:
                yield self
            finally:
                local.depth -= 1
            return

        def begin(conn: psycopg.Connection[Any]) -> None:
            conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_KEY})")

        # Borrow a connection (with reconnects) and begin on it: nothing has run yet, so a
        # broken connection here is simply retried.
        conn, _ = self._retrying(begin, insert=False, keep=True)
        assert conn is not None
        local.conn, local.depth = conn, 1
        try:
            try:
                yield self
            except BaseException:
                if not (conn.broken or conn.closed):
                    try:
                        conn.execute("ROLLBACK")
                    except psycopg.Error:
                        pass
                raise
            try:
                conn.execute("COMMIT")
            except psycopg.OperationalError as exc:
                raise StoreUnavailable(
                    f"the connection to PostgreSQL at {self.location} was lost while "
                    f"committing (the transaction may not have been saved): {self._clean(exc)}"
                ) from exc
        finally:
            local.conn, local.depth = None, 0
            self._put(conn)

    # -- RAG's SQLite companion, snapshots -------------------------------------------------------
    @property
    def rag(self) -> SqliteDatabase:
        """The SQLite database of RAG's tables (FTS5), opened on first use."""
        found = self._rag
        if found is None:
            with self._rag_lock:
                if self._rag is None:
                    self._rag = SqliteDatabase(self.rag_path, busy_timeout_ms=self.busy_timeout_ms)
                found = self._rag
        return found

    def snapshot(self, target: Path) -> None:
        """A consistent SQLite copy of the whole store in `target` (what backups archive): RAG's
        tables from the companion, then every PostgreSQL table read in one REPEATABLE READ
        transaction."""
        self.rag.snapshot(target)
        destination = sqlite3.connect(str(target), isolation_level=None)
        try:
            destination.execute("BEGIN")

            def copy(conn: psycopg.Connection[Any]) -> None:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try:
                    for table in TABLES:  # again on a retry after a lost connection
                        destination.execute(f"DELETE FROM {table}")
                    for table in TABLES:
                        columns = [
                            row[1] for row in destination.execute(f'PRAGMA table_info("{table}")')
                        ]
                        names = ", ".join(columns)
                        order = " ORDER BY rowid" if table == "events" else ""
                        marks = ", ".join("?" for _ in columns)
                        insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"
                        with conn.cursor(name=f"copy_{table}") as cursor:
                            cursor.execute(f"SELECT {names} FROM {table}{order}")
                            while batch := cursor.fetchmany(500):
                                destination.executemany(insert, batch)
                finally:
                    conn.execute("COMMIT")

            self._run(copy, insert=False)
            destination.execute("COMMIT")
        finally:
            destination.close()

    def close(self) -> None:
        """Close the pool and the RAG companion (the data stays in the server)."""
        self._flush()
        self._pool.close()
        with self._rag_lock:
            if self._rag is not None:
                self._rag.close()
                self._rag = None
