"""The Python side of the `Event` global (lua-api.md 2.5): the engine's EventHub
(llmspell_kernel/events/hub.py) behind (ok, value) host functions; event.lua raises failures
with the caller's position and returns the private events seam (see event.lua) that hook.lua,
tool.lua, agent.lua and workflow.lua receive at install time."""

from __future__ import annotations

import os

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.events.hub import EventHub
from llmspell_kernel.lua.convert import json_to_lua, to_lua
from llmspell_kernel.lua.globals.state import text_arg
from llmspell_kernel.lua.host import answer

TYPE_CHECKING = False  # typing is not imported at run time (start-up cost, see engine.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from llmspell_kernel.events.model import Event

DEFAULT_RECEIVE_MS = 5000
_PUBLISH_OPTIONS = frozenset(
    {"correlation_id", "ttl_seconds", "language", "source", "target", "tags", "priority"}
)


def _options(engine: Any, raw: Any) -> dict[str, Any]:
    if raw is None:  # no opts: the usual publish
        return {}
    value = engine.to_python(raw)
    if isinstance(value, list) and not value:
        value = {}
    if not isinstance(value, dict):
        raise LlmspellError("opts must be a table")
    unknown = sorted(set(value) - _PUBLISH_OPTIONS)
    if unknown:
        raise LlmspellError(f"unknown option '{unknown[0]}'")
    out: dict[str, Any] = {}
    for key in ("correlation_id", "language", "source", "target", "priority"):
        if value.get(key) is not None:
            out[key] = text_arg(value[key], key)
    ttl = value.get("ttl_seconds")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
            raise LlmspellError("ttl_seconds must be a positive number")
        out["ttl_seconds"] = float(ttl)
    tags = value.get("tags")
    if tags is not None:
        if isinstance(tags, dict):
            tags = list(tags.values())
        if not isinstance(tags, list):
            raise LlmspellError("tags must be an array of strings")
        out["tags"] = [text_arg(t, "tag") for t in tags]
    return out


_SCALARS = frozenset({str, int, float, bool, bytes, type(None)})


def _data_table(runtime: Any, data: Any) -> Any:
    """`to_lua(runtime, data)`; a flat table of scalars (`{i = i}`) through one `table_from`
    (a nil value is no entry either way; an integer beyond 64 bits: `to_lua` makes it a float)."""
    if type(data) is dict and all(type(v) in _SCALARS for v in data.values()):
        try:
            return runtime.table_from(data)
        except OverflowError:
            pass
    return to_lua(runtime, data)


def event_table(runtime: Any, event: Event) -> Any:
    """The Lua table of `event.as_table()`, as `to_lua` makes it (nil fields left out), built
    with `table_from` from its flat parts: a receive cost ~15 us in 13 table assignments of
    `to_lua`, ~4 this way. The data goes through `to_lua` (a Python publisher's data may hold
    anything), or `json_to_lua` when it was decoded from the event's JSON text (a tree)."""
    from llmspell_kernel.events.model import rfc3339  # (loaded by the bus already)

    table_from = runtime.table_from
    metadata: dict[str, Any] = {"priority": event.priority, "source": event.source}
    tags = event.tags
    if tags:
        metadata["tags"] = to_lua(runtime, list(tags))
    else:
        metadata["tags"] = table_from()
    if event.target is not None:
        metadata["target"] = event.target
    table: dict[str, Any] = {
        "id": event.id,
        "event_type": event.event_type,
        "timestamp": rfc3339(event.at),
        "sequence": event.sequence,
        "correlation_id": event.correlation_id,
        "language": event.language,
        "metadata": table_from(metadata),
    }
    from_json = event._data_json is not None and event._data is None
    data = event.data
    if data is not None:
        table["data"] = json_to_lua(runtime, data) if from_json else _data_table(runtime, data)
    if event.ttl_seconds is not None:
        table["ttl"] = event.ttl_seconds
    return table_from(table)


def begin_execution(engine: Any, correlation_id: str) -> None:
    """Tell the engine's events that an execution with this correlation id starts."""
    engine.correlation_id = correlation_id
    engine.event_api.begin(correlation_id)


