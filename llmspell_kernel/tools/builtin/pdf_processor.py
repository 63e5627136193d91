"""pdf-processor: a PDF's page count and metadata, its text (all pages or some), and new PDFs
made of pages of it (extract_pages) or of several files (merge), through pypdf. Every path
passes the FILE gate before it is opened; files over max_file_size are refused."""

from __future__ import annotations

import io
from types import ModuleType

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse
from llmspell_kernel.tools.imports import import_without

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = ("info", "extract_text", "extract_pages", "merge")
_ALIASES = {"text": "extract_text", "metadata": "info", "split": "extract_pages"}
MAX_MERGED = 100


def run(params: Params, context: Any) -> ToolResponse:
    raw_operation = params.text("operation", "extract_text").lower()
    operation = _ALIASES.get(raw_operation, raw_operation)
    if operation not in OPERATIONS:
        raise ToolError(f"parameter 'operation' must be one of {', '.join(OPERATIONS)}")
    password = params.text("password")
    if operation == "merge":
        return _merge(params, context, password)
    raw = params.text("path", required=True, aliases=("input", "file"))
    source = context.path(raw)
    # Every path passes the gate before any file is read.
    target = _target(params, context) if operation == "extract_pages" else None
    reader = _reader(context, raw, source, password)
    count = len(reader.pages)
    if operation == "info":
        info = _metadata(reader)
        first = reader.pages[0].mediabox if count else None
        result = {
            "path": raw,
            "pages": count,
            "encrypted": reader.is_encrypted,
            "metadata": info,
            "page_size": [float(first.width), float(first.height)] if first is not None else None,
        }
        return ToolResponse(result=result, message=f"{raw}: {count} pages", operation="info")
    pages = _pages(params.value("pages"), count)
    if operation == "extract_text":
        found = [(n, _text(reader, n)) for n in pages]
        texts = [{"page": n, "text": t} for n, t in found]
        text = "\n\n".join(t for _, t in found)
        return ToolResponse(
            result={"path": raw, "pages": texts, "page_count": count, "length": len(text)},
            text=text,
            operation="extract_text",
        )
    from pypdf import PdfWriter

    writer = PdfWriter()
    for n in pages:
        writer.add_page(reader.pages[n - 1])
    assert target is not None
    written = _write(context, target, writer)
    return ToolResponse(
        result={"path": raw, "target_path": target[0], "pages": pages, "bytes_written": written},
        message=f"wrote {len(pages)} pages of {raw} to {target[0]}",
        operation="extract_pages",
    )


def _pypdf() -> ModuleType:
    """pypdf, imported without Pillow when Pillow is not loaded yet: pypdf imports it for its
    image extraction, which this tool never does (it reads text, metadata and pages, and
    copies pages with their images as they are)."""
    return import_without("pypdf", ("PIL",))


def _reader(context: Any, raw: str, path: Any, password: str | None) -> Any:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ToolFailure(f"file not found: '{raw}'") from None
    context.check_size(raw, size)
    data = path.read_bytes()
    _pypdf()
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            if password is None:
                raise ToolError(f"'{raw}' is encrypted: give its 'password'")
            if not reader.decrypt(password):
                raise ToolError(f"wrong password for '{raw}'")
        len(reader.pages)  # a broken page tree fails here, not later
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ToolFailure(f"'{raw}' is not a readable PDF: {exc}") from None
    return reader


def _metadata(reader: Any) -> dict[str, str]:
    info = reader.metadata or {}
    return {str(k).lstrip("/").lower(): str(v) for k, v in info.items() if v is not None}


def _text(reader: Any, number: int) -> str:
    try:
        return reader.pages[number - 1].extract_text() or ""
    except Exception as exc:  # pypdf raises many kinds for damaged content streams
        raise ToolFailure(f"page {number}: cannot extract text: {exc}") from None


def _pages(value: Any, count: int) -> list[int]:
    """Page numbers from 1: all, a list {1, 3}, or text such as "1-3,5" ("-2": the last two)."""
    if value is None:
        return list(range(1, count + 1))
    numbers: list[int] = []
    items = value if isinstance(value, list) else str(value).split(",")
    for item in items:
        text = str(item).strip()
        start, dash, end = text.partition("-")
        try:
            if not dash:
                numbers.append(int(float(text)))
            elif not start:
                numbers.extend(range(max(1, count - int(end) + 1), count + 1))
            else:
                numbers.extend(range(int(start), (int(end) if end else count) + 1))
        except ValueError:
            raise ToolError(f"parameter 'pages': '{text}' is not a page or a range") from None
    for n in numbers:
        if not 1 <= n <= count:
            raise ToolError(f"parameter 'pages': page {n} is outside 1-{count}")
    return numbers


def _merge(params: Params, context: Any, password: str | None) -> ToolResponse:
    files = params.array("files", required=True, aliases=("inputs",))
    if not files or len(files) > MAX_MERGED:
        raise ToolError(f"parameter 'files' must list 1 to {MAX_MERGED} PDFs")
    if not all(isinstance(raw, str) for raw in files):
        raise ToolError("parameter 'files' must list paths")
    sources = [(raw, context.path(raw)) for raw in files]  # every path checked before any read
    target = _target(params, context)
    _pypdf()
    from pypdf import PdfWriter

    writer = PdfWriter()
    pages = 0
    for raw, path in sources:
        reader = _reader(context, raw, path, password)
        for page in reader.pages:
            writer.add_page(page)
            pages += 1
    written = _write(context, target, writer)
    return ToolResponse(
        result={"files": files, "target_path": target[0], "pages": pages, "bytes_written": written},
        message=f"merged {len(files)} PDFs ({pages} pages) into {target[0]}",
        operation="merge",
    )


def _target(params: Params, context: Any) -> tuple[str, Any]:
    """(target_path as given, resolved), refused when it exists unless overwrite = true."""
    raw = params.text("target_path", required=True, aliases=("output",))
    path = context.path(raw)
    if path.exists() and not params.boolean("overwrite", False):
        raise ToolError(f"'{raw}' exists (overwrite = true replaces it)")
    return raw, path


def _write(context: Any, target: tuple[str, Any], writer: Any) -> int:
    raw, path = target
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    context.check_size(raw, len(data))
    from llmspell_kernel.tools.builtin.file_operations import _atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, data)
    return len(data)
