"""What the store, sessions and backups need from the configuration."""

from __future__ import annotations

import os
import sys

from llmspell_kernel.records import Record

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, ClassVar

MB = 1024 * 1024


def user_data_dir() -> Path:
    """The per-user data directory (platformdirs; `~/.local/share/llmspell` on Linux)."""
    from pathlib import Path

    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return Path(base) / "llmspell"
    import platformdirs

    return Path(platformdirs.user_data_dir("llmspell"))


class DataSettings(Record):
    """Store location and limits, session policies, backup directory and retention."""

    __slots__ = (
        "backend",
        "path",
        "dsn",
        "pool_max_size",
        "reconnect_timeout_seconds",
        "tenant",
        "max_value_bytes",
        "busy_timeout_ms",
        "blob_inline_max_bytes",
        "ttl_seconds",
        "idle_timeout_seconds",
        "max_sessions",
        "max_artifacts_per_session",
        "max_artifact_size_bytes",
        "compression_threshold",
        "executions_per_minute",
        "gc_interval_seconds",
        "backup_dir",
        "max_backups",
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "backend": "sqlite",
        "path": "",
        "dsn": "",
        "pool_max_size": 8,
        "reconnect_timeout_seconds": 30.0,
        "tenant": "default",
        "max_value_bytes": 10 * MB,
        "busy_timeout_ms": 5000,
        "blob_inline_max_bytes": 65536,
        "ttl_seconds": 7 * 86400,
        "idle_timeout_seconds": 3600,
        "max_sessions": 1000,
        "max_artifacts_per_session": 1000,
        "max_artifact_size_bytes": 100 * MB,
        "compression_threshold": 10240,
        "executions_per_minute": 0,
        "gc_interval_seconds": 300,
        "backup_dir": "",
        "max_backups": 10,
    }
    backend: str
    path: str
    dsn: str
    pool_max_size: int
    reconnect_timeout_seconds: float
    tenant: str
    max_value_bytes: int
    busy_timeout_ms: int
    blob_inline_max_bytes: int
    ttl_seconds: int
    idle_timeout_seconds: int
    max_sessions: int
    max_artifacts_per_session: int
    max_artifact_size_bytes: int
    compression_threshold: int
    executions_per_minute: int
    gc_interval_seconds: int
    backup_dir: str
    max_backups: int

    @classmethod
    def from_config(cls, config: Any, *, tenant: str | None = None) -> DataSettings:
        """Settings from a loaded `llmspell_kernel.config.Config`."""
        state, sessions, backup = config.state, config.sessions, config.backup
        memory = "memory" in (state.backend, config.runtime.state_persistence.backend)
        return cls(
            backend="memory" if memory else state.backend,
            path=state.path,
            dsn=state.dsn,
            pool_max_size=state.pool_max_size,
            reconnect_timeout_seconds=state.reconnect_timeout_seconds,
            tenant=tenant or state.tenant or "default",
            max_value_bytes=config.runtime.state_persistence.max_state_size_bytes,
            busy_timeout_ms=state.busy_timeout_ms,
            blob_inline_max_bytes=state.blob_inline_max_bytes,
            ttl_seconds=sessions.ttl_seconds,
            idle_timeout_seconds=sessions.idle_timeout_seconds,
            max_sessions=sessions.max_sessions,
            max_artifacts_per_session=sessions.max_artifacts_per_session,
            max_artifact_size_bytes=sessions.max_artifact_size_bytes,
            compression_threshold=sessions.artifact_compression_threshold,
            executions_per_minute=sessions.executions_per_minute,
            gc_interval_seconds=sessions.gc_interval_seconds,
            backup_dir=backup.dir,
            max_backups=backup.max_backups,
        )

    @property
    def database_path(self) -> Path | None:
        """The SQLite file (None for the memory backend); for the postgres backend, the SQLite
        file of RAG's tables (`rag.db` unless `path` names one)."""
        if self.backend == "memory":
            return None
        if self.path:
            from pathlib import Path

            return Path(os.path.expanduser(self.path))
        return user_data_dir() / ("rag.db" if self.backend == "postgres" else "state.db")

    @property
    def blob_dir(self) -> Path | None:
        """Where large artifact blobs live (beside the database; none for the postgres backend,
        which keeps every blob in the database that all its hosts share)."""
        db = self.database_path
        return None if db is None or self.backend == "postgres" else db.parent / "blobs"

    @property
    def backups_dir(self) -> Path:
        """Where `backup create` writes by default."""
        if self.backup_dir:
            from pathlib import Path

            return Path(os.path.expanduser(self.backup_dir))
        db = self.database_path
        return (db.parent if db is not None else user_data_dir()) / "backups"
