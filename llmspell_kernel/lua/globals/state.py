"""The Python side of the `State` global (lua-api.md 2.3).

Each function returns `(true, value)` or `(false, message)`; `state.lua` raises the message with
the caller's position. The store is reached through the engine's DataHub, opened on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.convert import ConversionError, json_to_lua
from llmspell_kernel.lua.host import error_text

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def guarded(api_name: str, fn: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """Wrap a host function so that failures come back to Lua as `(false, message)`."""

    def call(*args: Any) -> tuple[Any, ...]:
        try:
            return True, fn(*args)
        except ConversionError as exc:
            return False, f"{api_name}: value cannot be stored: {exc}"
        except Exception as exc:  # a database or OS failure must not escape into lupa
            return False, error_text(api_name, exc)

    return call


def text_arg(value: Any, what: str) -> str:
    """A string argument (integral numbers are accepted and converted)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    raise LlmspellError(f"{what} must be a string, got {_lua_type_name(value)}")


def _lua_type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    from lupa import lua54

    return lua54.lua_type(value) or type(value).__name__


def install_state_global(engine: Any) -> None:
    """Define `State` in the engine's script environment.

    `state.lua` encodes values to JSON text on the Lua side (`json_encode.lua`) and hands the
    text over (`*_json`), which is several times cheaper than converting the table item by item;
    values that encoder declines go through `engine.to_python` as before. Loaded values come back
    through `json_to_lua`.
    """
    runtime = engine.runtime
    hub = engine.data

    cached: list[Any] = [None]

    def changing(operation: str, scope: str, key: str, value: Any = None) -> None:
        """The kernel's StateChange point, before the write: Python hooks see it, and a
        cancel refuses the write (one table lookup when no hook is registered)."""
        hooks = engine.hooks
        if not hooks.has("StateChange"):
            return
        data = {"operation": operation, "scope": scope, "key": key, "value": value}
        outcome = hooks.fire_kernel("StateChange", data)
        if outcome is not None and outcome.action in ("cancel", "skip"):
            raise LlmspellError(f"Cancelled by hook: {outcome.value}")

    def changing_json(scope: str, key: str, text: str) -> None:
        if engine.hooks.has("StateChange"):
            import json

            changing("save", scope, key, json.loads(text))

    def store() -> Any:
        current = cached[0]
        if current is None or current.db is not hub._db:  # (re)opened: bind to the new database
            current = cached[0] = hub.state()
        return current

    def save(scope: Any = None, key: Any = None, value: Any = None) -> None:
        name, item = text_arg(scope, "scope"), text_arg(key, "key")
        data = engine.to_python(value, strict=True)
        changing("save", name, item, data)
        store().save(name, item, data)

    def save_json(scope: Any, key: Any, text: str) -> None:
        name, item = text_arg(scope, "scope"), text_arg(key, "key")
        changing_json(name, item, text)
        store().save_text(name, item, text)

    def load(scope: Any = None, key: Any = None) -> Any:
        return json_to_lua(runtime, store().load(text_arg(scope, "scope"), text_arg(key, "key")))

    def delete(scope: Any = None, key: Any = None) -> None:
        name, item = text_arg(scope, "scope"), text_arg(key, "key")
        changing("delete", name, item)
        store().delete(name, item)

    def list_keys(scope: Any = None) -> Any:
        return engine.to_lua(store().list_keys(text_arg(scope, "scope")))

    def scoped_get(kind: str) -> Callable[[Any, Any], Any]:
        def get(ident: Any = None, key: Any = None) -> Any:
            scope = f"{kind}:{text_arg(ident, kind + ' id')}"
            return json_to_lua(runtime, store().load(scope, text_arg(key, "key")))

        return get

    def scoped_set(kind: str) -> Callable[[Any, Any, Any], None]:
        def put(ident: Any = None, key: Any = None, value: Any = None) -> None:
            scope, item = f"{kind}:{text_arg(ident, kind + ' id')}", text_arg(key, "key")
            data = engine.to_python(value, strict=True)
            changing("save", scope, item, data)
            store().save(scope, item, data)

        return put

    def scoped_set_json(kind: str) -> Callable[[Any, Any, str], None]:
        def put_json(ident: Any, key: Any, text: str) -> None:
            scope, item = f"{kind}:{text_arg(ident, kind + ' id')}", text_arg(key, "key")
            changing_json(scope, item, text)
            store().save_text(scope, item, text)

        return put_json

    def version(scope: Any = None, key: Any = None) -> Any:
        number, value = store().version(text_arg(scope, "scope"), text_arg(key, "key"))
        return engine.to_lua({"version": number, "value": value})

    def compare_and_set(
        scope: Any = None, key: Any = None, expected: Any = None, value: Any = None
    ) -> Any:
        name, item = text_arg(scope, "scope"), text_arg(key, "key")
        if expected is not None and (
            isinstance(expected, bool) or not isinstance(expected, int | float)
            or expected != int(expected) or expected < 0
        ):  # fmt: skip
            raise LlmspellError("expected_version must be a whole number >= 0 or nil")
        data = engine.to_python(value, strict=True)
        changing("save" if data is not None else "delete", name, item, data)
        done, current = store().compare_and_set(name, item, expected and int(expected), data)
        return engine.to_lua({"ok": done, "version": current})

    def workflow_list(exec_id: Any = None) -> Any:
        return engine.to_lua(store().list_keys(f"workflow:{text_arg(exec_id, 'execution id')}"))

    functions: dict[str, Callable[..., Any]] = {
        "save": save,
        "load": load,
        "delete": delete,
        "list_keys": list_keys,
        "version": version,
        "compare_and_set": compare_and_set,
        "workflow_get": scoped_get("workflow"),
        "workflow_list": workflow_list,
        "agent_get": scoped_get("agent"),
        "agent_set": scoped_set("agent"),
        "tool_get": scoped_get("tool"),
        "tool_set": scoped_set("tool"),
        "save_json": save_json,
        "agent_set_json": scoped_set_json("agent"),
        "tool_set_json": scoped_set_json("tool"),
    }
    py = engine.bridge.table(
        {
            name: guarded(f"State.{name.removesuffix('_json')}", fn)
            for name, fn in functions.items()
        },
        "State.",
    )
    with open(os.path.join(os.path.dirname(__file__), "state.lua"), encoding="utf-8") as handle:
        runtime.execute(handle.read(), engine.env, py, engine._json_encode, engine.api.fix_utf8)
