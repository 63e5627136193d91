"""environment_reader: read environment variables with secrets redacted (*KEY*, *TOKEN*,
*SECRET*, *PASSWORD*); `set` changes this process only and never a secret."""

from __future__ import annotations

import fnmatch
import os

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse
from llmspell_kernel.tools.gates import REDACTED, is_secret

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any


def _shown(name: str, value: str) -> str:
    return REDACTED if is_secret(name) else value


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", ("get", "list", "pattern", "set"), required=True)
    if operation == "get":
        name = params.text("variable_name", required=True, aliases=("name", "variable"))
        value = os.environ.get(name)
        found = value is not None
        shown = _shown(name, value) if value is not None else None
        return ToolResponse(
            result={"variable_name": name, "value": shown, "found": found},
            text=shown if found else "",
            operation=operation,
        )
    if operation == "set":
        name = params.text("variable_name", required=True, aliases=("name", "variable"))
        value = params.text("value", required=True)
        if is_secret(name) or name.startswith("LLMSPELL_"):
            raise ToolError(f"variable '{name}' cannot be set by a script (a secret or setting)")
        os.environ[name] = value
        return ToolResponse(
            result={"variable_name": name, "value": value, "set": True},
            message=f"set {name} for this process",
            operation=operation,
        )
    pattern = params.text("pattern", "*")
    variables = {
        name: _shown(name, value)
        for name, value in sorted(os.environ.items())
        if fnmatch.fnmatchcase(name, pattern)
    }
    return ToolResponse(
        result={"variables": variables, "count": len(variables)},
        text="\n".join(f"{k}={v}" for k, v in variables.items()),
        operation=operation,
    )
