"""Retrieval-augmented generation: documents chunked and embedded into the state database, an
exact or HNSW vector index per scope beside it, and hybrid (BM25 + vector) search.

Nothing here is imported until a RAG function is first called (the `RAG` global's Lua side is
installed with the engine; its Python side imports `service` on first use).
"""
