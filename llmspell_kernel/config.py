"""Configuration: a typed schema with defaults, file discovery, environment overrides, and
errors that name the file, the key and the expected type."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping

from llmspell_kernel.errors import ConfigError

# Annotations only: typing and pathlib are not imported at run time (see
# llmspell_cli/fast_path.py); a Path is made only for a configuration file that exists.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, ClassVar, TypeVar

    S = TypeVar("S", bound="Section")

MB = 1024 * 1024
SECRET_KEYS = frozenset({"api_key"})
# Variables of the CLI itself, not configuration keys (the daemon tells its child where it logs).
CLI_ENV = frozenset(
    {
        "LLMSPELL_CONFIG",
        "LLMSPELL_TRACE",
        "LLMSPELL_OUTPUT",
        "LLMSPELL_KERNEL_LOG_FILE",
        "LLMSPELL_DAP_TOKEN",  # the DAP server's token (llmspell_kernel/debug/server.py)
        "LLMSPELL_MODEL_OVERRIDE",  # --model-override of run/exec/repl/debug
    }
)

CHOICES: dict[str, tuple[str, ...]] = {
    "engines.lua.security_level": ("safe", "privileged", "unrestricted"),
    "runtime.state_persistence.backend": ("sqlite", "memory"),
    "state.backend": ("sqlite", "memory", "postgres"),
    "debug.level": ("trace", "debug", "info", "warn", "error"),
    "rag.search_mode": ("hybrid", "vector", "keyword"),
    "tools.email_sender.security": ("starttls", "ssl", "none"),
}


# Integer keys with a lower bound: (minimum, what a value below it may also be, the rule in words).
MINIMUMS: dict[str, tuple[int, int | None, str]] = {
    "engines.lua.max_memory_bytes": (MB, 0, "0 (no limit) or at least 1048576 (1 MB)"),
    "kernel.max_message_bytes": (64 * 1024, None, "at least 65536 (64 KB)"),
}


# The tools' PROC and FILE gates (lua-api.md 4): commands that may run while
# runtime.security.allow_process_spawn is false, commands that never run, blocked file types.
READ_ONLY_EXECUTABLES = (
    "echo", "cat", "ls", "pwd", "whoami", "date", "uname", "which", "test", "head", "tail",
    "wc", "grep", "find", "sort", "uniq",
)  # fmt: skip
BLOCKED_EXECUTABLES = (
    "rm", "rmdir", "mv", "cp", "chmod", "chown", "sudo", "su", "passwd", "ssh", "scp", "curl",
    "wget", "nc", "netcat", "nmap", "dd",
)  # fmt: skip
BLOCKED_EXTENSIONS = ("exe", "dll", "so", "dylib")


def nested(section: type[S]) -> S:
    """Declare a sub-table: the class stands in for its instance until Section.__init__ makes
    one per configuration (typed as the instance, which is what the attribute holds)."""
    return section  # type: ignore[return-value]


def _fresh(value: Any) -> Any:
    """A deep copy of plain data (lists and dicts; copy.deepcopy is not on the start-up path)."""
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    return value


class Section:
    """A configuration table: annotated attributes with class-level defaults.

    (Plain classes rather than dataclasses: this module is on the startup path of every command.)
    """

    _fields: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls) -> None:
        cls._fields = {
            k: v
            for k, v in cls.__dict__.get("__annotations__", {}).items()
            if not k.startswith("_")
        }

    def __init__(self) -> None:
        for name in self._fields:
            default = getattr(type(self), name)
            if isinstance(default, type) and issubclass(default, Section):
                value: Any = default()
            elif isinstance(default, list | dict):
                value = _fresh(default)
            else:
                value = default
            setattr(self, name, value)

    def to_dict(self, redact: bool = True) -> dict[str, Any]:
        """Nested plain values; secrets become "***" unless `redact` is false."""
        out: dict[str, Any] = {}
        for name in self._fields:
            value = getattr(self, name)
            if isinstance(value, Section):
                out[name] = value.to_dict(redact)
            elif isinstance(value, dict):
                for key, entry in value.items():
                    out[key] = entry.to_dict(redact) if isinstance(entry, Section) else entry
            elif redact and name in SECRET_KEYS and value:
                out[name] = "***"
            elif redact and name == "dsn" and value:
                from llmspell_kernel.state.dsn import mask_dsn

                out[name] = mask_dsn(str(value))
            else:
                out[name] = _fresh(value)
        return out


class LuaEngineConfig(Section):
    security_level: str = "safe"
    max_memory_bytes: int = 50 * MB
    interrupt_grace_seconds: float = 3.0


class EnginesConfig(Section):
    lua: LuaEngineConfig = nested(LuaEngineConfig)


class SecurityConfig(Section):
    allow_file_access: bool = True
    allow_network_access: bool = True
    allow_process_spawn: bool = False


class StatePersistenceConfig(Section):
    backend: str = "sqlite"
    max_state_size_bytes: int = 10 * MB


class RuntimeConfig(Section):
    script_timeout_seconds: float = 0.0
    max_concurrent_scripts: int = 1
    security: SecurityConfig = nested(SecurityConfig)
    state_persistence: StatePersistenceConfig = nested(StatePersistenceConfig)


class FileOperationsConfig(Section):
    allowed_paths: list[str] = ["/tmp"]  # noqa: RUF012 - copied per instance
    max_file_size: int = 50 * MB
    max_depth: int = 10
    blocked_extensions: list[str] = list(BLOCKED_EXTENSIONS)


class ProcessExecutorConfig(Section):
    allowed_executables: list[str] = list(READ_ONLY_EXECUTABLES)
    blocked_executables: list[str] = list(BLOCKED_EXECUTABLES)
    timeout_seconds: float = 30.0
    max_output_bytes: int = MB


class HttpRequestConfig(Section):
    allowed_hosts: list[str] = []  # noqa: RUF012 - copied per instance
    blocked_hosts: list[str] = []  # noqa: RUF012 - copied per instance
    allow_localhost: bool = False
    timeout_seconds: float = 30.0
    max_redirects: int = 5


class DatabaseConnectorConfig(Section):
    allow_write: bool = False
    max_rows: int = 10_000
    timeout_seconds: float = 30.0


class WebSearchConfig(Section):
    allowed_domains: list[str] = []  # noqa: RUF012 - copied per instance
    blocked_domains: list[str] = []  # noqa: RUF012 - copied per instance
    duckduckgo_url: str = "https://html.duckduckgo.com/html/"
    brave_url: str = "https://api.search.brave.com/res/v1"
    google_url: str = "https://www.googleapis.com/customsearch/v1"
    serpapi_url: str = "https://serpapi.com/search.json"
    serperdev_url: str = "https://google.serper.dev"


class EmailSenderConfig(Section):
    smtp_host: str = ""
    smtp_port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "LLMSPELL_SMTP_PASSWORD"
    from_address: str = ""
    timeout_seconds: float = 30.0
    max_recipients: int = 50


class ToolsConfig(Section):
    file_operations: FileOperationsConfig = nested(FileOperationsConfig)
    process_executor: ProcessExecutorConfig = nested(ProcessExecutorConfig)
    http_request: HttpRequestConfig = nested(HttpRequestConfig)
    database_connector: DatabaseConnectorConfig = nested(DatabaseConnectorConfig)
    web_search: WebSearchConfig = nested(WebSearchConfig)
    email_sender: EmailSenderConfig = nested(EmailSenderConfig)


class KernelConfig(Section):
    ip: str = "127.0.0.1"
    port: int = 0
    idle_timeout_seconds: float = 0.0
    history_size: int = 1000
    max_message_bytes: int = 16 * MB


class StateConfig(Section):
    backend: str = "sqlite"
    path: str = ""  # the SQLite file; with backend = "postgres", the file of RAG's tables
    dsn: str = ""  # backend = "postgres": libpq URI or key/value string (password masked)
    pool_max_size: int = 8  # backend = "postgres": connections per process
    reconnect_timeout_seconds: float = 30.0  # backend = "postgres": retrying a lost server
    tenant: str = "default"
    busy_timeout_ms: int = 5000
    blob_inline_max_bytes: int = 65536


class SessionsConfig(Section):
    ttl_seconds: int = 7 * 86400
    idle_timeout_seconds: int = 3600
    max_sessions: int = 1000
    max_artifacts_per_session: int = 1000
    max_artifact_size_bytes: int = 100 * MB
    artifact_compression_threshold: int = 10240
    executions_per_minute: int = 0
    gc_interval_seconds: int = 300


class BackupConfig(Section):
    dir: str = ""
    max_backups: int = 10


class DebugConfig(Section):
    enabled: bool = False
    level: str = "warn"


class ProviderConfig(Section):
    provider_type: str = ""
    default_model: str = ""
    model: str = ""  # older spelling of default_model
    base_url: str = ""
    api_key_env: str = ""
    api_key: str = ""
    timeout_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    max_retries: int = 3
    max_concurrency: int = 8
    http2: bool = False


class ProvidersConfig(Section):
    default_provider: str = ""
    model_override: str = ""
    providers: dict[str, ProviderConfig] = {}  # noqa: RUF012 - copied per instance


class PriceConfig(Section):
    """`[prices."PROVIDER/MODEL"]` (or "PROVIDER/*"): USD per million tokens."""

    input: float = 0.0
    cached_input: float = -1.0  # below 0: cached input tokens cost as much as input
    output: float = 0.0
    checked: str = ""  # the date you checked the price


class PricesConfig(Section):
    models: dict[str, PriceConfig] = {}  # noqa: RUF012 - copied per instance


class RagConfig(Section):
    """`[rag]`: the RAG global's embeddings, chunking and search (llmspell_kernel/rag)."""

    enabled: bool = True  # false: no `RAG` global in scripts (upstream scripts check `if RAG`)
    # "local" (the bundled offline model, llmspell[local]) or a provider name of [providers].
    provider: str = "local"
    embedding_model: str = ""  # "" = the provider's default embedding model
    vector_dimensions: int = 0  # 0 = what the model gives; else asked of providers that can
    chunk_size: int = 256  # tokens per chunk
    chunk_overlap: int = 32  # tokens repeated between neighbouring chunks
    search_limit: int = 10  # results when a search names no top_k
    search_mode: str = "hybrid"  # "hybrid" (BM25 + vectors), "vector" or "keyword"
    exact_search_threshold: int = 20000  # vectors per scope searched exactly; above: HNSW
    batch_size: int = 64  # texts per embedding request
    session_vector_ttl_seconds: int = 0  # 0 = session vectors live as long as their session
    multi_tenant: bool = True  # tenant_id isolates vectors (always enforced; read by scripts)


