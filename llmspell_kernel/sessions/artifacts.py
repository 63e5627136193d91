"""Artifacts: named, versioned, content-addressed outputs of a session (lua-api.md 2.4)."""

from __future__ import annotations

import builtins
import fnmatch
import json
import mimetypes
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.sessions.blobs import BlobStore, PreparedBlob, unlink_all
from llmspell_kernel.sessions.manager import PolicyError, SessionManager, SessionNotFound, iso

if TYPE_CHECKING:
    from llmspell_kernel.state.database import Database

_COLUMNS = (
    "a.session_id, a.sequence, a.name, a.version, a.content_hash, a.previous_hash, "
    "a.artifact_type, a.mime_type, a.description, a.tags, a.custom, a.size, a.created_at, "
    "a.created_by, b.compressed, b.stored_size"
)
_FROM = "FROM artifacts a JOIN blobs b ON b.hash = a.content_hash"
METADATA_FIELDS = ("mime_type", "description", "tags")


def guess_mime(name: str, content: bytes) -> str:
    """MIME type from the name, else text/plain for UTF-8 text, else octet-stream."""
    guessed, _ = mimetypes.guess_type(name)
    if guessed:
        return guessed
    try:
        content[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def _parse_time(value: Any, what: str) -> float:
    if not isinstance(value, str):
        raise UsageError(f"{what} must be an RFC 3339 time string")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise UsageError(f"{what}: '{value}' is not an RFC 3339 time") from exc


class ArtifactStore:
    """Artifact operations for one tenant."""

    def __init__(self, db: Database, blobs: BlobStore, sessions: SessionManager) -> None:
        self.db = db
        self.blobs = blobs
        self.sessions = sessions
        self.tenant = sessions.tenant

    def store(
        self,
        session_id: str,
        artifact_type: str,
        name: str,
        content: bytes,
        metadata: dict[str, Any] | None = None,
        created_by: str = "lua",
    ) -> dict[str, Any]:
        """Store a new artifact (or a new version of `name`); returns its metadata."""
        if not isinstance(artifact_type, str) or not artifact_type:
            raise UsageError("artifact type must be a non-empty string")
        if not isinstance(name, str) or not name:
            raise UsageError("artifact name must be a non-empty string")
        settings = self.sessions.settings
        limit = settings.max_artifact_size_bytes
        if limit and len(content) > limit:
            raise PolicyError(
                f"artifact '{name}' is {len(content)} bytes, over the limit of {limit} "
                "(sessions.max_artifact_size_bytes)"
            )
        extra = dict(metadata or {})
        mime = extra.pop("mime_type", None) or guess_mime(name, content)
        description = extra.pop("description", None) or ""
        tags = extra.pop("tags", None) or []
        if isinstance(tags, dict):
            tags = list(tags.values()) if tags else []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise UsageError("artifact tags must be a list of strings")
        prepared = self.blobs.prepare(content)
        try:
            return self._store(
                session_id,
                artifact_type,
                name,
                content,
                prepared,
                mime,
                description,
                tags,
                extra,
                created_by,
            )
        finally:
            prepared.discard()  # a no-op once put() has moved the file into place

    def _store(
        self,
        session_id: str,
        artifact_type: str,
        name: str,
        content: bytes,
        prepared: PreparedBlob,
        mime: Any,
        description: Any,
        tags: list[str],
        extra: dict[str, Any],
        created_by: str,
    ) -> dict[str, Any]:
        settings = self.sessions.settings
        digest = prepared.digest
        now = time.time()
        key = (self.tenant, session_id)
        with self.db.transaction():
            rows = self.db.query(
                "SELECT status, next_sequence FROM sessions WHERE tenant = ? AND id = ?", key
            )
            if not rows:
                raise SessionNotFound(f"Session '{session_id}' not found")
            status, sequence = rows[0][0], int(rows[0][1])
            if status != "active":
                raise UsageError(
                    f"session '{session_id}' is {status}; artifacts can only be "
                    "stored in active sessions"
                )
            max_count = settings.max_artifacts_per_session
            # A session never holds more artifacts than it was given (sequence - 1), so only
            # count them once that many could reach the limit.
            if max_count and sequence - 1 >= max_count and self._count(session_id) >= max_count:
                raise PolicyError(
                    f"session '{session_id}' already holds {max_count} artifacts "
                    "(sessions.max_artifacts_per_session)"
                )
            previous = self.db.query(
                "SELECT version, content_hash FROM artifacts WHERE tenant = ? AND session_id = ? "
                "AND name = ? ORDER BY version DESC LIMIT 1",
                (*key, name),
            )
            version = previous[0][0] + 1 if previous else 1
            previous_hash = previous[0][1] if previous else None
            _, compressed, stored_size = self.blobs.put(content, prepared=prepared)
            row = (
                session_id,
                sequence,
                name,
                version,
                digest,
                previous_hash,
                artifact_type,
                str(mime),
                str(description),
                json.dumps(tags),
                json.dumps(extra, sort_keys=True),
                len(content),
                now,
                created_by,
            )
            self.db.write(
                "INSERT INTO artifacts (tenant, session_id, sequence, name, version, content_hash, "
                "previous_hash, artifact_type, mime_type, description, tags, custom, size, "
                "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.tenant, *row),
            )
            self.db.write(
                "UPDATE sessions SET next_sequence = ?, updated_at = ? WHERE tenant = ? AND id = ?",
                (sequence + 1, now, *key),
            )
        # The metadata as `metadata()` would read it back (same columns, same order).
        return _describe((*row, int(compressed), stored_size))

    def _count(self, session_id: str) -> int:
        return int(
            self.db.query(
                "SELECT count(*) FROM artifacts WHERE tenant = ? AND session_id = ?",
                (self.tenant, session_id),
            )[0][0]
        )

    def _by_name(self, session_id: str, name: str, version: Any = None) -> int | None:
        """The sequence of an artifact named `name`: its latest version, or `version`."""
        sql = "SELECT sequence FROM artifacts WHERE tenant = ? AND session_id = ? AND name = ?"
        params: list[Any] = [self.tenant, session_id, name]
        if version is not None:
            if not isinstance(version, int | float) or isinstance(version, bool):
                raise UsageError("artifact version must be a number")
            sql += " AND version = ?"
            params.append(int(version))
        rows = self.db.query(sql + " ORDER BY version DESC LIMIT 1", params)
        return int(rows[0][0]) if rows else None

    def _resolve(self, session_id: str, ident: Any) -> int | None:
        """The sequence an id names: an id table (or `{name = ..., version = ...}`), a sequence
        number, or a string: an artifact name (its latest version) or else a content hash."""
        sequence = None
        digest = None
        if isinstance(ident, dict):
            owner = ident.get("session_id")
            if owner not in (None, "", session_id):
                return None
            if ident.get("name") is not None and ident.get("sequence") is None:
                if not isinstance(ident["name"], str):
                    raise UsageError("artifact name must be a string")
                return self._by_name(session_id, ident["name"], ident.get("version"))
            sequence = ident.get("sequence")
            digest = ident.get("content_hash")
        elif isinstance(ident, int | float) and not isinstance(ident, bool):
            sequence = ident
        elif isinstance(ident, str) and ident:
            found = self._by_name(session_id, ident)
            if found is not None:
                return found
            digest = ident
        else:
            raise UsageError(
                "artifact id must be an id table, a sequence number, a name or a content hash"
            )
        if sequence is not None:
            rows = self.db.query(
                "SELECT sequence, content_hash FROM artifacts WHERE tenant = ? AND session_id = ? "
                "AND sequence = ?",
                (self.tenant, session_id, int(sequence)),
            )
            if not rows or (digest and rows[0][1] != digest):
                return None
            return int(rows[0][0])
        rows = self.db.query(
            "SELECT max(sequence) FROM artifacts WHERE tenant = ? AND session_id = ? "
            "AND content_hash = ?",
            (self.tenant, session_id, digest),
        )
        return None if rows[0][0] is None else int(rows[0][0])

    def lookup(self, session_id: str, text: str, version: int | None = None) -> dict[str, Any]:
        """Metadata of the artifact a command line names (`session artifact get`): a name (its
        latest version, or `version`), else a sequence number (`seq` in `session show`), else
        a content hash or a unique prefix of at least 8 hex digits. Names win over ids."""
        self.sessions.require(session_id)
        if not text:
            raise UsageError("name an artifact (its name, sequence number or content hash)")
        sequence = self._by_name(session_id, text, version)
        if sequence is None and version is not None:
            versions = [
                r[0]
                for r in self.db.query(
                    "SELECT version FROM artifacts WHERE tenant = ? AND session_id = ? "
                    "AND name = ? ORDER BY version",
                    (self.tenant, session_id, text),
                )
            ]
            if versions:
                raise LlmspellError(
                    f"artifact '{text}' has no version {version} "
                    f"(versions: {', '.join(map(str, versions))})"
                )
            raise LlmspellError(
                f"session {session_id} has no artifact named '{text}'",
                hint="--version needs an artifact name; `llmspell session show ID` lists them",
            )
        if sequence is None and text.isdecimal():
            sequence = self._resolve(session_id, int(text))
        if sequence is None and len(text) >= 8 and all(c in "0123456789abcdef" for c in text):
            sequence = self._hash_prefix(session_id, text)
        if sequence is None:
            raise LlmspellError(
                f"session {session_id} has no artifact '{text}'",
                hint="`llmspell session show ID` lists its artifacts (name, seq, sha256)",
            )
        found = self.metadata(session_id, sequence)
        assert found is not None
        return found

    def _hash_prefix(self, session_id: str, prefix: str) -> int | None:
        rows = self.db.query(
            "SELECT content_hash, max(sequence) FROM artifacts WHERE tenant = ? AND session_id = ? "
            "AND substr(content_hash, 1, ?) = ? GROUP BY content_hash LIMIT 4",
            (self.tenant, session_id, len(prefix), prefix),
        )
        if len(rows) > 1:
            shown = ", ".join(r[0][:16] for r in rows[:3]) + (", ..." if len(rows) > 3 else "")
            raise UsageError(
                f"artifact hash '{prefix}' is ambiguous ({shown})", hint="type more of the hash"
            )
        return int(rows[0][1]) if rows else None

    def metadata(self, session_id: str, ident: Any) -> dict[str, Any] | None:
        """Metadata of one artifact, or None."""
        sequence = self._resolve(session_id, ident)
        if sequence is None:
            return None
        rows = self.db.query(
            f"SELECT {_COLUMNS} {_FROM} WHERE a.tenant = ? AND a.session_id = ? AND a.sequence = ?",
            (self.tenant, session_id, sequence),
        )
        return _describe(rows[0]) if rows else None

    def get(self, session_id: str, ident: Any) -> tuple[bytes, dict[str, Any]] | None:
        """(content, metadata) of one artifact, or None."""
        found = self.metadata(session_id, ident)
        if found is None:
            return None
        return self.blobs.get(found["content_hash"]), found

    def list(self, session_id: str) -> list[dict[str, Any]]:
        """Every artifact of a session, in the order stored."""
        self.sessions.require(session_id)
        rows = self.db.query(
            f"SELECT {_COLUMNS} {_FROM} WHERE a.tenant = ? AND a.session_id = ? ORDER BY a.sequence",
            (self.tenant, session_id),
        )
        return [_describe(row) for row in rows]

    def delete(self, session_id: str, ident: Any) -> bool:
        """Delete one artifact; False when there is none."""
        with self.db.transaction():
            sequence = self._resolve(session_id, ident)
            if sequence is None:
                return False
            key = (self.tenant, session_id, sequence)
            digest = self.db.query(
                "SELECT content_hash FROM artifacts WHERE tenant = ? AND session_id = ? AND sequence = ?",
                key,
            )[0][0]
            self.db.write(
                "DELETE FROM artifacts WHERE tenant = ? AND session_id = ? AND sequence = ?", key
            )
            files = self.blobs.release({digest})
        unlink_all(files)
        return True

    def query(self, criteria: dict[str, Any] | None = None) -> builtins.list[dict[str, Any]]:
        """Artifacts of this tenant matching every given criterion (lua-api.md 2.4)."""
        c = dict(criteria or {})
        sql = f"SELECT {_COLUMNS} {_FROM} WHERE a.tenant = ?"
        params: list[Any] = [self.tenant]
        if c.get("session_id"):
            sql += " AND a.session_id = ?"
            params.append(str(c["session_id"]))
        if c.get("type"):
            sql += " AND a.artifact_type = ?"
            params.append(str(c["type"]))
        if c.get("min_size") is not None:
            sql += " AND a.size >= ?"
            params.append(int(c["min_size"]))
        if c.get("max_size") is not None:
            sql += " AND a.size <= ?"
            params.append(int(c["max_size"]))
        if c.get("created_after"):
            sql += " AND a.created_at > ?"
            params.append(_parse_time(c["created_after"], "created_after"))
        if c.get("created_before"):
            sql += " AND a.created_at < ?"
            params.append(_parse_time(c["created_before"], "created_before"))
        sql += " ORDER BY a.created_at, a.session_id, a.sequence"
        found = [_describe(row) for row in self.db.query(sql, params)]
        pattern = c.get("name_pattern")
        if pattern:
            found = [m for m in found if fnmatch.fnmatchcase(m["name"], str(pattern))]
        tags = c.get("tags")
        if tags:
            wanted = set(tags if isinstance(tags, list) else [tags])
            found = [m for m in found if wanted <= set(m["tags"])]
        if c.get("limit"):
            found = found[: int(c["limit"])]
        return found


def _describe(row: tuple[Any, ...]) -> dict[str, Any]:
    compressed = bool(row[14])
    return {
        "id": {"content_hash": row[4], "session_id": row[0], "sequence": row[1]},
        "session_id": row[0],
        "sequence": row[1],
        "name": row[2],
        "version": row[3],
        "content_hash": row[4],
        "previous_hash": row[5],
        "artifact_type": row[6],
        "mime_type": row[7],
        "description": row[8],
        "tags": json.loads(row[9]),
        "custom": json.loads(row[10]),
        "size": row[11],
        "created_at": iso(row[12]),
        "created_by": row[13],
        "is_compressed": compressed,
        "original_size": row[11] if compressed else None,
        "stored_size": row[15],
    }
