"""The one tool registry: every tool an engine knows (the built-in catalogue and the tools
scripts register), by canonical name, each with its JSON schema. Agents hand the same schemas to
the model for tool calling; `Tool.list()` and `llmspell tools list` show them.

Built-in tools run in Python (`entry.function()` imports the tool's module on its first call);
tools registered by scripts run on the Lua side (llmspell_kernel/lua/globals/tool.lua)."""

from __future__ import annotations

import importlib

from llmspell_kernel.records import Record
from llmspell_kernel.tools.catalogue import CATALOGUE, ToolDefinition, available

# Annotations only: typing, dataclasses and the provider types stay off a script's first tool
# call (records.py); `spec` imports ToolSpec when an agent or Tool.list asks for one.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from llmspell_kernel.providers.types import ToolSpec

CATEGORIES = (
    "filesystem",
    "web",
    "api",
    "analysis",
    "data",
    "system",
    "media",
    "utility",
    "custom",
)


def canonical(name: str) -> str:
    """`-` and `_` are interchangeable in tool names (lua-api.md 2.9)."""
    return name.replace("-", "_")


_BY_NAME = {canonical(d.name): d for d in CATALOGUE}


class ToolEntry(Record):
    """One registered tool."""

    __slots__ = ("definition", "builtin", "_function")

    def __init__(
        self,
        definition: ToolDefinition,
        builtin: bool,
        _function: Callable[..., Any] | None = None,
    ) -> None:
        self.definition = definition
        self.builtin = builtin
        self._function = _function

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def spec(self) -> ToolSpec:
        from llmspell_kernel.providers.types import ToolSpec

        d = self.definition
        return ToolSpec(d.name, d.description, d.parameters)

    def function(self) -> Callable[..., Any]:
        """The Python function of a built-in tool (its module is imported on the first call)."""
        fn = self._function
        if fn is None:
            module, _, attribute = self.definition.implementation.partition(":")
            fn = self._function = getattr(importlib.import_module(module), attribute)
        return fn

    def info(self) -> dict[str, Any]:
        """{name, description, version, category} as Tool.list() shows it."""
        d = self.definition
        return {
            "name": d.name,
            "description": d.description,
            "version": d.version,
            "category": d.category,
        }


class ToolRegistry:
    """The tools one engine knows: the available built-ins plus those scripts registered."""

    def __init__(self, builtins: bool = True) -> None:
        # The entries made so far: the built-ins looked up one by one (a script's first call
        # checks one tool's libraries, not all 37), then all of them once something lists them.
        self._entries: dict[str, ToolEntry] = {}
        self._complete = not builtins

    def _all(self) -> dict[str, ToolEntry]:
        entries = self._entries
        if not self._complete:  # the catalogue is checked on first use, not at start-up
            for d in CATALOGUE:
                key = canonical(d.name)
                if key not in entries and available(d):
                    entries[key] = ToolEntry(d, True)
            self._complete = True
        return entries

    def register(self, spec: ToolSpec, category: str = "custom") -> None:
        """Add or replace a tool defined by a script (it runs on the Lua side)."""
        definition = ToolDefinition(spec.name, category, spec.description, spec.parameters, "")
        self._entries[canonical(spec.name)] = ToolEntry(definition, False)

    def entry(self, name: str) -> ToolEntry | None:
        """The tool called `name` (`-` and `_` alike), or None."""
        key = canonical(name)
        found = self._entries.get(key)
        if found is None and not self._complete:
            definition = _BY_NAME.get(key)
            if definition is not None and available(definition):
                found = self._entries[key] = ToolEntry(definition, True)
        return found

    def spec(self, name: str) -> ToolSpec | None:
        """The tool's description and schema, or None."""
        entry = self.entry(name)
        return None if entry is None else entry.spec

    def entries(self) -> list[ToolEntry]:
        """Every tool, sorted by name."""
        return sorted(self._all().values(), key=lambda e: canonical(e.name))

    def names(self) -> list[str]:
        """Registered tool names (upstream spelling), sorted."""
        return [entry.name for entry in self.entries()]
