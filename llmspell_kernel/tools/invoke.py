"""Running one built-in tool call: parameters in, the uniform result table out (lua-api.md 2.9).

Every call of every tool passes through `invoke` in llmspell_kernel/lua/globals/tool.lua (the
seam hooks and events wrap); for a built-in tool it lands here."""

from __future__ import annotations

import time

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # annotations only: typing stays off the first tool call (records.py)
if TYPE_CHECKING:
    from typing import Any

    from llmspell_kernel.tools.gates import ToolContext
    from llmspell_kernel.tools.registry import ToolEntry


def run_builtin(entry: ToolEntry, params: dict[str, Any], context: ToolContext) -> dict[str, Any]:
    """The uniform result of one call; a bad parameter or a denial raises LlmspellError
    `Tool '<name>' execution failed: <reason>`."""
    started = time.perf_counter()
    name = entry.name
    try:
        response = entry.function()(Params(params), context)
    except ToolError as exc:
        raise LlmspellError(f"Tool '{name}' execution failed: {exc.message}") from None
    except ToolFailure as exc:
        response = ToolResponse(success=False, error=str(exc))
    except OSError as exc:
        response = ToolResponse(success=False, error=os_error(exc))
    except LlmspellError:
        raise
    except Exception as exc:  # a bug in the tool: one line, never a Python traceback in Lua
        raise LlmspellError(
            f"Tool '{name}' execution failed: internal error: {type(exc).__name__}: {exc}"
        ) from None
    return uniform(name, response, (time.perf_counter() - started) * 1000.0)


def uniform(name: str, response: ToolResponse, elapsed_ms: float) -> dict[str, Any]:
    """The result table every tool call returns."""
    text = response.text
    if text is None:
        text = response.message or response.error
    if text is None:
        result = response.result
        text = "" if result is None else _json_text(result)
    out: dict[str, Any] = {
        "success": response.success,
        "text": text,
        "metadata": {"tool": name, "execution_time_ms": round(elapsed_ms, 3)},
    }
    if response.result is not None:
        out["result"] = response.result
    if response.operation is not None:
        out["operation"] = response.operation
    if response.message is not None:
        out["message"] = response.message
    if response.error is not None:
        out["error"] = response.error
    return out


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json  # only for a tool whose response has no text

    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def os_error(exc: OSError) -> str:
    """An OS error for people: what failed and where."""
    reason = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"{reason}: '{exc.filename}'"
    return reason
