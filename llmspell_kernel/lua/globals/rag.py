"""The Python side of the `RAG` global (lua-api.md 2.12).

Nothing of the RAG layer (numpy, SQLite tables, embedding models) is imported when the global
is installed: each function imports `llmspell_kernel.rag` on its first call, so
`llmspell exec 'return 1'` pays for a few closures only. Functions answer `(true, value)` or
`(false, message)`; rag.lua raises the message with the caller's position.
"""

from __future__ import annotations

import os

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.host import answer

TYPE_CHECKING = False  # typing is not imported at run time (start-up cost, see engine.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from llmspell_kernel.rag.service import RagService
    from llmspell_kernel.rag.settings import RagSettings

# RAG.configure keys and the [rag] keys they set.
CONFIGURE_KEYS = {
    "provider": "provider",
    "embedding_model": "embedding_model",
    "vector_dimensions": "vector_dimensions",
    "dimensions": "vector_dimensions",
    "collection": "collection",
    "chunk_size": "chunk_size",
    "overlap": "chunk_overlap",
    "chunk_overlap": "chunk_overlap",
    "search_limit": "search_limit",
    "search_mode": "search_mode",
    "batch_size": "batch_size",
}
# A model override to the local model makes a run offline: its embeddings go to the bundled
# embedder too, whatever [rag] provider the configuration names, unless this variable chooses
# the RAG provider explicitly (README, --model-override).
RAG_PROVIDER_VARIABLE = "LLMSPELL_RAG_PROVIDER"
LOCAL_EMBEDDER: dict[str, Any] = {
    "provider": "local",
    "embedding_model": "",
    "vector_dimensions": 0,
}
# What configure accepts and upstream scripts pass, with no effect here (documented).
IGNORED_KEYS = frozenset({"enable_cache", "cache_ttl", "max_results"})


def rag_enabled() -> bool:
    """`[rag] enabled` of the configuration this process started with (default true)."""
    from llmspell_kernel.config import configured

    return not configured or bool(configured[0].rag.enabled)


_LUA_TYPES = {"NoneType": "nil", "bool": "boolean", "int": "number", "float": "number",
              "dict": "table", "list": "table"}  # fmt: skip


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        if not value.strip():
            raise LlmspellError(f"{what} must not be empty")
        return value
    kind = _LUA_TYPES.get(type(value).__name__, type(value).__name__)
    raise LlmspellError(f"{what} must be a string, got {kind}")


def _opt_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise LlmspellError(f"{what} must be a string")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _count(value: Any, what: str, low: int = 1) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise LlmspellError(f"{what} must be an integer, got {value!r}")
    if value < low:
        raise LlmspellError(f"{what} must be at least {low}, got {int(value)}")
    return int(value)


def _table(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, list) and not value:  # {} converts as an empty array
        return {}
    if not isinstance(value, dict):
        raise LlmspellError(f"{what} must be a table")
    return value


