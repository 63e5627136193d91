"""`llmspell events`' data operation, run offline on the store or by a kernel (see
llmspell_kernel/state/operations.py, which loads this module on the first `events.` request)."""

from __future__ import annotations

from typing import Any

from llmspell_kernel.errors import UsageError
from llmspell_kernel.events.store import EventStore
from llmspell_kernel.state.hub import DataHub


def _text(p: dict[str, Any], key: str) -> str | None:
    value = p.get(key)
    return None if value is None else str(value)


def events_list(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    """Stored events in publication order: `{events: [...], cursor}`; `after` continues from a
    previous answer's cursor (what `--follow` polls with)."""
    since = p.get("since")
    if since is not None and (isinstance(since, bool) or not isinstance(since, int | float)):
        raise UsageError(f"since must be a Unix time, got {since!r}")
    limit = p.get("limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise UsageError(f"limit must be a positive integer, got {limit!r}")
    after = int(p.get("after") or 0)
    rows = EventStore(hub.database(), tenant).query(
        correlation_id=_text(p, "correlation"),
        event_type=_text(p, "type"),
        since=None if since is None else float(since),
        kernel_id=_text(p, "kernel_id"),
        after=after,
        limit=limit,
    )
    return {"events": rows, "cursor": rows[-1]["cursor"] if rows else after}


OPERATIONS = {"events.list": events_list}
