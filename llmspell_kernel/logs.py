"""Loggers that import `logging` only when something is actually logged.

`logging` (with `traceback`, `string`, `weakref`) costs several milliseconds to import, and
`llmspell exec 'return 1'` normally logs nothing, so the startup path stays free of it.
"""

from __future__ import annotations

import sys

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TRACE = 5
LEVELS = {"off": 60, "error": 40, "warn": 30, "info": 20, "debug": 10, "trace": TRACE}
_state: dict[str, Any] = {"level": 30, "configured": False, "file": None}


def configure(level_name: str, log_file: str | None = None) -> None:
    """Set the llmspell log level (`--trace`); logs go to stderr (or `log_file`), never stdout."""
    _state["level"] = LEVELS.get(level_name, 30)
    if log_file:
        _state["file"] = log_file
    if "logging" in sys.modules or _state["level"] < 30 or log_file:
        _apply()


def enabled_for(level_name: str) -> bool:
    """Whether messages at `level_name` would be shown."""
    return LEVELS.get(level_name, 30) >= _state["level"]


def _apply() -> Any:
    import logging

    logger = logging.getLogger("llmspell")
    logger.setLevel(_state["level"])
    if not _state["configured"]:
        logging.addLevelName(TRACE, "TRACE")
        if _state["file"]:
            handler: Any = logging.FileHandler(_state["file"], encoding="utf-8")
            handler.setFormatter(
                logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s")
            )
        else:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        _state["configured"] = True
    return logging


class LazyLogger:
    """Stands in for `logging.getLogger(name)` until the first message."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def _get(self) -> Any:
        if self._logger is None:
            logging = _apply()
            self._logger = logging.getLogger(self._name)
        return self._logger

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._get(), attribute)


def get_logger(name: str) -> Any:
    """A logger under the `llmspell` hierarchy, created on first use."""
    return LazyLogger(name)
