"""calculator: arithmetic through a small evaluator of its own (a hand-written tokenizer and
recursive-descent parser over numbers, names and operators; no `eval`, `compile` or `ast`, so
no code can run), with math functions and variables.

The language is Python's expression syntax restricted to numbers: `+ - * / // % **` (`^` is a
power too), unary `+ - ~`, `& | << >>`, comparisons (chained: `1 < x < 3`), `and`/`or`/`not`,
`a if cond else b`, parentheses, calls of the functions below, the constants and the caller's
variables, with Python's precedence and its results. It replaced simpleeval (whose import
cost more than the rest of the tool's first call) and gives the same values; tests/
test_tool_calculator.py compares the two over a corpus. Limits: the expression's length, its
nesting, a power's base and exponent (simpleeval's 4,000,000), shifts, and the size of any
integer on the way (so that `9**9**8` or `factorial(10**6)` are refused, not computed)."""

from __future__ import annotations

import math

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MAX_EXPRESSION_LENGTH = 10_000  # characters
MAX_DEPTH = 100  # nested parentheses, calls, unary operators and conditionals
MAX_POWER = 4_000_000  # the largest base or exponent of `**` (as simpleeval)
MAX_SHIFT = 10_000  # the largest shift of `<<` / `>>` (as simpleeval)
MAX_SHIFT_BASE = int(1.7976931348623157e308)  # the largest number shifted (as simpleeval)
MAX_INT_BITS = 65_536  # the largest integer any step may make (~19,700 digits)
MAX_FACTORIAL = 10_000


def _pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    if modulus is None:
        _check_power_size(base, exponent)
        return pow(base, exponent)
    return pow(base, exponent, modulus)


def _factorial(n: Any) -> Any:
    if isinstance(n, int) and n > MAX_FACTORIAL:
        raise _Error(f"result too large: factorial({n}) (the limit is {MAX_FACTORIAL})")
    return math.factorial(n)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(math, name)
    for name in (
        "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
        "exp", "log", "log10", "log2", "floor", "ceil", "gcd", "hypot", "degrees",
        "radians", "trunc",
    )
}  # fmt: skip
FUNCTIONS.update({"abs": abs, "min": min, "max": max, "round": round, "ln": math.log})
FUNCTIONS["pow"], FUNCTIONS["factorial"] = _pow, _factorial  # with size limits
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "^ (power)", "==", "!=", "<", "<=", ">", ">="]


class _Error(Exception):
    """An expression that cannot be evaluated (the message says why)."""


