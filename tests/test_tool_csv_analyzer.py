"""csv_analyzer on CSV text and real CSV files in tmp_path."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

SALES = "region;product;units;price\nnorth;apple;10;1.5\nsouth;pear;;2\nnorth;pear;4;2.25\neast;apple;7;1.5\n"


def _csv(params: str) -> str:
    return f'return Tool.invoke("csv_analyzer", {{{params}}})'


def test_analyze_reports_types_and_statistics(allowed: Path):
    (allowed / "sales.csv").write_text(SALES)
    engine, _ = make_engine(allowed)
    value = run(engine, _csv(f'path="{allowed}/sales.csv"'))
    result = value["result"]
    assert result["rows"] == 4 and result["column_count"] == 4
    columns = {c["name"]: c for c in result["columns"]}
    assert columns["units"] == {
        "name": "units", "count": 3, "missing": 1, "unique": 3, "type": "integer", "min": 4,
        "max": 10, "sum": 21, "mean": 7, "median": 7, "stdev": 3,
    }  # fmt: skip
    assert columns["price"]["type"] == "number" and columns["price"]["mean"] == 1.8125
    assert columns["region"]["type"] == "text"
    assert columns["region"]["top"][0] == {"value": "north", "count": 2}
    assert value["text"].splitlines()[0] == "4 rows, 4 columns"
    listed = run(engine, _csv(f'operation="columns", path="{allowed}/sales.csv"'))
    assert listed["result"] == ["region", "product", "units", "price"]


def test_select_filter_and_head(allowed: Path, tmp_path: Path):
    engine, _ = make_engine(allowed)
    text = SALES.replace("\n", "\\n")
    picked = run(
        engine, _csv(f'operation="select", input="{text}", columns={{"product", "region"}}')
    )
    assert picked["text"].splitlines()[:2] == ["product,region", "apple,north"]
    expensive = run(
        engine,
        _csv(
            f'operation="filter", input="{text}", conditions={{{{column="price", op=">", value=1.5}}, '
            f'{{column="units", op="not_empty"}}}}, target_path="{allowed}/out/pricey.csv"'
        ),
    )
    assert expensive["result"]["rows"] == [
        {"region": "north", "product": "pear", "units": "4", "price": "2.25"}
    ]
    with open(allowed / "out" / "pricey.csv", newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["region", "product", "units", "price"],
            ["north", "pear", "4", "2.25"],
        ]
    apples = run(
        engine,
        _csv(
            f'operation="filter", input="{text}", conditions={{{{column="product", value="apple"}}}}'
        ),
    )
    assert apples["result"]["count"] == 2
    head = run(engine, _csv(f'operation="head", input="{text}", limit=1'))["result"]
    assert head["count"] == 4 and len(head["rows"]) == 1 and head["truncated"] is True
    assert "no column 'colour' (columns: region, product, units, price)" in failure(
        engine, _csv(f'operation="select", input="{text}", columns={{"colour"}}')
    )
    assert "op '~' is not one of" in failure(
        engine,
        _csv(
            f'operation="filter", input="{text}", conditions={{{{column="units", op="~", value=1}}}}'
        ),
    )
    assert "is outside tools.file_operations.allowed_paths" in failure(
        engine, _csv(f'operation="head", input="{text}", target_path="{tmp_path}/x.csv"')
    )
    assert not (tmp_path / "x.csv").exists()
    assert "give the CSV as 'input'" in failure(engine, _csv("operation='head'"))
