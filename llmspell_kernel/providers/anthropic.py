"""The Anthropic Messages wire format: system prompt apart, `max_tokens` required, content
blocks for text, tool use and tool results."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from llmspell_kernel.providers.http import HttpEndpoint
from llmspell_kernel.providers.types import (
    ChatRequest,
    ChatResult,
    Message,
    ProviderError,
    StreamDelta,
    ToolCall,
    Usage,
    parse_arguments,
)

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
JSON_INSTRUCTION = "Reply with one JSON value only, no prose and no code fences."


class AnthropicMessages:
    """The Messages API against one endpoint."""

    def __init__(self, http: HttpEndpoint) -> None:
        self.http = http

    def headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        key = self.http.endpoint.require_key()
        if key:
            headers["x-api-key"] = key
        return headers

    def body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        system = [m["content"] for m in request.messages if m["role"] == "system"]
        if request.response_format is not None:  # the API has no JSON mode: ask for it
            schema = request.response_format
            system.append(
                JSON_INSTRUCTION
                if schema == "json"
                else f"{JSON_INSTRUCTION} It must match this JSON schema: "
                + json.dumps(schema["schema"])  # type: ignore[index]
            )
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": _wire_messages([m for m in request.messages if m["role"] != "system"]),
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        if stream:
            body["stream"] = True
        return body

    async def complete(self, request: ChatRequest) -> ChatResult:
        data = await self.http.post_json(
            "/messages", self.body(request, stream=False), self.headers()
        )
        try:
            text, calls = [], []
            for block in data["content"]:
                if block.get("type") == "text":
                    text.append(block.get("text", ""))
                elif block.get("type") == "tool_use":
                    arguments = block.get("input") or {}
                    calls.append(
                        ToolCall(block["id"], block["name"], arguments, json.dumps(arguments))
                    )
            return ChatResult(
                "".join(text),
                data.get("model") or request.model,
                calls,
                _usage(data.get("usage")),
                data.get("stop_reason"),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderError(
                f"{self.http.where()}: unexpected reply (no content blocks): "
                f"{json.dumps(data)[:200]}"
            ) from exc

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamDelta]:
        text: list[str] = []
        blocks: dict[int, dict[str, str]] = {}
        counts: dict[str, Any] = {}
        completion = None
        finish: str | None = None
        stopped = False
        model = request.model
        async for event, data in self.http.stream_events(
            "/messages", self.body(request, stream=True), self.headers()
        ):
            kind = data.get("type", event) if isinstance(data, dict) else event
            if kind == "error":
                error = data.get("error") or {}
                raise ProviderError(
                    f"{self.http.where()}: {error.get('type', 'error')}: "
                    f"{error.get('message', '')}".rstrip(": ")
                )
            if kind == "message_start":
                message = data.get("message") or {}
                model = message.get("model") or model
                usage = message.get("usage") or {}
                counts.update(usage)
                completion = usage.get("output_tokens", completion)
            elif kind == "content_block_start":
                block = data.get("content_block") or {}
                if block.get("type") == "tool_use":
                    blocks[int(data.get("index", 0))] = {
                        "id": block.get("id", ""),
                        "name": block.get("name", ""),
                        "args": "",
                    }
            elif kind == "content_block_delta":
                delta = data.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    text.append(delta["text"])
                    yield StreamDelta(text=delta["text"])
                elif delta.get("type") == "input_json_delta":
                    slot = blocks.get(int(data.get("index", 0)))
                    if slot is not None:
                        slot["args"] += delta.get("partial_json", "")
            elif kind == "message_stop":
                stopped = True
            elif kind == "message_delta":
                finish = (data.get("delta") or {}).get("stop_reason") or finish
                usage = data.get("usage") or {}
                completion = usage.get("output_tokens", completion)
                counts.update({k: v for k, v in usage.items() if v is not None})
        if not stopped:
            raise ProviderError(f"{self.http.where()}: connection closed mid-stream")
        calls = [
            ToolCall(b["id"], b["name"], parse_arguments(b["args"]), b["args"])
            for _, b in sorted(blocks.items())
        ]
        usage = _usage({**counts, "output_tokens": completion})
        yield StreamDelta(result=ChatResult("".join(text), model, calls, usage, finish))


def _wire_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Neutral messages as Messages-API turns; consecutive tool results share one user turn."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": message.get("content", ""),
            }
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif role == "assistant" and message.get("tool_calls"):
            content: list[dict[str, Any]] = []
            if message.get("content"):
                content.append({"type": "text", "text": message["content"]})
            content += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in message["tool_calls"]
            ]
            out.append({"role": "assistant", "content": content})
        else:
            out.append({"role": role, "content": message.get("content", "")})
    return out


def _usage(data: Any) -> Usage:
    """Anthropic's `input_tokens` leaves out prompt-cache reads and writes: prompt_tokens is the
    whole input, as in the OpenAI format (what prices and usage totals count)."""
    if not isinstance(data, dict):
        return Usage()
    uncached = data.get("input_tokens")
    read = data.get("cache_read_input_tokens") or 0
    written = data.get("cache_creation_input_tokens") or 0
    prompt = None if uncached is None else int(uncached) + int(read) + int(written)
    return Usage(
        prompt,
        data.get("output_tokens"),
        data.get("cache_read_input_tokens"),
        data.get("cache_creation_input_tokens"),
    )
