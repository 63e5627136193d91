"""`llmspell tools list|info NAME`: the built-in tool catalogue, its categories, permission marks
and parameter schemas (no tool library is imported)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The built-in tools scripts call with Tool.invoke(name, params): categories, "
    "permission marks (FILE, NET, PROC, ENV) and parameters.",
    no_args_is_help=True,
)


@app.command("list")
def list_tools(ctx: typer.Context) -> None:
    """List the available tools by category, with their permission marks.

    Example: llmspell tools list --output json
    """
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import TOOL_CATALOGUE as CATALOGUE
    from llmspell_kernel.api import tool_available as available

    rows = [
        {
            "name": d.name,
            "category": d.category,
            "permissions": list(d.permissions),
            "description": d.description,
            "version": d.version,
        }
        for d in sorted(CATALOGUE, key=lambda d: (d.category, d.name))
        if available(d)
    ]
    missing = [d for d in CATALOGUE if not available(d)]
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(rows)
        return
    width = max(len(row["name"]) for row in rows)
    category = None
    for row in rows:
        if row["category"] != category:
            category = row["category"]
            renderer.text(f"{'' if category == rows[0]['category'] else chr(10)}{category}:")
        marks = ",".join(row["permissions"]) or "-"
        renderer.text(f"  {str(row['name']).ljust(width)}  {marks.ljust(9)} {row['description']}")
    renderer.text("")
    renderer.text(
        "Marks: FILE paths inside tools.file_operations.allowed_paths; NET host rules "
        "([tools.http_request]); PROC allow- and block-lists ([tools.process_executor]); "
        "ENV secrets redacted."
    )
    for d in missing:
        renderer.text(f"not available: {d.name} (needs {', '.join(d.requires)})")
    renderer.text("`llmspell tools info NAME` shows a tool's parameters.")


@app.command("info")
def info(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="A tool name ('-' and '_' alike)."),
) -> None:
    """Show a tool's description, permission marks and parameters (its JSON schema).

    Example: llmspell tools info file_operations
    """
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import TOOL_CATALOGUE as CATALOGUE
    from llmspell_kernel.api import tool_available as available
    from llmspell_kernel.errors import UsageError

    wanted = name.replace("-", "_")
    found = [d for d in CATALOGUE if d.name.replace("-", "_") == wanted]
    if not found:
        raise UsageError(
            f"Tool '{name}' not found", hint="`llmspell tools list` shows the available tools"
        )
    d = found[0]
    if not available(d):
        raise UsageError(
            f"Tool '{d.name}' is not available: it needs {', '.join(d.requires)} installed"
        )
    document = {
        "name": d.name,
        "category": d.category,
        "description": d.description,
        "version": d.version,
        "permissions": list(d.permissions),
        "parameters": d.parameters,
    }
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(document)
        return
    marks = ", ".join(d.permissions) or "none"
    renderer.text(f"{d.name} ({d.category}; permissions: {marks})")
    renderer.text(f"  {d.description}")
    renderer.text("")
    required = set(d.parameters.get("required", ()))
    properties = d.parameters.get("properties", {})
    width = max((len(key) for key in properties), default=0) + 1
    renderer.text("Parameters (* = required):")
    for key, prop in properties.items():
        label = (key + ("*" if key in required else "")).ljust(width)
        default = f" (default {prop['default']})" if "default" in prop else ""
        renderer.text(
            f"  {label}  {prop.get('type', 'any'):<8} {prop.get('description', '')}{default}"
        )
    renderer.text("")
    renderer.text(f'Lua: Tool.invoke("{d.name}", {{...}})')
