"""Writing the files that CLI commands produce: atomically, with one-line errors, no leftovers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from llmspell_kernel.errors import UsageError


def write_text_atomically(
    target: Path,
    text: str,
    *,
    shown: str | None = None,
    make_parents: bool = False,
    mode: int = 0o644,
) -> None:
    """Write `text` to `target` through a temporary file in its directory, then rename it.

    A path that cannot be written (a directory, a missing or read-only directory, a full disk)
    raises UsageError naming `shown` (default: the path); the temporary file never stays behind
    and an existing `target` is left as it was.
    """
    name = shown or str(target)
    if target.is_dir():
        raise UsageError(f"cannot write {name}: it is a directory", hint="name a file to write")
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        elif not target.parent.is_dir():
            raise UsageError(f"cannot write {name}: no such directory: {target.parent}")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from exc
    try:
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as exc:
            raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
