"""`state export` / `state import` files in JSON, YAML or TOML, round-tripping exactly.

Every format holds `{format, version, tenant, entries = [{key, value}]}`. TOML has no null and no
integers beyond 64 bits, so an entry whose value needs them carries `json` (its JSON text)
instead of `value`. Parse errors name the file, line and column; structural errors the entry.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from llmspell_kernel.errors import UsageError
from llmspell_kernel.state.scopes import validate_stored_key

FORMATS = ("json", "yaml", "toml")
FORMAT_NAME = "llmspell-state"
FORMAT_VERSION = 1


def format_for(path: str | Path, explicit: str | None = None) -> str:
    """The file format: explicit, else from the extension (default json)."""
    if explicit:
        fmt = explicit.lower()
        if fmt not in FORMATS:
            raise UsageError(f"unknown format '{explicit}' (one of {', '.join(FORMATS)})")
        return fmt
    suffix = Path(path).suffix.lower()
    return {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}.get(suffix, "json")


def _toml_safe(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_toml_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_toml_safe(v) for v in value.values())
    return False


def dump(entries: list[tuple[str, Any]], fmt: str, tenant: str) -> str:
    """The export document text."""
    document: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "tenant": tenant,
        "entries": [],
    }
    for key, value in entries:
        if fmt == "toml" and not _toml_safe(value):
            document["entries"].append({"key": key, "json": json.dumps(value, sort_keys=True)})
        else:
            document["entries"].append({"key": key, "value": value})
    if fmt == "json":
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(
            document, sort_keys=True, allow_unicode=True, default_flow_style=False
        )
    import tomli_w

    return tomli_w.dumps(document)


def parse(text: str, fmt: str, where: str) -> list[tuple[str, Any]]:
    """The (key, value) entries of an export document; UsageError naming the broken spot."""
    document = _load(text, fmt, where)
    if not isinstance(document, dict):
        raise UsageError(
            f"{where}: expected a document with 'entries', got {type(document).__name__}"
        )
    if document.get("format", FORMAT_NAME) != FORMAT_NAME:
        raise UsageError(
            f"{where}: 'format' is {document.get('format')!r}, expected '{FORMAT_NAME}'"
        )
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise UsageError(
            f"{where}: unsupported version {version!r} (this llmspell reads {FORMAT_VERSION})"
        )
    entries = document.get("entries")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise UsageError(f"{where}: 'entries' must be a list")
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        at = f"{where}: entries[{index}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{at}: expected a table with 'key' and 'value'")
        key = entry.get("key")
        if not isinstance(key, str) or not key:
            raise UsageError(f"{at}: 'key' must be a non-empty string")
        at = f"{at} (key '{key}')"
        try:
            validate_stored_key(key)
        except UsageError as exc:
            raise UsageError(f"{at}: {exc.message}") from exc
        if key in seen:
            raise UsageError(f"{at}: duplicate key")
        seen.add(key)
        if "json" in entry:
            if not isinstance(entry["json"], str):
                raise UsageError(f"{at}: 'json' must be a string of JSON text")
            try:
                value = json.loads(entry["json"])
            except json.JSONDecodeError as exc:
                raise UsageError(f"{at}: 'json' is not valid JSON: {exc.msg}") from exc
        elif "value" in entry:
            value = entry["value"]
        else:
            raise UsageError(f"{at}: missing 'value'")
        problem = _non_json(value)
        if problem:
            raise UsageError(f"{at}: {problem}")
        out.append((key, value))
    return out


def _non_json(value: Any, path: str = "value") -> str | None:
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is not a finite number"
    if isinstance(value, list):
        for i, item in enumerate(value):
            problem = _non_json(item, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                return f"{path} has a non-string key {k!r}"
            problem = _non_json(item, f"{path}.{k}")
            if problem:
                return problem
        return None
    return f"{path} is a {type(value).__name__}, which JSON cannot hold"


def _load(text: str, fmt: str, where: str) -> Any:
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    if fmt == "yaml":
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            spot = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark is not None else where
            problem = getattr(exc, "problem", None) or str(exc)
            raise UsageError(f"{spot}: invalid YAML: {problem}") from exc
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where}: invalid TOML: {exc}") from exc
