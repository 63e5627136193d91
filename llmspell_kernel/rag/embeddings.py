"""Embedding models: the bundled offline one (WordLlama) and providers' `/v1/embeddings`.

Vectors come back L2-normalised float32 rows, so that a dot product is the cosine similarity.
Provider calls go through the provider layer's HTTP endpoint on the process's I/O loop (its
retries, Retry-After and concurrency limit), in batches of `[rag] batch_size` texts, and each
request is recorded in `provider_calls` with operation "embedding" like a chat call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from llmspell_kernel.errors import LlmspellError

LOCAL_MODEL = "wordllama-l2-supercat"
LOCAL_DIMENSIONS = 256
MISSING_LOCAL = (
    "the offline embedding model is not installed: install llmspell[local] "
    "(it brings wordllama, whose wheel carries the model), or set [rag] provider to a provider "
    "with an embeddings endpoint"
)
# Embedding models of the presets that have one; others need [rag] embedding_model.
DEFAULT_MODELS = {
    "openai": "text-embedding-3-small",
    "ollama": "nomic-embed-text",
    "mistral": "mistral-embed",
    "together": "BAAI/bge-base-en-v1.5",
    "fireworks": "nomic-ai/nomic-embed-text-v1.5",
    "gemini": "text-embedding-004",
}


@dataclass
class Embedded:
    """The vectors of a batch of texts (one normalised row each) and the tokens billed."""

    vectors: np.ndarray
    tokens: int | None = None


class Embedder(Protocol):
    """A model turning texts into vectors."""

    @property
    def identity(self) -> str:
        """`provider/model`: what a scope records, so vectors of two models never mix."""
        ...

    def embed(self, texts: list[str]) -> Embedded: ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (an all-zero row stays zero)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


_local_lock = threading.Lock()
_local_model: list[Any] = []


def _import_wordllama() -> Any:
    """The wordllama package, imported without its side effect on logging: its modules call
    `logging.basicConfig(level=INFO)`, which would give the root logger a stderr handler, so
    that every later INFO record of any library (httpx2's "HTTP Request: ...") reached the
    script's stderr. The root logger's handlers and level are put back as they were."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama
    except ImportError:
        raise LlmspellError(MISSING_LOCAL) from None
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
    return wordllama


def _wordllama() -> Any:
    """The WordLlama model, loaded once per process from the files inside its wheel."""
    with _local_lock:
        if not _local_model:
            wordllama = _import_wordllama()
            from pathlib import Path

            # The wheel carries weights/ and tokenizers/; pointing the cache at the package
            # finds both there, and disable_download makes sure nothing is ever fetched.
            package = Path(wordllama.__file__).parent
            try:
                model = wordllama.WordLlama.load(
                    "l2_supercat", cache_dir=package, disable_download=True
                )
            except FileNotFoundError as exc:
                raise LlmspellError(f"the offline embedding model is incomplete: {exc}") from exc
            _local_model.append(model)
        return _local_model[0]


class LocalEmbedder:
    """WordLlama l2_supercat: 256-dimensional static token embeddings, mean-pooled."""

    identity = f"local/{LOCAL_MODEL}"
    dimensions = LOCAL_DIMENSIONS

    def embed(self, texts: list[str]) -> Embedded:
        if not texts:
            return Embedded(np.zeros((0, self.dimensions), dtype=np.float32), 0)
        model = _wordllama()
        return Embedded(normalise(model.embed(texts, batch_size=64)), None)


Recorder = Callable[[Any], None]


class ProviderEmbedder:
    """`POST {base_url}/embeddings` of an OpenAI-compatible provider."""

    def __init__(
        self,
        endpoint: Any,
        *,
        dimensions: int = 0,
        batch_size: int = 64,
        recorder: Recorder | None = None,
        interrupter: Any = None,
    ) -> None:
        self.endpoint = endpoint
        self.dimensions = dimensions
        self.batch_size = max(1, batch_size)
        self.recorder = recorder
        self.interrupter = interrupter
        self.identity = f"{endpoint.name}/{endpoint.model}"

    def embed(self, texts: list[str]) -> Embedded:
        rows: list[np.ndarray] = []
        tokens: int | None = 0
        for start in range(0, len(texts), self.batch_size):
            vectors, used = self._request(texts[start : start + self.batch_size])
            rows.append(vectors)
            tokens = None if tokens is None or used is None else tokens + used
        if not rows:
            return Embedded(np.zeros((0, max(self.dimensions, 1)), dtype=np.float32), 0)
        return Embedded(normalise(np.vstack(rows)), tokens)

    def _request(self, batch: list[str]) -> tuple[np.ndarray, int | None]:
        from llmspell_kernel.io import io_runtime

        endpoint = self.endpoint
        endpoint.require_key()
        body: dict[str, Any] = {"model": endpoint.model, "input": batch}
        body["encoding_format"] = "float"
        if self.dimensions:
            body["dimensions"] = self.dimensions
        started = time.time()
        try:
            data = io_runtime().run(_post(endpoint, body), interrupter=self.interrupter)
            vectors, used, model = _parse(data, len(batch), endpoint)
        except BaseException as exc:
            self._record(started, None, endpoint.model, exc)
            raise
        self._record(started, used, model, None)
        return vectors, used

    def _record(
        self, started: float, tokens: int | None, model: str, error: BaseException | None
    ) -> None:
        if self.recorder is None:
            return
        from llmspell_kernel.providers.types import Usage
        from llmspell_kernel.usage import prices
        from llmspell_kernel.usage.log import ProviderCall

        usage = Usage(prompt_tokens=tokens, completion_tokens=0 if tokens is not None else None)
        price = prices.find_price(
            self.endpoint.name,
            model,
            provider_type=self.endpoint.provider_type,
            overrides=prices.configured_overrides(),
            at=started,
        )
        status = "ok"
        if error is not None:
            from llmspell_kernel.io import IOInterrupted

            status = "interrupted" if isinstance(error, IOInterrupted) else "error"
        call = ProviderCall(
            correlation_id=f"rag-{time.time_ns():x}",
            provider=self.endpoint.name,
            model=model,
            at=started,
            agent="RAG",
            operation="embedding",
            input_tokens=tokens,
            output_tokens=0 if tokens is not None else None,
            cost_pico_usd=prices.cost(price, usage) if error is None else None,
            price_checked=price.checked if price is not None else None,
            latency_ms=(time.time() - started) * 1000.0,
            status=status,
            error=None if error is None else str(error).splitlines()[0][:500],
        )
        self.recorder(call)


_http: dict[Any, Any] = {}  # Endpoint -> HttpEndpoint, touched only on the I/O loop


async def _post(endpoint: Any, body: dict[str, Any]) -> Any:
    http = _http.get(endpoint)
    if http is None:
        from llmspell_kernel.providers.http import HttpEndpoint

        http = _http[endpoint] = HttpEndpoint(endpoint)
    key = endpoint.api_key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await http.post_json("/embeddings", body, headers)


def _parse(data: Any, expected: int, endpoint: Any) -> tuple[np.ndarray, int | None, str]:
    """(vectors in input order, prompt tokens, model) of an OpenAI embeddings reply."""
    from llmspell_kernel.providers.types import ProviderError

    where = f"provider '{endpoint.name}' (model '{endpoint.model}')"
    try:
        items = sorted(data["data"], key=lambda item: int(item.get("index", 0)))
        vectors = np.array([item["embedding"] for item in items], dtype=np.float32)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderError(f"{where}: unexpected embeddings reply (no data[].embedding)") from exc
    if vectors.ndim != 2 or len(vectors) != expected:
        raise ProviderError(
            f"{where}: the embeddings reply has {len(vectors)} vectors for {expected} inputs"
        )
    usage = data.get("usage") if isinstance(data, dict) else None
    tokens = None
    if isinstance(usage, dict):
        raw = usage.get("prompt_tokens", usage.get("total_tokens"))
        tokens = int(raw) if isinstance(raw, int | float) else None
    return vectors, tokens, str(data.get("model") or endpoint.model)


def make_embedder(
    provider: str,
    model: str = "",
    *,
    dimensions: int = 0,
    batch_size: int = 64,
    recorder: Recorder | None = None,
    interrupter: Any = None,
) -> Embedder:
    """The embedder `[rag] provider` / `embedding_model` name."""
    name = (provider or "local").strip().lower()
    if name == "local":
        if model and model not in (LOCAL_MODEL, "wordllama"):
            raise LlmspellError(
                f"unknown local embedding model '{model}' (the bundled one is {LOCAL_MODEL})"
            )
        return LocalEmbedder()
    from llmspell_kernel.providers.resolve import resolve_endpoint

    chosen = model or DEFAULT_MODELS.get(name, "")
    if not chosen:
        raise LlmspellError(
            f"no embedding model known for provider '{name}': set [rag] embedding_model"
        )
    endpoint = resolve_endpoint(f"{name}/{chosen}", override="")
    if endpoint.provider_type != "openai":
        raise LlmspellError(
            f"provider '{name}' ({endpoint.provider_type}) has no embeddings endpoint llmspell "
            "speaks; set [rag] provider to local or an OpenAI-compatible provider"
        )
    return ProviderEmbedder(
        endpoint,
        dimensions=dimensions,
        batch_size=batch_size,
        recorder=recorder,
        interrupter=interrupter,
    )


def embedding_providers() -> list[str]:
    """Names `[rag] provider` may take: local, the OpenAI-format presets and configured
    OpenAI-format providers."""
    from llmspell_kernel.providers.resolve import PRESETS, current_settings

    names = {"local"}
    names.update(name for name, preset in PRESETS.items() if preset.provider_type == "openai")
    for name, entry in current_settings().entries.items():
        if (entry.provider_type or "openai").lower() == "openai":
            names.add(name)
    return sorted(names)
