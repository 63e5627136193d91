"""citation-formatter: CSL-JSON and BibTeX references rendered by citeproc-py in the shipped styles."""

from __future__ import annotations

from pathlib import Path

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

REFERENCES = """{
  {id = "dune", type = "book", title = "Dune", author = "Herbert, Frank", issued = 1965,
   publisher = "Chilton Books", ["publisher-place"] = "Philadelphia"},
  {id = "attention", type = "article-journal", title = "Attention is all you need",
   author = {"Ashish Vaswani", {family = "Shazeer", given = "Noam"}}, issued = "2017-12-04",
   ["container-title"] = "Advances in Neural Information Processing Systems", volume = "30",
   page = "5998-6008", DOI = "10.5555/3295222.3295349"},
}"""


def _cite(params: str) -> str:
    return f'return Tool.invoke("citation-formatter", {{input = {REFERENCES}, {params}}})'


def test_styles_render_citations_and_bibliographies(allowed: Path):
    engine, _ = make_engine(allowed)
    apa = run(engine, _cite('style = "apa"'))
    assert apa["result"]["citations"] == [
        {"id": "dune", "text": "(Herbert, 1965)"},
        {"id": "attention", "text": "(Vaswani & Shazeer, 2017)"},
    ]
    assert apa["text"].splitlines() == [
        "Herbert, F. (1965). Dune. Chilton Books.",
        "Vaswani, A., & Shazeer, N. (2017). Attention is all you need. Advances in Neural "
        "Information Processing Systems, 30, 5998–6008. https://doi.org/10.5555/3295222.3295349",
    ]
    ieee = run(engine, _cite('style = "ieee"'))
    assert [c["text"] for c in ieee["result"]["citations"]] == ["[1]", "[2]"]
    assert ieee["text"].startswith("[1] F. Herbert, Dune. Philadelphia: Chilton Books, 1965.")
    mla = run(engine, _cite('style = "mla"'))["result"]["citations"][1]["text"]
    assert mla == "(Vaswani and Shazeer, “Attention Is All You Need”)"
    chicago = run(engine, _cite('style = "chicago"'))["result"]["citations"][0]["text"]
    assert chicago == "(Herbert 1965)"
    html = run(engine, _cite('style = "harvard", format = "html"'))["result"]["bibliography"][0]
    assert html == "Herbert, F. (1965) <i>Dune</i>. Philadelphia: Chilton Books."
    again = run(
        engine,
        'return Tool.invoke("citation-formatter", {input = {{title = "Solaris", author = "Lem, Stanisław", issued = 1961}}})',
    )
    assert again["result"]["citations"] == [
        {"id": "ref1", "text": "(Lem, 1961)"}
    ]  # a kept style, new items
    assert again["text"] == "Lem, S. (1961). Solaris."
    styles = run(engine, 'return Tool.invoke("citation-formatter", {operation = "styles"})')
    assert styles["text"].split() == ["apa", "chicago", "harvard", "ieee", "mla"]


def test_bibtex_input_and_clear_errors(allowed: Path):
    engine, _ = make_engine(allowed)
    bibtex = (
        "@book{knuth84, author = {Donald E. Knuth}, title = {The TeXbook}, "
        "publisher = {Addison-Wesley}, year = 1984}"
    )
    value = run(
        engine, f'return Tool.invoke("citation-formatter", {{bibtex = "{bibtex}", style = "apa"}})'
    )
    assert value["result"]["citations"] == [{"id": "knuth84", "text": "(Knuth, 1984)"}]
    assert value["text"].startswith("Knuth, D. E. (1984).")
    broken = 'return Tool.invoke("citation-formatter", {bibtex = "@book{x, title = {The {\\\\TeX}book}}"})'
    assert "parameter 'bibtex' cannot be parsed" in failure(engine, broken)
    assert "unknown style 'nope' (one of apa, chicago, harvard, ieee, mla" in failure(
        engine, _cite('style = "nope"')
    )
    assert "unknown style '../../etc/passwd'" in failure(
        engine, _cite('style = "../../etc/passwd"')
    )
    assert "'issued' must be a year, YYYY-MM-DD" in failure(
        engine,
        'return Tool.invoke("citation-formatter", {input = {{title = "x", issued = "soon"}}})',
    )
    assert "missing required parameter 'input'" in failure(
        engine, 'return Tool.invoke("citation-formatter", {})'
    )
