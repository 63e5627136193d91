"""The hook registry of one engine: Lua hooks (their functions stay in Lua, hook.lua) and
Python hooks (extensions, see extensions.py) in one priority order per point, listed together
by `Hook.list`. Python chains (the kernel points) run here; chains that hold Lua hooks run in
hook.lua on the script's thread, which calls `run_python` for the Python hooks among them."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from llmspell_kernel.hooks.points import (
    REDIRECT_POINTS,
    RETRY_POINTS,
    canonical_point,
    priority_value,
)

log = logging.getLogger("llmspell.hooks")

# What a hook may return (lua-api.md 2.6): nil/"continue", a string, or a result table.
HookReturn = None | str | dict[str, Any]


@dataclass
class HookContext:
    """What a hook receives: `ctx` of lua-api.md 2.6 (Python hooks get this object)."""

    point: str
    correlation_id: str
    component_type: str
    component_name: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    language: str = "python"

    def as_table(self) -> dict[str, Any]:
        """The Lua shape: `{point, correlation_id, component_id={type, name}, ...}`."""
        return {
            "point": self.point,
            "correlation_id": self.correlation_id,
            "component_id": {"type": self.component_type, "name": self.component_name},
            "language": self.language,
            "metadata": self.metadata,
            "data": self.data,
        }


PythonHook = Callable[[HookContext], HookReturn]


@dataclass
class HookEntry:
    """One registered hook; `fn` is None for a Lua hook (hook.lua holds its function)."""

    id: str
    point: str
    priority: int
    order: int
    language: str
    name: str
    description: str = ""
    version: str = "1.0.0"
    tags: list[str] = field(default_factory=list)
    fn: PythonHook | None = None

    def info(self) -> dict[str, Any]:
        """`Hook.list`'s row."""
        return {
            "id": self.id,
            "name": self.name,
            "hook_point": self.point,
            "priority": self.priority,
            "language": self.language,
            "version": self.version,
            "description": self.description,
            "tags": list(self.tags),
        }


@dataclass
class HookOutcome:
    """How a chain ended: `action` continue|replace|skip|cancel|redirect|retry, its value
    (replacement data, reason, target, or {delay_ms, max_attempts}) and the (merged) data."""

    action: str
    value: Any
    data: dict[str, Any]


def interpret(point: str, result: HookReturn) -> tuple[str, Any]:
    """A hook's return value as (action, value); "modified" carries the data to merge.
    A result the point does not allow (redirect, retry elsewhere) is logged and continues."""
    if result is None or result == "continue":
        return "continue", None
    if isinstance(result, str):
        if result in ("skip", "skipped"):
            return "skip", "skipped by hook"
        return "cancel", result
    if not isinstance(result, dict):
        log.warning("hook on %s returned a %s; continuing", point, type(result).__name__)
        return "continue", None
    kind = result.get("type")
    if kind in (None, "continue"):
        return "continue", None
    if kind == "modified":
        data = result.get("data")
        return ("modified", data) if isinstance(data, dict) else ("continue", None)
    if kind == "replace":
        return "replace", result.get("data")
    if kind in ("skip", "skipped"):
        return "skip", str(result.get("reason") or "skipped by hook")
    if kind == "cancel":
        return "cancel", str(result.get("reason") or "cancelled")
    if kind == "redirect" and point in REDIRECT_POINTS and result.get("target"):
        return "redirect", str(result["target"])
    if kind == "retry" and point in RETRY_POINTS:
        return "retry", {
            "delay_ms": max(0, int(result.get("delay_ms", 1000) or 0)),
            "max_attempts": max(1, int(result.get("max_attempts", 3) or 1)),
        }
    log.warning(
        "hook on %s returned {type=%r}, which %s does not take; continuing", point, kind, point
    )
    return "continue", None