class EventsConfig(Section):
    """`[events]`: the event bus (llmspell_kernel/events)."""

    enabled: bool = True  # system events (agent.*, tool.*, workflow.*, hook.executed)
    buffer_size: int = 10000  # events a subscription queues; when full the oldest is dropped
    filters: list[str] = []  # noqa: RUF012 - globs of system event types to emit (empty: all)
    emit_state_events: bool = False  # workflow.state.updated
    persist: bool = True  # every event into the state database (`llmspell events`)
    retention_days: float = 30.0  # stored events older than this are deleted (0 = keep)
    iopub: bool = True  # every event to attached clients as an IOPub comm_msg


class HooksConfig(Section):
    """`[hooks]`: Python hook extensions (llmspell_kernel/hooks/extensions.py)."""

    python: list[str] = []  # noqa: RUF012 - "module:function" setup functions to call
    entry_points: bool = True  # also the `llmspell.hooks` entry points of installed packages


class Config(Section):
    """The whole effective configuration."""

    engines: EnginesConfig = nested(EnginesConfig)
    runtime: RuntimeConfig = nested(RuntimeConfig)
    tools: ToolsConfig = nested(ToolsConfig)
    kernel: KernelConfig = nested(KernelConfig)
    state: StateConfig = nested(StateConfig)
    sessions: SessionsConfig = nested(SessionsConfig)
    backup: BackupConfig = nested(BackupConfig)
    debug: DebugConfig = nested(DebugConfig)
    providers: ProvidersConfig = nested(ProvidersConfig)
    prices: PricesConfig = nested(PricesConfig)
    events: EventsConfig = nested(EventsConfig)
    hooks: HooksConfig = nested(HooksConfig)
    rag: RagConfig = nested(RagConfig)


