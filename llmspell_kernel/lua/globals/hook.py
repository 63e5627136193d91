"""The Python side of the `Hook` global (lua-api.md 2.6) and of the kernel's hook points.

One `HookRegistry` per engine (llmspell_kernel/hooks/registry.py), made on first use: scripts
register Lua hooks through hook.lua, Python extensions (entry points in `llmspell.hooks`, or
`[hooks] python = ["module:function"]`) register Python hooks on the same 23 points and on the
kernel points PreExecute, PostExecute, PreDebug and StateChange, which `EngineHooks.fire_kernel`
runs. hook.lua returns the private hooks seam the other globals receive (see its header).
"""

from __future__ import annotations

import os
import threading
import time

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.host import answer

TYPE_CHECKING = False  # typing is not imported at run time (start-up cost, see engine.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from llmspell_kernel.hooks.registry import HookEntry, HookOutcome, HookRegistry


class EngineHooks:
    """The hooks of one engine; nothing is imported until a hook exists."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._registry: HookRegistry | None = None

    @property
    def registry(self) -> HookRegistry:
        if self._registry is None:
            from llmspell_kernel.hooks.registry import HookRegistry

            self._registry = HookRegistry()
        return self._registry

    def load_extensions(self, configured: tuple[str, ...], entry_points: bool) -> None:
        """Register the Python extensions' hooks (only imports the registry when there are)."""
        from llmspell_kernel.hooks import extensions

        found = extensions.entry_point_targets() if entry_points else []
        if configured or found:
            extensions.load_extensions(self.registry, configured, entry_points=entry_points)

    def has(self, point: str) -> bool:
        """True when `point` has hooks: the cheap check before building a hook's data."""
        registry = self._registry
        return registry is not None and registry.has(point)

    def fire_kernel(
        self, point: str, data: dict[str, Any], correlation_id: str | None = None
    ) -> HookOutcome | None:
        """Run the Python hooks of a point (PreExecute, PostExecute, PreDebug, StateChange,
        SystemStartup...); None when it has none. Each run is a `hook.executed` event."""
        if not self.has(point):
            return None
        engine = self._engine
        events = getattr(engine, "events", None)

        def observe(entry: HookEntry, action: str, ms: float) -> None:
            if events is not None:
                events.system(
                    "hook.executed",
                    {
                        "name": entry.name,
                        "hook_id": entry.id,
                        "hook_point": point,
                        "action": action,
                        "duration_ms": ms,
                    },
                )

        return self.registry.fire(
            point,
            data,
            correlation_id=correlation_id or engine.correlation_id,
            observer=observe,
        )


def _register_options(raw: Any) -> dict[str, Any]:
    """`Hook.register`'s third argument: a priority, or {priority, name, description, tags,
    version}."""
    if not isinstance(raw, dict):
        return {"priority": raw}
    tags = raw.get("tags") or []
    if isinstance(tags, dict):
        tags = list(tags.values())
    return {
        "priority": raw.get("priority"),
        "name": None if raw.get("name") is None else str(raw["name"]),
        "description": str(raw.get("description") or ""),
        "tags": [str(t) for t in tags],
        "version": str(raw.get("version") or "1.0.0"),
    }


