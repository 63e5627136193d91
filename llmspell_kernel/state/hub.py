"""DataHub: the one store of a process or kernel, opened on first use.

The Lua globals, the kernel's data requests and offline commands all go through a DataHub, so a
running kernel serves every reader and writer from one connection. Nothing here imports sqlite3
until the store is first used: `llmspell exec 'return 1'` never opens a database.
"""

from __future__ import annotations

import threading
import time

from llmspell_kernel.state.settings import DataSettings

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from llmspell_kernel.sessions.artifacts import ArtifactStore
    from llmspell_kernel.sessions.blobs import BlobStore
    from llmspell_kernel.sessions.manager import SessionManager
    from llmspell_kernel.state.database import Database
    from llmspell_kernel.state.store import StateStore
    from llmspell_kernel.usage.log import UsageLog


USAGE_BATCH = 64  # queued provider calls written together (record_call)
USAGE_SECONDS = 1.0  # the longest the oldest of them waits for a next call to write it


class DataHub:
    """State, sessions and artifacts of every tenant on one lazily opened database."""

    def __init__(self, settings: DataSettings | None = None) -> None:
        self.settings = settings or DataSettings()
        self._db: Database | None = None
        self._open_lock = threading.Lock()
        self._last_gc = time.monotonic()
        # Helpers bound to the open database, made on first use (they hold no other state).
        self._blobs: BlobStore | None = None
        self._managers: dict[str, SessionManager] = {}
        # The current session of each tenant in this process (Session.get_current/set_current).
        self.current_sessions: dict[str, str] = {}
        # Provider calls not yet in provider_calls (see record_call): (tenant, ProviderCall).
        self._calls: list[tuple[str, Any]] = []
        self._calls_lock = threading.Lock()
        self._calls_since = 0.0  # when the oldest of them was queued (monotonic)

    @property
    def tenant(self) -> str:
        """The tenant this process works for unless told otherwise."""
        return self.settings.tenant

    @property
    def is_open(self) -> bool:
        """Whether the database has been opened."""
        return self._db is not None

    def database(self) -> Database:
        """The database, opened (and migrated) on first use; queued provider calls are
        written first, so whoever reads or copies the store sees them."""
        if self._calls:
            self.flush_usage()
        return self._database()

    def _database(self) -> Database:
        db = self._db
        if db is None:
            with self._open_lock:
                if self._db is None:
                    self._db = self._open()
                    self._last_gc = time.monotonic()
                db = self._db
        return db

    def _open(self) -> Database:
        settings = self.settings
        if settings.backend == "postgres":
            try:
                from llmspell_kernel.state.postgres import PostgresDatabase
            except ImportError as exc:
                from llmspell_kernel.errors import ConfigError

                raise ConfigError(
                    f'state.backend = "postgres" needs psycopg and psycopg_pool ({exc})',
                    hint="pip install 'llmspell[postgres]'",
                ) from exc
            return PostgresDatabase(
                settings.dsn,
                rag_path=settings.database_path,
                max_connections=settings.pool_max_size,
                reconnect_timeout_seconds=settings.reconnect_timeout_seconds,
                busy_timeout_ms=settings.busy_timeout_ms,
            )
        from llmspell_kernel.state.database import SqliteDatabase

        return SqliteDatabase(settings.database_path, busy_timeout_ms=settings.busy_timeout_ms)

    def state(self, tenant: str | None = None) -> StateStore:
        """State of one tenant (default: this hub's)."""
        from llmspell_kernel.state.store import StateStore

        return StateStore(self.database(), tenant or self.tenant, self.settings.max_value_bytes)

    def blobs(self) -> BlobStore:
        """The artifact blob store."""
        db = self.database()
        blobs = self._blobs
        if blobs is None or blobs.db is not db:
            from llmspell_kernel.sessions.blobs import BlobStore

            blobs = self._blobs = BlobStore(
                db,
                self.settings.blob_dir,
                self.settings.blob_inline_max_bytes,
                self.settings.compression_threshold,
            )
            self._managers = {}
        return blobs

    def sessions(self, tenant: str | None = None) -> SessionManager:
        """Sessions of one tenant."""
        blobs = self.blobs()
        tenant = tenant or self.tenant
        manager = self._managers.get(tenant)
        if manager is None:
            from llmspell_kernel.sessions.manager import SessionManager

            manager = self._managers[tenant] = SessionManager(
                blobs.db, blobs, self.settings, tenant
            )
        return manager

    def artifacts(self, tenant: str | None = None) -> ArtifactStore:
        """Artifacts of one tenant."""
        from llmspell_kernel.sessions.artifacts import ArtifactStore

        manager = self.sessions(tenant)
        return ArtifactStore(manager.db, manager.blobs, manager)

    def usage(self, tenant: str | None = None) -> UsageLog:
        """Provider calls (usage and cost) of one tenant."""
        from llmspell_kernel.usage.log import UsageLog

        return UsageLog(self.database(), tenant or self.tenant)

    def record_call(self, call: Any, tenant: str | None = None) -> None:
        """Queue one provider call's row (usage/log.py ProviderCall) for provider_calls.

        An agent's call costs its script no SQL: the rows are written together, in one
        transaction, at the end of the kernel's execution (`flush_usage`), before any other
        use of the database (a read, `llmspell usage` or `session show` against the kernel, a
        backup, a state write), when the store closes, and once USAGE_BATCH are queued or the
        oldest has waited USAGE_SECONDS (checked at the next call)."""
        now = time.monotonic()
        with self._calls_lock:
            calls = self._calls
            if not calls:
                self._calls_since = now
            calls.append((tenant or self.tenant, call))
            due = len(calls) >= USAGE_BATCH or now - self._calls_since >= USAGE_SECONDS
        if due:
            self.flush_usage()

    def flush_usage(self) -> None:
        """Write the queued provider calls (a failure is logged, never raised: a store that
        cannot be written must not fail the script)."""
        with self._calls_lock:
            calls, self._calls = self._calls, []
        if not calls:
            return
        from llmspell_kernel.usage.log import UsageLog

        try:
            db = self._database()
            with db.transaction():
                for tenant in dict.fromkeys(t for t, _ in calls):
                    UsageLog(db, tenant).record_many([c for t, c in calls if t == tenant])
        except Exception as exc:
            from llmspell_kernel.logs import get_logger

            get_logger("llmspell.usage").warning(
                "could not record %d provider calls: %s", len(calls), exc
            )

    def current_session(self, tenant: str | None = None) -> str | None:
        """The current session id of a tenant in this process."""
        return self.current_sessions.get(tenant or self.tenant)

    def maybe_gc(self) -> dict[str, Any] | None:
        """Expire sessions when `sessions.gc_interval_seconds` has passed (open stores only)."""
        interval = self.settings.gc_interval_seconds
        if self._db is None or not interval or time.monotonic() - self._last_gc < interval:
            return None
        self._last_gc = time.monotonic()
        return self.gc_all_tenants()

    def periodic_gc(self) -> dict[str, Any] | None:
        """The kernel's timer: expire sessions once `sessions.gc_interval_seconds` has passed.

        Unlike `maybe_gc` it also opens a store nobody has used yet, as long as its file exists
        (an idle service still expires what earlier runs left); it never creates one, and the
        first run comes one interval after the hub was made, so short runs never open it.
        """
        interval = self.settings.gc_interval_seconds
        if not interval or time.monotonic() - self._last_gc < interval:
            return None
        self._last_gc = time.monotonic()
        if self._db is None and self.settings.backend != "postgres":
            path = self.settings.database_path
            if path is None or not path.exists():
                return None
        return self.gc_all_tenants()

    def gc_all_tenants(self) -> dict[str, Any]:
        """Expire sessions of every tenant."""
        db = self.database()
        tenants = [r[0] for r in db.query("SELECT DISTINCT tenant FROM sessions")]
        result = {tenant: self.sessions(tenant).gc() for tenant in tenants}
        for tenant, done in result.items():
            if self.current_sessions.get(tenant) in done["expired"]:
                del self.current_sessions[tenant]
        return result

    def close(self) -> None:
        """Close the database (it reopens on next use), after writing queued provider calls."""
        self.flush_usage()
        with self._open_lock:
            if self._db is not None:
                self._db.close()
                self._db = None
                self._blobs = None
                self._managers = {}
