"""The `events` table: every published event, the owner of its schema and its queries.

Columns (schema version 3 of the state database, see state/database.py): tenant; id (the
event's UUID); seq (its number on the bus that published it); event_type; correlation_id;
at (unix time); language; source ("script", "system", "hook"); kernel_id (the publishing
kernel, NULL for embedded runs); data and metadata (JSON). Rows are listed in insertion order
(SQLite's rowid), which is publication order within a process; ids are random UUIDs and get
no index of their own (a B-tree of random keys was the dearest part of an insert). `events.retention_days` bounds
how long rows stay (`EventStore.purge`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from llmspell_kernel.events.model import Event, glob_matcher, rfc3339

TABLE = "events"

# Migration 3 of the state database.
SCHEMA = """
    CREATE TABLE events (
        tenant TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, event_type TEXT NOT NULL,
        correlation_id TEXT NOT NULL, at REAL NOT NULL, language TEXT NOT NULL,
        source TEXT NOT NULL, kernel_id TEXT, data TEXT NOT NULL, metadata TEXT NOT NULL
    );
    CREATE INDEX events_by_correlation ON events (tenant, correlation_id);
    CREATE INDEX events_by_time ON events (tenant, at)
"""

_COLUMNS = (
    "tenant, id, seq, event_type, correlation_id, at, language, source, kernel_id, data, metadata"
)


_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def _json(value: Any) -> str:
    return _encode(value)


_plain_metadata: dict[tuple[str, str], str] = {}  # (source, priority) -> its JSON text


def _metadata_json(e: Event) -> str:
    """The metadata column; the common case (no tags, target or ttl: every system event) is
    encoded once per (source, priority)."""
    if e.tags or e.target is not None or e.ttl_seconds is not None:
        return _json(e.metadata() | ({"ttl": e.ttl_seconds} if e.ttl_seconds is not None else {}))
    key = (e.source, e.priority)
    text = _plain_metadata.get(key)
    if text is None:
        text = _plain_metadata[key] = _json(e.metadata())
    return text


def row_of(tenant: str, kernel_id: str | None, e: Event) -> tuple[Any, ...]:
    """The values of one event's row, in _COLUMNS order."""
    return (
        tenant,
        e.id,
        e.sequence,
        e.event_type,
        e.correlation_id,
        e.at,
        e.language,
        e.source,
        kernel_id,
        e.data_json(_encode),
        _metadata_json(e),
    )


class EventStore:
    """Events of one tenant on a state database (`Database` of state/database.py)."""

    def __init__(self, db: Any, tenant: str) -> None:
        self.db = db
        self.tenant = tenant

    def add(self, events: Sequence[Event], kernel_id: str | None = None) -> None:
        """Store a batch of events in one transaction."""
        rows = [row_of(self.tenant, kernel_id, e) for e in events]
        marks = ", ".join("?" for _ in range(11))
        with self.db.transaction():
            self.db.write_many(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES ({marks})", rows)

    def query(
        self,
        *,
        correlation_id: str | None = None,
        event_type: str | None = None,
        since: float | None = None,
        kernel_id: str | None = None,
        after: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Events in publication order; `event_type` is a glob; `after` a row cursor (each
        row's `cursor`), so `--follow` asks only for what is new."""
        where = ["tenant = ?", "rowid > ?"]
        params: list[Any] = [self.tenant, int(after)]
        if correlation_id is not None:
            where.append("correlation_id = ?")
            params.append(correlation_id)
        if since is not None:
            where.append("at >= ?")
            params.append(float(since))
        if kernel_id is not None:
            where.append("kernel_id = ?")
            params.append(kernel_id)
        sql = (
            f"SELECT rowid, id, seq, event_type, correlation_id, at, language, source, kernel_id,"
            f" data, metadata FROM {TABLE} WHERE {' AND '.join(where)} ORDER BY rowid"
        )
        matcher = glob_matcher(event_type) if event_type else None
        out: list[dict[str, Any]] = []
        for row in self.db.query(sql, params):
            if matcher is not None and not matcher.match(row[3]):
                continue
            out.append(
                {
                    "cursor": row[0],
                    "id": row[1],
                    "sequence": row[2],
                    "event_type": row[3],
                    "correlation_id": row[4],
                    "timestamp": rfc3339(row[5]),
                    "at": row[5],
                    "language": row[6],
                    "source": row[7],
                    "kernel_id": row[8],
                    "data": json.loads(row[9]),
                    "metadata": json.loads(row[10]),
                }
            )
            if limit is not None and len(out) >= limit:
                break
        return out

    def purge(self, retention_days: float, now: float | None = None) -> int:
        """Delete events older than `retention_days` (0 or less: keep everything)."""
        if retention_days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - retention_days * 86400
        return self.db.write(
            f"DELETE FROM {TABLE} WHERE tenant = ? AND at < ?", (self.tenant, cutoff)
        )
