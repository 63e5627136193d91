"""The Python side of the `Agent` and `Provider` globals (lua-api.md 2.7, 2.8).

agent.lua drives each execution: `begin` → `step` (a provider call, or the next streamed
chunk) → tool calls run in Lua → `tool_results` → `step` … until a step is "done". Provider
calls wait on the I/O loop and are cancelled by the engine's interrupts. Failures come back as
`(false, message)`; agent.lua raises them with the caller's position.
"""

from __future__ import annotations

import os

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.globals.state import text_arg
from llmspell_kernel.lua.host import answer

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

AGENT_FIELDS = {
    "name": str,
    "model": str,
    "provider": str,
    "description": str,
    "system_prompt": str,
    "temperature": float,
    "max_tokens": int,
    "base_url": str,
    "api_key": str,
    "max_conversation_length": int,
    "max_execution_time": float,
    "max_memory_mb": int,
    "max_tool_calls": int,
    "max_recursion_depth": int,
}


def _config_from(raw: Any) -> Any:
    from llmspell_kernel.agents.agent import AgentConfig

    if not isinstance(raw, dict):
        raise LlmspellError("agent configuration must be a table")
    values: dict[str, Any] = {}
    for key, kind in AGENT_FIELDS.items():
        value = raw.get(key)
        if value is None:
            continue
        if kind is str:
            values[key] = text_arg(value, key)
        else:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise LlmspellError(f"{key} must be a number")
            if kind is int and not float(value).is_integer():
                raise LlmspellError(f"{key} must be an integer, got {value}")
            values[key] = kind(value)
    tools = raw.get("allowed_tools") or []
    if isinstance(tools, dict):  # {} from Lua is an empty array
        tools = list(tools.values())
    values["allowed_tools"] = [text_arg(t, "tool name") for t in tools]
    if not values.get("name"):
        values["name"] = f"agent_{os.urandom(4).hex()}"
    return AgentConfig(**values)


