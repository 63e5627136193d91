"""Retrieval quality of the offline model: recall@5 of vector, keyword and hybrid search on the
labelled set of tests/rag_quality.py (44 questions over >1000 standard-library docstrings); the
default mode ([rag] search_mode = "hybrid") must be the best of the three."""

from __future__ import annotations

from pathlib import Path

from llmspell_kernel.rag.service import Document, RagService
from llmspell_kernel.rag.settings import RagSettings
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings
from tests.rag_quality import QUERIES, corpus, recall_at


def _mrr(found: list[list[str]]) -> float:
    total = 0.0
    for wanted, ids in zip(QUERIES.values(), found, strict=True):
        total += next((1.0 / (i + 1) for i, key in enumerate(ids) if key in wanted), 0.0)
    return total / len(QUERIES)


def test_recall_at_5_of_each_mode_and_the_default_is_the_best(tmp_path: Path):
    chunks = corpus()
    assert len(QUERIES) >= 30 and len(chunks) >= 200
    assert all(wanted & set(chunks) for wanted in QUERIES.values())  # every answer is there
    hub = DataHub(DataSettings(path=str(tmp_path / "state.db")))
    service = RagService(hub, RagSettings())  # the defaults, whatever this process configured
    where = service.where("quality")
    documents = [Document(text, {"key": key}, key, markdown=False) for key, text in chunks.items()]
    done = service.ingest(documents, where, chunk_size=200, chunk_overlap=0)
    assert done["vectors_created"] == len(chunks)
    scores = {}
    for mode in ("vector", "keyword", "hybrid"):
        found = [
            [r["metadata"]["key"] for r in service.search(q, where, top_k=10, mode=mode)["results"]]
            for q in QUERIES
        ]
        scores[mode] = (recall_at(found, 1), recall_at(found, 5), _mrr(found))
    print("\nmode     recall@1  recall@5  MRR@10")
    for mode, (r1, r5, mrr) in scores.items():
        print(f"{mode:8} {r1:8.2f}  {r5:8.2f}  {mrr:6.3f}")
    default = RagSettings().search_mode
    best_recall = max(r5 for _, r5, _ in scores.values())
    assert scores[default][1] == best_recall, scores
    assert scores[default][2] >= max(mrr for _, _, mrr in scores.values()), scores
    assert scores["vector"][1] >= 0.7 and scores["keyword"][1] >= 0.7, scores
    hub.close()
