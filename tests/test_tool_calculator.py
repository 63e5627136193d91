"""calculator's own evaluator against simpleeval (what the tool used before; kept in the [test]
extra for this comparison only) over a written corpus and seeded random expressions, and the
tool's limits and error messages through Tool.invoke in a real Lua engine."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

from simpleeval import InvalidExpression, SimpleEval

from llmspell_kernel.tools.builtin import calculator
from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

# The functions the tool gave simpleeval (pow and factorial unwrapped: simpleeval had no limit).
REFERENCE_FUNCTIONS = dict(calculator.FUNCTIONS, pow=pow, factorial=math.factorial)
VARIABLES = {"x": 16, "y": 2.5, "n": -3, "big": 10**20, "sqrt_": 4}

CORPUS = """
2 + 2 * 3 ; 42 * 17 + 89 ; sqrt(x) + 2**3 ; (1 + 2) * 3 ; 10 / 4 ; 10 // 4 ; -10 // 4 ; 10 % 3
-7 % 3 ; 7 % -3 ; 2 ** 10 ; 2 ** -1 ; -2 ** 2 ; (-2) ** 2 ; 2 ** 3 ** 2 ; (2 ** 3) ** 2 ; 2**-2**2
- - 2 ; -+-2 ; +3 ; ~5 ; ~-1 ; 1 << 3 ; 256 >> 2 ; 6 & 3 ; 6 | 3 ; 1 | 2 & 3 << 1 + 1
1 < 2 ; 1 < 2 < 3 ; 3 > 2 > 2 ; 1 == 1.0 ; 1 != 2 ; 2 <= 2 >= 1 ; 1 < 2 == 2 ; (1 < 2) + 1
1 and 2 ; 0 and 1/0 ; 0 or 5 ; 2 or 1/0 ; not 0 ; not 1 == 2 ; not not 3 ; 1 and 0 or 7
1 if 1 else 2 ; 1 if 0 else 2 if 1 else 3 ; (1 if x > 10 else 2) * 10 ; 5 if 0 else 1/0 + 1
x * y ; x / n ; n ** 2 ; big * big ; big // 7 ; y ** 0.5 ; x ** y ; n ** 3 ; sqrt_ + sqrt(sqrt_)
pi ; e ; tau ; pi * 2 ; e ** 2 ; sin(pi / 2) ; cos(0) ; tan(pi / 4) ; atan2(1, 1) ; hypot(3, 4)
asin(1) ; acos(1) ; atan(1) ; sinh(1) ; cosh(1) ; tanh(0.5) ; exp(1) ; log(e) ; log(8, 2) ; ln(e)
log10(1000) ; log2(1024) ; floor(2.7) ; ceil(2.1) ; floor(-2.5) ; trunc(-2.7) ; factorial(10)
gcd(12, 18) ; degrees(pi) ; radians(180) ; abs(-3) ; abs(-2.5) ; min(3, 1, 2) ; max(1, 2.5)
round(2.567, 2) ; round(2.5) ; round(3.5) ; pow(2, 10) ; pow(2, 0.5) ; pow(3, 4, 5) ; pow(2, -1)
sqrt(2) * sqrt(2) ; 0.1 + 0.2 ; 1e3 ; 1E-3 ; 1.5e+2 ; .5 ; 5. ; 1_000_000 ; 0x1F ; 0o17 ; 0b101
0xff_ff ; 1_0.5 ; 00 ; 0 ; 0.0 ; 1e308 * 10 ; -1e308 * 10 ; 2.0 ** 0.5 ; 10 ** 15 ; 10 ** 16 + 1
2 ** 53 + 1 ; 2 ** 64 ; 1.0 * 2 ** 53 ; 3 / 3 ; 7 / 2 ; 2 ** 62 ; True + 1 ; False * 3 ; True
None ; 1 < None ; sqrt ; sqrt + 1 ; 1 / 0 ; 1 // 0 ; 1 % 0 ; 0 ** -1 ; 1.0 / 0 ; sqrt(-1) ; log(0)
factorial(-1) ; factorial(2.5) ; sqrt() ; sqrt(1, 2) ; max() ; exp(1000) ; 10 ** 400 * 1.0
10 ** 400 / 3 ; 2.0 ** 10000 ; z ; z + 1 ; foo(1) ; x(2) ; pi(2) ; 2 + ; * 3 ; (1 + 2 ; 1 + 2)
1 2 ; 1 +* 2 ; 012 ; 1__0 ; 1_ ; 0x ; 1e ; 1.2.3 ; 1abc ; 0x1g ; @ ; 1 = 1 ; 1 => 2 ; a.b ; [1]
'a' ; "a" ; x[0] ; lambda: 1 ; 1; 2 ; if ; 1 if 2 ; 1 if 2 else ; not ; and 1 ; 1 and ; 3 ** 4000001
round(2.567, ndigits=2) ; round(x, ndigits=y) ; round(2.5, nd=1) ; round(ndigits=1, 2)
round(2.5, ndigits=1, ndigits=2) ; log(8, base=2) ; max(1, key=2) ; 4000001 ** 2 ; 5000000 ** 0.5 ; 2 ** 4000000.5 ; 1 << 10001 ; 1 >> -1 ; 1 << -1 ; 1.5 << 1
2 ** 100 ; (1 + 2j) ; 1j * 1j ; (-8) ** (1 / 3) ; 2 < 1j ; 1 < 2 < 1 / 0 ; abs(-0.0) ; -0.0
1e999 - 1e999 ; 1e999 ; ( ( ( 1 ) ) ) ; x*x*x*x*x ; 1-2-3-4 ; 2/2/2 ; 2**2**-1 ; 7 //-2 * 3
""".replace("\n", " ; ")


def reference(expression: str, variables: dict[str, Any]) -> tuple[Any, ...]:
    names = dict(calculator.CONSTANTS)
    names.update(variables)
    evaluator = SimpleEval(functions=REFERENCE_FUNCTIONS, names=names)
    try:
        value = evaluator.eval(expression)
    except (InvalidExpression, SyntaxError) as exc:
        message = str(exc) if "not defined" in str(exc) else type(exc).__name__
        return ("error", message)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError) as exc:
        return ("error", type(exc).__name__, str(exc))
    if type(value) is int and value.bit_length() > calculator.MAX_INT_BITS:
        return ("error", "too large")  # refused by ours (simpleeval computes it)
    return ("ok", type(value).__name__, repr(value))


def ours(expression: str, variables: dict[str, Any]) -> tuple[Any, ...]:
    try:
        value = calculator.evaluate(expression, variables)
    except calculator._Syntax:
        return ("error", "SyntaxError")
    except calculator._Error as exc:
        if "not defined" in str(exc):
            return ("error", str(exc))
        return ("error", "too large" if "too large" in str(exc) else "NumberTooHigh")
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("ok", type(value).__name__, repr(value))


def normalised(outcome: tuple[Any, ...]) -> tuple[Any, ...]:
    # simpleeval's own refusals (NumberTooHigh, FeatureNotAvailable, ...) against ours by kind.
    if outcome[0] == "error" and outcome[1] in (
        "NumberTooHigh", "FeatureNotAvailable", "OperatorNotDefined", "InvalidExpression",
        "AttributeDoesNotExist", "IterableTooLong",
    ):  # fmt: skip
        return ("error", "refused")
    return outcome


def expressions() -> list[str]:
    return [item.strip() for item in CORPUS.split(" ; ") if item.strip()]


# Python syntax simpleeval accepts and the calculator does not (strings, subscripts, attribute
# access, several statements, lambdas; a repeated keyword, which Python's compiler refuses
# too): invalid syntax, not evaluated.
REFUSED_SYNTAX = {
    "'a'",
    '"a"',
    "x[0]",
    "a.b",
    "[1]",
    "1; 2",
    "lambda: 1",
    "round(2.5, ndigits=1, ndigits=2)",
}


def test_the_evaluator_gives_simpleevals_results_over_the_corpus() -> None:
    mismatches = []
    for expression in expressions():
        got = ours(expression, VARIABLES)
        if expression in REFUSED_SYNTAX:
            assert got == ("error", "SyntaxError"), expression
            continue
        want = reference(expression, VARIABLES)
        if normalised(want) != normalised(got) and not (
            normalised(want) == ("error", "refused") and got[0] == "error"
        ):
            mismatches.append((expression, want, got))
    assert not mismatches
    assert len(expressions()) > 200


# (weight, form, what {c} is chosen from): {l}, {r} and {t} are random subexpressions.
FORMS = [
    (
        45,
        "{l} {c} {r}",
        ["+", "-", "*", "/", "//", "%", "<", "<=", "==", "!=", ">", ">=", "&", "|"],
    ),
    (10, "{l} ** {c}", ["2", "3", "-1", "0.5", "(-2)", "n"]),
    (7, "{l} {c}", ["<< 1", ">> 3", "<< -1", ">> 1"]),
    (10, "{c}{l}", ["-", "+", "~", "not "]),
    (8, "({l} {c} {r})", ["and", "or"]),
    (6, "({l} if {r} else {t}){c}", [""]),
    (8, "{c}({l})", ["sqrt", "abs", "floor", "sin", "log", "exp", "round", "trunc"]),
    (6, "({l}){c}", [""]),
]
LEAVES = ["0", "1", "2", "3", "7", "10", "0.5", "2.5", "1e3", "x", "y", "n", "pi", "0x10"]


def _random_expression(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(LEAVES)
    _, form, choices = rng.choices(FORMS, weights=[w for w, _, _ in FORMS])[0]
    parts = (_random_expression(rng, depth - 1) for _ in range(3))
    return form.format(l=next(parts), r=next(parts), t=next(parts), c=rng.choice(choices))


def test_the_evaluator_gives_simpleevals_results_for_random_expressions() -> None:
    rng = random.Random(14)
    mismatches, evaluated = [], 0
    for _ in range(3000):
        expression = _random_expression(rng, 4)
        want, got = normalised(reference(expression, VARIABLES)), ours(expression, VARIABLES)
        evaluated += want[0] == "ok"
        if want != got and not (want == ("error", "refused") and got[0] == "error"):
            mismatches.append((expression, want, got))
    assert not mismatches[:5]
    assert evaluated > 1500  # most of them have a value, not an error


def test_errors_and_limits_through_tool_invoke(allowed: Path) -> None:
    engine, _ = make_engine(allowed)

    def error(expression: str) -> str:
        return failure(engine, f"Tool.invoke('calculator', {{input = [[{expression}]]}})")

    prefix = "main.lua:1: Tool 'calculator' execution failed: cannot evaluate"
    assert error("1 / 0") == f"{prefix} '1 / 0': division by zero"
    assert error("2 +") == f"{prefix} '2 +': invalid syntax"
    assert error("q + 1") == f"{prefix} 'q + 1': 'q' is not defined for expression 'q + 1'"
    assert error("f(1)") == f"{prefix} 'f(1)': Function 'f' not defined, for expression 'f(1)'."
    assert error("sqrt(-1)") == f"{prefix} 'sqrt(-1)': math domain error"
    assert error("   ") == f"{prefix} '   ': empty expression"
    assert "power too large" in error("10 ^ 5000000")
    assert "result too large" in error("2 ^ 70000")
    assert "result too large" in error("2 ^ 20000")  # computed, but more digits than shown
    assert "shift too large" in error("1 << 10001")
    # Refused before computing (simpleeval computed these: seconds of CPU, or much longer).
    started = time.perf_counter()
    assert "result too large" in error("3999999 ** 3999999")
    assert "result too large" in error("pow(10, 10 ^ 7)")
    assert "result too large" in error("factorial(1000000)")
    assert time.perf_counter() - started < 5
    deep = "(" * 101 + "1" + ")" * 101
    assert "nested more than 100 levels" in error(deep)
    assert "longer than 10000 characters" in error("1+" * 5000 + "1")
    assert "is not a numeric expression" in failure(
        engine, "Tool.invoke('calculator', {input = '1 < 2'})"
    )
    value = run(
        engine,
        """local r = Tool.invoke("calculator", {input = "sqrt(x) + 2^3^2 - y", variables = {x = 16, y = 0.5}})
        local v = Tool.invoke("calculator", {operation = "validate", input = "1 +* 2"})
        local chain = Tool.invoke("calculator", {input = string.rep("1 + ", 2000) .. "1"})
        local minus = Tool.invoke("calculator", {input = string.rep("-", 90) .. "2"})
        return {r.result.result, r.result.result_type, v.result.valid, v.result.error,
                chain.result.result, minus.result.result}""",
    )
    assert value == [515.5, "float", False, "invalid syntax", 2001, 2]