# The configuration this process runs with: the kernel's, or an offline command's
# (`llmspell_kernel.api.use_config`). The provider, price and RAG layers read it
# (`llmspell_kernel.providers.configured` is this list); it lives here, in a module every
# start-up loads anyway, so that setting it imports nothing of the provider layer.
configured: list[Config] = []


def configure(config: Config) -> None:
    """Use `config` for provider resolution, prices and RAG in this process."""
    configured[:] = [config]


class LoadedConfig:
    """A configuration with where it came from and what looked wrong."""

    def __init__(
        self, config: Config, source: Path | None, warnings: list[str] | None = None
    ) -> None:
        self.config = config
        self.source = source
        self.warnings = warnings if warnings is not None else []


_SCALARS = {"str": str, "int": int, "float": float, "bool": bool, "list[str]": list}


def user_config_path() -> Path:
    """`config.toml` in the user config dir (platformdirs rules; honours XDG_CONFIG_HOME)."""
    from pathlib import Path

    return Path(_user_config_file())


def _user_config_file() -> str:
    if sys.platform.startswith("linux"):
        # platformdirs' Linux rule, without its import cost on every command.
        base = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return os.path.join(base, "llmspell", "config.toml")
    import platformdirs

    return os.path.join(platformdirs.user_config_dir("llmspell"), "config.toml")


