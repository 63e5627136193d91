"""Configuration: a typed schema with defaults, file discovery, environment overrides, and
errors that name the file, the key and the expected type."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from llmspell_kernel.errors import ConfigError

MB = 1024 * 1024
SECRET_KEYS = frozenset({"api_key"})
CLI_ENV = frozenset({"LLMSPELL_CONFIG", "LLMSPELL_TRACE", "LLMSPELL_OUTPUT"})

CHOICES: dict[str, tuple[str, ...]] = {
    "engines.lua.security_level": ("safe", "privileged", "unrestricted"),
    "runtime.state_persistence.backend": ("sqlite", "memory"),
    "state.backend": ("sqlite", "memory"),
    "debug.level": ("trace", "debug", "info", "warn", "error"),
}


@dataclass
class LuaEngineConfig:
    security_level: str = "safe"
    max_memory_bytes: int = 50 * MB


@dataclass
class EnginesConfig:
    lua: LuaEngineConfig = field(default_factory=LuaEngineConfig)


@dataclass
class SecurityConfig:
    allow_file_access: bool = True
    allow_network_access: bool = True
    allow_process_spawn: bool = False


@dataclass
class StatePersistenceConfig:
    backend: str = "sqlite"
    max_state_size_bytes: int = 10 * MB


@dataclass
class RuntimeConfig:
    script_timeout_seconds: float = 0.0
    max_concurrent_scripts: int = 1
    security: SecurityConfig = field(default_factory=SecurityConfig)
    state_persistence: StatePersistenceConfig = field(default_factory=StatePersistenceConfig)


@dataclass
class FileOperationsConfig:
    allowed_paths: list[str] = field(default_factory=lambda: ["/tmp"])
    max_file_size: int = 50 * MB
    max_depth: int = 10


@dataclass
class ToolsConfig:
    file_operations: FileOperationsConfig = field(default_factory=FileOperationsConfig)


@dataclass
class KernelConfig:
    ip: str = "127.0.0.1"
    port: int = 0
    idle_timeout_seconds: float = 0.0
    history_size: int = 1000


@dataclass
class StateConfig:
    backend: str = "sqlite"
    path: str = ""


@dataclass
class SessionsConfig:
    ttl_seconds: int = 7 * 86400
    idle_timeout_seconds: int = 3600
    max_sessions: int = 1000
    max_artifacts_per_session: int = 1000
    max_artifact_size_bytes: int = 100 * MB
    artifact_compression_threshold: int = 10240
    executions_per_minute: int = 0


@dataclass
class DebugConfig:
    enabled: bool = False
    level: str = "warn"


@dataclass
class ProviderConfig:
    provider_type: str = ""
    model: str = ""
    base_url: str = ""
    api_key_env: str = ""
    api_key: str = ""
    timeout_seconds: float = 30.0
    max_retries: int = 3


@dataclass
class ProvidersConfig:
    default_provider: str = ""
    providers: dict[str, ProviderConfig] = field(default_factory=dict)


@dataclass
class Config:
    """The whole effective configuration."""

    engines: EnginesConfig = field(default_factory=EnginesConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    kernel: KernelConfig = field(default_factory=KernelConfig)
    state: StateConfig = field(default_factory=StateConfig)
    sessions: SessionsConfig = field(default_factory=SessionsConfig)
    debug: DebugConfig = field(default_factory=DebugConfig)
    providers: ProvidersConfig = field(default_factory=ProvidersConfig)

    def to_dict(self, redact: bool = True) -> dict[str, Any]:
        """Nested plain values; secrets become "***" unless `redact` is false."""
        return _to_dict(self, redact)


@dataclass
class LoadedConfig:
    """A configuration with where it came from and what looked wrong."""

    config: Config
    source: Path | None
    warnings: list[str] = field(default_factory=list)


def _to_dict(obj: Any, redact: bool) -> Any:
    if is_dataclass(obj):
        out: dict[str, Any] = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.name == "providers" and isinstance(value, dict):
                for name, provider in value.items():
                    out[name] = _to_dict(provider, redact)
                continue
            if redact and f.name in SECRET_KEYS and value:
                out[f.name] = "***"
            else:
                out[f.name] = _to_dict(value, redact)
        return out
    if isinstance(value := obj, list):
        return list(value)
    return obj


def user_config_path() -> Path:
    """`config.toml` in the user config dir (platformdirs; honours XDG_CONFIG_HOME)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("llmspell")) / "config.toml"


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
    if path:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise ConfigError(f"configuration file not found: {path}")
        return explicit
    local = (cwd or Path.cwd()) / "llmspell.toml"
    if local.is_file():
        return local
    user = user_config_path()
    return user if user.is_file() else None


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
        _apply(config, data, "", str(source), warnings)
    _apply_env(config, os.environ if env is None else env, warnings)
    return LoadedConfig(config, source, warnings)


