"""Events across kernels on one PostgreSQL store: `Event.publish` in one process reaches
`Event.subscribe` in every other on the same database and tenant.

A script's publish on the postgres backend is stored at once (not batched with system events)
in a transaction that also sends `NOTIFY llmspell_events` with the tenant, the publishing hub's
random origin and the row's `rowid`; PostgreSQL delivers the notification when that transaction
commits, so the row is there when it arrives. Each process that subscribes keeps one listening
connection (its own, outside the pool) in a thread: a notification from another origin is
answered by reading that row and queueing the event for the matching subscriptions (never to the
store again, nor to the sinks such as IOPub). The event keeps its id, correlation id, sequence
and time; events of one publisher arrive in publication order (one connection, notifications in
commit order). System events stay local (they are many, and batched). While the listening
connection is being re-established after a server restart, notifications are missed: those
events are in the table (`llmspell events`) but not delivered live.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from llmspell_kernel.events.model import Event
from llmspell_kernel.logs import get_logger

CHANNEL = "llmspell_events"

_COLUMNS = "tenant, id, seq, event_type, correlation_id, at, language, source, kernel_id, data, metadata"  # fmt: skip
_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING rowid"
)
_ROW = (
    "SELECT event_type, data, correlation_id, seq, at, id, language, source, metadata "
    "FROM events WHERE rowid = ? AND tenant = ?"
)

log = get_logger("llmspell.events")


def new_origin() -> str:
    """A random id of one publishing hub (notifications from it are not delivered back)."""
    return os.urandom(8).hex()


def store_and_notify(db: Any, tenant: str, kernel_id: str | None, origin: str, event: Event) -> None:  # fmt: skip
    """Store one event and notify the other processes, in one transaction."""
    from llmspell_kernel.events.store import row_of

    with db.transaction():
        rowid = db.query(_INSERT, row_of(tenant, kernel_id, event))[0][0]
        payload = json.dumps({"tenant": tenant, "origin": origin, "rowid": rowid})
        db.query("SELECT pg_notify(?, ?)", (CHANNEL, payload))


def event_from_row(row: tuple[Any, ...]) -> Event:
    """The Event of a stored row (_ROW's columns)."""
    event_type, data, correlation_id, seq, at, ident, language, source, metadata = row
    meta = json.loads(metadata)
    return Event.from_json(
        event_type,
        data,
        correlation_id,
        sequence=int(seq),
        at=float(at),
        id=ident,
        language=language,
        source=source,
        ttl_seconds=meta.get("ttl"),
        target=meta.get("target"),
        tags=list(meta.get("tags") or []),
        priority=str(meta.get("priority") or "normal"),
    )


class Listener:
    """One LISTEN connection in a daemon thread; `deliver` gets each other origin's event."""

    def __init__(
        self, db: Any, tenant: str, origin: str, deliver: Callable[[list[Event]], None]
    ) -> None:
        self.db = db
        self.tenant = tenant
        self.origin = origin
        self.deliver = deliver
        self.ready = threading.Event()  # set once LISTEN is in place
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="llmspell-listen", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed = True
        self._thread.join(timeout=3)

    def _run(self) -> None:
        import psycopg

        delay = 0.05
        while not self._closed:
            try:
                with psycopg.connect(self.db.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    delay = 0.05
                    while not self._closed:
                        for note in conn.notifies(timeout=0.5, stop_after=64):
                            self._received(note.payload)
            except psycopg.Error as exc:
                if self._closed:
                    return
                log.info("event listener: %s; reconnecting", str(exc).splitlines()[0:1])
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except Exception:  # a bad payload or a failing receiver must not end the thread
                log.exception("event listener failed")
                time.sleep(delay)

    def _received(self, payload: str) -> None:
        try:
            note = json.loads(payload)
        except ValueError:
            return
        if note.get("tenant") != self.tenant or note.get("origin") == self.origin:
            return
        rows = self.db.query(_ROW, (int(note["rowid"]), self.tenant))
        if rows:
            self.deliver([event_from_row(rows[0])])
