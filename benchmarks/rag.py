"""RAG (issue 16): ingest throughput with the offline model, search latency at 10k and 100k
chunks against exact numpy search in the same run, recall of the HNSW index against exact
search, and the memory of a process holding the 100k-chunk index.

The 10k/100k stores hold synthetic vectors (clustered unit vectors of the offline model's 256
dimensions) with short generated texts: embedding 100k real chunks would take minutes and
measures the model, not the index. Ingest throughput uses real text (the project's README,
docs and changelog) and the real model.

    python benchmarks/rag.py [--sizes 10000,100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as llmspell_kernel.rag sets it

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import median, percentile, print_table

from llmspell_kernel.rag.embeddings import LOCAL_DIMENSIONS, LocalEmbedder
from llmspell_kernel.rag.service import Document, RagService, service_for
from llmspell_kernel.rag.settings import RagSettings
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings

ROOT = Path(__file__).resolve().parent.parent
# Texts of the synthetic stores: 12 words each from a 20,000-word vocabulary with Zipf-like
# frequencies, so that a 3-word query matches a realistic share of the chunks.
VOCABULARY = np.array([f"term{i}" for i in range(20000)])
WEIGHTS = 1.0 / np.arange(1, len(VOCABULARY) + 1)
WEIGHTS /= WEIGHTS.sum()


def _words(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(VOCABULARY, n, p=WEIGHTS))


def _hub(root: Path) -> DataHub:
    return DataHub(DataSettings(path=str(root / "state.db")))


def ingest_throughput(root: Path) -> list[list[object]]:
    texts = [(ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "CHANGELOG.md")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))]
    service = RagService(_hub(root), RagSettings())
    where = service.where("bench")
    LocalEmbedder().embed(["warm up"])  # the model's one-off load (~0.4 s) is not ingest
    chunks, started = 0, time.perf_counter()
    rounds = 0
    while time.perf_counter() - started < 5.0 or rounds < 2:
        for text in texts:
            chunks += service.ingest([Document(text, {"round": rounds})], where)["vectors_created"]
        rounds += 1
    elapsed = time.perf_counter() - started
    return [
        ["ingest (chunk + embed + SQLite + FTS5, one transaction per document)",
         f"{chunks / elapsed:,.0f} chunks/s", f"{chunks} chunks of <= 256 tokens, {rounds} rounds"],
    ]  # fmt: skip


def _synthetic(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    picks = centres[rng.integers(0, len(centres), n)]
    vectors = picks + 0.6 * rng.standard_normal((n, LOCAL_DIMENSIONS)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


class FixedEmbedder:
    """Stands in for the model at search time: the benchmark's own query vectors."""

    identity = "local/wordllama-l2-supercat"

    def __init__(self) -> None:
        self.next: np.ndarray | None = None

    def embed(self, texts: list[str]) -> object:
        from llmspell_kernel.rag.embeddings import Embedded

        assert self.next is not None
        return Embedded(self.next[None, :], None)


def search_latency(root: Path, n: int, queries: int) -> tuple[list[list[object]], Path]:
    rng = np.random.default_rng(n)
    centres = rng.standard_normal((max(50, n // 200), LOCAL_DIMENSIONS)).astype(np.float32)
    vectors = _synthetic(n, rng, centres)
    probes = _synthetic(queries, rng, centres)
    store_dir = root / f"store-{n}"
    store_dir.mkdir()
    hub = _hub(store_dir)
    service = service_for(hub)
    where = service.where("bench")
    store = service.store
    started = time.perf_counter()
    batch = 2000
    with store.db.transaction():
        scope = store.ensure_scope(
            where.tenant, where.scope, FixedEmbedder.identity, LOCAL_DIMENSIONS, None
        )
        for first in range(0, n, batch):
            rows = [(_words(rng, 12), 12, {"i": first + i}) for i in range(min(batch, n - first))]
            store.add_document(scope, None, {}, rows, vectors[first : first + len(rows)])
        store.touch(scope.id)
    load_s = time.perf_counter() - started
    scope = store.scope(where.tenant, where.scope)
    assert scope is not None
    started = time.perf_counter()
    index = service._index(scope)  # exact below the threshold, HNSW above
    build_s = time.perf_counter() - started
    service.save()
    kind = "exact (numpy)" if index.exact else "HNSW (usearch, f16)"

    keys, matrix = store.vectors(scope.id)
    exact_ms, index_ms, recalls = [], [], []
    for probe in probes:
        t0 = time.perf_counter()
        scores = matrix @ probe
        top = np.argpartition(-scores, 9)[:10]
        top = top[np.argsort(-scores[top])]
        exact_ms.append((time.perf_counter() - t0) * 1000)
        truth = {int(keys[i]) for i in top}
        t0 = time.perf_counter()
        found = index.search(probe, 10)
        index_ms.append((time.perf_counter() - t0) * 1000)
        recalls.append(len(truth & {k for k, _ in found}) / 10)
    embedder = FixedEmbedder()
    service._embedders[(service.settings.provider, "", 0, service.settings.batch_size)] = embedder
    full: dict[str, list[float]] = {"vector": [], "hybrid": []}
    for mode in full:
        for probe in probes:
            embedder.next = probe
            t0 = time.perf_counter()
            service.search(_words(rng, 3), where, top_k=10, mode=mode)
            full[mode].append((time.perf_counter() - t0) * 1000)
    hub.close()

    def ms(samples: list[float]) -> str:
        return f"{median(samples):.3f} / {percentile(samples, 0.95):.3f}"

    rows = [
        [f"{n:,}", "exact numpy (reference)", ms(exact_ms), "1.000", ""],
        [f"{n:,}", f"default index: {kind}", ms(index_ms), f"{np.mean(recalls):.3f}",
         f"built in {build_s:.1f} s (stored in {load_s:.1f} s)"],
        [f"{n:,}", "RAG search, vector mode (SQL rows + scores)", ms(full["vector"]), "", ""],
        [f"{n:,}", "RAG search, hybrid mode (+ FTS5 BM25)", ms(full["hybrid"]), "", ""],
    ]  # fmt: skip
    return rows, store_dir


HOLDER = r"""
import sys, numpy as np
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings
from llmspell_kernel.rag.service import service_for

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
hub = DataHub(DataSettings(path=sys.argv[1]))
service = service_for(hub)
where = service.where("bench")
scope = service.store.scope(where.tenant, where.scope)
before = rss()
index = service._index(scope)
print(f"{before:.0f} {rss():.0f} {len(index)} {index.exact}")
"""


def holder_rss(store_dir: Path) -> list[list[object]]:
    out = subprocess.run(
        [sys.executable, "-c", HOLDER, str(store_dir / "state.db")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    before, after, count, exact = float(out[0]), float(out[1]), int(out[2]), out[3] == "True"
    kind = "exact" if exact else "HNSW, loaded from rag/"
    return [[f"{count:,} vectors ({kind})", f"{before:.0f} MB", f"{after:.0f} MB",
             f"{after - before:.0f} MB"]]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print_table("Ingest throughput, offline model", ["what", "rate", "notes"],
                    ingest_throughput(root))  # fmt: skip
        rows: list[list[object]] = []
        last = None
        for n in sizes:
            found, last = search_latency(root, n, args.queries)
            rows += found
        print_table(
            f"Top-10 search latency, ms median / p95 ({args.queries} queries; synthetic vectors)",
            ["chunks", "search", "latency ms", "recall@10 vs exact", "notes"],
            rows,
        )
        if last is not None:
            print_table(
                "Memory of a process holding the largest index (RSS)",
                ["index", "before loading", "after", "held"],
                holder_rss(last),
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
