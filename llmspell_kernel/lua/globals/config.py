"""The Python side of the `Config` global (lua-api.md 2.11): the effective configuration this
process started with, read-only, secrets masked.

Functions answer `(true, value)` or `(false, message)`; config.lua raises the message with the
caller's position. Nothing is read until a script calls one of them.
"""

from __future__ import annotations

import os

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.host import answer

TYPE_CHECKING = False  # typing is not imported at run time (start-up cost, see engine.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from llmspell_kernel.config import Config

# Besides what Section.to_dict masks (api_key, a DSN's password): keys with these endings.
SECRET_SUFFIXES = ("_key", "token", "secret", "password")


def _effective() -> Config:
    from llmspell_kernel.config import Config, configured

    return configured[0] if configured else Config()


def masked(value: Any) -> Any:
    """`value` with every non-empty string under a secret-looking key replaced by "***"."""
    if isinstance(value, dict):
        return {
            key: "***"
            if isinstance(item, str) and item and key.lower().endswith(SECRET_SUFFIXES)
            else masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def _tree() -> dict[str, Any]:
    tree: dict[str, Any] = masked(_effective().to_dict(redact=True))
    return tree


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise LlmspellError(f"{what} must be a string")
    return value


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(os.path.expanduser(path))
    for root in roots:
        base = os.path.realpath(os.path.expanduser(root))
        if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False


def install_config_global(engine: Any) -> None:
    """Define `Config` in the engine's script environment."""

    def get(path: Any = None) -> Any:
        node: Any = _tree()
        if path is None:
            return engine.to_lua(node)
        for part in _name(path, "path").split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return engine.to_lua(node)

    def section(name: Any) -> Any:
        found = _tree().get(_name(name, "section name"))
        return None if found is None else engine.to_lua(found)

    def get_provider(name: Any) -> Any:
        wanted = _name(name, "provider name").strip().lower()
        names = {key.lower(): key for key in _effective().providers.providers}
        if wanted not in names:
            return None
        return engine.to_lua(_tree()["providers"][names[wanted]])  # [providers.<name>] tables

    def list_providers() -> Any:
        return engine.to_lua(sorted(_effective().providers.providers))

    def file_access(path: Any = None) -> bool:
        roots = list(_effective().tools.file_operations.allowed_paths)
        if path is None:
            return bool(roots)
        return _inside(_name(path, "path"), roots)

    functions: dict[str, Callable[..., Any]] = {
        "get": get,
        "getSection": section,
        "getProvider": get_provider,
        "listProviders": list_providers,
        "getDefaultEngine": lambda: "lua",
        "getSecurity": lambda: engine.to_lua(_tree()["runtime"]["security"]),
        "getTools": lambda: engine.to_lua(_tree()["tools"]),
        "isFileAccessAllowed": file_access,
        "isNetworkAccessAllowed": lambda: bool(_effective().runtime.security.allow_network_access),
    }
    py = engine.bridge.table({name: answer(fn) for name, fn in functions.items()}, "Config.")
    with open(os.path.join(os.path.dirname(__file__), "config.lua"), encoding="utf-8") as handle:
        engine.runtime.execute(handle.read(), engine.env, py)
