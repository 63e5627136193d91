"""An agent and its turns. A turn is one `execute`: request, then zero or more rounds of tool
calls (run by the Lua side, results handed back), then the final reply."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.providers.resolve import Endpoint, resolve_endpoint
from llmspell_kernel.providers.types import (
    ChatRequest,
    ChatResult,
    Message,
    StreamDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

if TYPE_CHECKING:  # the I/O runtime (asyncio) loads on the first provider call, not on build()
    from concurrent.futures import Future

    from llmspell_kernel.io import Interruptible


@dataclass
class TurnContext:
    """`agent:execute_with_context(input, ctx)`: which conversation the turn continues, which
    session its provider calls are recorded in, and a scope the caller names (all optional)."""

    session_id: str | None = None
    conversation_id: str | None = None
    scope: str | None = None

    @classmethod
    def from_table(cls, value: Any) -> TurnContext:
        """From the Lua table (converted); LlmspellError for anything but optional strings."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise LlmspellError("context must be a table {session_id, conversation_id, scope}")
        unknown = sorted(set(value) - {"session_id", "conversation_id", "scope"})
        if unknown:
            raise LlmspellError(f"unknown context field '{unknown[0]}'")
        fields: dict[str, str | None] = {}
        for name in ("session_id", "conversation_id", "scope"):
            item = value.get(name)
            if item is not None and not isinstance(item, str | int):
                raise LlmspellError(f"context.{name} must be a string")
            fields[name] = None if item is None else str(item)
        return cls(**fields)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class AgentConfig:
    """What a builder (or `Agent.register`) sets; defaults as lua-api.md 2.8 gives them."""

    name: str
    model: str | None = None
    provider: str | None = None
    description: str = ""
    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    base_url: str | None = None
    api_key: str | None = None
    max_conversation_length: int = 100
    allowed_tools: list[str] = field(default_factory=list)
    max_execution_time: float = 300.0
    max_memory_mb: int = 512
    max_tool_calls: int = 100
    max_recursion_depth: int = 10
    response_format: str | dict[str, Any] | None = None


@dataclass
class Metrics:
    executions: int = 0
    failures: int = 0
    total_tokens: int = 0
    total_cost: float = 0.0
    total_time_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        runs = self.executions + self.failures
        return {
            "executions": self.executions,
            "failures": self.failures,
            "total_tokens": self.total_tokens,
            "total_cost": self.total_cost,
            "avg_execution_time_ms": self.total_time_ms / runs if runs else 0.0,
        }


