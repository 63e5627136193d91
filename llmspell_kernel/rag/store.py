"""SQL of the RAG tables (schema.py): scopes, documents, chunks and the FTS5 keyword index."""

from __future__ import annotations

import json
import os
import re
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.rag.schema import FTS

_WORD = re.compile(r"\w+")
_KEY = re.compile(r"^[\w.\-]{1,128}$")


@dataclass(frozen=True)
class ScopeRow:
    """One (tenant, scope) and what its vectors are."""

    id: str
    tenant: str
    scope: str
    model: str
    dimensions: int
    revision: str
    created_at: float
    vector_ttl: float | None


@dataclass
class ChunkRow:
    """A chunk as search results show it."""

    id: int
    document_id: str
    position: int
    content: str
    metadata: dict[str, Any]
    vector: np.ndarray


def new_revision() -> str:
    return os.urandom(8).hex()


# Databases whose rag_fts exists and matches rag_chunks (weak: a closed one must not be taken
# for a new one that happens to get its id).
_fts_ready: weakref.WeakSet[Any] = weakref.WeakSet()


def ensure_fts(db: Any) -> None:
    """Create the keyword index on first use and fill it if it lags the chunks (a restore)."""
    if db in _fts_ready:
        return
    with db.transaction():
        db.write(FTS)
        chunks = db.query("SELECT count(*) FROM rag_chunks")[0][0]
        indexed = db.query("SELECT count(*) FROM rag_fts")[0][0]
        if chunks != indexed:
            _refill_fts(db)
    _fts_ready.add(db)


def _refill_fts(db: Any) -> None:
    db.write("DELETE FROM rag_fts")
    db.write("INSERT INTO rag_fts (rowid, content) SELECT id, content FROM rag_chunks")


def rebuild_derived(db: Any) -> None:
    """After a restore: refill the keyword index from the restored chunks. Vector indexes need
    nothing here: the restored scope revisions differ from those their files and caches hold."""
    with db.transaction():
        db.write(FTS)
        _refill_fts(db)
    _fts_ready.add(db)


