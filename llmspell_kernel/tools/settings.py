"""The permission settings the built-in tools enforce (lua-api.md 4), from the configuration."""

from __future__ import annotations

from llmspell_kernel.config import BLOCKED_EXECUTABLES, BLOCKED_EXTENSIONS, READ_ONLY_EXECUTABLES
from llmspell_kernel.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (start-up cost, see engine.py)
if TYPE_CHECKING:
    from typing import Any, ClassVar


class ToolSettings(Record):
    """What the FILE, NET, PROC and ENV gates allow."""

    __slots__ = (
        "allow_file_access",
        "allow_network_access",
        "allow_process_spawn",
        "max_file_size",
        "max_depth",
        "blocked_extensions",
        "allowed_executables",
        "blocked_executables",
        "process_timeout_seconds",
        "max_output_bytes",
        "allowed_hosts",
        "blocked_hosts",
        "allow_localhost",
        "http_timeout_seconds",
        "max_redirects",
        "database_allow_write",
        "database_max_rows",
        "database_timeout_seconds",
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "allow_file_access": True,
        "allow_network_access": True,
        "allow_process_spawn": False,
        "max_file_size": 50 * 1024 * 1024,
        "max_depth": 10,
        "blocked_extensions": BLOCKED_EXTENSIONS,
        "allowed_executables": READ_ONLY_EXECUTABLES,
        "blocked_executables": BLOCKED_EXECUTABLES,
        "process_timeout_seconds": 30.0,
        "max_output_bytes": 1024 * 1024,
        "allowed_hosts": (),
        "blocked_hosts": (),
        "allow_localhost": False,
        "http_timeout_seconds": 30.0,
        "max_redirects": 5,
        "database_allow_write": False,
        "database_max_rows": 10_000,
        "database_timeout_seconds": 30.0,
    }
    allow_file_access: bool
    allow_network_access: bool
    allow_process_spawn: bool
    max_file_size: int
    max_depth: int
    blocked_extensions: tuple[str, ...]
    allowed_executables: tuple[str, ...]
    blocked_executables: tuple[str, ...]
    process_timeout_seconds: float
    max_output_bytes: int
    allowed_hosts: tuple[str, ...]  # empty: any host not blocked
    blocked_hosts: tuple[str, ...]
    allow_localhost: bool
    http_timeout_seconds: float
    max_redirects: int
    database_allow_write: bool
    database_max_rows: int
    database_timeout_seconds: float

    @classmethod
    def from_config(cls, config: Any) -> ToolSettings:
        """From a loaded `llmspell_kernel.config.Config`."""
        security = config.runtime.security
        files = config.tools.file_operations
        process = config.tools.process_executor
        http = config.tools.http_request
        database = config.tools.database_connector
        return cls(
            allow_file_access=bool(security.allow_file_access),
            allow_network_access=bool(security.allow_network_access),
            allow_process_spawn=bool(security.allow_process_spawn),
            max_file_size=int(files.max_file_size),
            max_depth=int(files.max_depth),
            blocked_extensions=tuple(e.lower().lstrip(".") for e in files.blocked_extensions),
            allowed_executables=tuple(process.allowed_executables),
            blocked_executables=tuple(process.blocked_executables),
            process_timeout_seconds=float(process.timeout_seconds),
            max_output_bytes=int(process.max_output_bytes),
            allowed_hosts=tuple(h.lower() for h in http.allowed_hosts),
            blocked_hosts=tuple(h.lower() for h in http.blocked_hosts),
            allow_localhost=bool(http.allow_localhost),
            http_timeout_seconds=float(http.timeout_seconds),
            max_redirects=int(http.max_redirects),
            database_allow_write=bool(database.allow_write),
            database_max_rows=int(database.max_rows),
            database_timeout_seconds=float(database.timeout_seconds),
        )
