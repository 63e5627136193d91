"""The RAG tables of the state database (migration 4, run by state/database.py).

    rag_scopes     one row per (tenant, scope): the embedding model and dimensions of its
                   vectors, the TTL of new vectors, and `revision`, a random token replaced by
                   every change, which index files on disk carry to show they are current
    rag_documents  one row per ingested document (its metadata, chunk and token counts)
    rag_chunks     the chunks: text, metadata (the document's plus chunk fields), token count,
                   the float32 vector and an optional expiry time; ids are never reused
                   (AUTOINCREMENT), so a tenant's restored rows cannot collide with newer ones

Every table starts with `tenant`, so backups copy and restore them per tenant like the others.
The FTS5 keyword index (`rag_fts`, rowid = chunk id) is derived data: store.py creates and fills
it on first use and after a restore, and backups leave it out (an archive holds plain tables
only). A document, its chunks, vectors and FTS rows are written in one transaction, so an
interrupted ingest leaves either the whole document or nothing.
"""

SCHEMA = """
    CREATE TABLE rag_scopes (
        tenant TEXT NOT NULL, id TEXT PRIMARY KEY, scope TEXT NOT NULL, model TEXT NOT NULL,
        dimensions INTEGER NOT NULL, revision TEXT NOT NULL, created_at REAL NOT NULL,
        vector_ttl REAL,
        UNIQUE (tenant, scope)
    );
    CREATE TABLE rag_documents (
        tenant TEXT NOT NULL, id TEXT PRIMARY KEY, scope_id TEXT NOT NULL, source TEXT,
        metadata TEXT NOT NULL, created_at REAL NOT NULL, chunks INTEGER NOT NULL,
        tokens INTEGER NOT NULL
    );
    CREATE INDEX rag_documents_by_scope ON rag_documents (scope_id);
    CREATE TABLE rag_chunks (
        tenant TEXT NOT NULL, id INTEGER PRIMARY KEY AUTOINCREMENT, scope_id TEXT NOT NULL,
        document_id TEXT NOT NULL, position INTEGER NOT NULL, content TEXT NOT NULL,
        metadata TEXT NOT NULL, tokens INTEGER NOT NULL, vector BLOB NOT NULL, expires_at REAL
    );
    CREATE INDEX rag_chunks_by_scope ON rag_chunks (scope_id, id);
    CREATE INDEX rag_chunks_by_document ON rag_chunks (document_id);
    CREATE INDEX rag_chunks_expiring ON rag_chunks (scope_id, expires_at)
        WHERE expires_at IS NOT NULL
"""

FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS rag_fts USING fts5 (content, tokenize = 'porter unicode61')"
)