def default_config_text() -> str:
    """The commented default configuration shipped with the package."""
    from importlib import resources

    return (
        resources.files("llmspell_kernel").joinpath("data/default-config.toml").read_text("utf-8")
    )


def discover_config_path(
    path: str | os.PathLike[str] | None, cwd: Path | None = None
) -> Path | None:
    """The file to load: explicit path, ./llmspell.toml, the user config file, or none."""
    from_path = os.path.expanduser(os.fspath(path)) if path else None
    if from_path is not None and not os.path.isfile(from_path):
        raise ConfigError(f"configuration file not found: {path}")
    for candidate in (
        from_path,
        os.path.join(cwd or os.getcwd(), "llmspell.toml"),
        _user_config_file(),
    ):
        if candidate is not None and os.path.isfile(candidate):
            from pathlib import Path

            return Path(candidate)
    return None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    """Defaults, then the discovered file, then `LLMSPELL_<SECTION>_<KEY>` overrides."""
    source = discover_config_path(path, cwd)
    config = Config()
    warnings: list[str] = []
    if source is not None:
        data = _read_toml(source)
        _normalise_providers(data)
        _normalise_prices(data)
        _normalise_upstream(data, str(source), warnings)
        _apply(config, data, "", str(source), warnings)
    _apply_env(config, os.environ if env is None else env, warnings)
    return LoadedConfig(config, source, warnings)


def validate_config_file(path: str | os.PathLike[str]) -> LoadedConfig:
    """Load one file (no discovery); raises ConfigError, returns warnings."""
    return load_config(path, env={})


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def _normalise_providers(data: dict[str, Any]) -> None:
    """Accept both `[providers.<name>]` and the legacy `[providers.providers.<name>]`."""
    providers = data.get("providers")
    if not isinstance(providers, dict):
        return
    nested = providers.pop("providers", None)
    entries: dict[str, Any] = {}
    if isinstance(nested, dict):
        entries.update(nested)
    for key in list(providers):
        if isinstance(providers[key], dict):
            entries[key] = providers.pop(key)
    if entries:
        providers["providers"] = entries


# Upstream rs-llmspell's spellings of settings llmspell has under another name (its example
# configurations use them): moved to ours, unless the file also sets ours.
UPSTREAM_ALIASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("runtime", "state_persistence", "backend_type"): ("runtime", "state_persistence", "backend"),
    ("engines", "lua", "memory_limit"): ("engines", "lua", "max_memory_bytes"),
    ("rag", "embedding", "default_provider"): ("rag", "provider"),
    ("rag", "embedding", "batch_size"): ("rag", "batch_size"),
    ("rag", "chunking", "chunk_size"): ("rag", "chunk_size"),
    ("rag", "chunking", "overlap"): ("rag", "chunk_overlap"),
}
# Upstream's tables that hold some of those: what else they hold has no equivalent here.
UPSTREAM_TABLES = (("rag", "embedding"), ("rag", "chunking"))