class RagStore:
    """The RAG rows of one database."""

    def __init__(self, db: Any) -> None:
        self.db = db
        ensure_fts(db)

    # -- scopes --------------------------------------------------------------------------------
    def scope(self, tenant: str, scope: str) -> ScopeRow | None:
        rows = self.db.query(
            "SELECT id, tenant, scope, model, dimensions, revision, created_at, vector_ttl "
            "FROM rag_scopes WHERE tenant = ? AND scope = ?",
            (tenant, scope),
        )
        return ScopeRow(*rows[0]) if rows else None

    def scopes(self, tenant: str) -> list[ScopeRow]:
        rows = self.db.query(
            "SELECT id, tenant, scope, model, dimensions, revision, created_at, vector_ttl "
            "FROM rag_scopes WHERE tenant = ? ORDER BY scope",
            (tenant,),
        )
        return [ScopeRow(*row) for row in rows]

    def ensure_scope(
        self, tenant: str, scope: str, model: str, dimensions: int, vector_ttl: float | None
    ) -> ScopeRow:
        """The scope, created for this model if new; vectors of two models never mix."""
        found = self.scope(tenant, scope)
        if found is None:
            self.db.write(
                "INSERT INTO rag_scopes (tenant, id, scope, model, dimensions, revision, "
                "created_at, vector_ttl) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant, os.urandom(8).hex(), scope, model, dimensions, new_revision(), time.time(),
                 vector_ttl),
            )  # fmt: skip
            found = self.scope(tenant, scope)
            assert found is not None
        elif found.model != model or found.dimensions != dimensions:
            raise LlmspellError(
                f"scope '{scope}' holds vectors of {found.model} ({found.dimensions} dimensions), "
                f"not of {model} ({dimensions}); delete it (RAG.cleanup_scope, "
                "`llmspell rag delete`) or configure that model again"
            )
        return found

    def set_ttl(self, tenant: str, scope: str, ttl: float | None) -> None:
        self.db.write(
            "UPDATE rag_scopes SET vector_ttl = ? WHERE tenant = ? AND scope = ?",
            (ttl, tenant, scope),
        )

    def touch(self, scope_id: str) -> str:
        revision = new_revision()
        self.db.write("UPDATE rag_scopes SET revision = ? WHERE id = ?", (revision, scope_id))
        return revision

    # -- writing -------------------------------------------------------------------------------
    def add_document(
        self,
        scope: ScopeRow,
        source: str | None,
        metadata: Mapping[str, Any],
        chunks: Sequence[tuple[str, int, Mapping[str, Any]]],
        vectors: np.ndarray,
    ) -> tuple[str, list[int]]:
        """Store one document with its chunks (text, tokens, metadata) and vectors; call inside
        a transaction. Returns the document id and the chunk ids."""
        now = time.time()
        expires = now + scope.vector_ttl if scope.vector_ttl else None
        doc_id = os.urandom(12).hex()
        tokens = sum(t for _, t, _ in chunks)
        self.db.write(
            "INSERT INTO rag_documents (tenant, id, scope_id, source, metadata, created_at, "
            "chunks, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (scope.tenant, doc_id, scope.id, source, _dump(metadata), now, len(chunks), tokens),
        )
        ids: list[int] = []
        blob = np.ascontiguousarray(vectors, dtype=np.float32)
        for position, ((text, count, extra), vector) in enumerate(zip(chunks, blob, strict=True)):
            self.db.write(
                "INSERT INTO rag_chunks (tenant, scope_id, document_id, position, content, "
                "metadata, tokens, vector, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (scope.tenant, scope.id, doc_id, position, text, _dump({**metadata, **extra}),
                 count, vector.tobytes(), expires),
            )  # fmt: skip
            chunk_id = int(self.db.query("SELECT last_insert_rowid()")[0][0])
            self.db.write("INSERT INTO rag_fts (rowid, content) VALUES (?, ?)", (chunk_id, text))
            ids.append(chunk_id)
        return doc_id, ids

    def delete_scope(self, scope: ScopeRow) -> int:
        """Delete a scope with everything in it; returns the number of vectors removed."""
        with self.db.transaction():
            count = self._delete_chunks("scope_id = ?", (scope.id,))
            self.db.write("DELETE FROM rag_documents WHERE scope_id = ?", (scope.id,))
            self.db.write("DELETE FROM rag_scopes WHERE id = ?", (scope.id,))
        return count

    def delete_document(self, scope: ScopeRow, document_id: str) -> list[int]:
        with self.db.transaction():
            ids = [
                r[0]
                for r in self.db.query(
                    "SELECT id FROM rag_chunks WHERE scope_id = ? AND document_id = ?",
                    (scope.id, document_id),
                )
            ]
            self._delete_chunks("scope_id = ? AND document_id = ?", (scope.id, document_id))
            self.db.write(
                "DELETE FROM rag_documents WHERE scope_id = ? AND id = ?", (scope.id, document_id)
            )
            if ids:
                self.touch(scope.id)
        return ids

    def expire(self, scope: ScopeRow, now: float | None = None) -> list[int]:
        """Delete the scope's vectors past their TTL (and documents left empty)."""
        now = time.time() if now is None else now
        rows = self.db.query(
            "SELECT id FROM rag_chunks WHERE scope_id = ? AND expires_at IS NOT NULL "
            "AND expires_at <= ?",
            (scope.id, now),
        )
        if not rows:
            return []
        ids = [r[0] for r in rows]
        with self.db.transaction():
            self._delete_chunks(
                "scope_id = ? AND expires_at IS NOT NULL AND expires_at <= ?", (scope.id, now)
            )
            self.db.write(
                "DELETE FROM rag_documents WHERE scope_id = ? AND id NOT IN "
                "(SELECT document_id FROM rag_chunks WHERE scope_id = ?)",
                (scope.id, scope.id),
            )
            self.touch(scope.id)
        return ids

    def _delete_chunks(self, where: str, params: tuple[Any, ...]) -> int:
        self.db.write(
            f"DELETE FROM rag_fts WHERE rowid IN (SELECT id FROM rag_chunks WHERE {where})",
            params,
        )
        return int(self.db.write(f"DELETE FROM rag_chunks WHERE {where}", params))

    # -- reading -------------------------------------------------------------------------------
    def vectors(
        self, scope_id: str, ids: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(keys, matrix) of a scope's live vectors (or of the given ids among them)."""
        sql = "SELECT id, vector FROM rag_chunks WHERE scope_id = ? AND " + _LIVE
        params: list[Any] = [scope_id, time.time()]
        if ids is not None:
            sql += f" AND id IN ({','.join('?' for _ in ids)})"
            params.extend(int(i) for i in ids)
        rows = self.db.query(sql, params)
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return keys, np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return keys, matrix.reshape(len(rows), -1)

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Live chunks by id (expired or deleted ones are left out)."""
        if not ids:
            return {}
        marks = ",".join("?" for _ in ids)
        rows = self.db.query(
            "SELECT id, document_id, position, content, metadata, vector FROM rag_chunks "
            f"WHERE id IN ({marks}) AND {_LIVE}",
            [*(int(i) for i in ids), time.time()],
        )
        return {
            r[0]: ChunkRow(
                r[0], r[1], r[2], r[3], json.loads(r[4]), np.frombuffer(r[5], np.float32)
            )
            for r in rows
        }

    def filtered_ids(self, scope_id: str, metadata_filter: Mapping[str, Any]) -> list[int]:
        """Ids of the scope's live chunks whose metadata has every key = value of the filter."""
        clauses, params = _filter_sql(metadata_filter)
        rows = self.db.query(
            f"SELECT id FROM rag_chunks WHERE scope_id = ? AND {_LIVE}{clauses}",
            [scope_id, time.time(), *params],
        )
        return [r[0] for r in rows]

    def keyword(
        self, scope_id: str, query: str, limit: int, metadata_filter: Mapping[str, Any] | None
    ) -> list[tuple[int, float]]:
        """BM25 matches of any query word (FTS5; best first, score = -bm25, higher better)."""
        words = _WORD.findall(query.lower())
        if not words or limit <= 0:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(words))
        clauses, params = _filter_sql(metadata_filter or {}, "c.")
        rows = self.db.query(
            "SELECT c.id, bm25(rag_fts) FROM rag_fts JOIN rag_chunks c ON c.id = rag_fts.rowid "
            f"WHERE rag_fts MATCH ? AND c.scope_id = ? AND {_LIVE_C}{clauses} "
            "ORDER BY bm25(rag_fts) LIMIT ?",
            [match, scope_id, time.time(), *params, limit],
        )
        return [(int(r[0]), -float(r[1])) for r in rows]

    def stats(self, scope: ScopeRow) -> dict[str, Any]:
        now = time.time()
        chunks, tokens, size = self.db.query(
            "SELECT count(*), coalesce(sum(tokens), 0), "
            "coalesce(sum(length(vector) + length(CAST(content AS BLOB)) + length(metadata)), 0) "
            f"FROM rag_chunks WHERE scope_id = ? AND {_LIVE}",
            (scope.id, now),
        )[0]
        documents = self.db.query(
            "SELECT count(*) FROM rag_documents WHERE scope_id = ?", (scope.id,)
        )[0][0]
        return {
            "total_vectors": int(chunks),
            "total_chunks": int(chunks),
            "total_documents": int(documents),
            "total_tokens": int(tokens),
            "total_storage_bytes": int(size),
        }


_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_LIVE_C = "(c.expires_at IS NULL OR c.expires_at > ?)"


def _dump(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True, default=str)


def _filter_sql(metadata_filter: Mapping[str, Any], prefix: str = "") -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in metadata_filter.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise LlmspellError(
                f"metadata_filter key {key!r} must be a word (letters, digits, _.-)"
            )
        path = f"json_extract({prefix}metadata, '$.\"{key}\"')"
        if value is None:
            clauses.append(f"{path} IS NULL")
        elif isinstance(value, bool):
            clauses.append(f"{path} = ?")
            params.append(1 if value else 0)
        elif isinstance(value, int | float | str):
            clauses.append(f"{path} = ?")
            params.append(value)
        elif isinstance(value, list) and all(isinstance(v, int | float | str) for v in value):
            clauses.append(f"{path} IN ({','.join('?' for _ in value)})" if value else "0")
            params.extend(value)
        else:
            raise LlmspellError(
                f"metadata_filter value of '{key}' must be a string, number, boolean or a list of them"
            )
    return "".join(f" AND {c}" for c in clauses), params
