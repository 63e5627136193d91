"""What every built-in tool shares: its response, its two kinds of failure and typed access to
its parameters (lua-api.md 2.9: a bad parameter or a denial raises, an operational failure is
returned with success=false)."""

from __future__ import annotations

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.records import Record

# Annotations only: typing and dataclasses stay off a script's first tool call (records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any


class ToolError(LlmspellError):
    """An invalid or missing parameter, or a permission denial: the script gets
    `Tool '<name>' execution failed: <message>`."""


class ToolFailure(Exception):
    """An operational failure (an I/O error, HTTP 5xx, a non-zero exit): the result has
    success=false and this message as `error`."""


class ToolResponse(Record):
    """What a tool returns; the invocation turns it into the uniform result table."""

    __slots__ = ("result", "text", "message", "operation", "success", "error")

    def __init__(
        self,
        result: Any = None,
        text: str | None = None,  # the main text; else `message`, else the result as JSON
        message: str | None = None,
        operation: str | None = None,
        success: bool = True,
        error: str | None = None,
    ) -> None:
        self.result = result
        self.text = text
        self.message = message
        self.operation = operation
        self.success = success
        self.error = error


_MISSING = object()


class Params:
    """One call's parameters, read with the type each tool expects (errors name the parameter)."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def _get(self, name: str, aliases: Iterable[str]) -> Any:
        value = self.raw.get(name)
        if value is None:
            for alias in aliases:
                value = self.raw.get(alias)
                if value is not None:
                    break
        return value

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def text(
        self,
        name: str,
        default: str | None = None,
        *,
        required: bool = False,
        aliases: Sequence[str] = (),
    ) -> Any:
        """A string parameter (numbers are accepted as their text)."""
        value = self._get(name, aliases)
        if value is None:
            if required:
                raise ToolError(f"missing required parameter '{name}'")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ToolError(f"parameter '{name}' must be a string, got {_kind(value)}")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)

    def choice(
        self, name: str, choices: Sequence[str], default: str | None = None, **kw: Any
    ) -> Any:
        """A string parameter that must be one of `choices` (case-insensitive)."""
        value = self.text(name, default, **kw)
        if value is None:
            return None
        lowered = value.lower()
        if lowered not in choices:
            raise ToolError(
                f"parameter '{name}' must be one of {', '.join(choices)}, got '{value}'"
            )
        return lowered

    def integer(
        self, name: str, default: int | None = None, *, required: bool = False, **kw: Any
    ) -> Any:
        value = self.number(name, None, required=required, kind="an integer", **kw)
        if value is None:
            return default
        if isinstance(value, float) and not value.is_integer():
            raise ToolError(f"parameter '{name}' must be an integer, got {value}")
        return int(value)

    def number(
        self,
        name: str,
        default: float | None = None,
        *,
        required: bool = False,
        kind: str = "a number",
        **kw: Any,
    ) -> Any:
        value = self._get(name, kw.get("aliases", ()))
        if value is None:
            if required:
                raise ToolError(f"missing required parameter '{name}'")
            return default
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise ToolError(f"parameter '{name}' must be {kind}, got '{value}'") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolError(f"parameter '{name}' must be {kind}, got {_kind(value)}")
        return value

    def boolean(self, name: str, default: bool = False, **kw: Any) -> bool:
        value = self._get(name, kw.get("aliases", ()))
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ToolError(f"parameter '{name}' must be a boolean, got {_kind(value)}")
        return value

    def table(self, name: str, *, required: bool = False, **kw: Any) -> dict[str, Any]:
        """An object parameter ({} when absent)."""
        value = self._get(name, kw.get("aliases", ()))
        if value is None:
            if required:
                raise ToolError(f"missing required parameter '{name}'")
            return {}
        if isinstance(value, list) and not value:
            return {}
        if not isinstance(value, dict):
            raise ToolError(f"parameter '{name}' must be a table, got {_kind(value)}")
        return value

    def array(self, name: str, *, required: bool = False, **kw: Any) -> list[Any]:
        """An array parameter ([] when absent; {} from Lua is an empty array)."""
        value = self._get(name, kw.get("aliases", ()))
        if value is None:
            if required:
                raise ToolError(f"missing required parameter '{name}'")
            return []
        if isinstance(value, dict):
            if not value:
                return []
            raise ToolError(f"parameter '{name}' must be an array, got a table with keys")
        if not isinstance(value, list):
            raise ToolError(f"parameter '{name}' must be an array, got {_kind(value)}")
        return value

    def value(self, name: str, *, required: bool = False, aliases: Sequence[str] = ()) -> Any:
        """Any value (a JSON document, a string or a table)."""
        value = self._get(name, aliases)
        if value is None and required:
            raise ToolError(f"missing required parameter '{name}'")
        return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict | list):
        return "a table"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"