class Agent:
    """One configured agent with its conversation history."""

    def __init__(self, config: AgentConfig, endpoint: Endpoint) -> None:
        self.config = config
        self.endpoint = endpoint
        self.history: list[Message] = []
        # execute_with_context{conversation_id = ...}: separate histories beside the default one
        self.conversations: dict[str, list[Message]] = {}
        self.metrics = Metrics()
        self.state = "ready"

    @classmethod
    def build(cls, config: AgentConfig, override: str | None = None) -> Agent:
        """Resolve the provider now (no network; a missing key waits for the first call).
        `override` routes the agent to that model (None: `providers.model_override`)."""
        endpoint = resolve_endpoint(
            config.model,
            provider=config.provider,
            base_url=config.base_url,
            api_key=config.api_key,
            override=override,
        )
        if endpoint.provider_type == "local":
            from llmspell_kernel.providers.local import prepare

            prepare(endpoint)
        return cls(config, endpoint)

    def public_config(self) -> dict[str, Any]:
        """`agent:get_config()`."""
        c = self.config
        return {
            "name": c.name,
            "description": c.description,
            "provider": self.endpoint.name,
            "model": self.endpoint.model,
            "temperature": c.temperature,
            "max_tokens": c.max_tokens,
            "system_prompt": c.system_prompt,
            "allowed_tools": list(c.allowed_tools),
            "max_conversation_length": c.max_conversation_length,
            "max_tool_calls": c.max_tool_calls,
        }

    def begin(
        self,
        text: str,
        parameters: dict[str, Any],
        tools: list[ToolSpec],
        context: TurnContext | None = None,
    ) -> Turn:
        """Start one execution with the user's text and per-call parameter overrides;
        `context` (execute_with_context) picks the conversation and the recording session."""
        c = self.config
        context = context or TurnContext()
        messages: list[Message] = []
        system = parameters.get("system_prompt", c.system_prompt)
        if system:
            messages.append({"role": "system", "content": str(system)})
        messages += self.conversation(context.conversation_id)
        user: Message = {"role": "user", "content": text}
        messages.append(user)
        temperature = parameters.get("temperature", c.temperature)
        asked = parameters.get("max_tokens", c.max_tokens)
        max_tokens = None if asked is None else int(asked)
        cap = self.endpoint.max_tokens_cap
        capped = cap is not None and (max_tokens is None or max_tokens > cap)
        request = ChatRequest(
            model=self.endpoint.model,
            messages=messages,
            temperature=None if temperature is None else float(temperature),
            max_tokens=cap if capped else max_tokens,
            tools=tools,
            response_format=parameters.get("response_format", c.response_format),
        )
        self.state = "running"
        turn = Turn(self, request, user, context)
        if capped:
            turn.capped_from = (max_tokens,)
        return turn

    def conversation(self, conversation_id: str | None) -> list[Message]:
        """The history of one conversation (None: the agent's default one)."""
        if conversation_id is None:
            return self.history
        return self.conversations.setdefault(conversation_id, [])

    def remember(self, messages: list[Message], conversation_id: str | None = None) -> None:
        """Keep the newest `max_conversation_length` messages of that conversation's history."""
        history = self.conversation(conversation_id) + messages
        limit = max(0, int(self.config.max_conversation_length))
        if len(history) > limit:
            history = history[len(history) - limit :] if limit else []
        if conversation_id is None:
            self.history = history
        else:
            self.conversations[conversation_id] = history

    def snapshot(self) -> dict[str, Any]:
        """Conversation and config for `save_state`."""
        return {
            "config": self.public_config(),
            "conversation": [
                {"role": m["role"], "content": m.get("content", "")}
                for m in self.history
                if m["role"] in ("user", "assistant")
            ],
        }

    def restore(self, data: Any) -> bool:
        if not isinstance(data, dict) or not isinstance(data.get("conversation"), list):
            return False
        self.history = [
            {"role": str(m.get("role")), "content": str(m.get("content", ""))}
            for m in data["conversation"]
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
        ]
        return True


