"""Where llmspell keeps its files (platformdirs, so XDG variables and other OSes are honoured)."""

from __future__ import annotations

from pathlib import Path


def user_data_dir() -> Path:
    """Per-user data directory (`~/.local/share/llmspell` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("llmspell"))


def history_file(name: str) -> Path:
    """The JSON-lines execution history of the kernel service `name`."""
    return user_data_dir() / "history" / f"{name}.jsonl"