def install_hook_global(engine: Any, events: Any) -> Any:
    """Define `Hook`; returns hook.lua's private seam (`events` is event.lua's seam)."""
    from llmspell_kernel.hooks.points import POINTS, REDIRECT_POINTS, RETRY_POINTS, spellings

    hooks = engine.hooks = EngineHooks(engine)
    settings = engine.settings
    hooks.load_extensions(tuple(settings.hook_modules), bool(settings.hook_entry_points))

    # A hook's number (its registration order) -> (name, id, point): what hook.lua passes
    # to `executed` instead of three strings (each string argument costs a conversion)
    numbered: dict[int, tuple[str, str, str]] = {}

    def order(point: str) -> list[dict[str, Any]]:
        chain = hooks.registry.chain(point)
        for e in chain:
            numbered[e.order] = (e.name, e.id, e.point)
        return [{"id": e.id, "name": e.name, "key": e.order} for e in chain]

    def register(point: str, raw: Any = None) -> Any:
        options = _register_options(engine.to_python(raw) if raw is not None else None)
        try:
            entry = hooks.registry.register(point, None, language="lua", **options)
        except ValueError as exc:
            raise LlmspellError(f"Hook.register: {exc}") from None
        return engine.to_lua({"id": entry.id, "name": entry.name})

    def unregister(hook_id: Any) -> str | None:
        registry = hooks.registry
        entry = registry.get(str(hook_id))
        if entry is None or not registry.unregister(entry.id):
            return None
        return entry.point

    def chain(point: str) -> Any:
        return engine.to_lua(order(point))

    def list_hooks(raw: Any = None) -> Any:
        wanted = engine.to_python(raw) if raw is not None else {}
        if not isinstance(wanted, dict):
            wanted = {}
        priority = wanted.get("priority")
        if priority is not None:
            from llmspell_kernel.hooks.points import priority_value

            try:
                priority = priority_value(priority)
            except ValueError as exc:
                raise LlmspellError(f"Hook.list: {exc}") from None
        entries = hooks.registry.entries(
            point=wanted.get("hook_point"),
            language=wanted.get("language"),
            priority=priority,
            tag=wanted.get("tag"),
        )
        return engine.to_lua([e.info() for e in entries])

    functions: dict[str, Callable[..., Any]] = {
        "register": register,
        "unregister": unregister,
        "chain": chain,
        "list": list_hooks,
    }
    py = engine.bridge.table({name: answer(fn) for name, fn in functions.items()}, "Hook.")

    def run(hook_id: str, ctx: Any) -> tuple[Any, ...]:
        from llmspell_kernel.hooks.registry import HookContext

        registry = hooks.registry
        entry = registry.get(hook_id)
        if entry is None or entry.fn is None:
            return True, None
        table = engine.to_python(ctx)
        component = table.get("component_id") or {}
        context = HookContext(
            str(table.get("point")),
            str(table.get("correlation_id")),
            str(component.get("type", "")),
            str(component.get("name", "")),
            table.get("data") or {},
            table.get("metadata") or {},
        )
        result = registry.run_python(entry, context)
        if isinstance(result, dict) and result.get("type") == "modified":
            result = {"type": "modified", "data": {**context.data, **(result.get("data") or {})}}
        elif result is None and context.data != (table.get("data") or {}):
            result = {"type": "modified", "data": context.data}  # changed in place
        return True, engine.to_lua(result)

    def warn(text: str) -> None:
        engine._emit("stderr", f"{text}\n")

    def sleep(ms: Any) -> None:
        """A retry's delay; an interrupt ends it at once (the script then stops)."""
        done = threading.Event()
        remove = engine.add_interrupt_listener(lambda _reason: done.set())
        try:
            done.wait(max(0.0, float(ms or 0)) / 1000.0)
        finally:
            remove()

    py.run = engine.bridge.function(run, "hook")
    py.warn = engine.bridge.function(warn, "hook.warn")
    py.sleep = engine.bridge.function(sleep, "hook.sleep")
    py.clock = engine.bridge.function(
        lambda: time.perf_counter() * 1000.0, "hook.clock", builds=False
    )
    hub = engine.events
    clock = time.perf_counter

    texts: dict[tuple[int, str | None, str | None], tuple[str, str]] = {}

    def executed(key: int, action: str | None, component: Any, started: float) -> float:
        """A Lua hook's run as its hook.executed event: `key` its number (see `numbered`),
        `action` None for continue, `started` py.now() before it ran (seconds); answers
        now(), the next hook's start. The fields cross as the arguments of this one call (no
        table of them; a number, not the hook's name, id and point: a string argument costs
        ~0.25 us of conversion), the event's JSON text around its duration kept per (hook,
        action, component). It raises nothing, so Lua calls it without the bridge's guard
        (as `py.now`, which is time.perf_counter): the bridge's guard cost ~1.5 us a call."""
        ended = clock()
        try:
            if component is not None and type(component) is not str:
                component = str(component)
            parts = texts.get((key, action, component))
            if parts is None:
                name, hook_id, point = numbered[key]
                parts = hub._hook_text((name, hook_id, point, action or "continue", component))
                if len(texts) >= 4096:
                    texts.clear()
                texts[key, action, component] = parts
            hub._queue("hook.executed", f"{parts[0]}{(ended - started) * 1000.0!r}{parts[1]}")
        except Exception as exc:  # an event must never fail the hook it reports
            from llmspell_kernel.logs import get_logger

            get_logger("llmspell.events").warning("could not publish hook.executed: %s", exc)
        return clock()

    py.executed = executed
    py.now = clock
    initial = {}
    if hooks._registry is not None:
        initial = {p: order(p) for p in POINTS if hooks.registry.has(p)}
    points = engine.to_lua(
        {
            "names": spellings(POINTS),
            "redirect": {p: True for p in REDIRECT_POINTS},
            "retry": {p: True for p in RETRY_POINTS},
            "initial": initial,
        }
    )
    with open(os.path.join(os.path.dirname(__file__), "hook.lua"), encoding="utf-8") as handle:
        seam = engine.runtime.execute(handle.read(), engine.env, py, events, points)
    hooks.fire_kernel("SystemStartup", {})
    return seam