def install_rag_global(engine: Any) -> None:
    """Define `RAG` in the engine's script environment (unless `[rag] enabled = false`)."""
    if not rag_enabled():
        return
    overrides: dict[str, Any] = {}

    def service() -> RagService:
        from llmspell_kernel.rag.service import service_for

        found = service_for(engine.data)
        found.interrupter = engine
        return found

    def settings() -> RagSettings:
        base = service().settings
        changes = dict(overrides)
        spec = _model_override(engine)
        if spec:  # offline/CI runs keep the configured embedder, not the script's
            changes.pop("provider", None)
            changes.pop("embedding_model", None)
            changes.pop("vector_dimensions", None)
            if _routes_offline(spec) and not os.environ.get(RAG_PROVIDER_VARIABLE, "").strip():
                changes.update(LOCAL_EMBEDDER)
        return base.with_changes(**changes) if changes else base

    def located(scope: Any, scope_id: Any, tenant_id: Any) -> Any:
        return service().where(
            _opt_text(scope, "scope"),
            _opt_text(scope_id, "scope_id"),
            _opt_text(tenant_id, "tenant_id"),
            collection=overrides.get("collection"),
        )

    def where(opts: dict[str, Any], fallback: dict[str, Any] | None = None) -> Any:
        fallback = fallback or {}

        def pick(key: str) -> Any:
            value = opts.get(key)
            return fallback.get(key) if value is None else value

        return located(pick("scope"), pick("scope_id"), pick("tenant_id"))

    def ingest(raw: Any, raw_opts: Any = None) -> Any:
        from llmspell_kernel.rag.service import Document

        value = engine.to_python(raw, strict=False)
        opts = _table(engine.to_python(raw_opts, strict=False), "RAG.ingest options")
        if isinstance(value, dict):
            docs = [value]
        elif isinstance(value, list) and value and all(isinstance(d, dict) for d in value):
            docs = value
        else:
            raise LlmspellError("the document must be a table {content = ..., metadata = ...}")
        documents = []
        for doc in docs:
            content = _text(doc.get("content", doc.get("text")), "document content")
            metadata = _table(doc.get("metadata"), "document metadata")
            source = _opt_text(metadata.get("source"), "metadata.source")
            documents.append(Document(content, metadata, source))
        first = docs[0]
        result = service().ingest(
            documents,
            where(opts, first),
            chunk_size=_count(opts.get("chunk_size", first.get("chunk_size")), "chunk_size"),
            chunk_overlap=_count(
                opts.get("chunk_overlap", opts.get("overlap", first.get("chunk_overlap"))),
                "chunk_overlap",
                0,
            ),
            settings=settings(),
        )
        return engine.to_lua(result)

    def search(raw_query: Any, raw_opts: Any = None) -> Any:
        opts = _table(engine.to_python(raw_opts, strict=False), "RAG.search options")
        query = _text(engine.to_python(raw_query, strict=False), "the query")
        top_k = opts.get("top_k", opts.get("k", opts.get("limit")))
        threshold = opts.get("threshold")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float)
        ):
            raise LlmspellError("threshold must be a number")
        filters = opts.get("metadata_filter", opts.get("filters"))
        if filters is not None:
            filters = _table(filters, "metadata_filter")
        mode = _opt_text(opts.get("mode", opts.get("search_mode")), "mode")
        result = service().search(
            query,
            where(opts),
            top_k=_count(top_k, "top_k"),
            threshold=None if threshold is None else float(threshold),
            metadata_filter=filters or None,
            mode=mode,
            settings=settings(),
        )
        return engine.to_lua(result)

    def get_stats(scope: Any = None, scope_id: Any = None, tenant_id: Any = None) -> Any:
        stats = service().stats(located(scope, scope_id, tenant_id))
        stats["collection"] = settings().collection
        return engine.to_lua(stats)

    def configure(raw: Any) -> bool:
        from llmspell_kernel.rag.settings import SEARCH_MODES

        opts = _table(engine.to_python(raw, strict=False), "RAG.configure options")
        changes: dict[str, Any] = {}
        for key, value in opts.items():
            target = CONFIGURE_KEYS.get(key)
            if target is None:
                if key in IGNORED_KEYS:
                    continue
                known = ", ".join(sorted(set(CONFIGURE_KEYS) | IGNORED_KEYS))
                raise LlmspellError(f"unknown option '{key}' (known: {known})")
            if target in ("provider", "embedding_model", "collection", "search_mode"):
                changes[target] = _text(value, key)
            else:
                changes[target] = _count(value, key, 0 if target == "chunk_overlap" else 1)
        mode = changes.get("search_mode")
        if mode is not None and mode not in SEARCH_MODES:
            raise LlmspellError(f"search_mode must be one of {', '.join(SEARCH_MODES)}")
        overrides.update(changes)
        if "provider" in changes and not _model_override(engine):
            settings()  # a provider that cannot embed fails here, not at the first ingest
            service().embedder(settings())
        return True

    def config() -> Any:
        return engine.to_lua(settings().as_dict())

    def save() -> bool:
        service().save()
        return True

    def cleanup_scope(scope: Any = None, scope_id: Any = None, tenant_id: Any = None) -> int:
        return int(service().delete(located(scope, scope_id, tenant_id)))

    def list_providers() -> Any:
        from llmspell_kernel.rag.embeddings import embedding_providers

        return engine.to_lua(embedding_providers())

    def create_session_collection(session_id: Any = None, ttl: Any = None) -> Any:
        import time

        sid = _text(_opt_text(session_id, "session_id"), "session_id")
        seconds = None if ttl is None else _count(ttl, "ttl", 0)
        found = service().session_collection(sid, float(seconds) if seconds else None, None)
        return engine.to_lua(
            {
                "session_id": sid,
                "namespace": found.scope,
                "ttl": seconds or 0,
                "created": True,
                "created_at": time.time(),
            }
        )

    def configure_session(raw: Any) -> Any:
        opts = _table(engine.to_python(raw, strict=False), "RAG.configure_session options")
        sid = _text(_opt_text(opts.get("session_id"), "session_id"), "session_id")
        ttl = _count(opts.get("vector_ttl", 3600), "vector_ttl", 0)
        service().session_collection(sid, float(ttl) if ttl else None, None)
        return engine.to_lua({"session_id": sid, "vector_ttl": ttl, "configured": True})

    functions: dict[str, Callable[..., Any]] = {
        "ingest": ingest,
        "search": search,
        "get_stats": get_stats,
        "configure": configure,
        "config": config,
        "save": save,
        "cleanup_scope": cleanup_scope,
        "list_providers": list_providers,
        "create_session_collection": create_session_collection,
        "configure_session": configure_session,
    }
    py = engine.bridge.table({name: answer(fn) for name, fn in functions.items()}, "RAG.")
    with open(os.path.join(os.path.dirname(__file__), "rag.lua"), encoding="utf-8") as handle:
        engine.runtime.execute(handle.read(), engine.env, py)


def _model_override(engine: Any) -> str:
    """The model override of this execution (--model-override, [providers] model_override), or
    "" for none."""
    if engine.model_override:
        return str(engine.model_override)
    from llmspell_kernel.config import configured

    return configured[0].providers.model_override if configured else ""


def _routes_offline(spec: str) -> bool:
    """True when a model override names the local model (a `local` provider)."""
    from llmspell_kernel.providers.resolve import resolve_endpoint

    try:
        return resolve_endpoint(None, override=spec).provider_type == "local"
    except LlmspellError:
        return False
