"""Which lines of a Lua chunk hold code, so breakpoints can be verified before the code runs.

Lua only reports the lines of functions that exist (`debug.getinfo(f, "L")`); nested functions
exist once their closures are created. Instead we compile the chunk in a scratch runtime, dump
its bytecode with line information and read the line table of every prototype (the Lua 5.4
`ldump.c` format). The result is exactly the set of lines where a line hook can fire.
"""

from __future__ import annotations

import struct
import threading

import lupa.lua54 as lua54

_SIGNATURE = b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n"
_ABSLINEINFO = -0x80
_local = threading.local()


class ChunkError(ValueError):
    """The chunk does not compile (the message is Lua's)."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def skip(self, count: int) -> None:
        self.pos += count

    def varint(self) -> int:
        value = 0
        while True:
            b = self.byte()
            value = (value << 7) | (b & 0x7F)
            if b & 0x80:
                return value

    def string(self) -> None:
        size = self.varint()
        if size:
            self.skip(size - 1)


def _function(reader: _Reader, lines: set[int]) -> None:
    reader.string()  # source
    linedefined = reader.varint()
    reader.varint()  # lastlinedefined
    reader.byte()  # numparams
    is_vararg = reader.byte()
    reader.byte()  # maxstacksize
    code_size = reader.varint()
    reader.skip(4 * code_size)
    for _ in range(reader.varint()):  # constants
        kind = reader.byte()
        if kind in (3, 19):  # integer, float
            reader.skip(8)
        elif kind in (4, 20):  # short, long string
            reader.string()
    reader.skip(3 * reader.varint())  # upvalue descriptions
    for _ in range(reader.varint()):
        _function(reader, lines)
    count = reader.varint()
    deltas = struct.unpack_from(f"{count}b", reader.data, reader.pos)
    reader.skip(count)
    absolute = [(reader.varint(), reader.varint()) for _ in range(reader.varint())]
    for _ in range(reader.varint()):  # local variables
        reader.string()
        reader.varint()
        reader.varint()
    for _ in range(reader.varint()):  # upvalue names
        reader.string()
    line = linedefined
    marks = dict(absolute)
    for pc, delta in enumerate(deltas):
        line = marks[pc] if delta == _ABSLINEINFO else line + delta
        if pc == 0 and is_vararg:
            continue  # VARARGPREP: Lua's activelines leave it out too
        lines.add(line)


def _runtime() -> lua54.LuaRuntime:
    runtime = getattr(_local, "runtime", None)
    if runtime is None:
        runtime = lua54.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
        _local.dump = runtime.execute(
            b"return function(code, name)\n"
            b"  local f, err = load(code, name, 't', {})\n"
            b"  if not f then return nil, err end\n"
            b"  return string.dump(f)\n"
            b"end"
        )
        _local.runtime = runtime
    return runtime


def code_lines(code: str, chunk_name: str = "=chunk") -> set[int]:
    """Lines of `code` where Lua can stop; raises ChunkError when it does not compile."""
    _runtime()
    result = _local.dump(code.encode("utf-8"), chunk_name.encode("utf-8"))
    if isinstance(result, tuple):
        raise ChunkError(bytes(result[1]).decode("utf-8", "replace"))
    data = bytes(result)
    if not data.startswith(_SIGNATURE):
        raise ChunkError("unexpected bytecode format")
    reader = _Reader(data)
    # signature, instruction/integer/number sizes, check integer and number, upvalue count
    reader.skip(len(_SIGNATURE) + 3 + 8 + 8 + 1)
    lines: set[int] = set()
    _function(reader, lines)
    return lines


def next_code_line(lines: set[int], line: int) -> int | None:
    """The first line at or after `line` that holds code."""
    later = [candidate for candidate in lines if candidate >= line]
    return min(later) if later else None
