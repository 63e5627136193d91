"""Scoped key-value state for one tenant: JSON values in the `state` table."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.state.scopes import scope_prefix, stored_key, validate_stored_key

if TYPE_CHECKING:
    from llmspell_kernel.state.database import Database

_GET = "SELECT value FROM state WHERE tenant = ? AND key = ?"
_PUT = (
    "INSERT INTO state (tenant, key, value, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value, "
    "updated_at = excluded.updated_at, version = state.version + 1 "
    "WHERE state.value <> excluded.value"
)  # rewriting an unchanged value changes no page (updated_at: when the value last changed)
_DELETE = "DELETE FROM state WHERE tenant = ? AND key = ?"
# compare_and_set: a new key (version 1), a change of the expected version, a delete of it.
_CAS_INSERT = (
    "INSERT INTO state (tenant, key, value, updated_at, version) VALUES (?, ?, ?, ?, 1) "
    "ON CONFLICT (tenant, key) DO NOTHING"
)
_CAS_UPDATE = (
    "UPDATE state SET value = ?, updated_at = ?, version = version + 1 "
    "WHERE tenant = ? AND key = ? AND version = ?"
)
_CAS_DELETE = "DELETE FROM state WHERE tenant = ? AND key = ? AND version = ?"
_VERSION = "SELECT version, value FROM state WHERE tenant = ? AND key = ?"


class ValueTooLarge(LlmspellError):
    """A state value is larger than `runtime.state_persistence.max_state_size_bytes`."""


def encode_value(value: Any) -> str:
    """The stored JSON text of a value (keys sorted, NaN refused)."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise UsageError(f"value cannot be stored as JSON: {exc}") from exc


# json.loads without its per-call Python layers (type checks, two whitespace regexes), which cost
# as much as the SELECT for a small value: the C scanner directly, on stored text (which has no
# surrounding whitespace). Anything else (an error included) goes through json.loads itself.
_scan_once: Callable[[str, int], tuple[Any, int]]
_scan_once = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in __init__


def decode_value(text: str) -> Any:
    """The value of stored JSON text (json.loads)."""
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        end = -1
    return value if end == len(text) else json.loads(text)


