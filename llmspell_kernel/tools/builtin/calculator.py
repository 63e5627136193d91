"""calculator: arithmetic through simpleeval (an expression evaluator that runs no code; never
`eval`), with math functions and variables."""

from __future__ import annotations

import math
from typing import Any

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

FUNCTIONS: dict[str, Any] = {
    name: getattr(math, name)
    for name in (
        "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
        "exp", "log", "log10", "log2", "floor", "ceil", "factorial", "gcd", "hypot", "degrees",
        "radians", "trunc",
    )
}  # fmt: skip
FUNCTIONS.update({"abs": abs, "min": min, "max": max, "round": round, "pow": pow, "ln": math.log})
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "^ (power)", "==", "!=", "<", "<=", ">", ">="]


def _evaluator(variables: dict[str, Any]) -> Any:
    from simpleeval import SimpleEval

    names = dict(CONSTANTS)
    names.update(variables)
    return SimpleEval(functions=FUNCTIONS, names=names)


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", ("evaluate", "validate", "functions"), "evaluate")
    if operation == "functions":
        result = {"functions": sorted(FUNCTIONS), "operators": OPERATORS, "constants": CONSTANTS}
        return ToolResponse(result=result, operation=operation)
    expression = params.text("input", required=True, aliases=("expression",))
    variables = params.table("variables")
    for name, value in variables.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolError(f"variable '{name}' must be a number")
    from simpleeval import InvalidExpression

    try:
        # `^` is a power, as upstream's calculator had it (binding tighter than * and +).
        value = _evaluator(variables).eval(expression.replace("^", "**"))
    except (InvalidExpression, SyntaxError, TypeError, ValueError, ZeroDivisionError,
            OverflowError, KeyError) as exc:  # fmt: skip
        message = _explain(exc)
        if operation == "validate":
            return ToolResponse(
                result={"valid": False, "error": message}, text="false", operation=operation
            )
        raise ToolError(f"cannot evaluate '{expression}': {message}") from None
    if operation == "validate":
        return ToolResponse(result={"valid": True, "error": None}, text="true", operation=operation)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(f"'{expression}' is not a numeric expression")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    result = {
        "input": expression,
        "result": value,
        "result_type": "integer" if isinstance(value, int) else "float",
        "variables": variables,
    }
    return ToolResponse(result=result, text=str(value), operation=operation)


def _explain(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, SyntaxError):
        return "invalid syntax"
    return str(exc) or type(exc).__name__