class Turn:
    """One execution in progress (see the module docstring)."""

    def __init__(
        self, agent: Agent, request: ChatRequest, user: Message, context: TurnContext
    ) -> None:
        self.id = os.urandom(16).hex()  # this turn (one execute); `turn_id` in its metadata
        # The execution it belongs to (a kernel request's msg_id, set by the Agent global):
        # the correlation id of its provider calls, hooks and events.
        self.correlation_id = self.id
        self.agent = agent
        self.context = context
        self.request = request
        self.new_messages: list[Message] = [user]
        self.started = time.perf_counter()
        self.usage = Usage(0, 0)
        self.reported_usage = False
        self.tool_calls_made: list[dict[str, Any]] = []
        self.stream: Any = None  # a ChatStream while streaming
        self.pending: list[ToolCall] = []  # tool calls the Lua side is running
        self.finished = False
        # Called with each provider call's record (llmspell_kernel/usage/log.py ProviderCall).
        self.recorder: Callable[[Any], None] | None = None
        self.cost_pico: int | None = 0  # None once a call's cost is unknown
        self._call_started = 0.0
        self._call_wall = 0.0
        self._first_token_ms: float | None = None
        # (the max_tokens asked for,) when the endpoint's cap lowered it (or set one: None)
        self.capped_from: tuple[int | None] | None = None

    def submit(self) -> Future[ChatResult]:
        """Start the next provider call without waiting (a workflow branch); hand the future
        back to `step` once it is done."""
        from llmspell_kernel.providers import clients

        self._call_started, self._call_wall = time.perf_counter(), time.time()
        self._first_token_ms = None
        try:
            return clients.submit(self.agent.endpoint, self.request)
        except BaseException as exc:
            self._record(False, None, exc)
            self.fail()
            raise

    def step(
        self,
        interrupter: Interruptible | None,
        streaming: bool,
        submitted: Future[ChatResult] | None = None,
    ) -> dict[str, Any]:
        """Advance: {"kind": "chunk", "text"} | {"kind": "tools", "calls"} | {"kind": "done"}.
        `submitted`: the finished call of `submit` (then nothing waits here)."""
        from llmspell_kernel.providers import clients

        endpoint = self.agent.endpoint
        if submitted is None and (not streaming or self.stream is None):
            self._call_started, self._call_wall = time.perf_counter(), time.time()
            self._first_token_ms = None
        try:
            if submitted is not None:
                result = clients.finished(submitted)
            elif streaming:
                if self.stream is None:
                    self.stream = clients.ChatStream(endpoint, self.request, interrupter)
                delta: StreamDelta | None = self.stream.next()
                if delta is None:
                    raise LlmspellError(f"{endpoint.spec}: the stream ended without a reply")
                if delta.result is None:
                    if self._first_token_ms is None and delta.text:
                        self._first_token_ms = (time.perf_counter() - self._call_started) * 1000
                    return {"kind": "chunk", "text": delta.text}
                self.stream = None
                result = delta.result
            else:
                result = clients.complete(endpoint, self.request, interrupter)
        except BaseException as exc:
            self._record(streaming, None, exc)
            self.fail()
            raise
        self._record(streaming, result, None)
        return self._handle(result)

    def _record(
        self, streaming: bool, result: ChatResult | None, error: BaseException | None
    ) -> None:
        """Price one provider call and hand its record to the recorder."""
        from llmspell_kernel.io import IOInterrupted
        from llmspell_kernel.usage import prices
        from llmspell_kernel.usage.log import ProviderCall

        endpoint = self.agent.endpoint
        usage = result.usage if result is not None else Usage()
        model = self._reported_model(result)
        price = None
        pico = None
        if result is not None:
            price = prices.find_price(
                endpoint.name,
                model,
                provider_type=endpoint.provider_type,
                overrides=prices.configured_overrides(),
                at=self._call_wall,
            )
            pico = prices.cost(price, usage)
            if pico is None or self.cost_pico is None:
                self.cost_pico = None
            else:
                self.cost_pico += pico
        if error is None:
            status, message = "ok", None
        elif isinstance(error, IOInterrupted | KeyboardInterrupt):
            status, message = "interrupted", str(error) or "interrupted"
        else:
            status = "error"
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        call = ProviderCall(
            correlation_id=self.correlation_id,
            provider=endpoint.name,
            model=model,
            at=self._call_wall,
            agent=self.agent.config.name,
            operation="stream" if streaming else "chat",
            input_tokens=usage.prompt_tokens,
            cached_input_tokens=usage.cached_tokens,
            output_tokens=usage.completion_tokens,
            cost_pico_usd=pico,
            price_checked=price.checked if price is not None else None,
            latency_ms=round((time.perf_counter() - self._call_started) * 1000, 3),
            first_token_ms=None if self._first_token_ms is None else round(self._first_token_ms, 3),
            status=status,
            error=message,
        )
        if self.recorder is not None:
            self.recorder(call)

    def _reported_model(self, result: ChatResult | None) -> str:
        endpoint = self.agent.endpoint
        if result is None or endpoint.provider_type == "local" or not result.model:
            return endpoint.model
        return result.model

    def _handle(self, result: ChatResult) -> dict[str, Any]:
        self._count(result.usage)
        limit = self.agent.config.max_tool_calls
        within = len(self.tool_calls_made) + len(result.tool_calls) <= limit
        if result.tool_calls and self.request.tools and within:
            message: Message = {
                "role": "assistant",
                "content": result.text,
                "tool_calls": result.tool_calls,
            }
            self.request.messages.append(message)
            self.new_messages.append(message)
            self.pending = result.tool_calls
            self.tool_calls_made += [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in result.tool_calls
            ]
            return {
                "kind": "tools",
                "calls": [
                    {"id": c.id, "name": c.name, "arguments": c.arguments}
                    for c in result.tool_calls
                ],
            }
        return {"kind": "done", "output": self._finish(result)}

    def tool_results(self, results: list[str]) -> None:
        """The Lua side ran `pending` and hands back one text per call, in order.

        Past `max_tool_calls` the next request offers no tools, so the model must answer.
        """
        for call, text in zip(self.pending, results, strict=False):
            message: Message = {"role": "tool", "tool_call_id": call.id, "content": text}
            self.request.messages.append(message)
            self.new_messages.append(message)
        self.pending = []
        if len(self.tool_calls_made) >= self.agent.config.max_tool_calls:
            self.request.tools = []

    def _count(self, usage: Usage) -> None:
        """Add one call's tokens to the turn's (the rounds of a tool loop add up)."""
        if usage.prompt_tokens is not None or usage.completion_tokens is not None:
            self.reported_usage = True
        total = self.usage
        total.prompt_tokens = (total.prompt_tokens or 0) + (usage.prompt_tokens or 0)
        total.completion_tokens = (total.completion_tokens or 0) + (usage.completion_tokens or 0)
        if usage.cached_tokens is not None:
            total.cached_tokens = (total.cached_tokens or 0) + usage.cached_tokens

    def _finish(self, result: ChatResult) -> dict[str, Any]:
        agent = self.agent
        reply: Message = {"role": "assistant", "content": result.text}
        self.new_messages.append(reply)
        # History keeps the user's text and the final reply (tool rounds stay in this turn).
        agent.remember([self.new_messages[0], reply], self.context.conversation_id)
        elapsed = (time.perf_counter() - self.started) * 1000
        usage = self.usage if self.reported_usage else Usage()
        agent.metrics.executions += 1
        agent.metrics.total_tokens += usage.total_tokens or 0
        agent.metrics.total_time_ms += elapsed
        from llmspell_kernel.usage.prices import usd

        cost = usd(self.cost_pico) if self.reported_usage else None
        if cost is not None:
            agent.metrics.total_cost += cost
        agent.state = "ready"
        self.finished = True
        endpoint = agent.endpoint
        metadata: dict[str, Any] = {
            "agent": agent.config.name,
            "provider": endpoint.name,
            "model": self._reported_model(result),
            "token_count": usage.total_tokens,
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
                "cached_tokens": usage.cached_tokens,
            },
            # USD from the price table × the reported tokens; nil when the price is unknown
            "cost": cost,
            "correlation_id": self.correlation_id,
            "turn_id": self.id,
            "execution_time_ms": round(elapsed, 3),
            "finish_reason": result.finish_reason,
            "tool_call_count": len(self.tool_calls_made),
        }
        context = self.context.as_dict()
        if context:
            metadata["context"] = context
        if endpoint.overridden_from is not None:
            metadata["model_override"] = endpoint.spec
            metadata["requested_model"] = endpoint.overridden_from
        if self.capped_from is not None:
            # the local model's reply cap under the override (nil requested: the script set none)
            metadata["max_tokens_cap"] = self.request.max_tokens
            metadata["requested_max_tokens"] = self.capped_from[0]
        output: dict[str, Any] = {"text": result.text, "metadata": metadata}
        data = _json_data(result.text)
        if data is not None:
            output["data"] = data
        if self.tool_calls_made:
            output["tool_calls"] = self.tool_calls_made
        return output

    def fail(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if not self.finished:
            self.agent.metrics.failures += 1
            self.agent.state = "ready"
            self.finished = True


def _json_data(text: str) -> Any:
    """The parsed value when the reply is a JSON object or array (lua-api.md 2.8)."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    import json

    try:
        return json.loads(stripped)
    except ValueError:
        return None
