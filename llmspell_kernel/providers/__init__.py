"""LLM providers of our own over httpx2: the OpenAI Chat Completions and Anthropic Messages wire
formats, and the bundled local model. Importing this package imports no HTTP client; the client
modules load on the first request."""

from __future__ import annotations

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The loaded configuration the kernel started with (read lazily by `resolve.current_settings`).
configured: list[Any] = []


def configure(config: Any) -> None:
    """Use this `llmspell_kernel.config.Config` for provider resolution in this process."""
    configured[:] = [config]
