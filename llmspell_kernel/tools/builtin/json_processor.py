"""json_processor: jq programs (the `jq` package: real jq syntax) over JSON values or text,
validation against a JSON schema, and JSON-lines streams."""

from __future__ import annotations

import json

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any


def _document(params: Params) -> Any:
    value = params.value("input", required=True, aliases=("data", "json"))
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ToolError(f"parameter 'input' is not valid JSON: {exc}") from None
    return value


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice(
        "operation", ("query", "transform", "jq", "validate", "stream"), "query"
    )
    if operation == "validate":
        from llmspell_kernel.tools.builtin.data_validation import schema_errors

        errors = schema_errors(_document(params), params.table("schema", required=True))
        return ToolResponse(
            result={"valid": not errors, "errors": errors},
            text="valid" if not errors else "\n".join(errors),
            operation=operation,
        )
    import jq

    program = params.text("query", ".", aliases=("filter", "expression"))
    try:
        compiled = jq.compile(program)
    except ValueError as exc:
        raise ToolError(f"parameter 'query' is not a valid jq program: {exc}") from None
    if operation == "stream":
        text = params.text("input", required=True)
        outputs: list[Any] = []
        for line in text.splitlines():
            if line.strip():
                try:
                    outputs.extend(compiled.input_value(json.loads(line)).all())
                except ValueError as exc:
                    raise ToolError(f"invalid JSON line or query failure: {exc}") from None
    else:
        try:
            outputs = compiled.input_value(_document(params)).all()
        except ValueError as exc:
            raise ToolError(f"jq: {exc}") from None
    result = outputs[0] if len(outputs) == 1 else outputs
    text = "\n".join(json.dumps(o, sort_keys=True, ensure_ascii=False) for o in outputs)
    return ToolResponse(result=result, text=text, operation=operation)
