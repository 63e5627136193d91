"""Provider-neutral request and reply records (no HTTP client imported here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmspell_kernel.errors import LlmspellError

# A chat message in the neutral form both wire formats are built from:
# {"role": "system"|"user"|"assistant"|"tool", "content": str,
#  "tool_calls": [ToolCall, ...] (assistant), "tool_call_id": str (tool)}
Message = dict[str, Any]


class ProviderError(LlmspellError):
    """A provider call failed; the message names provider, model and cause in one line."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After)


@dataclass
class ToolSpec:
    """A tool the model may call: its name, description and JSON-schema parameters."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class ToolCall:
    """One call the model asked for; `arguments` is the parsed JSON object."""

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""


@dataclass
class Usage:
    """Token counts as the provider reported them (None where it reported nothing)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None  # of prompt_tokens, read from a prompt cache
    cache_write_tokens: int | None = None  # of prompt_tokens, written to a prompt cache

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)


@dataclass
class ChatRequest:
    """One chat call: `response_format` is None, "json", or {"schema": {...}, "name": ...}."""

    model: str
    messages: list[Message]
    temperature: float | None = None
    max_tokens: int | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    response_format: str | dict[str, Any] | None = None


@dataclass
class ChatResult:
    """The model's reply."""

    text: str
    model: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


@dataclass
class StreamDelta:
    """A piece of a streamed reply: text as it arrives; the last delta carries `result`."""

    text: str = ""
    result: ChatResult | None = None


def parse_arguments(raw: str) -> dict[str, Any]:
    """A tool call's JSON arguments as an object (a non-object value becomes `{value=...}`)."""
    if not raw.strip():
        return {}
    import json

    try:
        value = json.loads(raw)
    except ValueError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"value": value}
