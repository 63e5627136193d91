"""Scope and key encoding of State (lua-api.md 2.3): the stored key is `<scope>:<key>`."""

from __future__ import annotations

from llmspell_kernel.errors import UsageError

KINDS = ("global", "user", "session", "agent", "tool", "workflow", "hook", "custom")


def normalize_scope(scope: str) -> str:
    """The canonical scope: `global`, `<kind>:<id>`, a bare kind, or `custom:<s>` for others."""
    if not isinstance(scope, str) or not scope:
        raise UsageError("scope must be a non-empty string (e.g. 'global' or 'agent:writer')")
    if scope in KINDS:
        return scope
    kind, sep, rest = scope.partition(":")
    if sep and kind in KINDS and kind != "global" and rest:
        return scope
    return f"custom:{scope}"


def stored_key(scope: str, key: str) -> str:
    """The full stored key for `key` under `scope` (with the `custom` + leading `:` rule)."""
    if not isinstance(key, str) or not key:
        raise UsageError("key must be a non-empty string")
    canonical = normalize_scope(scope)
    if canonical == "custom" and key.startswith(":"):
        if len(key) == 1:
            raise UsageError("absolute key ':' names nothing")
        return key[1:]
    return f"{canonical}:{key}"


def scope_prefix(scope: str) -> str:
    """The prefix every stored key under `scope` starts with."""
    return normalize_scope(scope) + ":"


def split_stored_key(full_key: str) -> tuple[str, str]:
    """(scope, key) of a stored key, for display; the scope is as `normalize_scope` returns it."""
    kind, sep, rest = full_key.partition(":")
    if not sep:
        return "custom", full_key
    if kind == "global" or kind not in KINDS:
        return kind if kind == "global" else f"custom:{kind}", rest
    ident, sep2, key = rest.partition(":")
    if not sep2:
        return kind, rest
    return f"{kind}:{ident}", key


def validate_stored_key(full_key: str) -> None:
    """Raise unless `full_key` is a key State could have stored (used by import)."""
    if not isinstance(full_key, str) or ":" not in full_key:
        raise UsageError(f"'{full_key}' is not a stored key of the form <scope>:<key>")
    kind, _, rest = full_key.partition(":")
    if kind not in KINDS or not rest:
        raise UsageError(
            f"'{full_key}' does not start with a known scope ({', '.join(KINDS)}) followed by ':<key>'"
        )