def _normalise_upstream(data: dict[str, Any], where: str, warnings: list[str]) -> None:
    """Move upstream's spellings (UPSTREAM_ALIASES) to ours; one warning per upstream table
    for the rest of what it holds."""
    for source, target in UPSTREAM_ALIASES.items():
        *path, key = source
        table = _table_at(data, path)
        if table is None or key not in table:
            continue
        value = table[key]
        choices = CHOICES.get(".".join(target))
        if choices is not None and not (isinstance(value, str) and value.lower() in choices):
            continue  # e.g. upstream's "sled" backend: left to the unknown-key warning
        *target_path, target_key = target
        destination = _table_at(data, target_path, create=True)
        del table[key]
        if destination is not None:
            destination.setdefault(target_key, value)
    for *outer, name in UPSTREAM_TABLES:
        parent = _table_at(data, outer)
        rest = parent.get(name) if parent is not None else None
        if parent is None or not isinstance(rest, dict):
            continue
        del parent[name]
        if rest:
            warnings.append(
                f"ignored in {where}: {'.'.join([*outer, name])}.{{{', '.join(sorted(rest))}}} "
                "(upstream's settings with no llmspell equivalent)"
            )


def _table_at(
    data: dict[str, Any], path: list[str], *, create: bool = False
) -> dict[str, Any] | None:
    node: Any = data
    for part in path:
        if not isinstance(node, dict):
            return None
        if part not in node and create:
            node[part] = {}
        node = node.get(part)
    return node if isinstance(node, dict) else None


def _normalise_prices(data: dict[str, Any]) -> None:
    """`[prices."openai/gpt-4o-mini"]` tables are the entries of `prices.models`."""
    prices = data.get("prices")
    if isinstance(prices, dict) and "models" not in prices:
        data["prices"] = {"models": prices}


def _apply(
    target: Section, data: dict[str, Any], prefix: str, where: str, warnings: list[str]
) -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in target._fields:
            warnings.append(f"unknown key '{dotted}' in {where}")
            continue
        expected = target._fields[key]
        current = getattr(target, key)
        if isinstance(current, Section):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {dotted} must be a table, got {_describe(value)}")
            _apply(current, value, f"{dotted}.", where, warnings)
        elif expected.startswith("dict["):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {dotted} must be a table, got {_describe(value)}")
            kind = PriceConfig if expected == "dict[str, PriceConfig]" else ProviderConfig
            outer = dotted.rsplit(".", 1)[0]  # entries are named [providers.x], [prices."p/m"]
            for name, entry in value.items():
                item = kind()
                if not isinstance(entry, dict):
                    raise ConfigError(
                        f"{where}: {outer}.{name} must be a table, got {_describe(entry)}"
                    )
                _apply(item, entry, f"{outer}.{name}.", where, warnings)
                current[name] = item
        else:
            setattr(target, key, _coerce(value, expected, dotted, where))


def _coerce(value: Any, expected_name: str, dotted: str, where: str) -> Any:
    if expected_name == "list[str]":
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {dotted} must be a list, got {_describe(value)}")
        return [_coerce(item, "str", f"{dotted}[{i}]", where) for i, item in enumerate(value)]
    expected = _SCALARS.get(expected_name)
    if expected is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(
            f"{where}: {dotted} must be a boolean (true/false), got {_describe(value)}"
        )
    if expected is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            bound = MINIMUMS.get(dotted)
            if bound is not None and value < bound[0] and value != bound[1]:
                raise ConfigError(f"{where}: {dotted} must be {bound[2]}, got {value}")
            return value
        raise ConfigError(f"{where}: {dotted} must be an integer, got {_describe(value)}")
    if expected is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{where}: {dotted} must be a finite number, got {value}")
            return float(value)
        raise ConfigError(f"{where}: {dotted} must be a number, got {_describe(value)}")
    if expected is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {dotted} must be a string, got {_describe(value)}")
        choices = CHOICES.get(dotted)
        if choices is not None:
            if value.lower() not in choices:
                raise ConfigError(
                    f'{where}: {dotted} must be one of {", ".join(choices)}, got "{value}"'
                )
            return value.lower()
        return value
    return value


