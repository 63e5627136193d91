"""Retrieval-augmented generation: documents chunked and embedded into the state database, an
exact or HNSW vector index per scope beside it, and hybrid (BM25 + vector) search.

Nothing here is imported until a RAG function is first called (the `RAG` global's Lua side is
installed with the engine; its Python side imports `service` on first use).
"""

import os

# One BLAS thread: a search is one matrix-vector product, which a second OpenBLAS thread makes
# 20x slower on a loaded 2-core machine (0.46 ms -> 11 ms over 10k vectors, benchmarks/rag.py).
# It must be set before numpy is first imported; the RAG modules are what import it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
