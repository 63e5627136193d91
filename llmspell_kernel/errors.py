"""The one error hierarchy. The CLI maps each class to an exit code (see cli.md)."""

from __future__ import annotations


class LlmspellError(Exception):
    """Base of every error a user can cause; its message is one line meant for people."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ScriptError(LlmspellError):
    """A Lua script failed (syntax error, runtime error, interrupt, timeout, memory limit)."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        ename: str = "LuaError",
        traceback: list[str] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.ename = ename
        self.traceback = traceback or []


class UsageError(LlmspellError):
    """Bad arguments or a missing input file."""

    exit_code = 2


class ConfigError(LlmspellError):
    """A configuration file or override is invalid."""

    exit_code = 3


class KernelConnectionError(LlmspellError):
    """A kernel could not be reached or stopped answering."""

    exit_code = 4


class Interrupted(LlmspellError):
    """The user interrupted the work (Ctrl-C)."""

    exit_code = 130
