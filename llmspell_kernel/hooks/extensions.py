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


def _cache_file() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "llmspell", "hook-entry-points")


def _read_cache() -> dict[str, tuple[str, list[str]]]:
    """dir -> (its mtime when scanned, the targets found there)."""
    found: dict[str, tuple[str, list[str]]] = {}
    try:
        with open(_cache_file(), encoding="utf-8") as handle:
            for line in handle:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2:
                    found[parts[0]] = (parts[1], parts[2:])
    except (OSError, UnicodeDecodeError):
        pass
    return found


def _write_cache(entries: dict[str, tuple[str, list[str]]]) -> None:
    path = _cache_file()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as handle:
            for directory, (stamp, targets) in entries.items():
                handle.write("\t".join([directory, stamp, *targets]) + "\n")
        os.replace(temporary, path)
    except OSError:  # a read-only home: scan again next time
        pass


def _scan(directory: str, marker: str) -> list[str]:
    """The `llmspell.hooks` targets of the distributions installed in one directory."""
    targets: list[str] = []
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return targets
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
    return targets


def entry_point_targets() -> list[str]:
    """The `module:function` values of every installed `llmspell.hooks` entry point.

    Reading every distribution's entry_points.txt cost ~20 ms with 50 installed, so what each
    sys.path directory holds is cached (~/.cache/llmspell/hook-entry-points) under the
    directory's modification time, which changes whenever a distribution is added or removed."""
    global _found
    if _found is not None:
        return _found
    marker = f"[{GROUP}]"
    cached = _read_cache()
    current: dict[str, tuple[str, list[str]]] = {}
    changed = False
    for directory in sys.path:
        if directory.endswith(".zip"):
            continue
        where = os.path.abspath(directory or ".")  # "" is the working directory
        try:
            stamp = str(os.stat(where).st_mtime_ns)
        except OSError:
            continue
        known = cached.get(where)
        if known is not None and known[0] == stamp:
            current[where] = known
        else:
            current[where] = (stamp, _scan(where, marker))
            changed = True
    if changed:
        _write_cache({**cached, **current})
    targets: list[str] = []
    for _stamp, found in current.values():
        targets += found
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