def validate_config_file(path: str | os.PathLike[str]) -> LoadedConfig:
    """Load one file (no discovery); raises ConfigError, returns warnings."""
    return load_config(path, env={})


def _read_toml(path: Path) -> dict[str, Any]:
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


def _apply(target: Any, data: dict[str, Any], prefix: str, where: str, warnings: list[str]) -> None:
    hints = get_type_hints(type(target))
    names = {f.name for f in fields(target)}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in names:
            warnings.append(f"unknown key '{dotted}' in {where}")
            continue
        expected = hints[key]
        current = getattr(target, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {dotted} must be a table, got {_describe(value)}")
            _apply(current, value, f"{dotted}.", where, warnings)
        elif get_origin(expected) is dict:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {dotted} must be a table, got {_describe(value)}")
            for name, entry in value.items():
                provider = ProviderConfig()
                if not isinstance(entry, dict):
                    raise ConfigError(
                        f"{where}: {dotted}.{name} must be a table, got {_describe(entry)}"
                    )
                _apply(provider, entry, f"providers.{name}.", where, warnings)
                current[name] = provider
        else:
            setattr(target, key, _coerce(value, expected, dotted, where))


def _coerce(value: Any, expected: Any, dotted: str, where: str) -> Any:
    origin = get_origin(expected)
    if origin is list:
        (item_type,) = get_args(expected)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {dotted} must be a list, got {_describe(value)}")
        return [_coerce(item, item_type, f"{dotted}[{i}]", where) for i, item in enumerate(value)]
    if expected is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(
            f"{where}: {dotted} must be a boolean (true/false), got {_describe(value)}"
        )
    if expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: {dotted} must be an integer, got {_describe(value)}")
    if expected is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
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
    return f"{kind} {json.dumps(value)}"


def _env_keys(obj: Any, prefix: str = "") -> dict[str, tuple[Any, str, Any]]:
    """LLMSPELL_<PATH> → (owning object, attribute, type) for every scalar setting."""
    out: dict[str, tuple[Any, str, Any]] = {}
    hints = get_type_hints(type(obj))
    for f in fields(obj):
        value = getattr(obj, f.name)
        dotted = f"{prefix}{f.name}"
        if is_dataclass(value):
            out.update(_env_keys(value, f"{dotted}."))
        elif get_origin(hints[f.name]) is not dict:
            out["LLMSPELL_" + dotted.replace(".", "_").upper()] = (obj, f.name, hints[f.name])
    return out


def _apply_env(config: Config, env: Mapping[str, str], warnings: list[str]) -> None:
    keys = _env_keys(config)
    for name, raw in env.items():
        if not name.startswith("LLMSPELL_") or name in CLI_ENV:
            continue
        entry = keys.get(name)
        if entry is None:
            warnings.append(f"environment variable {name} names no configuration key")
            continue
        owner, attribute, expected = entry
        dotted = next(k for k, v in _dotted_paths(config).items() if v == (id(owner), attribute))
        setattr(owner, attribute, _coerce(_parse_env(raw, expected), expected, dotted, f"${name}"))


def _dotted_paths(obj: Any, prefix: str = "") -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            out.update(_dotted_paths(value, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = (id(obj), f.name)
    return out


def _parse_env(raw: str, expected: Any) -> Any:
    text = raw.strip()
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
    if get_origin(expected) is list:
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text
        return [part for part in text.split(os.pathsep) if part]
    return raw
