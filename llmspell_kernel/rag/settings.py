"""What the RAG layer needs from the `[rag]` configuration section."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

SEARCH_MODES = ("hybrid", "vector", "keyword")


@dataclass(frozen=True)
class RagSettings:
    """The effective `[rag]` section (see config/llmspell.toml for each key)."""

    enabled: bool = True
    provider: str = "local"
    embedding_model: str = ""
    vector_dimensions: int = 0
    chunk_size: int = 256
    chunk_overlap: int = 32
    search_limit: int = 10
    search_mode: str = "hybrid"
    exact_search_threshold: int = 20000
    batch_size: int = 64
    session_vector_ttl_seconds: int = 0
    multi_tenant: bool = True
    collection: str = "default"  # the default scope's display name (RAG.configure{collection})

    @classmethod
    def from_config(cls, config: Any) -> RagSettings:
        """From a loaded `llmspell_kernel.config.Config` (None: the defaults)."""
        if config is None:
            return cls()
        section = config.rag
        return cls(**{name: getattr(section, name) for name in section._fields})

    def with_changes(self, **changes: Any) -> RagSettings:
        """A copy with some keys changed (RAG.configure)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def current_rag_settings() -> RagSettings:
    """The `[rag]` section of the configuration this process started with (defaults if none)."""
    from llmspell_kernel.config import configured

    return RagSettings.from_config(configured[0] if configured else None)
