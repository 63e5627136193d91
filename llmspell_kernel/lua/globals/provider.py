"""`Provider.list/get/getCapabilities/isAvailable` (lua-api.md 2.7): what is configured or has
a key, from the same resolution the agents use; no network."""

from __future__ import annotations

from collections.abc import Callable

from llmspell_kernel.errors import LlmspellError

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _entry(name: str) -> dict[str, Any] | None:
    from llmspell_kernel.providers.resolve import (
        PRESETS,
        TYPES,
        current_settings,
        resolve_endpoint,
    )

    settings = current_settings()
    canonical = name.strip().lower()
    if canonical not in settings.entries and canonical not in PRESETS:
        return None
    try:
        endpoint = resolve_endpoint(None, provider=canonical, settings=settings)
        kind, has_key = endpoint.provider_type, endpoint.api_key is not None
        keyless = not endpoint.needs_key
    except LlmspellError:  # no default model: look at the type and the key alone
        preset = PRESETS.get(canonical)
        entry = settings.entries.get(canonical)
        kind = (entry.provider_type if entry else "") or (preset.provider_type if preset else "")
        try:
            probe = resolve_endpoint(f"{canonical}/probe", settings=settings)
            has_key, keyless = probe.api_key is not None, not probe.needs_key
        except LlmspellError:
            has_key, keyless = False, False
    configured = canonical in settings.entries
    available = kind in TYPES and (configured or has_key or keyless)
    return {
        "name": canonical,
        "type": kind or "openai",
        "enabled": available,
        "configured": configured,
        "has_key": has_key,
        "capabilities": _capabilities(canonical, kind),
    }


def _capabilities(name: str, kind: str) -> dict[str, Any]:
    default = {"local": "smollm2"}.get(name)
    return {
        "supports_streaming": True,
        "supports_tools": True,
        "supports_multimodal": kind in ("openai", "anthropic") and name in ("openai", "anthropic"),
        "max_context_tokens": {"anthropic": 200000, "local": 4096}.get(name, 128000),
        "available_models": [default] if default else [],
    }


def _known() -> list[str]:
    from llmspell_kernel.providers.resolve import PRESETS, current_settings

    return sorted(set(PRESETS) | set(current_settings().entries))


def functions(engine: Any) -> dict[str, Callable[..., Any]]:
    """The host functions agent.lua wraps as `Provider.*`."""

    def listing() -> Any:
        rows = [_entry(name) for name in _known()]
        shown = [r for r in rows if r is not None and (r["configured"] or r["has_key"])]
        return engine.to_lua(
            [{k: r[k] for k in ("name", "enabled", "capabilities", "type")} for r in shown]
        )

    def get(name: Any) -> Any:
        row = _entry(str(name)) if isinstance(name, str) else None
        return None if row is None else engine.to_lua(row)

    def capabilities(name: Any) -> Any:
        row = _entry(str(name)) if isinstance(name, str) else None
        return None if row is None else engine.to_lua(row["capabilities"])

    def available(name: Any) -> bool:
        row = _entry(str(name)) if isinstance(name, str) else None
        return bool(row and row["enabled"])

    return {
        "provider_list": listing,
        "provider_get": get,
        "provider_capabilities": capabilities,
        "provider_available": available,
    }
