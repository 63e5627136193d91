"""data_validation: JSON-schema validation (jsonschema) or upstream's simple rule lists."""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from types import ModuleType

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse
from llmspell_kernel.tools.imports import import_without

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

# The packages jsonschema imports for format checkers whose formats no metaschema uses
# (json-schema.org's drafts 3 to 2020-12 use only uri, uri-reference and regex, which stay
# checked when a schema is checked). The tool asserts no formats (no FormatChecker), so they
# change no result; when installed (Jupyter's jupyter-events brings them) their import was
# most of jsonschema's: rfc3987-syntax builds a lark grammar (~1.6 s of CPU), and the others
# (isoduration imports arrow) were ~45 ms of the tool's first call.
_FORMAT_ONLY = (
    "rfc3987_syntax",
    "isoduration",
    "rfc3339_validator",
    "webcolors",
    "idna",
    "fqdn",
    "jsonpointer",
    "uri_template",
)


# rfc3986-validator checks the uri and uri-reference formats (when rfc3987 is not installed,
# which jsonschema prefers); it compiles its regular expressions on import, ~20 ms of CPU. It
# is imported on the first string that needs one of those checks (a schema's $id, $schema or
# $ref, none in {type = "object"}), by checkers registered as jsonschema registers its own.
_URI_PACKAGE = "rfc3986_validator"


def _jsonschema() -> ModuleType:
    loaded = sys.modules.get("jsonschema")
    if loaded is not None:
        return loaded
    from importlib.util import find_spec

    lazy_uri = (
        _URI_PACKAGE not in sys.modules
        and find_spec("rfc3987") is None
        and find_spec(_URI_PACKAGE) is not None
    )
    unused = (*_FORMAT_ONLY, _URI_PACKAGE) if lazy_uri else _FORMAT_ONLY
    jsonschema = import_without("jsonschema", unused)
    if lazy_uri:
        _register_uri_checks(jsonschema)
    return jsonschema


def _uri_check(rule: str) -> Callable[[object], bool]:
    def check(instance: object) -> bool:
        if not isinstance(instance, str):
            return True
        return bool(importlib.import_module(_URI_PACKAGE).validate_rfc3986(instance, rule=rule))

    return check


def _register_uri_checks(jsonschema: ModuleType) -> None:
    """The uri (every draft) and uri-reference (draft 6 on, ValueError a failure) checkers that
    jsonschema registers when rfc3986-validator is importable, importing it on first use."""
    drafts = jsonschema._format._checks_drafts
    drafts(name="uri")(_uri_check("URI"))
    later = {f"draft{n}": "uri-reference" for n in ("6", "7", "201909", "202012")}
    drafts(raises=ValueError, **later)(_uri_check("URI_reference"))


def schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    """Every way `document` breaks `schema`, each naming where."""
    jsonschema = _jsonschema()

    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ToolError(f"parameter 'schema' is not a valid JSON schema: {exc.message}") from None
    validator = validator_class(schema)
    from referencing.exceptions import PointerToNowhere, Unresolvable  # jsonschema's own

    try:
        found = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    except Unresolvable as exc:  # a $ref is followed when a document reaches it
        cause = getattr(exc, "_wrapped", exc)  # jsonschema wraps referencing's errors
        ref = f"#{exc.ref}" if isinstance(cause, PointerToNowhere) else exc.ref
        raise ToolError(
            f"parameter 'schema' has a $ref that cannot be resolved: '{ref}' (references are "
            "followed within the schema only; remote schemas are not fetched)"
        ) from None
    errors = []
    for error in found:
        where = "/".join(str(p) for p in error.path) or "(root)"
        errors.append(f"{where}: {error.message}")
    return errors


def run(params: Params, context: Any) -> ToolResponse:
    document = params.value("input", required=True, aliases=("data",))
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            pass  # a plain string is data too
    schema = params.table("schema")
    if schema:
        errors = schema_errors(document, schema)
    else:
        rules = params.table("rules", required=True)
        errors = _rule_errors(document, rules.get("rules", rules))
    return ToolResponse(
        result={"valid": not errors, "errors": errors, "error_count": len(errors)},
        text="valid" if not errors else "\n".join(errors),
    )


def _rule_errors(value: Any, rules: Any) -> list[str]:
    if isinstance(rules, dict):
        rules = [rules]
    if not isinstance(rules, list):
        raise ToolError("parameter 'rules' must be a list of rule tables")
    errors = []
    for rule in rules:
        r = Params(rule if isinstance(rule, dict) else {})
        kind = r.choice(
            "type", ("required", "type", "length", "range", "pattern", "enum"), required=True
        )
        if kind == "required" and value in (None, "", [], {}):
            errors.append("a value is required")
        elif kind == "type":
            expected = r.text("expected", required=True)
            if _type_name(value) != expected:
                errors.append(f"expected {expected}, got {_type_name(value)}")
        elif kind == "length":
            size = len(value) if isinstance(value, str | list | dict) else 0
            low, high = r.integer("min"), r.integer("max")
            if (low is not None and size < low) or (high is not None and size > high):
                errors.append(f"length {size} is outside {_bounds(low, high)}")
        elif kind == "range" and isinstance(value, int | float):
            low, high = r.number("min"), r.number("max")
            if (low is not None and value < low) or (high is not None and value > high):
                errors.append(f"{value} is outside {_bounds(low, high)}")
        elif kind == "pattern" and not re.search(r.text("pattern", required=True), str(value)):
            errors.append(f"'{value}' does not match {r.text('pattern')}")
        elif kind == "enum" and value not in r.array("values"):
            errors.append(f"'{value}' is not one of the allowed values")
    return errors


def _bounds(low: Any, high: Any) -> str:
    if high is None:
        return f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"{low}..{high}"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"
