"""The OpenAI Chat Completions wire format (OpenAI, Groq, Ollama, vLLM, llama.cpp, LM Studio,
OpenRouter, Together, Mistral, Fireworks, DeepSeek, ...)."""

from __future__ import annotations

import json
import re
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

# GPT-5 and the o-series reject `max_tokens` and take `max_completion_tokens`.
_COMPLETION_TOKENS = re.compile(r"^(?:[\w.-]+/)?(?:gpt-5|o\d)", re.IGNORECASE)


def uses_max_completion_tokens(model: str) -> bool:
    """True for models that need `max_completion_tokens` instead of `max_tokens`."""
    return bool(_COMPLETION_TOKENS.match(model))


class OpenAIChat:
    """Chat Completions against one endpoint."""

    def __init__(self, http: HttpEndpoint) -> None:
        self.http = http

    def headers(self) -> dict[str, str]:
        key = self.http.endpoint.require_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [_wire_message(m) for m in request.messages],
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            key = (
                "max_completion_tokens"
                if uses_max_completion_tokens(request.model)
                else ("max_tokens")
            )
            body[key] = request.max_tokens
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        if request.response_format == "json":
            body["response_format"] = {"type": "json_object"}
        elif isinstance(request.response_format, dict):
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.response_format.get("name", "output"),
                    "schema": request.response_format["schema"],
                    "strict": bool(request.response_format.get("strict", False)),
                },
            }
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: ChatRequest) -> ChatResult:
        data = await self.http.post_json(
            "/chat/completions", self.body(request, stream=False), self.headers()
        )
        try:
            choice = data["choices"][0]
            message = choice["message"]
            calls = [_tool_call(c) for c in message.get("tool_calls") or []]
            return ChatResult(
                text=message.get("content") or "",
                model=data.get("model") or request.model,
                tool_calls=calls,
                usage=_usage(data.get("usage")),
                finish_reason=choice.get("finish_reason"),
            )
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            raise ProviderError(
                f"{self.http.where()}: unexpected reply (no choices[0].message): "
                f"{json.dumps(data)[:200]}"
            ) from exc

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamDelta]:
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage = Usage()
        finish: str | None = None
        model = request.model
        async for _event, data in self.http.stream_events(
            "/chat/completions", self.body(request, stream=True), self.headers()
        ):
            if not isinstance(data, dict):
                continue
            if data.get("error"):
                raise ProviderError(f"{self.http.where()}: {data['error']}")
            model = data.get("model") or model
            if data.get("usage"):
                usage = _usage(data["usage"])
            for choice in data.get("choices") or []:
                delta = choice.get("delta") or {}
                piece = delta.get("content")
                if piece:
                    text.append(piece)
                    yield StreamDelta(text=piece)
                for call in delta.get("tool_calls") or []:
                    slot = calls.setdefault(
                        int(call.get("index", len(calls))), {"id": "", "name": "", "args": ""}
                    )
                    function = call.get("function") or {}
                    slot["id"] = call.get("id") or slot["id"]
                    slot["name"] = function.get("name") or slot["name"]
                    slot["args"] += function.get("arguments") or ""
                finish = choice.get("finish_reason") or finish
        if finish is None:
            raise ProviderError(f"{self.http.where()}: connection closed mid-stream")
        tool_calls = [
            ToolCall(s["id"], s["name"], parse_arguments(s["args"]), s["args"])
            for _, s in sorted(calls.items())
        ]
        result = ChatResult("".join(text), model, tool_calls, usage, finish)
        yield StreamDelta(result=result)


def _wire_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message["role"], "content": message.get("content", "")}
    calls = message.get("tool_calls")
    if calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": c.raw_arguments or json.dumps(c.arguments),
                },
            }
            for c in calls
        ]
        if not out["content"]:
            out["content"] = None
    if message["role"] == "tool":
        out["tool_call_id"] = message["tool_call_id"]
    return out


def _tool_call(call: dict[str, Any]) -> ToolCall:
    function = call.get("function") or {}
    raw = function.get("arguments") or ""
    if isinstance(raw, dict):
        return ToolCall(call.get("id") or "", function.get("name") or "", raw, json.dumps(raw))
    return ToolCall(call.get("id") or "", function.get("name") or "", parse_arguments(raw), raw)


def _usage(data: Any) -> Usage:
    if not isinstance(data, dict):
        return Usage()
    details = data.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=data.get("prompt_tokens"),
        completion_tokens=data.get("completion_tokens"),
        cached_tokens=details.get("cached_tokens") if isinstance(details, dict) else None,
    )
