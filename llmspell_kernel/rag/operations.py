"""The `rag.*` data operations behind `llmspell rag`, the same code offline and online.

They run through state/operations.py's `run_operation` (offline on the CLI's own DataHub,
online in the kernel's `llmspell_data_request`), so a running kernel's indexes serve the CLI.
"""

from __future__ import annotations

from typing import Any

from llmspell_kernel.errors import UsageError
from llmspell_kernel.rag.service import Document, service_for


def _where(hub: Any, tenant: str, p: dict[str, Any]) -> Any:
    scope = p.get("scope")
    scope_id = p.get("scope_id")
    return service_for(hub).where(
        None if scope is None else str(scope),
        None if scope_id is None else str(scope_id),
        owner=tenant,
    )


def rag_ingest(hub: Any, tenant: str, p: dict[str, Any]) -> Any:
    documents = []
    for raw in p.get("documents") or []:
        content = raw.get("content")
        if not isinstance(content, str) or not content.strip():
            raise UsageError(f"{raw.get('source') or 'a document'} has no text to ingest")
        documents.append(
            Document(
                content,
                dict(raw.get("metadata") or {}),
                raw.get("source"),
                bool(raw.get("markdown", True)),
            )
        )
    return service_for(hub).ingest(
        documents,
        _where(hub, tenant, p),
        chunk_size=p.get("chunk_size"),
        chunk_overlap=p.get("chunk_overlap"),
    )


def rag_search(hub: Any, tenant: str, p: dict[str, Any]) -> Any:
    query = p.get("query")
    if not isinstance(query, str) or not query.strip():
        raise UsageError("the query must not be empty")
    return service_for(hub).search(
        query,
        _where(hub, tenant, p),
        top_k=p.get("k"),
        threshold=p.get("threshold"),
        mode=p.get("mode"),
    )


def rag_stats(hub: Any, tenant: str, p: dict[str, Any]) -> Any:
    service = service_for(hub)
    if p.get("scope") is None:
        return {"tenant_id": tenant, "scopes": service.list_scopes(tenant)}
    return service.stats(_where(hub, tenant, p))


def rag_delete(hub: Any, tenant: str, p: dict[str, Any]) -> Any:
    service = service_for(hub)
    if p.get("all"):
        scopes = [s["scope"] for s in service.list_scopes(tenant)]
        deleted = sum(service.delete(service.where(s, owner=tenant)) for s in scopes)
        return {"tenant_id": tenant, "scopes": scopes, "deleted": deleted}
    where = _where(hub, tenant, p)
    return {"tenant_id": tenant, "scopes": [where.scope], "deleted": service.delete(where)}


def rag_save(hub: Any, _tenant: str, _p: dict[str, Any]) -> Any:
    return {"indexes_written": service_for(hub).save()}


OPERATIONS = {
    "rag.ingest": rag_ingest,
    "rag.search": rag_search,
    "rag.stats": rag_stats,
    "rag.delete": rag_delete,
    "rag.save": rag_save,
}