def install_event_global(engine: Any) -> Any:
    """Define `Event`; returns event.lua's private seam for the other globals."""
    if not getattr(engine, "correlation_id", None):  # a bare engine (no kernel): one for life
        engine.correlation_id = os.urandom(16).hex()
    events = getattr(engine, "events", None)
    if events is None:
        events = engine.events = EventHub(
            engine.settings.events, engine.data, lambda: engine.correlation_id
        )
    else:  # a reset Lua state: subscriptions go with it, the sinks stay
        events.reset()

    def publish(event_type: Any, data: Any, raw_opts: Any, inherit: bool) -> str:
        options = _options(engine, raw_opts)
        event = events.publish(
            text_arg(event_type, "event_type"),
            engine.to_python(data),
            inherit=bool(inherit),
            **options,
        )
        return event.id

    def subscribe(pattern: Any, raw_opts: Any = None) -> str:
        events.dispatch()  # the system events queued before this call first
        opts = engine.to_python(raw_opts) if raw_opts is not None else {}
        language = opts.get("language", "lua") if isinstance(opts, dict) else "lua"
        return events.subscribe(text_arg(pattern, "pattern"), str(language)).id

    def receive(sub_id: Any, timeout_ms: Any = None) -> Any:
        events.dispatch()
        if timeout_ms is None:
            timeout_ms = DEFAULT_RECEIVE_MS
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int | float):
            raise LlmspellError("timeout_ms must be a number of milliseconds")
        bus = events.bus
        name = text_arg(sub_id, "subscription id")
        timeout = max(0.0, float(timeout_ms)) / 1000.0
        # a poll (timeout 0) never waits: no interrupt has a waiter to wake
        remove = engine.add_interrupt_listener(lambda _reason: bus.wake()) if timeout else None
        try:
            event = bus.receive(name, timeout, engine._is_interrupt_pending)
        except KeyError:
            raise LlmspellError(f"unknown subscription '{name}'") from None
        finally:
            if remove is not None:
                remove()
        return None if event is None else event_table(engine.runtime, event)

    def unsubscribe(sub_id: Any) -> bool:
        return events.bus.unsubscribe(text_arg(sub_id, "subscription id"))

    def list_subscriptions() -> Any:
        return engine.to_lua([s.info() for s in events.bus.subscriptions()])

    def get_stats() -> Any:
        events.dispatch()
        return engine.to_lua(events.bus.stats())

    functions: dict[str, Callable[..., Any]] = {
        "publish": publish,
        "subscribe": subscribe,
        "receive": receive,
        "unsubscribe": unsubscribe,
        "list_subscriptions": list_subscriptions,
        "get_stats": get_stats,
    }
    py = engine.bridge.table({name: answer(fn) for name, fn in functions.items()}, "Event.")

    def _lost(event_type: str, exc: Exception) -> None:
        from llmspell_kernel.logs import get_logger

        get_logger("llmspell.events").warning("could not publish %s: %s", event_type, exc)

    def system(event_type: str, data: Any) -> None:
        try:
            events.publish(str(event_type), engine.to_python(data), source="system")
        except Exception as exc:  # an event must never fail the operation it reports
            _lost(event_type, exc)

    def system_json(event_type: str, text: str) -> None:
        try:
            events.system_json(event_type, text)
        except Exception as exc:  # an event must never fail the operation it reports
            _lost(event_type, exc)

    def system_fields(event_type: str, *fields: Any) -> None:
        try:
            events.system_fields(event_type, fields)
        except Exception as exc:  # an event must never fail the operation it reports
            _lost(event_type, exc)

    # The seam's own calls: they cannot fail the caller (a sink's failure is logged).
    py.system = engine.bridge.function(system, "events.system")
    py.system_json = engine.bridge.function(system_json, "events.system", builds=False)
    py.system_fields = engine.bridge.function(system_fields, "events.system", builds=False)
    py.enabled = engine.bridge.function(lambda: events.settings.enabled, "events.enabled")
    py.wanted = engine.bridge.function(events.system_wanted, "events.wanted")
    with open(os.path.join(os.path.dirname(__file__), "event.lua"), encoding="utf-8") as handle:
        return engine.runtime.execute(
            handle.read(), engine.env, py, engine.correlation_id, engine._json_encode
        )