def _prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds of every string that starts with `prefix` (for an index range scan)."""
    return prefix, prefix + "\U0010ffff"


class StateStore:
    """`State.*` for one tenant on one database."""

    def __init__(self, db: Database, tenant: str, max_value_bytes: int) -> None:
        self.db = db
        self.tenant = tenant
        self.max_value_bytes = max_value_bytes

    # -- by scope and key (the Lua API) -----------------------------------------------------------
    def save(self, scope: str, key: str, value: Any) -> None:
        """Store `value` at `<scope>:<key>`; None deletes it."""
        full = stored_key(scope, key)
        if value is None:
            self.db.write(_DELETE, (self.tenant, full))
        else:
            self.put(full, encode_value(value))

    def save_text(self, scope: str, key: str, text: str) -> None:
        """Store JSON text that is already in `encode_value`'s form at `<scope>:<key>`."""
        self.put(stored_key(scope, key), text)

    def load(self, scope: str, key: str) -> Any:
        """The value at `<scope>:<key>`, or None."""
        return self.get(stored_key(scope, key))

    def delete(self, scope: str, key: str) -> None:
        """Remove `<scope>:<key>` (missing keys are fine)."""
        self.db.write(_DELETE, (self.tenant, stored_key(scope, key)))

    def version(self, scope: str, key: str) -> tuple[int | None, Any]:
        """(version, value) of `<scope>:<key>` read together: the version is 1 when the key is
        first written and +1 per change; (None, None) when there is no value."""
        rows = self.db.query(_VERSION, (self.tenant, stored_key(scope, key)))
        return (int(rows[0][0]), decode_value(rows[0][1])) if rows else (None, None)

    def compare_and_set(
        self, scope: str, key: str, expected_version: int | None, value: Any
    ) -> tuple[bool, int | None]:
        """Store `value` (None: delete) only if the key is at `expected_version` (None or 0: the
        key must not exist). (True, the new version; None after a delete) when it was, else
        (False, the current version). Plain `save` stays last-writer-wins."""
        full = stored_key(scope, key)
        expected = int(expected_version or 0)
        text = None if value is None else encode_value(value)
        if text is not None:
            self._check_size(full, text)
        if expected <= 0:
            changed = text is not None and (
                self.db.write(_CAS_INSERT, (self.tenant, full, text, time.time())) > 0
            )
        elif text is None:
            changed = self.db.write(_CAS_DELETE, (self.tenant, full, expected)) > 0
        else:
            changed = (
                self.db.write(_CAS_UPDATE, (text, time.time(), self.tenant, full, expected)) > 0
            )
        rows = self.db.query(_VERSION, (self.tenant, full))
        current = int(rows[0][0]) if rows else None
        if changed:
            return True, current if text is not None else None
        if expected <= 0 and text is None:
            return current is None, current
        # (On PostgreSQL, a write retried after its reply was lost in a server restart may report
        # a conflict although it was applied: the caller re-reads and finds its own value.)
        return False, current

    def list_keys(self, scope: str) -> list[str]:
        """Keys under `scope`, prefix removed, sorted."""
        prefix = scope_prefix(scope)
        return [full[len(prefix) :] for full in self.keys(prefix)]

    # -- by full stored key (CLI, import/export) --------------------------------------------------
    def put(self, full_key: str, text: str) -> None:
        """Store JSON text at a full key, enforcing the size limit."""
        self._check_size(full_key, text)
        self.db.write(_PUT, (self.tenant, full_key, text, time.time()))

    def _check_size(self, full_key: str, text: str) -> None:
        limit = self.max_value_bytes
        if limit and len(text) * 4 > limit and len(text.encode("utf-8")) > limit:
            raise ValueTooLarge(
                f"state value for '{full_key}' is {len(text.encode('utf-8'))} bytes, over the "
                f"limit of {limit} (runtime.state_persistence.max_state_size_bytes)"
            )

    def get(self, full_key: str) -> Any:
        """The value at a full key, or None."""
        rows = self.db.query(_GET, (self.tenant, full_key))
        return decode_value(rows[0][0]) if rows else None

    def remove(self, full_key: str) -> bool:
        """Delete one full key; True when it existed."""
        return self.db.write(_DELETE, (self.tenant, full_key)) > 0

    def keys(self, prefix: str = "") -> list[str]:
        """Full keys starting with `prefix`, sorted."""
        if not prefix:
            rows = self.db.query(
                "SELECT key FROM state WHERE tenant = ? ORDER BY key", (self.tenant,)
            )
        else:
            low, high = _prefix_range(prefix)
            rows = self.db.query(
                "SELECT key FROM state WHERE tenant = ? AND key >= ? AND key < ? ORDER BY key",
                (self.tenant, low, high),
            )
        return [row[0] for row in rows]

    def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """(full key, value) pairs starting with `prefix`, sorted by key."""
        low, high = _prefix_range(prefix)
        rows = self.db.query(
            "SELECT key, value FROM state WHERE tenant = ? AND key >= ? AND key < ? ORDER BY key",
            (self.tenant, low, high),
        )
        return [(key, json.loads(text)) for key, text in rows]

    def clear(self, prefix: str = "") -> int:
        """Delete every key starting with `prefix` (all keys of the tenant when empty)."""
        low, high = _prefix_range(prefix)
        return self.db.write(
            "DELETE FROM state WHERE tenant = ? AND key >= ? AND key < ?", (self.tenant, low, high)
        )

    def count(self) -> int:
        """Number of keys of this tenant."""
        return int(
            self.db.query("SELECT count(*) FROM state WHERE tenant = ?", (self.tenant,))[0][0]
        )

    def replace_all(self, entries: Iterable[tuple[str, Any]], *, merge: bool) -> int:
        """Import: validate every entry first, then write them in one transaction.

        Without `merge` the tenant's existing keys are removed first.
        """
        prepared: list[tuple[str, str]] = []
        for full_key, value in entries:
            validate_stored_key(full_key)
            if value is None:
                raise UsageError(f"'{full_key}': null is not a storable value")
            text = encode_value(value)
            size = len(text.encode("utf-8"))
            if self.max_value_bytes and size > self.max_value_bytes:
                raise ValueTooLarge(
                    f"'{full_key}': value is {size} bytes, over the limit of {self.max_value_bytes}"
                )
            prepared.append((full_key, text))
        now = time.time()
        with self.db.transaction():
            if not merge:
                self.db.write("DELETE FROM state WHERE tenant = ?", (self.tenant,))
            for full_key, text in prepared:
                self.db.write(_PUT, (self.tenant, full_key, text, now))
        return len(prepared)