def _describe(value: Any) -> str:
    kind = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "table",
    }.get(type(value), type(value).__name__)
    if isinstance(value, dict | list):
        return kind
    import json  # errors only; the start-up path does not need json

    return f"{kind} {json.dumps(value)}"


def _env_keys(obj: Section, prefix: str = "") -> dict[str, tuple[Section, str, str, str]]:
    """LLMSPELL_<PATH> → (owning section, attribute, type name, dotted key) for every setting."""
    out: dict[str, tuple[Section, str, str, str]] = {}
    for name, type_name in obj._fields.items():
        value = getattr(obj, name)
        dotted = f"{prefix}{name}"
        if isinstance(value, Section):
            out.update(_env_keys(value, f"{dotted}."))
        elif not type_name.startswith("dict["):
            out["LLMSPELL_" + dotted.replace(".", "_").upper()] = (obj, name, type_name, dotted)
    return out


def _apply_env(config: Config, env: Mapping[str, str], warnings: list[str]) -> None:
    keys = _env_keys(config)
    for name, raw in env.items():
        if not name.startswith("LLMSPELL_") or name in CLI_ENV:
            continue
        entry = keys.get(name)
        if entry is None:
            if not _provider_env(config, name, raw):
                warnings.append(f"environment variable {name} names no configuration key")
            continue
        owner, attribute, expected, dotted = entry
        setattr(owner, attribute, _coerce(_parse_env(raw, expected), expected, dotted, f"${name}"))


# Read by the provider layer, not configuration keys (lua-api.md 3): LLMSPELL_<P>_<suffix>.
PROVIDER_ENV_SUFFIXES = ("_API_KEY", "_ENDPOINT", "_MODEL", "_PROVIDER_TYPE")


def _provider_env(config: Config, name: str, raw: str) -> bool:
    """Whether `name` is a provider variable of lua-api.md 3 (and then apply it).

    `LLMSPELL_PROVIDER_<P>_<FIELD>` sets `providers.<p>.<field>` (precedence step 2: the
    provider's config `api_key` "including a value set via LLMSPELL_PROVIDER_<P>_API_KEY");
    `LLMSPELL_<P>_API_KEY`, `_ENDPOINT`, `_MODEL` and `_PROVIDER_TYPE` are read where a provider
    is resolved. `<P>` is the upper-cased provider name with `-` spelled `_`.
    """
    rest = name[len("LLMSPELL_") :]
    if rest.startswith("PROVIDER_"):
        spec = rest[len("PROVIDER_") :]
        fields = ProviderConfig._fields
        for field in sorted(fields, key=len, reverse=True):
            suffix = "_" + field.upper()
            if spec.endswith(suffix) and len(spec) > len(suffix):
                wanted = spec[: -len(suffix)]
                entries = config.providers.providers
                provider = next(
                    (p for p in entries if p.upper().replace("-", "_") == wanted),
                    wanted.lower(),
                )
                entry = entries.setdefault(provider, ProviderConfig())
                dotted = f"providers.{provider}.{field}"
                value = _coerce(_parse_env(raw, fields[field]), fields[field], dotted, f"${name}")
                setattr(entry, field, value)
                return True
    return any(rest.endswith(s) and len(rest) > len(s) for s in PROVIDER_ENV_SUFFIXES)


def _parse_env(raw: str, expected_name: str) -> Any:
    text = raw.strip()
    expected = _SCALARS.get(expected_name)
    if expected is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        return text
    if expected is int:
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    if expected is float:
        try:
            return float(text)
        except ValueError:
            return text
    if expected is list:
        if text.startswith("["):
            import json

            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text
        return [part for part in text.split(os.pathsep) if part]
    return raw
