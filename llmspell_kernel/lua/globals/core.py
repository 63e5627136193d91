"""The Python side of the `JSON` and `Debug` globals."""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Callable

from llmspell_kernel.lua.convert import ConversionError, json_to_lua, to_lua, to_python, to_shown
from llmspell_kernel.lua.host import HostBridge
from llmspell_kernel.lua.literal import lua_literal

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEBUG_LEVELS = ("trace", "debug", "info", "warn", "error")
_RANK = {name: rank for rank, name in enumerate(DEBUG_LEVELS)}
CAPTURE_LIMIT = 10_000
CAPTURE_MESSAGE_LIMIT = 4096  # characters of one message kept in the capture buffer


class DebugLog:
    """Level filter, enable switch and capture ring buffer behind `Debug.*`."""

    def __init__(self, level: str, write: Callable[[str, str], None]) -> None:
        self.level = level if level in _RANK else "warn"
        self.enabled = True
        self.entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=CAPTURE_LIMIT)
        self._write = write

    def log(self, level: str, message: str, module: str | None, data: str | None = None) -> None:
        if not self.enabled or _RANK[level] < _RANK[self.level]:
            return
        from datetime import UTC, datetime  # not on the start-up path

        entry = {
            "timestamp": datetime.now(UTC).isoformat(),
            "level": level,
            "message": _clipped(message),  # the ring buffer holds bounded memory
            "module": module,
            "metadata": None if data is None else _clipped(data),
        }
        self.entries.append(entry)
        tag = f" [{module}]" if module else ""
        self._write("stderr", f"[{level.upper()}]{tag} {message}\n")


def _clipped(text: str) -> str:
    """At most CAPTURE_MESSAGE_LIMIT characters of `text`, saying how many were left out."""
    extra = len(text) - CAPTURE_MESSAGE_LIMIT
    return text if extra <= 0 else f"{text[:CAPTURE_MESSAGE_LIMIT]}… [{extra} more characters]"


def install_core_globals(
    runtime: Any,
    env: Any,
    debug_log: DebugLog,
    bridge: HostBridge,
    notebook: Callable[[str, Any], None] | None = None,
) -> tuple[Any, Any]:
    """Define JSON and Debug in the script environment.

    Returns `(is_null, encode)`: the Lua function that recognises the JSON.null sentinel, and
    the Lua-side JSON encoder (`json_encode.lua`: the text json.dumps would give, or nil when
    the value needs the Python converter).
    """
    real_debug = runtime.globals().debug
    is_null_box: list[Callable[[Any], bool]] = []

    def is_null(value: Any) -> bool:
        return bool(is_null_box and is_null_box[0](value))

    def json_parse(text: str) -> tuple[Any, ...]:
        import json  # on first use: `exec 'return 1'` never needs it

        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return (
                False,
                None,
                f"JSON parse error: {exc.msg} at line {exc.lineno} column {exc.colno}",
            )
        return True, json_to_lua(runtime, value)

    def json_stringify(value: Any, pretty: bool) -> tuple[Any, ...]:
        import json

        try:
            data = to_python(value, strict=True, is_null=is_null)
        except ConversionError as exc:
            return False, None, f"JSON stringify error: {exc}"
        except UnicodeDecodeError:
            return False, None, "JSON stringify error: invalid UTF-8 in a string"
        if pretty:
            return True, json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)
        return True, json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def captured(limit: Any = None) -> Any:
        entries = list(debug_log.entries)
        if isinstance(limit, int | float) and limit > 0:
            entries = entries[-int(limit) :]
        return to_lua(runtime, entries)

    def dump(value: Any) -> str:
        try:
            return lua_literal(to_shown(value, is_null=is_null)[1])
        except UnicodeDecodeError:
            return str(value)

    def display(value: Any, mimetype: str | None) -> None:
        if notebook is None:
            return
        bundle: dict[str, Any]
        if mimetype:
            text = value if isinstance(value, str) else dump(value)
            bundle = (
                {mimetype: text, "text/plain": text}
                if mimetype != "text/plain"
                else {"text/plain": text}
            )
        else:
            try:
                data, shown = to_shown(value, is_null=is_null)
            except UnicodeDecodeError:
                data = shown = str(value)
            bundle = {"text/plain": lua_literal(shown)}
            if isinstance(data, dict | list):
                bundle["application/json"] = data
        notebook("display", bundle)

    def clear_output(wait: bool) -> None:
        if notebook is not None:
            notebook("clear", bool(wait))

    def page(name: str) -> None:
        if notebook is not None:
            notebook("page", name)

    def set_enabled(flag: bool) -> None:
        debug_log.enabled = bool(flag)

    def set_level(level: str) -> None:
        debug_log.level = level

    py = bridge.table(
        {
            "json_parse": json_parse,
            "json_stringify": json_stringify,
            "log": debug_log.log,
            "set_level": set_level,
            "get_level": lambda: debug_log.level,
            "set_enabled": set_enabled,
            "is_enabled": lambda: debug_log.enabled,
            "now": time.perf_counter,
            "captured": captured,
            "clear_captured": debug_log.entries.clear,
            "dump": dump,
            "display": display,
            "clear_output": clear_output,
            "page": page,
        },
        "JSON/Debug.",
    )
    here = os.path.dirname(__file__)

    def load_encoder() -> Any:
        """The encoder factory of json_encode.lua, compiled when a value is first encoded."""
        with open(os.path.join(here, "json_encode.lua"), encoding="utf-8") as handle:
            return runtime.execute(handle.read())

    with open(os.path.join(here, "core.lua"), encoding="utf-8") as handle:
        code = handle.read()
    null, encode = runtime.execute(
        code, env, py, real_debug.traceback, real_debug.getinfo, load_encoder
    )
    is_null_box.append(
        runtime.eval("function(n) return function(v) return rawequal(v, n) end end")(null)
    )
    return is_null_box[0], encode
