"""The one tool-invocation interface agents use: what a tool is called, what it does, its JSON
schema, and where it runs. Lua functions registered as tools run on the Lua side (agent.lua keeps
them); Python built-ins will be added here by the Tool issue."""

from __future__ import annotations

from llmspell_kernel.providers.types import ToolSpec


def canonical(name: str) -> str:
    """`-` and `_` are interchangeable in tool names (lua-api.md 2.9)."""
    return name.replace("-", "_")


class ToolRegistry:
    """The tools one engine knows, by canonical name."""

    def __init__(self) -> None:
        self._specs: dict[str, ToolSpec] = {}

    def register(self, spec: ToolSpec) -> None:
        """Add or replace a tool."""
        self._specs[canonical(spec.name)] = spec

    def spec(self, name: str) -> ToolSpec | None:
        """The tool's description and schema, or None."""
        return self._specs.get(canonical(name))

    def names(self) -> list[str]:
        """Registered tool names, sorted."""
        return sorted(spec.name for spec in self._specs.values())
