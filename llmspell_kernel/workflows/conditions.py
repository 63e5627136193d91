"""Workflow conditions (lua-api.md 2.10): normalised once at build time, data leaves checked
here. The tree (and/or/not) and `custom` functions are walked by workflow.lua, which calls
`check` for the data leaves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.workflows.placeholders import lookup, text_of

LEAVES = (
    "step_output_equals",
    "step_result_equals",
    "step_output_contains",
    "shared_data_equals",
    "shared_data_exists",
)
TYPES = ("always", "never", "and", "or", "not", "custom", *LEAVES)


def normalize(raw: Any, where: str = "condition") -> dict[str, Any]:
    """The canonical table of a condition: string shorthands expanded, fields checked.
    A `custom` condition arrives with `fn_ref` (workflow.lua keeps the function)."""
    if isinstance(raw, str):
        if raw in ("always", "never"):
            return {"type": raw}
        kind, sep, rest = raw.partition(":")
        name, sep2, expected = rest.partition(":")
        if kind == "step" and sep and sep2 and name:
            return {"type": "step_output_equals", "step": name, "expected": expected}
        raise LlmspellError(
            f"{where}: unknown condition '{raw}' (use 'always', 'never' or 'step:<name>:<value>')"
        )
    if not isinstance(raw, dict):
        raise LlmspellError(f"{where} must be a table or a string")
    kind = str(raw.get("type"))
    if kind not in TYPES:
        raise LlmspellError(f"{where}: unknown condition type '{kind}'")
    if kind in ("always", "never"):
        return {"type": kind}
    if kind in ("and", "or"):
        parts = raw.get("conditions")
        if isinstance(parts, dict) and not parts:
            parts = []
        if not isinstance(parts, list):
            raise LlmspellError(f"{where}: an '{kind}' condition needs conditions = {{...}}")
        return {
            "type": kind,
            "conditions": [
                normalize(p, f"{where}.conditions[{i + 1}]") for i, p in enumerate(parts)
            ],
        }
    if kind == "not":
        if raw.get("condition") is None:
            raise LlmspellError(f"{where}: a 'not' condition needs condition = {{...}}")
        return {"type": "not", "condition": normalize(raw["condition"], f"{where}.condition")}
    if kind == "custom":
        if not isinstance(raw.get("fn_ref"), int):
            raise LlmspellError(f"{where}: a 'custom' condition needs fn = function(ctx) ... end")
        return {"type": "custom", "fn_ref": raw["fn_ref"]}
    if kind.startswith("step_"):
        step = raw.get("step") or raw.get("step_name")
        if not isinstance(step, str) or not step:
            raise LlmspellError(f"{where}: a '{kind}' condition needs step = <step name>")
        if kind == "step_output_contains":
            text = raw.get("text", raw.get("expected"))
            if text is None:
                raise LlmspellError(f"{where}: a '{kind}' condition needs text = ...")
            return {"type": kind, "step": step, "text": text_of(text)}
        wanted = raw.get("expected", raw.get("value"))
        if wanted is None:
            raise LlmspellError(f"{where}: a '{kind}' condition needs expected = ...")
        return {"type": kind, "step": step, "expected": text_of(wanted)}
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise LlmspellError(f"{where}: a '{kind}' condition needs key = <name>")
    if kind == "shared_data_exists":
        return {"type": kind, "key": key}
    value = raw.get("value", raw.get("expected"))
    return {"type": kind, "key": key, "value": value}


def custom_refs(condition: Mapping[str, Any]) -> list[int]:
    """The `fn_ref`s a condition tree holds (validation: each must name a function)."""
    kind = condition["type"]
    if kind == "custom":
        return [int(condition["fn_ref"])]
    if kind in ("and", "or"):
        return [r for c in condition["conditions"] for r in custom_refs(c)]
    if kind == "not":
        return custom_refs(condition["condition"])
    return []


def check(
    condition: Mapping[str, Any], outputs: Mapping[str, str], shared: Mapping[str, Any]
) -> bool:
    """Whether one data leaf holds. `outputs`: step texts of the run so far; `shared`: the
    run input plus step outputs plus loop_value/loop_index (lua-api.md 2.10)."""
    kind = condition["type"]
    if kind in ("step_output_equals", "step_result_equals"):
        output = outputs.get(condition["step"])
        return output is not None and output.strip() == str(condition["expected"]).strip()
    if kind == "step_output_contains":
        output = outputs.get(condition["step"])
        return output is not None and str(condition["text"]).lower() in output.lower()
    found, value = lookup(shared, condition["key"])
    if kind == "shared_data_exists":
        return found and value is not None
    if kind == "shared_data_equals":
        expected = condition.get("value")
        if not found:
            return expected is None
        if value == expected and type(value) is type(expected):
            return True
        return text_of(value) == text_of(expected)
    raise LlmspellError(f"not a data condition: {kind}")
