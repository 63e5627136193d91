"""The Python side of the `Tool` global (lua-api.md 2.9): the registry, the built-in tools'
calls, listings and schemas. tool.lua holds the one invocation function every tool call passes
through (Tool.invoke, t:execute, Tool.<name>, agents' tool calls). Failures come back as
`(false, message)`; tool.lua raises them with the caller's position."""

from __future__ import annotations

import os
import time

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.globals.state import text_arg
from llmspell_kernel.lua.host import PUSH_SLACK, answer

TYPE_CHECKING = False  # typing is not imported at run time (start-up cost, see engine.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class EngineTools:
    """One engine's tools: the registry and the permission gates, made on first use."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._registry: Any = None
        self._context: Any = None

    @property
    def registry(self) -> Any:
        """The engine's `llmspell_kernel.tools.registry.ToolRegistry`."""
        if self._registry is None:
            from llmspell_kernel.tools.registry import ToolRegistry

            self._registry = ToolRegistry()
        return self._registry

    @property
    def context(self) -> Any:
        """The gates built-in tools pass (`llmspell_kernel.tools.gates.ToolContext`)."""
        if self._context is None:
            from llmspell_kernel.tools.gates import ToolContext
            from llmspell_kernel.tools.settings import ToolSettings

            settings = self._engine.settings.tools or ToolSettings()
            self._context = ToolContext(settings, self._engine.tool_path)
        return self._context

    def invoke(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run a built-in tool: its uniform result table (raises for a denial or bad input)."""
        from llmspell_kernel.tools.invoke import run_builtin

        entry = self.registry.entry(name)
        if entry is None or not entry.builtin:
            raise LlmspellError(f"Tool '{name}' not found")
        context = self._context
        return run_builtin(entry, params, self.context if context is None else context)


_SCALARS = (str, int, float, bool, type(None))


def _plain_tree(value: Any, seen: set[int]) -> bool:
    """True when `value` is a tree (no container twice: lupa's table_from would hand the second
    place an empty table) of dicts with string keys, lists and JSON scalars, which table_from
    turns into the tables to_lua would build. Anything else (a datetime, a Path, a shared list)
    goes through to_lua, which hands scripts text, never the object."""
    kind = type(value)
    if kind is dict or kind is list:
        if id(value) in seen or len(seen) > 10_000:
            return False
        seen.add(id(value))
        if kind is list:
            return all(type(item) in _SCALARS or _plain_tree(item, seen) for item in value)
        for key, item in value.items():
            if type(key) is not str:
                return False
            if type(item) not in _SCALARS and not _plain_tree(item, seen):
                return False
        return True
    return kind in _SCALARS


def schema_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON-schema properties as Tool.get's `{name, type, description, required, default}`."""
    required = set(schema.get("required") or ())
    rows = []
    for name, prop in (schema.get("properties") or {}).items():
        row = {
            "name": name,
            "type": prop.get("type", "any"),
            "description": prop.get("description", ""),
            "required": name in required,
        }
        if "default" in prop:
            row["default"] = prop["default"]
        rows.append(row)
    return rows


def _parameters_schema(raw: Any) -> dict[str, Any]:
    """A script's `parameters`: a JSON schema, or upstream's list of {name, type, ...}."""
    if raw is None or raw == {}:
        return {"type": "object", "properties": {}}
    if isinstance(raw, list):
        properties: dict[str, Any] = {}
        required = []
        for item in raw:
            if not isinstance(item, dict) or not item.get("name"):
                raise LlmspellError("each parameter must be a table with a name")
            name = text_arg(item["name"], "parameter name")
            prop = {"type": str(item.get("type") or "string")}
            if item.get("description"):
                prop["description"] = str(item["description"])
            if item.get("default") is not None:
                prop["default"] = item["default"]
            properties[name] = prop
            if item.get("required"):
                required.append(name)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema
    if not isinstance(raw, dict):
        raise LlmspellError("parameters must be a JSON-schema table")
    if "type" not in raw and "properties" not in raw:  # {x = {type = ...}}: the properties
        return {"type": "object", "properties": raw}
    return raw


def install_tool_global(engine: Any) -> Any:
    """Define `Tool`; returns tool.lua's private table {invoke, register} for agent.lua."""
    tools = engine.tools = EngineTools(engine)

    table_from = engine.runtime.table_from
    from lupa.lua54 import lua_type

    def flat(params: Any) -> dict[str, Any] | None:
        """A table of string keys and plain scalars as a dict (most calls), else None."""
        out = {}
        for key, item in params.items():
            kind = type(item)
            if type(key) is not str or not (
                kind is str or kind is bool or kind is int or (kind is float and item - item == 0)
            ):
                return None  # a nested table, NaN or infinity, bytes: the general converter
            out[key] = item
        return out

    def call_tool(name: Any, params: Any) -> dict[str, Any]:
        value = None
        if params is not None and lua_type(params) == "table":
            value = flat(params)
        if value is None:
            value = engine.to_python(params) if params is not None else {}
        if isinstance(value, list) and not value:
            value = {}
        if not isinstance(value, dict):
            raise LlmspellError("Tool.invoke: parameters must be a table")
        return tools.invoke(text_arg(name, "tool name"), value)

    def to_table(result: dict[str, Any]) -> Any:
        if _plain_tree(result, set()):  # lupa builds the whole tree in one call: the common case
            try:
                return table_from(result, recursive=True)
            except OverflowError:  # an integer beyond 64 bits: to_lua makes it a float
                pass
        return engine.to_lua(result)

    def invoke(name: Any, params: Any) -> Any:
        return to_table(call_tool(name, params))

    bridge = engine.bridge
    runtime = engine.runtime
    now = time.perf_counter

    def tool_started(name: Any) -> float:
        """tool.lua's hooked call (BeforeToolExecution hooks only): tool.started queued before
        its hooks run; answers the start (perf_counter seconds) for invoke_observed."""
        started = now()
        try:  # (behind the bridge's guard; a failed publish only logs)
            engine.events.system_data("tool.started", {"name": name})
        except Exception as exc:
            from llmspell_kernel.logs import get_logger

            get_logger("llmspell.events").warning("could not publish tool.started: %s", exc)
        return started

    def ended(hub: Any, kind: str, name: Any, key: str, value: object, started: float) -> None:
        """tool.completed / tool.failed: the name, the outcome under `key`, the duration."""
        hub.system_data(kind, {"name": name, key: value, "duration_ms": (now() - started) * 1000.0})

    def invoke_observed(name: Any, params: Any, began: float | None = None) -> Any:
        """tool.lua's observed call of a built-in tool without hooks: tool.started, the call,
        then tool.completed (or tool.failed with the message the script gets), queued here
        with the data, times and correlation id tool.lua's events would have. With `began`
        (tool_started's answer) tool.started is already queued and the call's hooks ran."""
        hub = engine.events
        if began is None:
            started = now()
            hub.system_data("tool.started", {"name": name})
        else:
            started = began
        try:
            result = call_tool(name, params)
            success = result.get("success") is not False
            table = to_table(result)
        except LlmspellError as exc:
            message = exc.message
        except Exception as exc:  # as answer() reports it
            message = f"{type(exc).__name__}: {exc}"
        else:
            limit = bridge.active_limit  # the bridge will refuse the result (host.py)
            if limit and runtime.get_memory_used() + PUSH_SLACK > limit:
                ended(hub, "tool.failed", name, "error", "not enough memory", started)
                return table
            ended(hub, "tool.completed", name, "success", success, started)
            return table
        ended(hub, "tool.failed", name, "error", message, started)
        raise LlmspellError(message)

    def list_tools() -> Any:
        return engine.to_lua([entry.info() for entry in tools.registry.entries()])

    def get(name: Any) -> Any:
        if not isinstance(name, str):
            return None
        entry = tools.registry.entry(name)
        if entry is None:
            return None
        info = entry.info()
        info["schema"] = {
            "name": entry.name,
            "description": entry.definition.description,
            "parameters": schema_parameters(entry.definition.parameters),
        }
        return engine.to_lua(info)

    def categories() -> Any:
        from llmspell_kernel.tools.registry import CATEGORIES

        return engine.to_lua(list(CATEGORIES))

    def discover(raw: Any = None) -> Any:
        wanted = engine.to_python(raw) if raw is not None else {}
        if not isinstance(wanted, dict):
            raise LlmspellError("Tool.discover: the filter must be a table {category, tag}")
        category = wanted.get("category")
        tag = str(wanted.get("tag") or "").lower()
        found = []
        for entry in tools.registry.entries():
            info = entry.info()
            if category and info["category"] != category:
                continue
            if tag and tag not in info["name"].lower() and tag not in info["description"].lower():
                continue
            found.append(info)
        return engine.to_lua(found)

    def register(name: Any, description: Any, parameters: Any) -> str:
        from llmspell_kernel.providers.types import ToolSpec

        title = text_arg(name, "tool name")
        if not title.strip():
            raise LlmspellError("Tool.register: the tool needs a name")
        existing = tools.registry.entry(title)
        if existing is not None and existing.builtin:
            raise LlmspellError(f"Tool.register: '{title}' is a built-in tool")
        schema = _parameters_schema(engine.to_python(parameters) if parameters else None)
        tools.registry.register(ToolSpec(title, str(description or ""), schema))
        return title

    def clock() -> float:
        return time.perf_counter() * 1000.0

    functions: dict[str, Callable[..., Any]] = {
        "invoke": invoke,
        "invoke_observed": invoke_observed,
        "list": list_tools,
        "get": get,
        "categories": categories,
        "discover": discover,
        "register": register,
    }
    py = engine.bridge.table({name: answer(fn) for name, fn in functions.items()}, "Tool.")
    py.clock = engine.bridge.function(clock, "Tool.clock", builds=False)
    py.tool_started = engine.bridge.function(tool_started, "Tool.tool_started", builds=False)
    with open(os.path.join(os.path.dirname(__file__), "tool.lua"), encoding="utf-8") as handle:
        return engine.runtime.execute(
            handle.read(), engine.env, py, engine.hook_api, engine.event_api
        )
