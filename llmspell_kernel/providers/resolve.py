"""From a model spec to a provider endpoint: presets, `[providers.<name>]`, environment overrides
and the API-key precedence of lua-api.md 3. Nothing here touches the network."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from llmspell_kernel.config import Config, ProviderConfig
from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.keys import STANDARD_VARIABLES, resolve_api_key

# Provider types with an implementation.
TYPES = ("openai", "anthropic", "local")
# The most tokens one reply may have when a model override routes an agent to the local model
# (LLMSPELL_LOCAL_OVERRIDE_MAX_TOKENS changes it, 0 turns it off). Scripts written for hosted
# models ask for up to 2,000 tokens per reply within step timeouts of 60-120 s; SmolLM2-135M
# writes 17-50 tokens/s on one loaded CPU core and reads 45-90 prompt tokens/s, and each long
# reply is read again by the steps after it (README, "Upstream's own nine main.lua").
OVERRIDE_MAX_TOKENS = 256


@dataclass(frozen=True)
class Preset:
    """A provider known by name: its wire format, endpoint and whether it needs a key."""

    provider_type: str
    base_url: str
    needs_key: bool = True
    default_model: str = ""
    timeout_seconds: float = 60.0


PRESETS: dict[str, Preset] = {
    "openai": Preset("openai", "https://api.openai.com/v1"),
    "anthropic": Preset("anthropic", "https://api.anthropic.com/v1"),
    "groq": Preset("openai", "https://api.groq.com/openai/v1"),
    "openrouter": Preset("openai", "https://openrouter.ai/api/v1"),
    "together": Preset("openai", "https://api.together.xyz/v1"),
    "mistral": Preset("openai", "https://api.mistral.ai/v1"),
    "fireworks": Preset("openai", "https://api.fireworks.ai/inference/v1"),
    "deepseek": Preset("openai", "https://api.deepseek.com/v1"),
    "perplexity": Preset("openai", "https://api.perplexity.ai"),
    "gemini": Preset("openai", "https://generativelanguage.googleapis.com/v1beta/openai"),
    "cohere": Preset("openai", "https://api.cohere.ai/compatibility/v1"),
    "ollama": Preset("openai", "http://localhost:11434/v1", needs_key=False),
    "lmstudio": Preset("openai", "http://localhost:1234/v1", needs_key=False),
    "vllm": Preset("openai", "http://localhost:8000/v1", needs_key=False),
    "llamacpp": Preset("openai", "http://localhost:8080/v1", needs_key=False),
    # A CPU model in this process: a 4,000-token prompt alone takes a loaded core a minute, and a
    # timed-out request would only be sent again (README, "The bundled local model").
    "local": Preset("local", "", needs_key=False, default_model="smollm2", timeout_seconds=600.0),
}


@dataclass(frozen=True)
class ProviderSettings:
    """The `[providers]` section as the provider layer uses it."""

    default_provider: str = ""
    model_override: str = ""
    entries: Mapping[str, ProviderConfig] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> ProviderSettings:
        """From a loaded configuration."""
        section = config.providers
        entries = {name.lower(): entry for name, entry in section.providers.items()}
        return cls(section.default_provider.lower(), section.model_override, entries)


def current_settings() -> ProviderSettings:
    """The provider settings of the configuration the kernel started with (defaults if none)."""
    from llmspell_kernel import providers

    if providers.configured:
        return ProviderSettings.from_config(providers.configured[0])
    return ProviderSettings()


@dataclass(frozen=True)
class Endpoint:
    """A resolved provider: everything a client needs except the request itself."""

    name: str
    provider_type: str
    base_url: str
    model: str
    api_key: str | None
    key_hint: str  # what to set when the key is missing or refused
    needs_key: bool
    timeout_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    max_retries: int = 3
    max_concurrency: int = 8
    http2: bool = False
    overridden_from: str | None = None  # the spec the script asked for, under a model override
    # Under an override to the local model: the most tokens a reply may have (None: no cap).
    max_tokens_cap: int | None = None

    @property
    def spec(self) -> str:
        return f"{self.name}/{self.model}"

    def require_key(self) -> str | None:
        """The key, or the missing-key error of lua-api.md 3 (raised at the first call)."""
        if self.api_key is None and self.needs_key:
            raise LlmspellError(
                f"No API key for provider '{self.name}': set {self.key_hint}, "
                f"or run 'llmspell keys add {self.name} <key>'"
            )
        return self.api_key


def split_spec(spec: str, provider: str | None, settings: ProviderSettings) -> tuple[str, str]:
    """(provider, model) of a model spec: split at the first `/` (lua-api.md 3)."""
    spec = spec.strip()
    if "/" in spec:
        name, model = spec.split("/", 1)
        return name.strip().lower(), model.strip()
    name = (provider or settings.default_provider or "openai").strip().lower()
    return name, spec


def _variable(name: str, suffix: str, env: Mapping[str, str]) -> str:
    return env.get(f"LLMSPELL_{name.upper().replace('-', '_')}_{suffix}", "").strip()


def resolve_endpoint(
    spec: str | None,
    *,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    settings: ProviderSettings | None = None,
    env: Mapping[str, str] | None = None,
    override: str | None = None,
) -> Endpoint:
    """Resolve a spec (or the default provider's model); raises for no model or an unknown
    provider, never for a missing key (that waits for the first call)."""
    settings = settings or current_settings()
    environ = os.environ if env is None else env
    asked = None
    override = override if override is not None else settings.model_override
    if override:
        asked = f"{provider}/{spec}" if spec and provider and "/" not in spec else spec
        spec, provider, base_url, api_key = override, None, None, None
    name, model = split_spec(spec or "", provider, settings)
    entry = settings.entries.get(name)
    preset = PRESETS.get(name)
    kind = (
        _variable(name, "PROVIDER_TYPE", environ).lower()
        or (entry.provider_type.lower() if entry else "")
        or (preset.provider_type if preset else "")
    )
    if not kind and entry is not None:
        kind = "openai"  # a configured endpoint without a type speaks the common format
    if not kind:
        known = ", ".join(sorted(set(PRESETS) | set(settings.entries)))
        raise LlmspellError(
            f"Unknown provider '{name}' (known: {known}; or configure [providers.{name}] "
            "with provider_type and base_url)"
        )
    if kind not in TYPES:
        raise LlmspellError(
            f"provider '{name}' has provider_type '{kind}', which is not a wire format llmspell "
            f"speaks (provider_type must be one of: {', '.join(TYPES)})"
        )
    model = (
        model
        or _variable(name, "MODEL", environ)
        or ((entry.default_model or entry.model) if entry else "")
        or (preset.default_model if preset else "")
    )
    if not model:
        raise LlmspellError("Model is required")
    url = (
        _variable(name, "ENDPOINT", environ)
        or base_url
        or (entry.base_url if entry else "")
        or (preset.base_url if preset and preset.provider_type == kind else "")
        or (PRESETS[kind].base_url if kind in PRESETS else "")
    )
    if not url and kind != "local":
        raise LlmspellError(f"provider '{name}' has no base_url")
    key, hint = _resolve_key(name, api_key, entry, environ)
    needs_key = preset.needs_key if preset else kind != "local"
    if entry is not None and not entry.api_key_env and not entry.api_key:
        needs_key = needs_key and not _is_loopback(url)
    base = Endpoint(name, kind, url.rstrip("/"), model, key, hint, needs_key)
    if preset is not None:
        base = replace(base, timeout_seconds=preset.timeout_seconds)
    if entry is not None:
        base = replace(
            base,
            timeout_seconds=float(entry.timeout_seconds),
            connect_timeout_seconds=float(entry.connect_timeout_seconds),
            max_retries=int(entry.max_retries),
            max_concurrency=max(1, int(entry.max_concurrency)),
            http2=bool(entry.http2),
        )
    if not override:
        return base
    cap = _override_cap(name, environ) if kind == "local" else None
    return replace(base, overridden_from=asked, max_tokens_cap=cap)


def _override_cap(name: str, env: Mapping[str, str]) -> int | None:
    """The reply-length cap of an override to the local model (None: off)."""
    raw = _variable(name, "OVERRIDE_MAX_TOKENS", env)
    if not raw:
        return OVERRIDE_MAX_TOKENS
    try:
        cap = int(raw)
    except ValueError:
        cap = -1
    if cap < 0:
        variable = f"LLMSPELL_{name.upper().replace('-', '_')}_OVERRIDE_MAX_TOKENS"
        raise LlmspellError(f"{variable} must be a whole number of tokens (0: no cap), not '{raw}'")
    return cap or None


def _resolve_key(
    name: str, builder_key: str | None, entry: ProviderConfig | None, env: Mapping[str, str]
) -> tuple[str | None, str]:
    """(key or None, what to set) by the precedence of lua-api.md 3."""
    standard = STANDARD_VARIABLES.get(name)
    own = f"LLMSPELL_{name.upper().replace('-', '_')}_API_KEY"
    hint = f"{standard} or {own}" if standard else own
    if builder_key:
        return builder_key, hint
    if entry is not None and entry.api_key:
        return entry.api_key, hint
    if entry is not None and entry.api_key_env:
        variable = entry.api_key_env
        value = env.get(variable, "").strip()
        if not value:
            return None, variable
        return value, variable
    try:
        found = resolve_api_key(name, env)
    except UsageError:  # a provider name the key store refuses: nothing stored under it
        found = None
    return (found[0] if found else None), hint


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")
