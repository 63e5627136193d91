"""The permission gates every built-in tool passes before it touches anything (lua-api.md 4):
FILE (resolved paths inside tools.file_operations.allowed_paths, never llmspell's own files),
NET (host rules, the localhost block), PROC (allow- and block-lists) and ENV (redaction).
A denial raises ToolError naming what was refused and the key that would allow it."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from pathlib import Path

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.tools.base import ToolError
from llmspell_kernel.tools.settings import ToolSettings

SECRET_PATTERNS = ("*KEY*", "*TOKEN*", "*SECRET*", "*PASSWORD*")
_SECRET_WORDS = tuple(pattern.strip("*") for pattern in SECRET_PATTERNS)
REDACTED = "[REDACTED]"


def is_secret(name: str) -> bool:
    """True for variables whose values environment_reader never shows: the name (upper-cased)
    matches one of SECRET_PATTERNS, i.e. contains its word (tested as such: fnmatch would
    compile four regular expressions on the first call, ~0.3 ms)."""
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)


class ToolContext:
    """The gates of one engine: its settings and its path resolution (LuaEngine.tool_path)."""

    def __init__(self, settings: ToolSettings, resolve: Callable[[str], Path]) -> None:
        self.settings = settings
        self._resolve = resolve

    # -- FILE -------------------------------------------------------------------------------------
    def path(self, raw: str) -> Path:
        """`raw` resolved (`~`, `..`, symlinks) when a tool may use it; else ToolError."""
        if not self.settings.allow_file_access:
            raise ToolError(
                f"file access to '{raw}' is disabled (runtime.security.allow_file_access)"
            )
        if "\x00" in raw:
            raise ToolError("a path cannot contain a NUL character")
        try:
            resolved = self._resolve(raw)
        except LlmspellError as exc:
            raise ToolError(exc.message) from None
        extension = resolved.suffix.lower().lstrip(".")
        if extension and extension in self.settings.blocked_extensions:
            raise ToolError(
                f"'{raw}': .{extension} files are blocked "
                "(tools.file_operations.blocked_extensions)"
            )
        return resolved

    def check_size(self, raw: str, size: int) -> None:
        """Refuse content over tools.file_operations.max_file_size."""
        limit = self.settings.max_file_size
        if size > limit:
            raise ToolError(
                f"'{raw}' is {size} bytes, over tools.file_operations.max_file_size ({limit})"
            )

    # -- NET --------------------------------------------------------------------------------------
    def url(self, url: str, *, local_rule: bool = True) -> str:
        """An http(s) URL the NET gate lets through (the host part checked); else ToolError."""
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - a bad port raises here, not later in the client
        except ValueError as exc:
            raise ToolError(f"'{url}' is not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise ToolError(f"'{url}' is not an http or https URL")
        if not parts.hostname:
            raise ToolError(f"'{url}' has no host")
        self.host(parts.hostname, local_rule=local_rule)
        return url

    def host(self, host: str, *, local_rule: bool = True) -> None:
        """Check one host name or address against the NET rules."""
        settings = self.settings
        if not settings.allow_network_access:
            raise ToolError(
                f"network access to '{host}' is disabled (runtime.security.allow_network_access)"
            )
        name = host.lower().rstrip(".").strip("[]")
        if any(_matches(name, rule) for rule in settings.blocked_hosts):
            raise ToolError(f"host '{name}' is blocked (tools.http_request.blocked_hosts)")
        if settings.allowed_hosts and not any(
            _matches(name, rule) for rule in settings.allowed_hosts
        ):
            raise ToolError(f"host '{name}' is not in tools.http_request.allowed_hosts")
        if local_rule and not settings.allow_localhost and _is_local(name):
            raise ToolError(
                f"host '{name}' is this machine, blocked by default "
                "(tools.http_request.allow_localhost = true allows it)"
            )

    # -- PROC -------------------------------------------------------------------------------------
    def executable(self, name: str) -> str:
        """The program `name` may run as (its path on PATH); else ToolError."""
        settings = self.settings
        base = os.path.basename(name)
        if base in settings.blocked_executables:
            raise ToolError(
                f"executable '{name}' is blocked (tools.process_executor.blocked_executables)"
            )
        if not settings.allow_process_spawn and (
            base != name or base not in settings.allowed_executables
        ):
            raise ToolError(
                f"executable '{name}' is not in tools.process_executor.allowed_executables "
                "(runtime.security.allow_process_spawn = true allows any executable that "
                "is not blocked)"
            )
        found = which(name)
        if found is None:
            return ""
        real = os.path.basename(os.path.realpath(found))
        if real in settings.blocked_executables:  # a link to a blocked program
            raise ToolError(
                f"executable '{name}' is '{real}', which is blocked "
                "(tools.process_executor.blocked_executables)"
            )
        return found


def which(name: str) -> str | None:
    """What shutil.which(name) finds on POSIX: `name` itself when it has a directory part,
    else the first PATH entry holding it, an executable file (not a directory). Here so that
    process_executor's first call does not import shutil (and the bz2, lzma and fnmatch it
    imports), ~3 ms of CPU."""

    def runnable(path: str) -> bool:
        return (
            os.path.exists(path) and os.access(path, os.F_OK | os.X_OK) and not os.path.isdir(path)
        )

    if os.path.dirname(name):
        return name if runnable(name) else None
    search = os.environ.get("PATH")
    if search is None:
        try:
            search = os.confstr("CS_PATH")
        except (AttributeError, ValueError):
            search = os.defpath
    if not search:  # PATH="" finds nothing; PATH=":" looks in the current directory
        return None
    seen: set[str] = set()
    for directory in search.split(os.pathsep):
        if directory not in seen:
            seen.add(directory)
            path = os.path.join(directory, name)
            if runnable(path):
                return path
    return None


def _matches(host: str, rule: str) -> bool:
    rule = rule.lower().lstrip("*").lstrip(".") if rule.startswith("*") else rule.lower()
    return host == rule or host.endswith("." + rule)


def _is_local(host: str) -> bool:
    """localhost, a loopback or unspecified address, or a name that resolves to one."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        import socket

        try:
            infos = socket.getaddrinfo(host, None)
        except (OSError, UnicodeError):
            return False  # the request itself fails, as an operational error
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return any(a.is_loopback or a.is_unspecified for a in addresses)
