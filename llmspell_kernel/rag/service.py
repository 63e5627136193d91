"""RagService: ingest, search, stats and deletion for the scopes of one store.

One service per DataHub (the Lua global, the kernel's data requests and offline commands of
one process share it and its in-memory indexes). Where vectors live, how a scope is named and
how hybrid ranking works:

- A scope is (store tenant, scope key). The key is "global" for the default scope,
  `<scope>:<id>` (`session:abc`, `user:42`) or a bare scope name; a RAG tenant (`tenant_id`,
  or `scope = "tenant"` with `scope_id = X`) prefixes it with `tenant:<id>`. Scopes share
  nothing: a search only ever reads the rows of its own (store tenant, scope key).
- Search modes: "vector" (cosine similarity), "keyword" (FTS5 BM25) and "hybrid", which fuses
  both rankings by weighted reciprocal rank (weight / (60 + rank), summed; see VECTOR_WEIGHT). Results carry `score` = the
  cosine similarity (what `threshold` compares against) whatever the mode ranked by.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.rag.chunking import chunk_text
from llmspell_kernel.rag.embeddings import Embedder, make_embedder
from llmspell_kernel.rag.index import VectorIndex
from llmspell_kernel.rag.settings import SEARCH_MODES, RagSettings, current_rag_settings
from llmspell_kernel.rag.store import RagStore, ScopeRow

RRF_K = 60
# In hybrid ranking the BM25 list counts fully and the vector list 0.3: on the labelled set of
# tests/rag_quality.py (44 questions, 1331 chunks, the offline model) that ties keyword search
# at recall@5 (0.86; plain RRF 0.80, vectors alone 0.80) and beats it at recall@1 and MRR.
VECTOR_WEIGHT = 0.3
MAX_TOP_K = 1000
DEFAULT_SCOPES = ("", "default", "global")


@dataclass(frozen=True)
class Where:
    """A resolved scope: whose, and which."""

    tenant: str
    scope: str  # the scope key

    @property
    def label(self) -> str:
        return self.scope


@dataclass
class Document:
    """A document to ingest."""

    content: str
    metadata: dict[str, Any]
    source: str | None = None
    markdown: bool = True


class RagService:
    """See the module docstring."""

    def __init__(self, hub: Any, settings: RagSettings | None = None) -> None:
        self.hub = hub
        self.settings = settings or current_rag_settings()
        self.indexes: dict[str, VectorIndex] = {}
        self.lock = threading.RLock()
        self._store: RagStore | None = None
        self._embedders: dict[tuple[str, str, int, int], Embedder] = {}
        self.interrupter: Any = None  # the engine, so that an interrupt stops provider calls

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def store(self) -> RagStore:
        from llmspell_kernel.state.database import rag_database

        db = rag_database(self.hub.database())  # SQLite (FTS5) whatever the store's backend
        if self._store is None or self._store.db is not db:  # (re)opened: drop stale caches
            self._store = RagStore(db)
            self.indexes = {}
        return self._store

    @property
    def index_dir(self) -> Path | None:
        path = self.hub.settings.database_path
        return None if path is None else path.parent / "rag"

    def embedder(self, settings: RagSettings | None = None) -> Embedder:
        s = settings or self.settings
        key = (s.provider, s.embedding_model, s.vector_dimensions, s.batch_size)
        found = self._embedders.get(key)
        if found is None:
            found = self._embedders[key] = make_embedder(
                s.provider,
                s.embedding_model,
                dimensions=s.vector_dimensions,
                batch_size=s.batch_size,
                recorder=self._record_call,
                interrupter=self.interrupter,
            )
        return found

    def _record_call(self, call: Any) -> None:
        try:
            call.session_id = self.hub.current_session()
            self.hub.usage().record(call)
        except Exception as exc:  # a store that cannot be written must not fail the call
            from llmspell_kernel.logs import get_logger

            get_logger("llmspell.rag").warning("could not record an embedding call: %s", exc)

    def where(
        self,
        scope: str | None = None,
        scope_id: str | None = None,
        tenant_id: str | None = None,
        *,
        collection: str | None = None,
        owner: str | None = None,
    ) -> Where:
        """The (store tenant, scope key) that scope, scope_id and tenant_id name.

        The store tenant is this hub's (a kernel serves one; offline, --tenant), never a
        script's choice; a RAG `tenant_id` is a partition inside it ("tenant:<id>" before the
        scope key), so no script can reach another store tenant's rows. `collection` (that
        RAG.configure set) is another name of the default scope.
        """
        name = (scope or "").strip()
        ident = None if scope_id is None else str(scope_id).strip() or None
        if name == "tenant" and ident:
            tenant_id, name, ident = tenant_id or ident, "", None
        if name in DEFAULT_SCOPES or (
            name == (collection or self.settings.collection) and not ident
        ):
            key = "global" if not ident else f"global:{ident}"
        elif ":" in name and not ident:
            key = name
        else:
            key = f"{name}:{ident}" if ident else name
        if tenant_id:
            partition = f"tenant:{tenant_id}"
            key = partition if key == "global" else f"{partition}/{key}"
        return Where(owner or self.hub.tenant, key)

    # -- ingest --------------------------------------------------------------------------------
    def ingest(
        self,
        documents: list[Document],
        where: Where,
        *,
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        settings: RagSettings | None = None,
    ) -> dict[str, Any]:
        """Chunk, embed and store documents; each one commits whole or not at all."""
        s = settings or self.settings
        size = int(chunk_size if chunk_size is not None else s.chunk_size)
        overlap = int(chunk_overlap if chunk_overlap is not None else s.chunk_overlap)
        if size < 1:
            raise UsageError("chunk_size must be at least 1")
        if overlap < 0:
            raise UsageError("chunk_overlap must not be negative")
        embedder = self.embedder(s)
        total_vectors = total_tokens = 0
        document_ids: list[str] = []
        with self.lock:
            store = self.store
            for document in documents:
                chunks = chunk_text(document.content, size, overlap, markdown=document.markdown)
                if not chunks:
                    continue
                embedded = embedder.embed([c.text for c in chunks])
                vectors = embedded.vectors
                dims = int(vectors.shape[1])
                ttl = self._default_ttl(where)
                rows = [
                    (c.text, c.tokens, {"chunk_index": i, "section": c.section} if c.section
                     else {"chunk_index": i})
                    for i, c in enumerate(chunks)
                ]  # fmt: skip
                metadata = dict(document.metadata)
                if document.source and "source" not in metadata:
                    metadata["source"] = document.source
                with store.db.transaction():
                    scope = store.ensure_scope(
                        where.tenant, where.scope, embedder.identity, dims, ttl
                    )
                    before = scope.revision
                    doc_id, ids = store.add_document(
                        scope, document.source, metadata, rows, vectors
                    )
                    revision = store.touch(scope.id)
                index = self.indexes.get(scope.id)
                if index is not None and index.revision == before:
                    index.add(np.asarray(ids, dtype=np.int64), vectors)
                    index.revision = revision
                document_ids.append(doc_id)
                total_vectors += len(ids)
                total_tokens += sum(c.tokens for c in chunks)
        return {
            "success": True,
            "documents_processed": len(document_ids),
            "vectors_created": total_vectors,
            "total_tokens": total_tokens,
            "document_ids": document_ids,
            "scope": where.scope,
            "tenant_id": where.tenant,
        }

    def _default_ttl(self, where: Where) -> float | None:
        if where.scope.startswith("session:") and self.settings.session_vector_ttl_seconds:
            return float(self.settings.session_vector_ttl_seconds)
        return None

    # -- search --------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        where: Where,
        *,
        top_k: int | None = None,
        threshold: float | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        mode: str | None = None,
        settings: RagSettings | None = None,
    ) -> dict[str, Any]:
        """The best chunks of a scope for `query`."""
        s = settings or self.settings
        k = int(top_k if top_k is not None else s.search_limit)
        if not 1 <= k <= MAX_TOP_K:
            raise UsageError(f"top_k must be between 1 and {MAX_TOP_K}, got {k}")
        mode = (mode or s.search_mode).lower()
        if mode not in SEARCH_MODES:
            raise UsageError(f"search mode must be one of {', '.join(SEARCH_MODES)}, got '{mode}'")
        started = time.perf_counter()
        with self.lock:
            store = self.store
            scope = store.scope(where.tenant, where.scope)
            if scope is None:
                return _results([], 0.0, where, mode)
            self._expire(scope)
            scope = store.scope(where.tenant, where.scope)
            assert scope is not None
            fetch = max(k * 4, 50)
            query_vector: np.ndarray | None = None
            vector_hits: list[tuple[int, float]] = []
            if mode != "keyword":
                embedder = self.embedder(s)
                if embedder.identity != scope.model:
                    raise LlmspellError(
                        f"scope '{scope.scope}' holds vectors of {scope.model}, but the embedding "
                        f"model is {embedder.identity}; configure that model to search it"
                    )
                query_vector = embedder.embed([query]).vectors[0]
                vector_hits = self._vector_search(scope, query_vector, fetch, metadata_filter)
            keyword_hits: list[tuple[int, float]] = []
            if mode != "vector":
                keyword_hits = store.keyword(scope.id, query, fetch, metadata_filter)
            ranked = _fuse(mode, vector_hits, keyword_hits)
            rows = store.chunks([key for key, _ in ranked[: max(k * 2, k + 10)]])
        vector_scores = dict(vector_hits)
        keyword_scores = dict(keyword_hits)
        results: list[dict[str, Any]] = []
        for key, rank_score in ranked:
            row = rows.get(key)
            if row is None:
                continue
            if key in vector_scores:
                similarity = vector_scores[key]
            elif query_vector is not None:
                similarity = float(row.vector @ query_vector)
            else:
                similarity = keyword_scores.get(key, 0.0)
            if threshold is not None and similarity < threshold:
                continue
            results.append(
                {
                    "id": str(row.id),
                    "document_id": row.document_id,
                    "content": row.content,
                    "text": row.content,
                    "score": round(similarity, 6),
                    "rank_score": round(rank_score, 6),
                    "keyword_score": (
                        round(keyword_scores[key], 6) if key in keyword_scores else None
                    ),
                    "metadata": row.metadata,
                }
            )
            if len(results) == k:
                break
        return _results(results, (time.perf_counter() - started) * 1000.0, where, mode)

    def _vector_search(
        self,
        scope: ScopeRow,
        query: np.ndarray,
        fetch: int,
        metadata_filter: Mapping[str, Any] | None,
    ) -> list[tuple[int, float]]:
        store = self.store
        if metadata_filter:
            allowed = store.filtered_ids(scope.id, metadata_filter)
            if len(allowed) <= max(self.settings.exact_search_threshold, fetch):
                # few candidates: exact over exactly those (no graph can be filtered as cheaply)
                keys, matrix = store.vectors(scope.id, allowed) if allowed else (None, None)
                if keys is None or not len(keys):
                    return []
                scores = matrix @ query
                order = np.argsort(-scores, kind="stable")[:fetch]
                return [(int(keys[i]), float(scores[i])) for i in order]
            wanted = set(allowed)
            hits = self._index(scope).search(query, fetch * 8)
            return [(key, score) for key, score in hits if key in wanted][:fetch]
        return self._index(scope).search(query, fetch)

    def _index(self, scope: ScopeRow) -> VectorIndex:
        index = self.indexes.get(scope.id)
        if index is not None and index.revision == scope.revision:
            return index
        threshold = self.settings.exact_search_threshold
        directory = self.index_dir
        loaded = None
        if directory is not None:
            loaded = VectorIndex.load(
                directory, scope.id, scope.dimensions, scope.revision, threshold
            )
        if loaded is None:
            loaded = VectorIndex(scope.dimensions, scope.revision, threshold)
            keys, matrix = self.store.vectors(scope.id)
            if len(keys):
                loaded.add(keys, matrix)
            if directory is not None and not loaded.exact:
                loaded.save(directory, scope.id)  # built once; the next process loads it
        self.indexes[scope.id] = loaded
        return loaded

    def _expire(self, scope: ScopeRow) -> None:
        removed = self.store.expire(scope)
        if removed:
            index = self.indexes.get(scope.id)
            if index is not None and index.revision == scope.revision:
                index.remove(removed)
                fresh = self.store.scope(scope.tenant, scope.scope)
                index.revision = fresh.revision if fresh else index.revision

    # -- scopes --------------------------------------------------------------------------------
    def stats(self, where: Where) -> dict[str, Any]:
        with self.lock:
            store = self.store
            scope = store.scope(where.tenant, where.scope)
            base: dict[str, Any] = {
                "scope": where.scope,
                "tenant_id": where.tenant,
                "collections": len(store.scopes(where.tenant)),
            }
            if scope is None:
                return {**base, "total_vectors": 0, "total_chunks": 0, "total_documents": 0,
                        "total_tokens": 0, "total_storage_bytes": 0, "exists": False}  # fmt: skip
            self._expire(scope)
            stats = store.stats(scope)
            index = self.indexes.get(scope.id)
            return {
                **base,
                **stats,
                "exists": True,
                "embedding_model": scope.model,
                "dimensions": scope.dimensions,
                "vector_ttl": scope.vector_ttl,
                "created_at": scope.created_at,
                "index": "hnsw" if stats["total_vectors"] > self.settings.exact_search_threshold
                else "exact",
                "index_loaded": index is not None,
            }  # fmt: skip

    def list_scopes(self, tenant: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            store = self.store
            out = []
            for scope in store.scopes(tenant or self.hub.tenant):
                out.append({"scope": scope.scope, **store.stats(scope),
                            "embedding_model": scope.model})  # fmt: skip
            return out

    def delete(self, where: Where) -> int:
        """Delete a scope and its vectors; returns how many vectors went."""
        with self.lock:
            store = self.store
            scope = store.scope(where.tenant, where.scope)
            if scope is None:
                return 0
            count = store.delete_scope(scope)
            self.indexes.pop(scope.id, None)
            if self.index_dir is not None:
                VectorIndex.discard(self.index_dir, scope.id)
            return count

    def session_collection(
        self, session_id: str, ttl: float | None, tenant_id: str | None
    ) -> Where:
        """Create (or update) a session's scope with a vector TTL for what is ingested next."""
        where = self.where("session", session_id, tenant_id)
        with self.lock:
            store = self.store
            scope = store.scope(where.tenant, where.scope)
            if scope is None:
                embedder = self.embedder()
                dims = int(embedder.embed(["dimensions"]).vectors.shape[1])
                store.ensure_scope(where.tenant, where.scope, embedder.identity, dims, ttl)
            else:
                store.set_ttl(where.tenant, where.scope, ttl)
        return where

    def save(self) -> int:
        """Write the HNSW indexes that changed; returns how many were written."""
        directory = self.index_dir
        if directory is None:
            return 0
        written = 0
        with self.lock:
            for scope_id, index in list(self.indexes.items()):
                if index.dirty:
                    index.save(directory, scope_id)
                    written += 1
        return written


