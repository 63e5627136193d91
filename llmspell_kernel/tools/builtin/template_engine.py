"""template_engine: Jinja2's sandboxed environment for upstream's `tera` templates (the same
syntax); handlebars is refused rather than rendered wrongly."""

from __future__ import annotations

import re

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

_ENVIRONMENT: list[Any] = []
_HANDLEBARS = re.compile(r"\{\{[#/^>]|\{\{\{")


def _environment() -> Any:
    if not _ENVIRONMENT:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        _ENVIRONMENT.append(
            ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        )
    return _ENVIRONMENT[0]


def run(params: Params, context: Any) -> ToolResponse:
    template = params.text("input", required=True, aliases=("template",))
    values = params.table("context", aliases=("variables", "data"))
    engine = params.choice("engine", ("tera", "jinja2", "jinja", "handlebars"), None)
    if engine is None and params.boolean("auto_detect", True) and _HANDLEBARS.search(template):
        engine = "handlebars"
    if engine == "handlebars":
        raise ToolError(
            "handlebars templates are not supported; use engine 'tera' (Jinja2 syntax: "
            "{% for x in items %}...{% endfor %}, {% if %}, {{ value }})"
        )
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    try:
        rendered = _environment().from_string(template).render(values)
    except SecurityError as exc:
        raise ToolError(f"template refused by the sandbox: {exc}") from None
    except TemplateError as exc:
        raise ToolError(f"parameter 'input': template error: {exc}") from None
    return ToolResponse(
        result={
            "rendered": rendered,
            "engine": "tera",
            "template_length": len(template),
            "context_size": len(values),
        },
        text=rendered,
    )