class HookRegistry:
    """Hooks by point, each chain in (priority, registration) order."""

    def __init__(self) -> None:
        self._entries: dict[str, HookEntry] = {}
        self._chains: dict[str, tuple[HookEntry, ...]] = {}
        self._order = itertools.count(1)
        self._ids = itertools.count(1)
        # Told the point whose chain changed (hook.lua rebuilds its copy of that chain).
        self.on_change: Callable[[str], None] | None = None

    def register(
        self,
        point: str,
        fn: PythonHook | None = None,
        priority: int | str | None = None,
        *,
        language: str = "python",
        name: str | None = None,
        description: str = "",
        tags: Iterable[str] = (),
        version: str = "1.0.0",
    ) -> HookEntry:
        """Add a hook (`fn` None: a Lua hook). ValueError for an unknown point or priority."""
        canonical = canonical_point(point, kernel=language == "python")
        if canonical is None:
            raise ValueError(f"Unknown hook point: {point}")
        if language == "python" and not callable(fn):
            raise ValueError("a Python hook must be callable")
        hook_id = f"{language}_hook_{next(self._ids)}"
        entry = HookEntry(
            id=hook_id,
            point=canonical,
            priority=priority_value(priority),
            order=next(self._order),
            language=language,
            name=name or hook_id,
            description=description,
            version=version,
            tags=list(tags),
            fn=fn,
        )
        self._entries[hook_id] = entry
        self._changed(canonical)
        return entry

    def unregister(self, hook_id: str) -> bool:
        """Remove a hook; False when no hook has that id."""
        entry = self._entries.pop(hook_id, None)
        if entry is None:
            return False
        self._changed(entry.point)
        return True

    def get(self, hook_id: str) -> HookEntry | None:
        return self._entries.get(hook_id)

    def chain(self, point: str) -> tuple[HookEntry, ...]:
        """The hooks of `point` in run order (lower priority first, ties by registration)."""
        chain = self._chains.get(point)
        if chain is None:
            found = [e for e in self._entries.values() if e.point == point]
            chain = self._chains[point] = tuple(sorted(found, key=lambda e: (e.priority, e.order)))
        return chain

    def has(self, point: str) -> bool:
        return bool(self.chain(point))

    def entries(
        self,
        *,
        point: str | None = None,
        language: str | None = None,
        priority: int | None = None,
        tag: str | None = None,
    ) -> list[HookEntry]:
        """Every hook matching the filters, in point order then run order."""
        found = [
            e
            for e in self._entries.values()
            if (point is None or e.point == point)
            and (language is None or e.language == language)
            and (priority is None or e.priority == priority)
            and (tag is None or tag in e.tags)
        ]
        return sorted(found, key=lambda e: (e.point, e.priority, e.order))

    def run_python(self, entry: HookEntry, context: HookContext) -> HookReturn:
        """Call one Python hook; a hook that raises is logged and counts as continue."""
        assert entry.fn is not None
        try:
            return entry.fn(context)
        except Exception as exc:
            log.warning(
                "hook %s on %s failed: %s: %s", entry.name, entry.point, type(exc).__name__, exc
            )
            return None

    def fire(
        self,
        point: str,
        data: dict[str, Any],
        *,
        correlation_id: str,
        component: tuple[str, str] = ("kernel", "llmspell"),
        observer: Callable[[HookEntry, str, float], None] | None = None,
    ) -> HookOutcome:
        """Run a chain of Python hooks (the kernel points): the first result that is neither
        continue nor modified ends it. `observer(entry, action, ms)` sees each hook run."""
        context = HookContext(point, correlation_id, component[0], component[1], data)
        for entry in self.chain(point):
            if entry.fn is None:
                continue
            started = time.perf_counter()
            action, value = interpret(point, self.run_python(entry, context))
            if observer is not None:
                observer(entry, action, (time.perf_counter() - started) * 1000)
            if action == "modified":
                data.update(value)
            elif action != "continue":
                return HookOutcome(action, value, data)
        return HookOutcome("continue", None, data)

    def _changed(self, point: str) -> None:
        self._chains.pop(point, None)
        if self.on_change is not None:
            self.on_change(point)
