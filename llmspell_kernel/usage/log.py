"""The `provider_calls` table: one row per provider call, the owner of its schema and its API.

Every call an agent makes to a provider (each round of a tool-calling turn, each stream) is
recorded here, whether it succeeded or not, by `UsageLog.record`; `llmspell usage`, `session
show`, backups and the events/hooks layer read it through `UsageLog.calls` / `summary` /
`totals`. Other modules never write SQL against the table.

Columns (schema version 2 of the state database, see state/database.py):

    tenant          the tenant the call was made for
    id              a unique id (hex)
    at              unix time (seconds) the call started
    session_id      the session current when the call was made (NULL: none)
    correlation_id  the execution the call belongs to: the kernel request's msg_id, shared
                    with every hook and event that request caused (`llmspell events
                    --correlation`); a bare engine's own id outside a kernel
    agent           the agent's name
    provider        the provider name as resolved (`openai`, `local`, a configured name, ...)
    model           the model the provider reported (else the one asked for)
    operation       "chat" or "stream"
    input_tokens, cached_input_tokens, output_tokens
                    as the provider reported them (NULL: not reported); input includes cached
    cost_pico_usd   the exact cost in 1e-12 USD from the price table (NULL: unknown price)
    price_checked   the date the price used was checked (NULL: undated, unknown or local)
    latency_ms      from the request to the reply (a stream: to its last event)
    first_token_ms  a stream's first text (NULL otherwise)
    status          "ok", "error" or "interrupted"
    error           the one-line error of a failed call
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llmspell_kernel.usage.schema import TABLE  # (and the table's SCHEMA)

COLUMNS = (
    "tenant",
    "id",
    "at",
    "session_id",
    "correlation_id",
    "agent",
    "provider",
    "model",
    "operation",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "cost_pico_usd",
    "price_checked",
    "latency_ms",
    "first_token_ms",
    "status",
    "error",
)
INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
GROUPS = ("model", "day", "agent", "provider", "session")
PICO = 10**12


@dataclass
class ProviderCall:
    """One provider call (see the module docstring for the fields)."""

    correlation_id: str
    provider: str
    model: str
    at: float = field(default_factory=time.time)
    agent: str | None = None
    operation: str = "chat"
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    output_tokens: int | None = None
    cost_pico_usd: int | None = None
    price_checked: str | None = None
    latency_ms: float = 0.0
    first_token_ms: float | None = None
    status: str = "ok"
    error: str | None = None
    session_id: str | None = None
    id: str = field(default_factory=lambda: os.urandom(16).hex())

    @property
    def cost_usd(self) -> float | None:
        return None if self.cost_pico_usd is None else self.cost_pico_usd / PICO


class UsageLog:
    """The provider calls of one tenant on a state database (`Database` of state/database.py)."""

    def __init__(self, db: Any, tenant: str) -> None:
        self.db = db
        self.tenant = tenant

    def record(self, call: ProviderCall) -> None:
        """Store one call."""
        self.db.write(INSERT, self._values(call))

    def record_many(self, calls: list[ProviderCall]) -> None:
        """Store several calls (inside the caller's transaction, for atomicity)."""
        self.db.write_many(INSERT, [self._values(call) for call in calls])

    def _values(self, call: ProviderCall) -> list[Any]:
        return [self.tenant if name == "tenant" else getattr(call, name) for name in COLUMNS]

    def calls(
        self,
        *,
        session_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Calls oldest first (dicts of the columns, plus `cost_usd`)."""
        where, params = self._where(session_id, since, until)
        sql = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}{where} ORDER BY at, id"
        if limit is not None:
            sql = (
                f"SELECT * FROM (SELECT {', '.join(COLUMNS)} FROM {TABLE}{where} "
                f"ORDER BY at DESC, id DESC LIMIT {int(limit)}) AS recent ORDER BY at, id"
            )
        rows = [dict(zip(COLUMNS, row, strict=True)) for row in self.db.query(sql, params)]
        for row in rows:
            del row["tenant"]
            row["cost_usd"] = None if row["cost_pico_usd"] is None else row["cost_pico_usd"] / PICO
        return rows

    def summary(
        self,
        by: str = "model",
        *,
        session_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> dict[str, Any]:
        """Totals grouped `by` model, day (local time), agent, provider or session, and overall:
        {"by", "groups": [{"key", "calls", "errors", "input_tokens", "cached_input_tokens",
        "output_tokens", "cost_usd", "unpriced_calls"}], "total": {...}}. `cost_usd` sums the
        priced calls (None when none was priced and some were not); `unpriced_calls` counts
        the successful calls without a known cost."""
        if by not in GROUPS:
            raise ValueError(f"unknown grouping {by!r}")
        groups: dict[str, dict[str, Any]] = {}
        total = _empty("total")
        for call in self.calls(session_id=session_id, since=since, until=until):
            if by == "day":
                key = datetime.fromtimestamp(call["at"]).date().isoformat()
            else:
                key = call[by if by != "session" else "session_id"] or "-"
            for bucket in (groups.setdefault(key, _empty(key)), total):
                _add(bucket, call)
        return {
            "by": by,
            "groups": [_done(groups[k]) for k in sorted(groups)],
            "total": _done(total),
        }

    def totals(self, session_id: str | None = None) -> dict[str, Any]:
        """Overall totals (of one session, or of the tenant)."""
        where, params = self._where(session_id, None, None)
        row = self.db.query(
            "SELECT count(*), coalesce(sum(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END), 0), coalesce(sum(input_tokens), 0), "
            "coalesce(sum(cached_input_tokens), 0), coalesce(sum(output_tokens), 0), "
            "coalesce(sum(cost_pico_usd), 0), "
            "coalesce(sum(CASE WHEN status = 'ok' AND cost_pico_usd IS NULL THEN 1 ELSE 0 END), 0) "
            f"FROM {TABLE}{where}",
            params,
        )[0]
        calls, errors, inputs, cached, outputs, pico, unpriced = row
        return {
            "calls": calls,
            "errors": errors,
            "input_tokens": inputs,
            "cached_input_tokens": cached,
            "output_tokens": outputs,
            "cost_usd": pico / PICO,
            "unpriced_calls": unpriced,
        }

    def _where(
        self, session_id: str | None, since: float | None, until: float | None
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = ["tenant = ?"]
        params: list[str | float] = [self.tenant]
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("at < ?")
            params.append(until)
        return " WHERE " + " AND ".join(clauses), params


def _empty(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "calls": 0,
        "errors": 0,
        "input_tokens": 0,
        "cached_input_tokens": 0,
        "output_tokens": 0,
        "cost_pico_usd": 0,
        "unpriced_calls": 0,
        "priced_calls": 0,
    }


def _add(bucket: dict[str, Any], call: dict[str, Any]) -> None:
    bucket["calls"] += 1
    bucket["errors"] += call["status"] != "ok"
    for name in ("input_tokens", "cached_input_tokens", "output_tokens"):
        bucket[name] += call[name] or 0
    if call["cost_pico_usd"] is not None:
        bucket["cost_pico_usd"] += call["cost_pico_usd"]
        bucket["priced_calls"] += 1
    elif call["status"] == "ok":
        bucket["unpriced_calls"] += 1


def _done(bucket: dict[str, Any]) -> dict[str, Any]:
    out = dict(bucket)
    pico = out.pop("cost_pico_usd")
    priced = out.pop("priced_calls")
    # nothing priced but something unpriced: the cost is unknown (None), not 0
    out["cost_usd"] = None if not priced and out["unpriced_calls"] else pico / PICO
    return out