def install_agent_globals(engine: Any) -> Any:
    """Define `Agent` and `Provider` in the engine's script environment; returns agent.lua's
    private table for workflow.lua (the branch coroutines whose provider calls may yield)."""
    agents: dict[str, Any] = {}
    turns: dict[str, Any] = {}

    def tools() -> Any:  # the Tool global's registry (loaded on first use)
        return engine.tools.registry

    def agent(name: Any) -> Any:
        found = agents.get(text_arg(name, "agent name"))
        if found is None:
            raise LlmspellError(f"Agent '{name}' not found")
        return found

    def build(raw: Any) -> str:
        from llmspell_kernel.agents.agent import Agent

        config = _config_from(engine.to_python(raw))
        agents[config.name] = Agent.build(config, override=engine.model_override)
        return config.name

    def begin(name: Any, raw_input: Any, context: Any = None) -> str:
        target = agent(name)
        value = engine.to_python(raw_input)
        if isinstance(value, str):
            value = {"text": value}
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise LlmspellError("input must be a string or a table {text = ...}")
        parameters = value.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise LlmspellError("input.parameters must be a table")
        specs = []
        for tool in target.config.allowed_tools:
            spec = tools().spec(tool)
            if spec is None:
                raise LlmspellError(f"Tool '{tool}' not found")
            specs.append(spec)
        from llmspell_kernel.agents.agent import TurnContext

        text = value.get("text")
        if text is None:  # upstream's getting-started RAG example sends {prompt = ...}
            text = value.get("prompt")
        turn = target.begin(
            "" if text is None else str(text),
            parameters,
            specs,
            TurnContext.from_table(engine.to_python(context)),
        )
        turn.correlation_id = engine.correlation_id or turn.id
        turn.recorder = lambda call: record_call(call, turn.context.session_id)
        turns[turn.id] = turn
        return turn.id

    def record_call(call: Any, session_id: str | None = None) -> None:
        """Each provider call goes into the state database's provider_calls (usage/log.py)."""
        hub = engine.data
        tracer = engine.events.tracer  # OpenTelemetry, when OTEL_* variables ask for it
        if tracer is not None:
            tracer.provider_call(call)
        try:
            call.session_id = session_id or hub.current_session()
            hub.record_call(call)  # written with the execution's end (DataHub.record_call)
        except Exception as exc:  # a store that cannot be written must not fail the call
            from llmspell_kernel.logs import get_logger

            get_logger("llmspell.agents").warning("could not record a provider call: %s", exc)

    def submit(turn_id: str) -> int:
        """Start the turn's provider call on the I/O loop; a handle for workflow.lua to wait
        on (agent.lua does this inside a workflow branch instead of blocking in `step`)."""
        from llmspell_kernel.workflows.concurrency import pending_of

        turn = turns.get(turn_id)
        if turn is None:
            raise LlmspellError("this execution has already ended")
        try:
            future = turn.submit()
        except BaseException:
            turns.pop(turn_id, None)
            raise
        return pending_of(engine).add(future)

    def step(turn_id: str, streaming: bool = False, handle: int | None = None) -> Any:
        turn = turns.get(turn_id)
        if turn is None:
            raise LlmspellError("this execution has already ended")
        submitted = None
        if handle is not None:
            from llmspell_kernel.workflows.concurrency import pending_of

            submitted = pending_of(engine).take(int(handle))
        try:
            result = turn.step(engine, bool(streaming), submitted)
        except BaseException:
            turns.pop(turn_id, None)
            raise
        if result["kind"] == "done":
            turns.pop(turn_id, None)
        return engine.to_lua(result)

    def tool_results(turn_id: str, results: Any) -> None:
        turn = turns.get(turn_id)
        if turn is None:
            raise LlmspellError("this execution has already ended")
        values = engine.to_python(results) or []
        if isinstance(values, dict):
            values = [values[k] for k in sorted(values, key=lambda k: int(k))]
        turn.tool_results([str(v) for v in values])

    def abandon(turn_id: str) -> None:
        turn = turns.pop(turn_id, None)
        if turn is not None:
            turn.fail()

    def tool_metadata(name: Any) -> Any:
        spec = tools().spec(text_arg(name, "tool name"))
        if spec is None:
            return None
        return engine.to_lua(
            {"name": spec.name, "description": spec.description, "parameters": spec.parameters}
        )

    def config(name: Any) -> Any:
        return engine.to_lua(agent(name).public_config())

    def metrics(name: Any) -> Any:
        return engine.to_lua(agent(name).metrics.as_dict())

    def clear(name: Any) -> None:
        agent(name).history = []

    def state_of(name: Any) -> str:
        return str(agent(name).state)

    def save_state(name: Any) -> None:
        target = agent(name)
        engine.data.state().save(f"agent:{target.config.name}", "state", target.snapshot())

    def load_state(name: Any) -> bool:
        target = agent(name)
        data = engine.data.state().load(f"agent:{target.config.name}", "state")
        return target.restore(data)

    def delete_state(name: Any) -> None:
        engine.data.state().delete(f"agent:{agent(name).config.name}", "state")

    def exists(name: Any) -> bool:
        return text_arg(name, "agent name") in agents

    def names() -> Any:
        return engine.to_lua(sorted(agents))

    functions: dict[str, Callable[..., Any]] = {
        "build": build,
        "begin": begin,
        "submit": submit,
        "step": step,
        "tool_results": tool_results,
        "abandon": abandon,
        "tool_metadata": tool_metadata,
        "config": config,
        "metrics": metrics,
        "clear": clear,
        "state": state_of,
        "save_state": save_state,
        "load_state": load_state,
        "delete_state": delete_state,
        "exists": exists,
        "names": names,
    }
    from llmspell_kernel.lua.globals import provider as provider_global

    functions.update(provider_global.functions(engine))
    py = engine.bridge.table({name: answer(fn) for name, fn in functions.items()}, "Agent.")
    with open(os.path.join(os.path.dirname(__file__), "agent.lua"), encoding="utf-8") as handle:
        return engine.runtime.execute(
            handle.read(), engine.env, py, engine.tool_api, engine.hook_api, engine.event_api
        )
