"""Script arguments after `--` become `ARGS` (lua-api.md 1.5, with the foundation issue's rule
for a trailing pair).

`--key=value` always binds; `--key value` binds the next token unless the token is the last one
and an earlier option already took a value: then it is positional and `key` is a flag. So
`-- --topic lua` gives topic=lua, and `-- --name x --flag pos1` gives name=x, flag=true,
[1]=pos1 (write `--flag=pos1` to bind it). A `--key` followed by another `--option`, or last,
is the flag "true".
"""

from __future__ import annotations

from collections.abc import Sequence


def parse_script_args(tokens: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split tokens into named values and positional values."""
    named: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    count = len(tokens)
    while i < count:
        token = tokens[i]
        if token.startswith("--") and len(token) > 2:
            body = token[2:]
            if "=" in body:
                key, value = body.split("=", 1)
                named[key] = value
                i += 1
                continue
            has_value = i + 1 < count and not tokens[i + 1].startswith("--")
            trailing = i + 2 == count
            if has_value and not (trailing and named):
                named[body] = tokens[i + 1]
                i += 2
                continue
            named[body] = "true"
            i += 1
            continue
        positional.append(token)
        i += 1
    return named, positional
