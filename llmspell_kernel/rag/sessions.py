"""A deleted or expired session takes its RAG collection with it.

`RAG.create_session_collection(id)` and `RAG.ingest(..., {scope = "session", scope_id = id})`
put vectors in the scope `session:<id>` (or `tenant:<t>/session:<id>` under a RAG tenant). The
session manager deletes those rows in the transaction that deletes the session, so no vector
outlives its session; the scopes' index files are derived data and go after the commit. Plain
SQL only: deleting a session must not load numpy or the index library.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from llmspell_kernel.state.database import Database


def delete_session_scopes(db: Database, tenant: str, session_id: str) -> list[str]:
    """Delete the RAG scopes of one session (inside the caller's transaction); their ids."""
    scope = f"session:{session_id}"
    ids = [
        row[0]
        for row in db.query(
            "SELECT id FROM rag_scopes WHERE tenant = ? AND (scope = ? OR "
            "(scope LIKE 'tenant:%' AND substr(scope, -?) = ?))",
            (tenant, scope, len(scope) + 1, "/" + scope),
        )
    ]
    if not ids:
        return ids
    has_fts = db.query("SELECT 1 FROM sqlite_master WHERE name = 'rag_fts'")
    for scope_id in ids:
        if has_fts:
            db.write(
                "DELETE FROM rag_fts WHERE rowid IN (SELECT id FROM rag_chunks WHERE scope_id = ?)",
                (scope_id,),
            )
        db.write("DELETE FROM rag_chunks WHERE scope_id = ?", (scope_id,))
        db.write("DELETE FROM rag_documents WHERE scope_id = ?", (scope_id,))
        db.write("DELETE FROM rag_scopes WHERE id = ?", (scope_id,))
    return ids


def discard_index_files(db: Database, scope_ids: list[str]) -> None:
    """Remove the index files of deleted scopes (beside the database, in `rag/`)."""
    location = getattr(db, "location", ":memory:")
    if location == ":memory:":
        return
    directory = os.path.join(os.path.dirname(location), "rag")
    for scope_id in scope_ids:
        for suffix in (".json", ".usearch"):
            try:
                os.unlink(os.path.join(directory, scope_id + suffix))
            except FileNotFoundError:
                pass
