"""A REPL session's inputs as a runnable Lua script (the REPL's `.save`): each input keeps its
own scope where it needs one, and the values the REPL showed are printed as it showed them."""

from __future__ import annotations

import re

# What the script defines first when the REPL showed values: all the values of a call,
# tab-separated, as the REPL shows them.
_SHOW_VALUES = (
    "local function show_values(...)\n"
    "  local shown = {}\n"
    '  for i = 1, select("#", ...) do shown[i] = Debug.dump((select(i, ...))) end\n'
    '  print(table.concat(shown, "\\t"))\n'
    "end"
)
_NEEDS_OWN_SCOPE = re.compile(r"\breturn\b|^\s*local\b", re.MULTILINE)


def transcript_script(inputs: list[tuple[str, str]], name: str) -> str:
    """The script of `inputs`, (code, kind) in order; kind is "value" (an expression whose value
    was shown), "expression" (its value was not), "returned" (a `return` whose values were
    shown) or "statement". `name` is the file name the header's run command shows."""
    lines = ["-- saved from llmspell repl; run with: llmspell run " + name]
    if any(kind in ("value", "returned") for _, kind in inputs):
        lines.append(_SHOW_VALUES)
    for code, kind in inputs:
        body = (code[1:] if code.startswith("=") else code).strip().rstrip(";")
        if kind == "value":
            lines.append(f"show_values({body})")
        elif kind == "expression":
            lines.append(f"local _ = {body}")
        elif kind == "returned":
            # `return …` ended that input with values the REPL showed
            lines.append(f"show_values((function()\n{code.rstrip()}\nend)())")
        elif _NEEDS_OWN_SCOPE.search(code):
            # each input is a chunk of its own: its locals and a `return` stay inside it
            # `;` first: a line opening with `(` would call the value of the line before
            lines.append(f";(function()\n{code.rstrip()}\nend)()")
        else:
            lines.append(code.rstrip())
    return "\n".join(lines) + "\n"
