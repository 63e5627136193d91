"""Importing a tool's library without optional packages it would load for features the tool
never uses (each caller names them and why)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from types import ModuleType


def import_without(module: str, unused: Iterable[str]) -> ModuleType:
    """`module`, imported while the packages of `unused` that are not loaded yet are blocked:
    inside that import, `import <one of them>` raises ImportError, which these libraries catch
    (the feature that needs it is then off in this process). They are importable again as soon
    as `module` is loaded; an already loaded `module` or package is used as it is."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    blocked = [name for name in unused if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        return importlib.import_module(module)
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
