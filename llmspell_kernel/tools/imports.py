"""Importing a tool's library without optional packages it would load for features the tool
never uses (each caller names them and why)."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterable, Sequence
from types import ModuleType


class _Refusal:
    """A meta path finder that refuses `names` to one thread's imports: another thread
    importing one of them meanwhile gets it as usual."""

    def __init__(self, names: Iterable[str], thread: int) -> None:
        self.names = frozenset(names)
        self.thread = thread

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: object = None
    ) -> None:
        if name in self.names and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"No module named '{name}' (not needed here)", name=name)


def import_without(module: str, unused: Iterable[str]) -> ModuleType:
    """`module`, imported while this thread's imports of the packages of `unused` that are not
    loaded yet fail with ImportError, which these libraries catch (the feature that needs one
    is then off in this process). They are importable again as soon as `module` is loaded; an
    already loaded `module` or package is used as it is."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    refusal = _Refusal(unused, threading.get_ident())
    sys.meta_path.insert(0, refusal)
    try:
        return importlib.import_module(module)
    finally:
        sys.meta_path.remove(refusal)
