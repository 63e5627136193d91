"""Files `llmspell rag ingest` reads: plain text, markdown and PDF (pypdf)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from llmspell_kernel.errors import UsageError

TEXT_SUFFIXES = frozenset(
    {".txt", ".md", ".markdown", ".rst", ".text", ".lua", ".py", ".toml", ".json", ".yaml",
     ".yml", ".csv", ".html", ".htm", ".org", ".adoc", ".tex"}
)  # fmt: skip
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
PDF_SUFFIX = ".pdf"


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Files named, and the text, markdown and PDF files under directories (hidden ones
    skipped), sorted within each directory; a missing path is a usage error."""
    out: list[str] = []
    for path in paths:
        path = os.path.expanduser(path)
        if os.path.isfile(path):
            out.append(path)
        elif os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    suffix = os.path.splitext(name)[1].lower()
                    if not name.startswith(".") and (
                        suffix in TEXT_SUFFIXES or suffix == PDF_SUFFIX
                    ):
                        out.append(os.path.join(root, name))
        else:
            raise UsageError(f"no such file or directory: {path}")
    return out


def read_document(path: str) -> dict[str, Any]:
    """`{content, metadata, source, markdown}` of one file."""
    suffix = os.path.splitext(path)[1].lower()
    metadata: dict[str, Any] = {"source": path, "filename": os.path.basename(path)}
    if suffix == PDF_SUFFIX:
        content, pages = _pdf_text(path)
        metadata["pages"] = pages
        return {"content": content, "metadata": metadata, "source": path, "markdown": False}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if b"\0" in data[:4096]:
        raise UsageError(f"{path} is not a text, markdown or PDF file")
    content = data.decode("utf-8", errors="replace")
    return {
        "content": content,
        "metadata": metadata,
        "source": path,
        "markdown": suffix in MARKDOWN_SUFFIXES,
    }


def _pdf_text(path: str) -> tuple[str, int]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # a dependency of llmspell; only a broken install lacks it
        raise UsageError("reading PDF files needs pypdf (pip install pypdf)") from None
    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, OSError, ValueError) as exc:
        raise UsageError(f"cannot read the PDF {path}: {exc}") from exc
    return "\n\n".join(p.strip() for p in pages if p.strip()), len(pages)