def _fuse(
    mode: str, vector: list[tuple[int, float]], keyword: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    """One ranking: a single list as it is, or both fused by reciprocal rank."""
    if mode == "vector":
        return vector
    if mode == "keyword":
        return keyword
    fused: dict[int, float] = {}
    for weight, hits in ((VECTOR_WEIGHT, vector), (1.0, keyword)):
        for rank, (key, _) in enumerate(hits):
            fused[key] = fused.get(key, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _results(results: list[dict[str, Any]], ms: float, where: Where, mode: str) -> dict[str, Any]:
    return {
        "success": True,
        "total": len(results),
        "results": results,
        "scope": where.scope,
        "tenant_id": where.tenant,
        "mode": mode,
        "search_time_ms": round(ms, 3),
    }


# Strong references: the exit handler below must still find a service whose engine is gone, so
# that its grown HNSW indexes are saved (a process makes one hub per store it opens).
_services: dict[int, tuple[Any, RagService]] = {}
_services_lock = threading.Lock()


def service_for(hub: Any) -> RagService:
    """The one RagService of a DataHub."""
    with _services_lock:
        entry = _services.get(id(hub))
        if entry is None or entry[0] is not hub:
            entry = _services[id(hub)] = (hub, RagService(hub))
        return entry[1]


@atexit.register
def _save_all() -> None:
    """Indexes built or grown in this process are saved as it ends (else rebuilt next time)."""
    for _hub, service in list(_services.values()):
        try:
            service.save()
        except Exception:  # noqa: S110 - at exit there is nobody left to tell
            pass
