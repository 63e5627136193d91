"""Python hook extensions: installed packages name a setup function in the `llmspell.hooks`
entry-point group, a configuration names them in `[hooks] python = ["module:function"]`. Each
setup function is called once per engine with its `HookRegistry` and registers what it wants:

    def setup(hooks):
        hooks.register("PreExecute", lambda ctx: print(ctx.data["code"]), "high")

Entry points are found by reading `*.dist-info/entry_points.txt` on sys.path directly: the
stdlib's importlib.metadata costs ~50 ms to import, on the start-up path of every `exec`.
"""

from __future__ import annotations

import importlib
import os
import sys

from llmspell_kernel.errors import ConfigError
from llmspell_kernel.logs import get_logger

# On the start-up path (hook.py asks for entry points on every engine): no typing, no re.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from llmspell_kernel.hooks.registry import HookRegistry

    Setup = Callable[[HookRegistry], object]

GROUP = "llmspell.hooks"
log = get_logger("llmspell.hooks")

_found: list[str] | None = None  # entry-point values, scanned once per process


def entry_point_targets() -> list[str]:
    """The `module:function` values of every installed `llmspell.hooks` entry point."""
    global _found
    if _found is not None:
        return _found
    marker = f"[{GROUP}]"
    targets: list[str] = []
    for directory in sys.path:
        try:
            names = os.listdir(directory or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            path = os.path.join(directory or ".", name, "entry_points.txt")
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            if marker not in text:
                continue
            import configparser

            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            try:
                parser.read_string(text)
            except configparser.Error as exc:
                log.warning("%s: unreadable entry points: %s", path, exc)
                continue
            targets += [value.strip() for value in parser[GROUP].values()]
    _found = targets
    return targets


def resolve(target: str) -> Setup:
    """`package.module:function` (attributes may be dotted) as the callable it names."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"'{target}' is not of the form module:function")
    value: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    if not callable(value):
        raise ValueError(f"'{target}' is not callable")
    return value


def load_extensions(
    registry: HookRegistry, configured: Sequence[str], *, entry_points: bool = True
) -> None:
    """Call every setup function with `registry`. A configured one that fails is a
    ConfigError (the user named it); a broken installed package is logged and skipped."""
    for target in configured:
        try:
            resolve(target)(registry)
        except Exception as exc:
            raise ConfigError(
                f"hooks.python: cannot load '{target}': {type(exc).__name__}: {exc}",
                hint="each entry is module:function, importable from sys.path",
            ) from exc
    if not entry_points:
        return
    for target in entry_point_targets():
        if target in configured:
            continue
        try:
            resolve(target)(registry)
        except Exception as exc:
            log.warning(
                "hook extension '%s' failed to load: %s: %s", target, type(exc).__name__, exc
            )