class _Syntax(Exception):
    """An expression that does not parse."""


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
    try:
        # `^` is a power, as upstream's calculator had it (binding tighter than * and +).
        value = evaluate(expression.replace("^", "**"), variables)
    except (_Error, _Syntax, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
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
    try:
        text = str(value)
    except ValueError:  # more digits than the interpreter converts (4300)
        raise ToolError(f"cannot evaluate '{expression}': result too large to show") from None
    result = {
        "input": expression,
        "result": value,
        "result_type": "integer" if isinstance(value, int) else "float",
        "variables": variables,
    }
    return ToolResponse(result=result, text=text, operation=operation)


def _explain(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, _Syntax):
        return "invalid syntax"
    return str(exc) or type(exc).__name__


def evaluate(expression: str, variables: dict[str, Any]) -> Any:
    """The value of `expression` with `variables` (and the constants) as its names."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise _Error(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    if not expression.strip():
        raise _Error("empty expression")
    names = dict(CONSTANTS)
    names.update(variables)
    parser = _Parser(_tokens(expression))
    tree = parser.expression()
    if parser.tokens[parser.at][0] != "end":
        raise _Syntax
    return _Evaluator(names, expression).value(tree)


# --- tokens: ("num", value) ("name", text) ("op", text) ("end", None) -------------------------

_OPERATOR_CHARS = {
    "*": ("**", "*"), "/": ("//", "/"), "<": ("<<", "<=", "<"), ">": (">>", ">=", ">"),
    "=": ("==", "="), "!": ("!=",), "+": ("+",), "-": ("-",), "%": ("%",), "(": ("(",),
    ")": (")",), ",": (",",), "&": ("&",), "|": ("|",), "~": ("~",),
}  # fmt: skip
_KEYWORDS = frozenset((
    "and", "or", "not", "if", "else", "in", "is", "lambda", "for", "while", "def", "class",
    "return", "None", "True", "False", "import", "from", "as", "with", "try", "except",
    "finally", "raise", "del", "global", "nonlocal", "pass", "break", "continue", "yield",
    "assert", "elif", "async", "await",
))  # fmt: skip
_DIGITS = "0123456789"


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\n\r\f\v":
            i += 1
        elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            i = _number(text, i, out)
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            out.append(("name", text[i:j]))
            i = j
        elif c in _OPERATOR_CHARS:
            for op in _OPERATOR_CHARS[c]:
                if text.startswith(op, i):
                    out.append(("op", op))
                    i += len(op)
                    break
            else:
                raise _Syntax
        else:
            raise _Syntax
    out.append(("end", None))
    return out


def _digits(text: str, i: int, allowed: str) -> int:
    """The end of a run of `allowed` digits at i, single underscores between them."""
    n = len(text)
    if i >= n or text[i] not in allowed:
        raise _Syntax
    i += 1
    while i < n:
        if text[i] in allowed:
            i += 1
        elif text[i] == "_" and i + 1 < n and text[i + 1] in allowed:
            i += 2
        else:
            break
    return i


def _number(text: str, start: int, out: list[tuple[str, Any]]) -> int:
    """Python's numeric literals: 12, 1_000, 0x1f, 0o17, 0b101, 1.5, .5, 1., 1e-3, 2j."""
    n = len(text)
    value: Any
    if text[start] == "0" and start + 1 < n and text[start + 1] in "xXoObB":
        base = {"x": 16, "o": 8, "b": 2}[text[start + 1].lower()]
        allowed = {16: "0123456789abcdefABCDEF", 8: "01234567", 2: "01"}[base]
        i = start + 2
        if i < n and text[i] == "_":
            i += 1
        i = _digits(text, i, allowed)
        value = int(text[start + 2 : i].replace("_", ""), base)
    else:
        i = start if text[start] == "." else _digits(text, start, _DIGITS)
        is_float = False
        if i < n and text[i] == ".":
            is_float = True
            i += 1
            if i < n and text[i] in _DIGITS:
                i = _digits(text, i, _DIGITS)
        if i < n and text[i] in "eE":
            is_float = True
            i += 1
            if i < n and text[i] in "+-":
                i += 1
            i = _digits(text, i, _DIGITS)
        literal = text[start:i].replace("_", "")
        if i < n and text[i] in "jJ":
            i += 1
            value = complex(0, float(literal))
        elif is_float:
            value = float(literal)
        else:
            if literal[0] == "0" and literal.strip("0"):
                raise _Syntax  # 012: leading zeros are not a decimal integer
            if len(literal) > 4300:
                raise _Syntax  # as Python's parser: more digits than it converts
            value = int(literal)
    if i < n and (text[i].isalnum() or text[i] in "_."):
        raise _Syntax  # 1abc, 1.2.3, 0x1g
    out.append(("num", value))
    return i


# --- parser: nested tuples -------------------------------------------------------------------
# ("num", v)  ("name", s)  ("call", s, [args], {keyword: arg})  ("unary", op, x)  ("not", x)
# ("power", base, exponent)  ("if", test, body, orelse)
# ("chain", level, first, [(op, x), ...]): operators of one level, applied left to right
# (`and`/`or` short-circuit; comparisons chain as Python's: 1 < x < 3).
# Precedence climbing over the levels below, so that a nesting level costs a few Python frames
# and a long flat chain (1 + 1 + ... + 1) no recursion at all.

_LEVEL = {
    "or": 0, "and": 1,  # 2: `not` (a prefix)
    "<": 3, ">": 3, "==": 3, "!=": 3, "<=": 3, ">=": 3,
    "|": 4, "&": 5, "<<": 6, ">>": 6, "+": 7, "-": 7, "*": 8, "/": 8, "//": 8, "%": 8,
}  # fmt: skip
_COMPARE, _NOT = 3, 2


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def _peek_op(self) -> Any:
        kind, value = self.tokens[self.at]
        return value if kind == "op" or (kind == "name" and value in _KEYWORDS) else None

    def _expect(self, op: str) -> None:
        if self._peek_op() != op:
            raise _Syntax
        self.at += 1

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Error(f"expression nested more than {MAX_DEPTH} levels deep")

    def expression(self) -> tuple[Any, ...]:
        self._enter()
        body = self._binary(0)
        if self._peek_op() == "if":
            self.at += 1
            test = self._binary(0)
            self._expect("else")
            body = ("if", test, body, self.expression())
        self.depth -= 1
        return body

    def _binary(self, min_level: int) -> tuple[Any, ...]:
        if min_level <= _NOT and self._peek_op() == "not":
            self.at += 1
            self._enter()
            left: tuple[Any, ...] = ("not", self._binary(_NOT))
            self.depth -= 1
        else:
            left = self._factor()
        chain: tuple[Any, ...] | None = None
        while True:
            level = _LEVEL.get(self._peek_op())
            if level is None or level < min_level:
                return left
            op = self._peek_op()
            self.at += 1
            right = self._binary(level + 1)
            if chain is not None and chain[1] == level:
                chain[3].append((op, right))
            else:
                chain = left = ("chain", level, left, [(op, right)])

    def _factor(self) -> tuple[Any, ...]:
        op = self._peek_op()
        if op in ("-", "+", "~"):
            self.at += 1
            self._enter()
            operand = self._factor()
            self.depth -= 1
            return ("unary", op, operand)
        base = self._primary()
        if self._peek_op() == "**":  # right-associative; its right side may be unary: 2**-1
            self.at += 1
            self._enter()
            exponent = self._factor()
            self.depth -= 1
            return ("power", base, exponent)
        return base

    def _primary(self) -> tuple[Any, ...]:
        kind, value = self.tokens[self.at]
        self.at += 1
        if kind == "num":
            return ("num", value)
        if kind == "name":
            if value in ("True", "False", "None"):
                return ("num", {"True": True, "False": False, "None": None}[value])
            if value in _KEYWORDS:
                raise _Syntax
            if self._peek_op() != "(":
                return ("name", value)
            self.at += 1
            self._enter()
            args: list[tuple[Any, ...]] = []
            keywords: dict[str, tuple[Any, ...]] = {}  # round(x, ndigits=2)
            while self._peek_op() != ")":
                kind, name = self.tokens[self.at]
                if kind == "name" and self.tokens[self.at + 1] == ("op", "="):
                    if name in _KEYWORDS or name in keywords:
                        raise _Syntax
                    self.at += 2
                    keywords[name] = self.expression()
                elif keywords:
                    raise _Syntax  # a positional argument after a keyword one
                else:
                    args.append(self.expression())
                if self._peek_op() != ",":
                    break
                self.at += 1
            self._expect(")")
            self.depth -= 1
            return ("call", value, args, keywords)
        if kind == "op" and value == "(":
            inner = self.expression()
            self._expect(")")
            return inner
        raise _Syntax


# --- evaluation ------------------------------------------------------------------------------


def _check_power_size(base: Any, exponent: Any) -> None:
    """Refuse an integer power whose result would exceed MAX_INT_BITS, before computing it."""
    if (
        type(base) is int
        and type(exponent) is int
        and exponent > 0
        and abs(base) > 1
        and (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS
    ):
        raise _Error(f"result too large: {base} ** {exponent}")


def _checked(value: Any) -> Any:
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        raise _Error(f"result too large (an integer of more than {MAX_INT_BITS} bits)")
    return value


def _apply(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return _checked(a * b)
    if op == "/":
        return a / b
    if op == "//":
        return a // b
    if op == "%":
        return a % b
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    # << and >>, within simpleeval's limits
    if abs(b) > MAX_SHIFT or abs(a) > MAX_SHIFT_BASE:
        raise _Error(f"shift too large: {a} {op} {b} (the limits are {MAX_SHIFT} bits)")
    return _checked(a << b if op == "<<" else a >> b)


def _compare(op: str, a: Any, b: Any) -> Any:
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<=":
        return a <= b
    return a >= b


class _Evaluator:
    def __init__(self, names: dict[str, Any], expression: str) -> None:
        self.names = names
        self.expression = expression

    def value(self, node: tuple[Any, ...]) -> Any:
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "chain":
            level, result = node[1], self.value(node[2])
            if level > _COMPARE:
                for op, operand in node[3]:
                    result = _apply(op, result, self.value(operand))
                return result
            if level == _COMPARE:
                for op, operand in node[3]:
                    left, result = result, self.value(operand)
                    if not _compare(op, left, result):
                        return False
                return True
            for _op, operand in node[3]:  # and (1), or (0)
                if (not result) if level == 1 else result:
                    return result
                result = self.value(operand)
            return result
        if kind == "name":
            name = node[1]
            if name in self.names:
                return self.names[name]
            if name in FUNCTIONS:
                return FUNCTIONS[name]
            raise _Error(f"'{name}' is not defined for expression '{self.expression}'")
        if kind == "call":
            function = FUNCTIONS.get(node[1])
            if function is None:
                raise _Error(
                    f"Function '{node[1]}' not defined, for expression '{self.expression}'."
                )
            args = [self.value(arg) for arg in node[2]]
            keywords = {name: self.value(arg) for name, arg in node[3].items()}
            return _checked(function(*args, **keywords))
        if kind == "power":
            base, exponent = self.value(node[1]), self.value(node[2])
            if abs(base) > MAX_POWER or abs(exponent) > MAX_POWER:
                raise _Error(
                    f"power too large: {base} ** {exponent} (the limit of the base and the "
                    f"exponent is {MAX_POWER})"
                )
            _check_power_size(base, exponent)
            return _checked(base**exponent)
        if kind == "unary":
            operand = self.value(node[2])
            op = node[1]
            return -operand if op == "-" else +operand if op == "+" else ~operand
        if kind == "not":
            return not self.value(node[1])
        # "if"
        return self.value(node[2]) if self.value(node[1]) else self.value(node[3])
