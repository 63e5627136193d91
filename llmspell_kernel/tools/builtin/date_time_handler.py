"""date_time_handler: now, parse (ISO 8601 and common formats through python-dateutil), time
zones (zoneinfo), add/subtract, differences and formatting."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from types import ModuleType

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse
from llmspell_kernel.tools.imports import import_without

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = (
    "now", "parse", "convert_timezone", "convert", "add", "subtract", "difference", "format",
    "formats", "info",
)  # fmt: skip
UNITS = ("seconds", "minutes", "hours", "days", "weeks", "months", "years")
NAMED_FORMATS = {
    "iso": None,
    "iso8601": None,
    "rfc2822": "%a, %d %b %Y %H:%M:%S %z",
    "rfc3339": None,
    "date": "%Y-%m-%d",
    "time": "%H:%M:%S",
    "datetime": "%Y-%m-%d %H:%M:%S",
    "human": "%A, %B %d, %Y %I:%M %p",
}


def _zone(name: str | None) -> Any:
    if name is None or name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone '{name}' (an IANA name such as Europe/Paris)") from None


def _dateutil_parser() -> ModuleType:
    """dateutil.parser; off Windows without trying dateutil.tz.win, which imports ctypes (~3 ms
    with its shared library) before its `import winreg` fails there: dateutil then has no
    Windows zones, as it would have none anyway."""
    if sys.platform == "win32":
        import dateutil.parser

        return dateutil.parser
    return import_without("dateutil.parser", ("dateutil.tz.win",))


def _parse(text: str, zone: Any) -> datetime:
    text = text.strip()
    if text.lstrip("-").replace(".", "", 1).isdigit():  # a Unix timestamp
        return datetime.fromtimestamp(float(text), UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parser = _dateutil_parser()
        try:
            value = parser.parse(text)
        except (ValueError, OverflowError):
            raise ToolError(f"cannot parse '{text}' as a date and time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _format(value: datetime, form: str | None) -> str:
    if form is None or form.lower() in ("iso", "iso8601", "rfc3339"):
        return _iso(value)
    if form.lower() == "unix":
        return str(int(value.timestamp()))
    return value.strftime(NAMED_FORMATS.get(form.lower()) or form)


def _parts(value: datetime) -> dict[str, Any]:
    utc = value.astimezone(UTC)
    return {
        "utc": _iso(utc),
        "local": _iso(value),
        "timestamp": int(value.timestamp()),
        "year": value.year,
        "month": value.month,
        "day": value.day,
        "hour": value.hour,
        "minute": value.minute,
        "second": value.second,
        "weekday": value.strftime("%A"),
        "day_of_year": value.timetuple().tm_yday,
        "timezone": str(value.tzinfo),
    }


def _shift(value: datetime, amount: float, unit: str) -> datetime:
    if unit in ("months", "years"):
        from dateutil.relativedelta import relativedelta

        if not float(amount).is_integer():
            raise ToolError(f"parameter 'amount' must be whole for {unit}")
        months = int(amount) * (12 if unit == "years" else 1)
        return value + relativedelta(months=months)
    return value + timedelta(**{unit: amount})


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", OPERATIONS, required=True)
    zone = _zone(params.text("timezone"))
    form = params.text("format")
    if operation == "formats":
        return ToolResponse(result={"formats": sorted(NAMED_FORMATS) + ["unix", "strftime"]})
    if operation == "now":
        value = datetime.now(zone)
        shown = _format(value, form)
        result = {
            "timezone": str(zone),
            "datetime": shown,
            "timestamp": int(value.timestamp()),
            "iso": _iso(value),
            "format": form or "iso",
        }
        return ToolResponse(result=result, text=shown, operation=operation)
    if operation == "difference":
        start = _parse(params.text("start", required=True), zone)
        end = _parse(params.text("end", required=True), zone)
        seconds = (end - start).total_seconds()
        result = {
            "start": _iso(start),
            "end": _iso(end),
            "seconds": seconds,
            "minutes": seconds / 60,
            "hours": seconds / 3600,
            "days": seconds / 86400,
            "human": str(end - start),
        }
        return ToolResponse(result=result, text=str(end - start), operation=operation)
    value = _parse(params.text("input", required=True, aliases=("date", "datetime")), zone)
    if operation == "parse" or operation == "info":
        parts = _parts(value)
        if operation == "info":
            parts["is_leap_year"] = (value.year % 4 == 0 and value.year % 100 != 0) or (
                value.year % 400 == 0
            )
            parts["iso_week"] = value.isocalendar().week
        return ToolResponse(
            result={"input": params.text("input"), "parsed": parts},
            text=parts["utc"],
            operation=operation,
        )
    if operation in ("convert_timezone", "convert"):
        target = _zone(params.text("target_timezone", required=True))
        converted = value.astimezone(target)
        shown = _format(converted, form)
        return ToolResponse(
            result={"original": _iso(value), "converted": shown, "timezone": str(target)},
            text=shown,
            operation=operation,
        )
    if operation == "format":
        shown = _format(value, form)
        return ToolResponse(result={"input": _iso(value), "formatted": shown}, text=shown)
    amount = params.number("amount", required=True)
    unit = params.choice("unit", UNITS + tuple(u[:-1] for u in UNITS), "days")
    unit = unit if unit.endswith("s") else unit + "s"
    shifted = _shift(value, -amount if operation == "subtract" else amount, unit)
    shown = _format(shifted, form)
    return ToolResponse(
        result={"original": _iso(value), "result": shown, "amount": amount, "unit": unit},
        text=shown,
        operation=operation,
    )
