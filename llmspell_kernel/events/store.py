"""The `events` table: every published event, the owner of its schema and its queries.

Columns (schema version 3 of the state database, see state/database.py): tenant; id (the
event's UUID); seq (its number on the bus that published it); event_type; correlation_id;
at (unix time); language; source ("script", "system", "hook"); kernel_id (the publishing
kernel, NULL for embedded runs); data and metadata (JSON). Rows are listed in insertion order
(SQLite's rowid), which is publication order within a process; ids are random UUIDs and get
no index of their own (a B-tree of random keys was the dearest part of an insert). `events.retention_days` bounds
how long rows stay (`EventStore.purge`).

Hook runs are folded: the `hook.executed` events that come right before a system event of the
same correlation id in a written batch (a tool's hooks before its tool.completed, an agent's
before agent.completed...) are stored in that event's row, as the list `folded` of its
metadata column (each run's id, seq, at and data), not as rows of their own (a row with its
two index entries was most of a hook run's cost); so are the runs an event carries (`folded`:
when only the store sees the events, the hub's dispatch makes no events of them, see
EventHub._fold). `query` expands them back, in order, into entries of their own, exactly as
their own rows would read; a hook run that no system event follows in its batch (or another
correlation id does) keeps a row of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from itertools import chain
from json.encoder import encode_basestring_ascii as _escape

from llmspell_kernel.events.model import (
    BLOCK,
    Event,
    glob_matcher,
    id_in_block,
    new_id,
    new_id_block,
    rfc3339,
)

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

TABLE = "events"
_chain = chain.from_iterable

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


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
# The C encoder that JSONEncoder.encode builds on every call, built once (~1.3 µs against
# ~2.1 for an event's data). No circular-reference markers: event data from Lua is a tree
# (to_python cuts a table that holds itself at its depth limit), and a Python publisher's
# circular data fails as RecursionError instead of ValueError (its batch is logged, as before).
_C_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    _C_MAKE_ENCODER(None, str, _escape, None, ":", ",", True, False, True)
    if _C_MAKE_ENCODER is not None
    else None
)


def _encode(value: Any) -> str:
    if _C_ENCODE is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


_plain_metadata: dict[tuple[str, str], str] = {}  # (source, priority) -> its JSON text


def _metadata_json(e: Event) -> str:
    """The metadata column; the common case (no tags, target or ttl: every system event) is
    encoded once per (source, priority)."""
    if e.tags or e.target is not None or e.ttl_seconds is not None:
        return _encode(e.metadata() | ({"ttl": e.ttl_seconds} if e.ttl_seconds is not None else {}))
    key = (e.source, e.priority)
    text = _plain_metadata.get(key)
    if text is None:
        text = _plain_metadata[key] = _encode(e.metadata())
    return text


def row_of(
    tenant: str, kernel_id: str | None, e: Event, folded: Sequence[Event] = ()
) -> tuple[Any, ...]:
    """The values of one event's row, in _COLUMNS order; `folded`: the hook runs stored in
    it, before those the event itself carries (see the module docstring)."""
    metadata = _metadata_json(e)
    carried = e.folded
    if folded or carried:
        runs = [
            f'{{"at":{h.at!r},"data":{h.data_json(_encode)},"id":{_escape(h.id)},'
            f'"seq":{h.sequence}}}'
            for h in folded
        ]
        ids = ""
        if carried:  # (sequence, at, data JSON text), numbered by the bus: [seq, at, data],
            # at as float.hex() text (exact, ~1/3 of repr's cost), their ids those of one
            # block (FOLDED_IDS: its first), derived when read
            if len(carried) > BLOCK:
                runs.extend(
                    [
                        f'{{"at":{at!r},"data":{data},"id":"{new_id()}","seq":{seq}}}'
                        for seq, at, data in carried[BLOCK:]
                    ]
                )
                carried = carried[:BLOCK]
            runs[len(folded) : len(folded)] = [
                f'[{seq},"{at.hex()}",{data}]' for seq, at, data in carried
            ]
            ids = f'"{FOLDED_IDS}":"{new_id_block()}",'
        metadata = f'{{"{FOLDED}":[{",".join(runs)}],{ids}{metadata[1:]}'
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
        metadata,
    )


FOLDED = "folded"  # the metadata key of a row's folded hook runs
FOLDED_IDS = "folded_ids"  # the first id of the block of its [seq, at, data] runs' ids
HOOK_EVENT = "hook.executed"
MAX_FOLDED = 256  # hook runs one row holds at most (a longer run of them: rows of their own)


def rows_of(tenant: str, kernel_id: str | None, events: Sequence[Event]) -> list[tuple[Any, ...]]:
    """The rows of a batch of events, hook runs folded into the system event after them."""
    rows: list[tuple[Any, ...]] = []
    held: list[Event] = []  # hook runs waiting for the row that follows them
    for e in events:
        plain = e.source == "system" and not e.tags and e.target is None and e.ttl_seconds is None
        if plain and e.event_type == HOOK_EVENT:
            if held and (held[0].correlation_id != e.correlation_id or len(held) >= MAX_FOLDED):
                rows.extend([row_of(tenant, kernel_id, h) for h in held])
                held = []
            held.append(e)
        elif held:
            if plain and e.correlation_id == held[0].correlation_id:
                rows.append(row_of(tenant, kernel_id, e, held))
            else:
                rows.extend([row_of(tenant, kernel_id, h) for h in held])
                rows.append(row_of(tenant, kernel_id, e))
            held = []
        else:
            rows.append(row_of(tenant, kernel_id, e))
    rows.extend([row_of(tenant, kernel_id, h) for h in held])
    return rows


ROWS_PER_INSERT = 90  # 990 parameters: under the 999 of SQLite builds before 3.32
_ROW_MARKS = "(" + ", ".join("?" for _ in range(11)) + ")"


def _insert_sql(count: int) -> str:
    """INSERT of `count` rows (SQLite's VALUES list inserts them in order)."""
    return f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES {', '.join([_ROW_MARKS] * count)}"


def _flat(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(_chain(rows))  # (C: a generator expression cost ~0.27 µs a row, this ~0.1)


class EventStore:
    """Events of one tenant on a state database (`Database` of state/database.py)."""

    def __init__(self, db: Any, tenant: str) -> None:
        self.db = db
        self.tenant = tenant

    def add(self, events: Sequence[Event], kernel_id: str | None = None) -> None:
        """Store a batch of events in one transaction. On SQLite the rows go ROWS_PER_INSERT
        to a statement (in order: their rowids keep publication order): sqlite3 releases the
        GIL around every statement's step, and a row per statement made the writer thread and
        a script's Lua-to-Python calls hand the GIL back and forth at each row (~20 µs of CPU
        per event of a busy script, against ~5 µs for the write itself)."""
        from llmspell_kernel.state.database import SqliteDatabase  # (it imports this module)

        rows = rows_of(self.tenant, kernel_id, events)
        with self.db.transaction():
            if not isinstance(self.db, SqliteDatabase) or len(rows) < 2:
                self.db.write_many(_insert_sql(1), rows)
                return
            full = len(rows) - len(rows) % ROWS_PER_INSERT
            if full:
                self.db.write_many(
                    _insert_sql(ROWS_PER_INSERT),
                    [_flat(rows[i : i + ROWS_PER_INSERT]) for i in range(0, full, ROWS_PER_INSERT)],
                )
            if full < len(rows):
                self.db.write(_insert_sql(len(rows) - full), _flat(rows[full:]))

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
            metadata = json.loads(row[10])
            folded = metadata.pop(FOLDED, None)
            first = metadata.pop(FOLDED_IDS, None)
            if folded:  # the hook runs stored with this row, before it (module docstring)
                hooks_wanted = matcher is None or matcher.match(HOOK_EVENT)
                index = 0  # of the [seq, at, data] runs: their ids are first's block
                for run in folded if hooks_wanted else ():
                    if type(run) is list:
                        sequence, at, data = run
                        if type(at) is str:
                            at = float.fromhex(at)
                        run_id = id_in_block(first, index)
                        index += 1
                    else:
                        sequence, at, data, run_id = run["seq"], run["at"], run["data"], run["id"]
                    if since is not None and at < since:
                        continue
                    out.append(
                        {
                            "cursor": row[0],
                            "id": run_id,
                            "sequence": sequence,
                            "event_type": HOOK_EVENT,
                            "correlation_id": row[4],
                            "timestamp": rfc3339(at),
                            "at": at,
                            "language": "lua",
                            "source": "system",
                            "kernel_id": row[8],
                            "data": data,
                            "metadata": {"priority": "normal", "source": "system", "tags": []},
                        }
                    )
            if matcher is None or matcher.match(row[3]):
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
                        "metadata": metadata,
                    }
                )
            if limit is not None and len(out) >= limit:
                break  # (after a whole row: a cursor never stops inside its folded runs)
        return out

    def purge(self, retention_days: float, now: float | None = None) -> int:
        """Delete events older than `retention_days` (0 or less: keep everything)."""
        if retention_days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - retention_days * 86400
        return self.db.write(
            f"DELETE FROM {TABLE} WHERE tenant = ? AND at < ?", (self.tenant, cutoff)
        )
