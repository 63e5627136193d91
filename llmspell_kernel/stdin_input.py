"""Answering a script's input requests (io.read, io.lines, input) from this process's stdin: the
client's side of Kernel._read_input (KernelClient calls `read` for raw reads, `llmspell_raw`).

The kernel buffers what it is given and applies Lua's read formats itself (see
Kernel._read_input), so `read()` may hand over more than was asked: from a pipe or a file it
passes whatever one read returns (up to 64 KiB), which keeps `for line in io.lines()` over a big
file at a few round trips. A terminal is read a line at a time, and so is any stdin that other
code reads too (the terminal debugger's commands), so no input is taken from under it.
"""

from __future__ import annotations

import codecs
import sys

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, TextIO

CHUNK = 64 * 1024


class StdinInput:
    """An input handler for KernelClient: `__call__` for input(), `read` for io.read."""

    def __init__(self, *, read_ahead: bool = True) -> None:
        self.read_ahead = read_ahead
        self.at_end = False  # end of input stays (as C stdio's EOF flag does since glibc 2.28)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, prompt: str, password: bool) -> str:
        """One line without its newline (EOFError at end of input)."""
        if password:
            import getpass

            return getpass.getpass(prompt)
        line = self.read(prompt, "L")
        if not line:
            raise EOFError
        return line[:-1] if line.endswith("\n") else line

    def read(self, prompt: str, want: str | int) -> str:
        """Raw input for the kernel's buffer: "" only at end of input."""
        if prompt:
            sys.stdout.write(prompt)
            sys.stdout.flush()
        stream: TextIO | None = sys.stdin
        if stream is None or self.at_end:  # (stdin is None when the process started without)
            return ""
        text = self._read(stream, want)
        self.at_end = not text
        return text

    def _read(self, stream: TextIO, want: str | int) -> str:
        if not self.read_ahead:
            return stream.read() if want == "a" else stream.readline()
        raw: BinaryIO = stream.buffer
        while True:
            if want == "a":
                data = raw.read()
            elif raw.isatty():
                data = raw.readline()
            else:
                data = raw.read1(CHUNK)  # type: ignore[attr-defined]
            text = self._decoder.decode(data, final=not data)
            if text or not data:  # (a chunk may end inside a UTF-8 sequence: read on)
                return text
