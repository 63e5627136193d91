"""Sessions of one tenant: lifecycle, TTL and idle expiry, policies, and execution records."""

from __future__ import annotations

import builtins
import fnmatch
import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.sessions.blobs import BlobStore, unlink_all
from llmspell_kernel.state.database import rag_database
from llmspell_kernel.state.settings import DataSettings

if TYPE_CHECKING:
    from llmspell_kernel.state.database import Database

STATUSES = ("active", "suspended", "completed", "failed", "archived")
# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "suspend": (("active",), "suspended"),
    "resume": (("suspended",), "active"),
    "complete": (("active", "suspended"), "completed"),
    "fail": (("active", "suspended"), "failed"),
    "archive": (("completed", "failed"), "archived"),
}
_COLUMNS = (
    "id, name, description, tags, status, created_at, updated_at, expires_at, "
    "parent_session_id, metadata, "
    "(SELECT count(*) FROM artifacts a WHERE a.tenant = s.tenant AND a.session_id = s.id), "
    "(SELECT count(*) FROM executions e WHERE e.tenant = s.tenant AND e.session_id = s.id)"
)


class SessionNotFound(LlmspellError):
    """No session with that id for this tenant."""


class PolicyError(LlmspellError):
    """A session policy (limit) refused the operation."""


class AmbiguousSession(UsageError):
    """A session id prefix that matches more than one session."""


MIN_PREFIX = 4  # characters an id prefix needs, as git asks for object names
_SHOWN_MATCHES = 10


def iso(timestamp: float | None) -> str | None:
    """RFC 3339 UTC text of an epoch timestamp."""
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _string_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict) and not value:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{what} must be a list of strings")
    return list(value)


