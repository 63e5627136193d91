"""API keys stored with `llmspell keys add`: one JSON file, owner-only (0600), written
atomically, in the user config directory. Environment variables win over stored keys
(lua-api.md 3); keys never appear in logs, `config show`, or backups (the data dir holds none).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from llmspell_kernel.config import user_config_path
from llmspell_kernel.errors import ConfigError, UsageError
from llmspell_kernel.logs import get_logger

STANDARD_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "cohere": "COHERE_API_KEY",
    "groq": "GROQ_API_KEY",
    "perplexity": "PERPLEXITY_API_KEY",
    "together": "TOGETHER_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "replicate": "REPLICATE_API_TOKEN",
    "fireworks": "FIREWORKS_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
}
_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def keys_path() -> Path:
    """`keys.json` beside the user configuration file."""
    return user_config_path().parent / "keys.json"


def provider_name(name: str) -> str:
    """The canonical (lower-case) provider name; UsageError for anything odd."""
    canonical = name.strip().lower()
    if not _PROVIDER.match(canonical):
        raise UsageError(
            f"'{name}' is not a provider name (letters, digits, '-', '_' and '.'; e.g. openai)"
        )
    return canonical


def mask(key: str) -> str:
    """A key with all but a few characters hidden (never the whole key)."""
    if len(key) < 12:
        return "*" * 8
    return f"{key[:3]}…{key[-4:]}"


class KeyStore:
    """The stored keys file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or keys_path()

    def load(self) -> dict[str, str]:
        """Provider → key; empty when there is no file."""
        import json  # here, not at the top: resolving a provider must stay cheap

        try:
            self._tighten_mode()
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{self.path}: cannot read the keys file ({exc})",
                hint="fix or delete it, then add the keys again with `llmspell keys add`",
            ) from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise ConfigError(f"{self.path}: expected a JSON object of provider names to keys")
        return data

    def _tighten_mode(self) -> None:
        """A keys file others can read is made owner-only (0600) before use, with a warning."""
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(self.path, 0o600)
            get_logger("llmspell.keys").warning(
                "%s was readable by other users (mode %o); changed it to 0600", self.path, mode
            )

    def add(self, provider: str, key: str) -> None:
        """Store (or replace) the key of a provider."""
        key = key.strip()
        if not key:
            raise UsageError("the key is empty")
        if any(c.isspace() for c in key):
            raise UsageError("the key contains whitespace; paste only the key itself")
        data = self.load()
        data[provider_name(provider)] = key
        self._write(data)

    def remove(self, provider: str) -> bool:
        """Forget a provider's key; False when none was stored."""
        data = self.load()
        if data.pop(provider_name(provider), None) is None:
            return False
        self._write(data)
        return True

    def _write(self, data: dict[str, str]) -> None:
        import json

        from llmspell_kernel.files import make_temporary

        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = make_temporary(directory, ".keys-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        os.chmod(self.path, 0o600)


def resolve_api_key(
    provider: str, env: Mapping[str, str] | None = None, store: KeyStore | None = None
) -> tuple[str, str] | None:
    """(key, source) from `LLMSPELL_<P>_API_KEY`, the standard variable, then the keys file.

    (Builder and configuration keys come first; the provider layer checks those.)
    """
    environ = os.environ if env is None else env
    name = provider_name(provider)
    for variable in (
        f"LLMSPELL_{name.upper().replace('-', '_')}_API_KEY",
        STANDARD_VARIABLES.get(name),
    ):
        if variable and environ.get(variable, "").strip():
            return environ[variable].strip(), f"env:{variable}"
    stored = (store or KeyStore()).load().get(name)
    return (stored, "file") if stored else None


def list_keys(
    env: Mapping[str, str] | None = None, store: KeyStore | None = None
) -> list[dict[str, str]]:
    """Every provider with a usable key: name, source and masked key (the key itself never)."""
    store = store or KeyStore()
    stored = store.load()
    environ = os.environ if env is None else env
    names = set(stored) | {p for p, v in STANDARD_VARIABLES.items() if environ.get(v, "").strip()}
    names |= {
        n[len("LLMSPELL_") : -len("_API_KEY")].lower()
        for n, v in environ.items()
        if n.startswith("LLMSPELL_")
        and not n.startswith("LLMSPELL_PROVIDER")
        and n.endswith("_API_KEY")
        and v.strip()
        and len(n) > 17
    }
    rows = []
    for name in sorted(names):
        try:
            found = resolve_api_key(name, environ, store)
        except UsageError:
            continue
        if found is None:
            continue
        key, source = found
        row = {"provider": name, "source": source, "key": mask(key)}
        if source != "file" and name in stored:
            row["note"] = "a stored key is shadowed by the environment"
        rows.append(row)
    return rows
