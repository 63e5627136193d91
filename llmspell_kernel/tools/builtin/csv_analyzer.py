"""csv_analyzer: statistics per column, column selection, filtering and the first rows of CSV text
or a CSV file (the csv module; delimiter sniffed unless given). Rows in a result are bounded by
`limit`; filter and select can write every selected row to target_path (FILE gate)."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = ("analyze", "columns", "select", "filter", "head")
_ALIASES = {"stats": "analyze", "statistics": "analyze", "describe": "analyze"}
MAX_LIMIT = 10_000
OPS = (
    "==", "!=", ">", ">=", "<", "<=", "contains", "not_contains", "startswith", "endswith",
    "empty", "not_empty",
)  # fmt: skip
_TOP = 5


def run(params: Params, context: Any) -> ToolResponse:
    raw_operation = params.text("operation", "analyze").lower()
    operation = _ALIASES.get(raw_operation, raw_operation)
    if operation not in OPERATIONS:
        raise ToolError(f"unknown operation '{raw_operation}' (one of {', '.join(OPERATIONS)})")
    header, rows = _read(params, context)
    limit = params.integer("limit", 100)
    if not 0 <= limit <= MAX_LIMIT:
        raise ToolError(f"parameter 'limit' must be between 0 and {MAX_LIMIT}")
    if operation == "analyze":
        stats = [_column_stats(name, [row[i] for row in rows]) for i, name in enumerate(header)]
        lines = [f"{len(rows)} rows, {len(header)} columns"]
        for s in stats:
            extra = (
                f" mean={s['mean']:.10g} min={s['min']:.10g} max={s['max']:.10g}"
                if "mean" in s
                else ""
            )
            lines.append(f"{s['name']}: {s['type']}, {s['missing']} missing{extra}")
        return ToolResponse(
            result={"rows": len(rows), "column_count": len(header), "columns": stats},
            text="\n".join(lines),
            operation="analyze",
        )
    if operation == "columns":
        return ToolResponse(result=header, text="\n".join(header), operation="columns")
    if operation == "select":
        wanted = [str(c) for c in params.array("columns", required=True)]
        indexes = [_index(header, name) for name in wanted]
        header, rows = wanted, [[row[i] for i in indexes] for row in rows]
    elif operation == "filter":
        conditions = [_condition(header, c) for c in params.array("conditions", required=True)]
        rows = [row for row in rows if all(_holds(row, *c) for c in conditions)]
    return _rows(params, context, operation, header, rows, limit)


def _read(params: Params, context: Any) -> tuple[list[str], list[list[str]]]:
    path = params.text("path", aliases=("file",))
    if path is not None:
        resolved = context.path(path)
        if not resolved.is_file():
            raise ToolFailure(f"file not found: '{path}'")
        context.check_size(path, resolved.stat().st_size)
        text = resolved.read_bytes().decode(params.text("encoding", "utf-8-sig"), "replace")
    else:
        text = params.text("input", aliases=("content", "data"))
        if text is None:
            raise ToolError("give the CSV as 'input' (text) or 'path' (a file)")
    delimiter = params.text("delimiter")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], ",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    if len(delimiter) != 1:
        raise ToolError("parameter 'delimiter' must be one character")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        records = [row for row in reader if row]
    except csv.Error as exc:
        raise ToolFailure(f"the CSV cannot be read: {exc}") from None
    if not records:
        return [], []
    width = max(len(row) for row in records)
    if params.boolean("has_header", True):
        header = records.pop(0)
    else:
        header = [f"column_{i + 1}" for i in range(width)]
    header += [f"column_{i + 1}" for i in range(len(header), width)]
    rows = [row + [""] * (len(header) - len(row)) for row in records]
    return header, rows


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _column_stats(name: str, values: list[str]) -> dict[str, Any]:
    present = [v.strip() for v in values if v.strip()]
    stats: dict[str, Any] = {
        "name": name,
        "count": len(present),
        "missing": len(values) - len(present),
        "unique": len(set(present)),
    }
    numbers = [_number(v) for v in present]
    if present and all(n is not None for n in numbers):
        data = [n for n in numbers if n is not None]
        integral = all(n.is_integer() for n in data) and not any("." in v for v in present)
        whole = int if integral else float
        stats |= {
            "type": "integer" if integral else "number",
            "min": whole(min(data)),
            "max": whole(max(data)),
            "sum": whole(math.fsum(data)),
            "mean": (mean := math.fsum(data) / len(data)),
            "median": _median(data),
            "stdev": _stdev(data, mean),
        }
    elif present and all(v.lower() in ("true", "false") for v in present):
        stats["type"] = "boolean"
    else:
        stats["type"] = "text" if present else "empty"
    if stats["type"] not in ("integer", "number"):
        stats["top"] = [{"value": v, "count": n} for v, n in Counter(present).most_common(_TOP)]
    return stats


def _median(data: list[float]) -> float:
    ordered = sorted(data)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _stdev(data: list[float], mean: float) -> float:
    """The sample standard deviation (the statistics module's stdev, without its import cost)."""
    if len(data) < 2:
        return 0.0
    return math.sqrt(math.fsum((x - mean) ** 2 for x in data) / (len(data) - 1))


def _index(header: list[str], name: str) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise ToolError(f"no column '{name}' (columns: {', '.join(header)})") from None


def _condition(header: list[str], raw: Any) -> tuple[int, str, str, float | None]:
    if not isinstance(raw, dict):
        raise ToolError("each condition must be a table {column, op, value}")
    column = raw.get("column")
    if not isinstance(column, str):
        raise ToolError("a condition needs 'column' (a column name)")
    op = str(raw.get("op", raw.get("operator", "==")))
    if op not in OPS:
        raise ToolError(f"condition op '{op}' is not one of {', '.join(OPS)}")
    value = raw.get("value")
    if value is None and op not in ("empty", "not_empty"):
        raise ToolError(f"condition on '{column}' with op '{op}' needs 'value'")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value)
    return _index(header, column), op, text, _number(text)


def _holds(row: list[str], index: int, op: str, value: str, number: float | None) -> bool:
    cell = row[index].strip()
    if op == "empty":
        return not cell
    if op == "not_empty":
        return bool(cell)
    if op in ("contains", "not_contains", "startswith", "endswith"):
        if op == "contains":
            return value in cell
        if op == "not_contains":
            return value not in cell
        return cell.startswith(value) if op == "startswith" else cell.endswith(value)
    left = _number(cell)
    a: Any
    b: Any
    a, b = (left, number) if left is not None and number is not None else (cell, value)
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if left is None or number is None:
        return False  # an ordering needs numbers on both sides
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def _rows(
    params: Params,
    context: Any,
    operation: str,
    header: list[str],
    rows: list[list[str]],
    limit: int,
) -> ToolResponse:
    shown = rows[:limit]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(shown)
    result: dict[str, Any] = {
        "columns": header,
        "rows": [dict(zip(header, row, strict=True)) for row in shown],
        "count": len(rows),
        "truncated": len(rows) > len(shown),
    }
    target_raw = params.text("target_path", aliases=("output_path",))
    if target_raw is not None:
        target = context.path(target_raw)
        everything = io.StringIO()
        csv.writer(everything, lineterminator="\n").writerows([header, *rows])
        data = everything.getvalue().encode("utf-8")
        context.check_size(target_raw, len(data))
        target.parent.mkdir(parents=True, exist_ok=True)
        from llmspell_kernel.tools.builtin.file_operations import _atomic_write

        _atomic_write(target, data)
        result["target_path"] = target_raw
    return ToolResponse(result=result, text=buffer.getvalue(), operation=operation)
