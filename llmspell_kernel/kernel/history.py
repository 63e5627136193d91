"""Execution history for `history_request`: kept in memory and, for kernel services, appended to
a JSON-lines file so that a kernel restarted under the same id (or JupyterLab's next session)
still finds earlier inputs. Each kernel start is one numbered session, as in IPython."""

from __future__ import annotations

import os

from llmspell_kernel.logs import get_logger

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any, TextIO

log = get_logger("llmspell.kernel")

# (session, line, input, output)
Entry = tuple[int, int, str, "str | None"]


class History:
    """Inputs (and their text results) of every execution that asked to be stored."""

    def __init__(self, path: str | os.PathLike[str] | None = None, limit: int = 1000) -> None:
        self.limit = max(1, int(limit))
        self.path: Path | None = None
        if path:
            from pathlib import Path

            self.path = Path(path)
        self.entries: list[Entry] = []
        self._handle: TextIO | None = None
        # Lines written but not flushed yet: the kernel flushes them once it idles (flush()).
        self.unflushed = False
        self._encode: Callable[[Any], str] | None = None
        if self.path is not None:
            self._load(self.path)
        self.session = 1 + max((entry[0] for entry in self.entries), default=0)

    def _load(self, path: Path) -> None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read history file %s: %s", path, exc)
            return
        import json

        for line in lines[-self.limit :]:
            try:
                item = json.loads(line)
                self.entries.append(
                    (
                        int(item["session"]),
                        int(item["line"]),
                        str(item["input"]),
                        item.get("output"),
                    )
                )
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line after a crash is skipped, the rest is kept

    def append(self, line: int, code: str, output: str | None) -> None:
        """Record one execution of the current session."""
        entry: Entry = (self.session, line, code, output)
        self.entries.append(entry)
        del self.entries[: -self.limit]
        if self.path is None:
            return
        encode = self._encode
        if encode is None:
            import json

            # json.dumps(..., ensure_ascii=False) would build this encoder for every line
            encode = self._encode = json.JSONEncoder(ensure_ascii=False).encode
        record = {"session": self.session, "line": line, "input": code, "output": output}
        try:
            handle = self._handle
            if handle is None or handle.closed:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Opened once and kept (an open and a mkdir per execution were a tenth of a
                # kernel service's time per `return 1`); lines are flushed by flush().
                handle = self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            handle.write(encode(record) + "\n")
            self.unflushed = True
        except OSError as exc:
            log.warning("cannot write history file %s: %s", self.path, exc)
            self.close()

    def flush(self) -> None:
        """Write out the lines appended since the last flush (the kernel calls it when no
        request came for a moment, so a busy kernel writes many lines at once)."""
        if not self.unflushed:
            return
        self.unflushed = False
        handle = self._handle
        if handle is None:
            return
        try:
            handle.flush()
        except OSError as exc:
            log.warning("cannot write history file %s: %s", self.path, exc)
            self.close()

    def close(self) -> None:
        """Close the history file (the next append opens it again)."""
        self.unflushed = False
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError:
                pass

    def reset_session(self) -> None:
        """A restart begins a new session; line numbers start again at 1."""
        self.session += 1

    def query(self, content: dict[str, Any]) -> list[list[Any]]:
        """The `history` list of a history_reply for a history_request's content."""
        access = content.get("hist_access_type", "tail")
        entries = self.entries
        if access == "tail":
            n = int(content.get("n") or 10)
            entries = entries[-n:]
        elif access == "range":
            session = int(content.get("session") or 0)
            if session <= 0:
                session += self.session
            start = int(content.get("start") or 0)
            stop = content.get("stop")
            entries = [
                e
                for e in entries
                if e[0] == session and e[1] >= start and (stop is None or e[1] < int(stop))
            ]
        elif access == "search":
            import fnmatch

            pattern = str(content.get("pattern") or "*")
            entries = [e for e in entries if fnmatch.fnmatchcase(e[2], pattern)]
            if content.get("unique"):
                seen: set[str] = set()
                unique: list[Entry] = []
                for entry in reversed(entries):
                    if entry[2] not in seen:
                        seen.add(entry[2])
                        unique.append(entry)
                entries = list(reversed(unique))
            last = content.get("n")
            if last:
                entries = entries[-int(last) :]
        else:
            entries = []
        output = bool(content.get("output", False))
        return [[e[0], e[1], [e[2], e[3]] if output else e[2]] for e in entries]
