"""LLM providers of our own over httpx2: the OpenAI Chat Completions and Anthropic Messages wire
formats, and the bundled local model. Importing this package imports no HTTP client; the client
modules load on the first request. Start-up imports none of it (`llmspell exec 'return 1'`)."""

from __future__ import annotations

# The loaded configuration the kernel started with (read lazily by `resolve.current_settings`):
# the list of llmspell_kernel.config, which the kernel sets without importing this package.
from llmspell_kernel.config import configure, configured

__all__ = ["configure", "configured"]
