"""Writing the files that commands produce (saved scripts, configuration, artifacts):
atomically, with one-line errors, no leftovers."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from llmspell_kernel.errors import UsageError


def make_temporary(directory: Path | str, prefix: str, suffix: str = ".tmp") -> tuple[int, str]:
    """A new file in `directory` that only this user can read, as tempfile.mkstemp makes it
    (created exclusively, not followed through a symlink, not inherited by child processes):
    its descriptor and path. Without tempfile, which imports random, shutil and weakref (~3 ms
    on a script's first file write)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(directory, f"{prefix}{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {directory}")


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
    write_chunks_atomically(
        target, [text.encode("utf-8")], shown=shown, make_parents=make_parents, mode=mode
    )


def write_chunks_atomically(
    target: Path,
    chunks: Iterable[bytes],
    *,
    shown: str | None = None,
    make_parents: bool = False,
    mode: int = 0o644,
) -> None:
    """`write_text_atomically` for bytes that arrive in chunks (any bytes, written as they
    come). An error while the chunks are produced also leaves `target` as it was."""
    name = shown or str(target)
    if target.is_dir():
        raise UsageError(f"cannot write {name}: it is a directory", hint="name a file to write")
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        elif not target.parent.is_dir():
            raise UsageError(f"cannot write {name}: no such directory: {target.parent}")
        fd, tmp = make_temporary(target.parent, f".{target.name}.")
    except OSError as exc:
        raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from exc
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as exc:
            raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_private_file(path: Path, what: str) -> None:
    """Create `path` owner-only (0600; its directory 0700 when created) for text that can hold
    secrets (`what` names it in the UsageError when it cannot be)."""
    from llmspell_kernel.state.database import make_private_dirs

    try:
        make_private_dirs(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(path, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot use {path} as {what}: {exc.strerror or exc}") from exc
