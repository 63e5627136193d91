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
        "search_allowed_domains",
        "search_blocked_domains",
        "search_endpoints",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_username",
        "smtp_password_env",
        "smtp_from",
        "smtp_timeout_seconds",
        "smtp_max_recipients",
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
        "search_allowed_domains": (),
        "search_blocked_domains": (),
        "search_endpoints": {},  # provider -> base URL; absent: the provider's own
        "smtp_host": "",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "smtp_username": "",
        "smtp_password_env": "LLMSPELL_SMTP_PASSWORD",
        "smtp_from": "",
        "smtp_timeout_seconds": 30.0,
        "smtp_max_recipients": 50,
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
    search_allowed_domains: tuple[str, ...]  # empty: results from any domain not blocked
    search_blocked_domains: tuple[str, ...]
    search_endpoints: dict[str, str]
    smtp_host: str  # empty: email-sender refuses to send
    smtp_port: int
    smtp_security: str  # starttls, ssl or none
    smtp_username: str
    smtp_password_env: str  # the variable holding the password (never the config file)
    smtp_from: str
    smtp_timeout_seconds: float
    smtp_max_recipients: int

    @classmethod
    def from_config(cls, config: Any) -> ToolSettings:
        """From a loaded `llmspell_kernel.config.Config`."""
        security = config.runtime.security
        files = config.tools.file_operations
        process = config.tools.process_executor
        http = config.tools.http_request
        database = config.tools.database_connector
        search = config.tools.web_search
        email = config.tools.email_sender
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
            search_allowed_domains=tuple(d.lower() for d in search.allowed_domains),
            search_blocked_domains=tuple(d.lower() for d in search.blocked_domains),
            search_endpoints={
                provider: str(getattr(search, provider + "_url"))
                for provider in ("duckduckgo", "brave", "google", "serpapi", "serperdev")
            },
            smtp_host=str(email.smtp_host),
            smtp_port=int(email.smtp_port),
            smtp_security=str(email.security).lower(),
            smtp_username=str(email.username),
            smtp_password_env=str(email.password_env),
            smtp_from=str(email.from_address),
            smtp_timeout_seconds=float(email.timeout_seconds),
            smtp_max_recipients=int(email.max_recipients),
        )
