"""`state export` / `state import` files in JSON, YAML or TOML, round-tripping exactly.

Every format holds `{format, version, tenant, entries = [{key, value}]}`. TOML has no null and no
integers beyond 64 bits, so an entry whose value needs them carries `json` (its JSON text)
instead of `value`. Parse errors name the file, line and column; structural errors the entry.

A file is read only when it is recognisably an export (the `format` marker, a known `version`
and an `entries` list): anything else is refused (`ImportFileError`, exit 3) before the store
is touched, so a stray JSON or YAML file can never replace the state with nothing. Reading is
bounded: values nest at most `MAX_DEPTH` levels (what a Lua table can hold), YAML aliases may
not expand the document by more than `MAX_ALIAS_EXPANSION` nodes ("billion laughs"), and a
recursive alias is refused.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from llmspell_kernel.errors import ConfigError, UsageError
from llmspell_kernel.state.scopes import validate_stored_key

FORMATS = ("json", "yaml", "toml")
FORMAT_NAME = "llmspell-state"
FORMAT_VERSION = 1
MAX_DEPTH = 64  # the nesting a Lua table may have (llmspell_kernel.lua.convert, without lupa)
# Nodes YAML aliases may add to a document beyond the nodes written out in the file.
MAX_ALIAS_EXPANSION = 100_000
_HINT = "nothing was changed (`llmspell state export FILE` writes a file this reads)"


class ImportFileError(ConfigError):
    """An import file that is not a usable state export (exit 3, like a broken config file)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint=_HINT)


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
    """The (key, value) entries of an export document; ImportFileError naming the broken spot."""
    document = _load(text, fmt, where)
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ImportFileError(
            f"{where} is not an llmspell state export (no 'format: {FORMAT_NAME}' marker)"
        )
    version = document.get("version")
    if version != FORMAT_VERSION:
        raise ImportFileError(
            f"{where}: unsupported version {version!r} (this llmspell reads {FORMAT_VERSION})"
        )
    entries = document.get("entries")
    if not isinstance(entries, list):
        raise ImportFileError(f"{where}: 'entries' must be a list")
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        at = f"{where}: entries[{index}]"
        if not isinstance(entry, dict):
            raise ImportFileError(f"{at}: expected a table with 'key' and 'value'")
        key = entry.get("key")
        if not isinstance(key, str) or not key:
            raise ImportFileError(f"{at}: 'key' must be a non-empty string")
        at = f"{at} (key '{key}')"
        try:
            validate_stored_key(key)
        except UsageError as exc:
            raise ImportFileError(f"{at}: {exc.message}") from exc
        if key in seen:
            raise ImportFileError(f"{at}: duplicate key")
        seen.add(key)
        if "json" in entry:
            if not isinstance(entry["json"], str):
                raise ImportFileError(f"{at}: 'json' must be a string of JSON text")
            try:
                value = json.loads(entry["json"])
            except json.JSONDecodeError as exc:
                raise ImportFileError(f"{at}: 'json' is not valid JSON: {exc.msg}") from exc
            except RecursionError:
                raise ImportFileError(f"{at}: 'json' nests too deeply to read") from None
            except ValueError as exc:
                raise ImportFileError(f"{at}: 'json' cannot be read: {exc}") from exc
        elif "value" in entry:
            value = entry["value"]
        else:
            raise ImportFileError(f"{at}: missing 'value'")
        problem = depth_problem(value) or _non_json(value)
        if problem:
            raise ImportFileError(f"{at}: {problem}")
        out.append((key, value))
    return out


def depth_problem(value: Any) -> str | None:
    """Whether a value nests deeper than a Lua table may (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"value nests deeper than {MAX_DEPTH} levels"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


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
    try:
        if fmt == "json":
            return _load_json(text, where)
        if fmt == "yaml":
            return _load_yaml(text, where)
        return _load_toml(text, where)
    except RecursionError:
        raise ImportFileError(f"{where}: the document nests too deeply to read") from None


def _load_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{where}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise ImportFileError(f"{where}: invalid JSON: {exc}") from exc


def _load_yaml(text: str, where: str) -> Any:
    import yaml

    loader = _bounded_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_aliases(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        spot = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark is not None else where
        problem = getattr(exc, "problem", None) or str(exc)
        raise ImportFileError(f"{spot}: invalid YAML: {problem}") from exc
    finally:
        loader.dispose()


def _bounded_loader() -> Any:
    """PyYAML's pure-Python safe loader, refusing nesting beyond what a document can hold
    before its scanner does quadratic work on it (the C loader recurses without a limit)."""
    import yaml

    limit = MAX_DEPTH + 8  # the value plus the document, 'entries' and the entry around it

    class BoundedSafeLoader(yaml.SafeLoader):
        def _deep(self) -> None:
            raise yaml.scanner.ScannerError(
                None, None, f"the document nests deeper than {limit} levels", self.get_mark()
            )

        def fetch_flow_collection_start(self, token_class: Any) -> None:
            if self.flow_level >= limit:
                self._deep()
            super().fetch_flow_collection_start(token_class)

        def add_indent(self, column: int) -> bool:
            if len(self.indents) >= limit:
                self._deep()
            return bool(super().add_indent(column))

    return BoundedSafeLoader


def _check_aliases(root: Any, where: str) -> None:
    """Refuse a YAML node graph that aliases make recursive or explode when expanded.

    Walks each distinct node once (iteratively), computing the size the document would have
    with every alias written out; that is the work constructing and storing it would take."""
    expanded: dict[int, int] = {}
    on_path: set[int] = set()
    distinct = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        ident = id(node)
        if children_done:
            on_path.discard(ident)
            expanded[ident] = 1 + sum(expanded[id(c)] for c in _children(node))
            if expanded[ident] - distinct > MAX_ALIAS_EXPANSION:
                raise ImportFileError(
                    f"{where}: YAML aliases expand the document beyond "
                    f"{MAX_ALIAS_EXPANSION} extra nodes"
                )
            continue
        if ident in on_path:
            mark = node.start_mark
            raise ImportFileError(
                f"{where}:{mark.line + 1}:{mark.column + 1}: a YAML alias refers to itself "
                "(a recursive document cannot be stored)"
            )
        if ident in expanded:
            continue
        distinct += 1
        on_path.add(ident)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in expanded)


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _load_toml(text: str, where: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ImportFileError(f"{where}: invalid TOML: {exc}") from exc
