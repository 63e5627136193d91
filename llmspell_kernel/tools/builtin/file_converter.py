"""file_converter: a text file's encoding, line endings and indentation, detected or converted
(the standard library's codecs). The result is written atomically to target_path, or over the
file itself; both paths pass the FILE gate. Bytes that do not decode, or characters the target
encoding cannot hold, fail the call (nothing is written) unless errors=replace."""

from __future__ import annotations

import codecs
import re

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = ("detect", "encoding", "line_endings", "indentation")
_ALIASES = {
    "convert_encoding": "encoding",
    "convert_line_endings": "line_endings",
    "info": "detect",
}
ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NEWLINE = re.compile(r"\r\n|\r|\n")


def run(params: Params, context: Any) -> ToolResponse:
    raw_operation = params.text("operation", required=True).lower()
    operation = _ALIASES.get(raw_operation, raw_operation)
    if operation not in OPERATIONS:
        raise ToolError(f"unknown operation '{raw_operation}' (one of {', '.join(OPERATIONS)})")
    raw = params.text("path", required=True, aliases=("input_path", "file"))
    path = context.path(raw)
    if not path.is_file():
        raise ToolFailure(f"file not found: '{raw}'")
    context.check_size(raw, path.stat().st_size)
    data = path.read_bytes()
    source = params.text("from_encoding", aliases=("source_encoding",))
    source = _codec(source, "from_encoding") if source else _detect(data)
    if source is None:
        raise ToolFailure(
            f"'{raw}' is not UTF-8 and has no byte-order mark (give from_encoding, e.g. latin-1)"
        )
    errors = params.choice("errors", ("strict", "replace"), "strict")
    try:
        text = data.decode(source, errors)
    except UnicodeDecodeError as exc:
        raise ToolFailure(f"'{raw}' is not valid {source} at byte {exc.start}") from None
    if operation == "detect":
        return ToolResponse(result=_describe(raw, data, source, text), operation="detect")
    target = source
    if operation == "encoding":
        wanted = params.text("to_encoding", required=True, aliases=("target_encoding",))
        target = _codec(wanted, "to_encoding")
    elif operation == "line_endings":
        ending = params.choice("line_ending", tuple(ENDINGS), "lf", aliases=("to",))
        text = _NEWLINE.sub(ENDINGS[ending], text)
    else:
        text = _indent(params, text)
    try:
        out = text.encode(target, errors)
    except UnicodeEncodeError as exc:
        raise ToolFailure(
            f"{target} cannot hold {exc.object[exc.start]!r} of '{raw}' (errors=replace puts ? "
            "in its place)"
        ) from None
    target_raw = params.text("target_path", raw, aliases=("output_path",))
    destination = context.path(target_raw)
    context.check_size(target_raw, len(out))
    if destination.is_dir():
        raise ToolFailure(f"'{target_raw}' is a directory")
    from llmspell_kernel.tools.builtin.file_operations import _atomic_write

    destination.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(destination, out)
    return ToolResponse(
        result={
            "path": raw,
            "target_path": target_raw,
            "from_encoding": source,
            "to_encoding": target,
            "bytes": len(out),
        },
        message=f"converted {raw} ({operation}) to {target_raw}",
        operation=operation,
    )


def _codec(name: str, parameter: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ToolError(f"parameter '{parameter}': unknown encoding '{name}'") from None


def _detect(data: bytes) -> str | None:
    """The encoding a byte-order mark names, else utf-8 when the bytes are UTF-8, else None."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _describe(raw: str, data: bytes, encoding: str, text: str) -> dict[str, Any]:
    counts = {"crlf": text.count("\r\n")}
    counts["lf"] = text.count("\n") - counts["crlf"]
    counts["cr"] = text.count("\r") - counts["crlf"]
    used = [name for name, n in counts.items() if n]
    lines = text.splitlines()
    return {
        "path": raw,
        "encoding": encoding,
        "bom": encoding in ("utf-8-sig", "utf-16", "utf-32"),
        "size": len(data),
        "line_endings": used[0] if len(used) == 1 else ("mixed" if used else "none"),
        "line_ending_counts": counts,
        "lines": len(lines),
        "tab_indented_lines": sum(1 for line in lines if line.startswith("\t")),
        "space_indented_lines": sum(1 for line in lines if line.startswith(" ")),
    }


def _indent(params: Params, text: str) -> str:
    """Leading tabs to spaces (to=spaces) or leading runs of spaces to tabs (to=tabs)."""
    to = params.choice("to", ("spaces", "tabs"), "spaces", aliases=("indentation",))
    width = params.integer("tab_width", 4)
    if not 1 <= width <= 16:
        raise ToolError("parameter 'tab_width' must be between 1 and 16")
    out = []
    for line in text.splitlines(keepends=True):
        body = line.lstrip(" \t")
        lead = line[: len(line) - len(body)]
        columns = 0
        for char in lead:
            columns = (columns // width + 1) * width if char == "\t" else columns + 1
        if to == "spaces":
            lead = " " * columns
        else:
            lead = "\t" * (columns // width) + " " * (columns % width)
        out.append(lead + body)
    return "".join(out)