class SessionManager:
    """Session operations for one tenant on one database."""

    def __init__(self, db: Database, blobs: BlobStore, settings: DataSettings, tenant: str) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.tenant = tenant

    # -- lifecycle --------------------------------------------------------------------------------
    def create(self, options: dict[str, Any] | None = None) -> str:
        """A new active session; returns its id."""
        opts = dict(options or {})
        name = opts.get("name") or ""
        description = opts.get("description") or ""
        if not isinstance(name, str) or not isinstance(description, str):
            raise UsageError("session name and description must be strings")
        tags = _string_list(opts.get("tags"), "tags")
        metadata = opts.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise UsageError("metadata must be a table")
        parent = opts.get("parent_session_id")
        ttl = opts.get("ttl_seconds", self.settings.ttl_seconds)
        if not isinstance(ttl, int | float) or isinstance(ttl, bool) or ttl < 0:
            raise UsageError("ttl_seconds must be a non-negative number")
        now = time.time()
        session_id = str(uuid.uuid4())
        with self.db.transaction():
            limit = self.settings.max_sessions
            if limit and self.count() >= limit:
                raise PolicyError(
                    f"session limit reached: {limit} sessions (sessions.max_sessions)",
                    hint="delete sessions with `llmspell session delete`, or run `llmspell session gc`",
                )
            if parent is not None and self._row(str(parent)) is None:
                raise SessionNotFound(f"parent session '{parent}' not found")
            self.db.write(
                "INSERT INTO sessions (tenant, id, name, description, tags, status, created_at, "
                "updated_at, expires_at, parent_session_id, metadata) "
                "VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
                (
                    self.tenant,
                    session_id,
                    name,
                    description,
                    json.dumps(tags),
                    now,
                    now,
                    now + ttl if ttl else None,
                    None if parent is None else str(parent),
                    json.dumps(metadata, sort_keys=True),
                ),
            )
        return session_id

    def count(self) -> int:
        """Sessions of this tenant."""
        return int(
            self.db.query("SELECT count(*) FROM sessions WHERE tenant = ?", (self.tenant,))[0][0]
        )

    def _row(self, session_id: str) -> tuple[Any, ...] | None:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM sessions s WHERE tenant = ? AND id = ?",
            (self.tenant, session_id),
        )
        return rows[0] if rows else None

    def get(self, session_id: str) -> dict[str, Any] | None:
        """Metadata of one session, or None."""
        row = self._row(str(session_id))
        return None if row is None else _describe(row)

    def status(self, session_id: str) -> str | None:
        """The lifecycle status of a session, or None when there is none (a cheap check)."""
        rows = self.db.query(
            "SELECT status FROM sessions WHERE tenant = ? AND id = ?", (self.tenant, session_id)
        )
        return str(rows[0][0]) if rows else None

    def require(self, session_id: str) -> dict[str, Any]:
        """Metadata of one session; SessionNotFound when there is none."""
        found = self.get(session_id)
        if found is None:
            raise SessionNotFound(f"Session '{session_id}' not found")
        return found

    def resolve(self, text: Any) -> str:
        """The whole id of the session `text` names: the id itself or a unique prefix of at
        least MIN_PREFIX characters (as git accepts object names). The one resolver behind
        every command and data request that takes a session id; SessionNotFound when nothing
        matches, AmbiguousSession (a usage error) listing the matches when several do."""
        ident = str(text)
        if self.status(ident) is not None:
            return ident
        if len(ident) < MIN_PREFIX:
            hint = f"an id prefix needs at least {MIN_PREFIX} characters" if ident else None
            raise SessionNotFound(f"Session '{ident}' not found", hint=hint)
        rows = self.db.query(
            "SELECT id, name FROM sessions WHERE tenant = ? AND substr(id, 1, ?) = ? "
            "ORDER BY created_at DESC, id LIMIT ?",
            (self.tenant, len(ident), ident, _SHOWN_MATCHES + 1),
        )
        if not rows:
            raise SessionNotFound(f"Session '{ident}' not found")
        if len(rows) == 1:
            return str(rows[0][0])
        # a name is shown on the one line too, whatever whitespace it holds
        names = [
            f"{r[0]} ({' '.join(str(r[1]).split())})" if r[1] else str(r[0])
            for r in rows[:_SHOWN_MATCHES]
        ]
        count = str(len(rows)) if len(rows) <= _SHOWN_MATCHES else f"more than {_SHOWN_MATCHES}"
        more = ", ..." if len(rows) > _SHOWN_MATCHES else ""
        raise AmbiguousSession(
            f"session id '{ident}' is ambiguous ({count} sessions match: {', '.join(names)}{more})",
            hint="type more of the id",
        )

    def list(
        self,
        status: str | None = None,
        tags: list[str] | None = None,
        limit: int | None = None,
        name: str | None = None,
    ) -> list[dict[str, Any]]:
        """Sessions, newest first, filtered by status, (all of) tags and a name (exact, or a
        shell-style pattern such as `report*`)."""
        if status is not None and status not in STATUSES:
            raise UsageError(f"unknown session status '{status}' (one of {', '.join(STATUSES)})")
        sql = f"SELECT {_COLUMNS} FROM sessions s WHERE tenant = ?"
        params: list[Any] = [self.tenant]
        if status:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY created_at DESC, id"
        found = [_describe(row) for row in self.db.query(sql, params)]
        if tags:
            wanted = set(tags)
            found = [s for s in found if wanted <= set(s["tags"])]
        if name is not None:
            found = [s for s in found if fnmatch.fnmatchcase(s["name"], str(name))]
        if limit:
            found = found[: int(limit)]
        return found

    def transition(self, session_id: str, action: str) -> str:
        """Apply a lifecycle action (suspend, resume, complete, fail, archive); returns the status."""
        allowed, target = TRANSITIONS[action]
        with self.db.transaction():
            current = self.require(session_id)["status"]
            if current not in allowed:
                raise UsageError(
                    f"cannot {action} session '{session_id}': it is {current} "
                    f"({action} works on {' or '.join(allowed)} sessions)"
                )
            self.db.write(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE tenant = ? AND id = ?",
                (target, time.time(), self.tenant, session_id),
            )
        return target

    def touch(self, session_id: str) -> None:
        """Mark activity (resets the idle clock); SessionNotFound for unknown ids."""
        changed = self.db.write(
            "UPDATE sessions SET updated_at = ? WHERE tenant = ? AND id = ?",
            (time.time(), self.tenant, session_id),
        )
        if not changed:
            raise SessionNotFound(f"Session '{session_id}' not found")

    def delete(self, session_id: str) -> bool:
        """Delete a session with its artifacts, executions, `session:<id>` state and vectors."""
        with self.db.transaction():
            if self._row(session_id) is None:
                return False
            files = self._delete_rows([session_id])
        self._unlink(files)
        return True

    def delete_all(self) -> int:
        """Delete every session of this tenant."""
        with self.db.transaction():
            ids = [
                r[0]
                for r in self.db.query("SELECT id FROM sessions WHERE tenant = ?", (self.tenant,))
            ]
            files = self._delete_rows(ids)
        self._unlink(files)
        return len(ids)

    def _delete_rows(
        self, ids: builtins.list[str]
    ) -> tuple[builtins.list[Any], builtins.list[str]]:
        """Delete the sessions' rows; (blob files to unlink, RAG scope ids whose files go)."""
        from llmspell_kernel.rag.sessions import delete_session_scopes

        hashes: set[str] = set()
        scopes: builtins.list[str] = []
        for session_id in ids:
            key = (self.tenant, session_id)
            hashes.update(
                r[0]
                for r in self.db.query(
                    "SELECT content_hash FROM artifacts WHERE tenant = ? AND session_id = ?", key
                )
            )
            self.db.write("DELETE FROM artifacts WHERE tenant = ? AND session_id = ?", key)
            self.db.write("DELETE FROM executions WHERE tenant = ? AND session_id = ?", key)
            self.db.write("DELETE FROM sessions WHERE tenant = ? AND id = ?", key)
            prefix = f"session:{session_id}:"
            self.db.write(
                "DELETE FROM state WHERE tenant = ? AND key >= ? AND key < ?",
                (self.tenant, prefix, prefix + "\U0010ffff"),
            )
            scopes += delete_session_scopes(rag_database(self.db), self.tenant, session_id)
        return self.blobs.release(hashes), scopes

    def _unlink(self, deleted: tuple[builtins.list[Any], builtins.list[str]]) -> None:
        """After the commit: the released blobs and the deleted RAG scopes' index files."""
        from llmspell_kernel.rag.sessions import discard_index_files

        files, scopes = deleted
        unlink_all(files)
        if scopes:
            discard_index_files(rag_database(self.db), scopes)

    def gc(self, now: float | None = None) -> dict[str, builtins.list[str]]:
        """Delete sessions past their TTL and suspend active ones idle past the idle timeout."""
        now = time.time() if now is None else now
        with self.db.transaction():
            expired = [
                r[0]
                for r in self.db.query(
                    "SELECT id FROM sessions WHERE tenant = ? AND expires_at IS NOT NULL "
                    "AND expires_at <= ? ORDER BY created_at",
                    (self.tenant, now),
                )
            ]
            files = self._delete_rows(expired)
            idle: list[str] = []
            if self.settings.idle_timeout_seconds:
                cutoff = now - self.settings.idle_timeout_seconds
                idle = [
                    r[0]
                    for r in self.db.query(
                        "SELECT id FROM sessions WHERE tenant = ? AND status = 'active' "
                        "AND updated_at <= ?",
                        (self.tenant, cutoff),
                    )
                ]
                for session_id in idle:
                    self.db.write(
                        "UPDATE sessions SET status = 'suspended' WHERE tenant = ? AND id = ?",
                        (self.tenant, session_id),
                    )
        self._unlink(files)
        return {"expired": expired, "suspended": idle}

    # -- executions -------------------------------------------------------------------------------
    def check_rate(self, session_id: str) -> None:
        """Refuse when the session ran `executions_per_minute` executions in the last minute."""
        limit = self.settings.executions_per_minute
        if not limit:
            return
        recent = self.db.query(
            "SELECT count(*) FROM executions WHERE tenant = ? AND session_id = ? AND started_at > ?",
            (self.tenant, session_id, time.time() - 60.0),
        )[0][0]
        if recent >= limit:
            raise PolicyError(
                f"rate limit: session '{session_id}' already ran {recent} executions in the last "
                f"minute (sessions.executions_per_minute = {limit})"
            )

    def record_execution(self, session_id: str, record: dict[str, Any]) -> int:
        """Append one execution record; returns its step number (from 1)."""
        return self.record_executions(session_id, [record])[0]

    def record_executions(
        self, session_id: str, records: Sequence[dict[str, Any]]
    ) -> builtins.list[int]:
        """Append execution records in order, in one transaction (a busy kernel service keeps
        them for a moment and writes them together); returns their step numbers."""
        now = time.time()
        with self.db.transaction():
            first = int(
                self.db.query(
                    "SELECT coalesce(max(step), 0) + 1 FROM executions WHERE tenant = ? AND session_id = ?",
                    (self.tenant, session_id),
                )[0][0]
            )
            steps = list(range(first, first + len(records)))
            self.db.write_many(
                "INSERT INTO executions (tenant, session_id, step, code, script_path, args, status, "
                "outputs, result, error, started_at, duration_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        self.tenant,
                        session_id,
                        step,
                        record.get("code", ""),
                        record.get("script_path"),
                        json.dumps(record.get("args") or []),
                        record.get("status", "ok"),
                        json.dumps(record.get("outputs") or []),
                        json.dumps(record.get("result")),
                        record.get("error"),
                        record.get("started_at", now),
                        float(record.get("duration_ms", 0.0)),
                    )
                    for step, record in zip(steps, records, strict=True)
                ],
            )
            self.db.write(
                "UPDATE sessions SET updated_at = ? WHERE tenant = ? AND id = ?",
                (now, self.tenant, session_id),
            )
        return steps

    def executions(
        self, session_id: str, from_step: int | None = None, to_step: int | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Recorded executions of a session in order, optionally a step range (inclusive)."""
        self.require(session_id)
        rows = self.db.query(
            "SELECT step, code, script_path, args, status, outputs, result, error, started_at, "
            "duration_ms FROM executions WHERE tenant = ? AND session_id = ? AND step >= ? "
            "AND step <= ? ORDER BY step",
            (self.tenant, session_id, from_step or 1, to_step or 2**62),
        )
        return [
            {
                "step": r[0],
                "code": r[1],
                "script_path": r[2],
                "args": json.loads(r[3]),
                "status": r[4],
                "outputs": json.loads(r[5]),
                "result": json.loads(r[6]) if r[6] is not None else None,
                "error": r[7],
                "started_at": iso(r[8]),
                "duration_ms": r[9],
            }
            for r in rows
        ]


def _describe(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0],
        "name": row[1],
        "description": row[2],
        "tags": json.loads(row[3]),
        "status": row[4],
        "created_at": iso(row[5]),
        "updated_at": iso(row[6]),
        "expires_at": iso(row[7]),
        "parent_session_id": row[8],
        "custom_metadata": json.loads(row[9]),
        "artifact_count": row[10],
        "execution_count": row[11],
    }
