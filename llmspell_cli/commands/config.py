"""`llmspell config init|validate|show`."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Create, check and show the configuration (TOML).",
    no_args_is_help=True,
)


@app.command("init")
def init(
    ctx: typer.Context,
    output_file: str = typer.Option(
        None,
        "-o",
        "--output-file",
        metavar="FILE",
        help="Where to write (default: user config file).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented default configuration file."""
    from pathlib import Path

    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import write_text_atomically
    from llmspell_kernel.config import default_config_text, user_config_path
    from llmspell_kernel.errors import LlmspellError

    target = Path(output_file).expanduser() if output_file else user_config_path()
    if target.exists() and not target.is_dir() and not force:
        raise LlmspellError(f"{target} already exists", hint="use --force to overwrite it")
    write_text_atomically(target, default_config_text(), make_parents=True)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document({"path": str(target)})
    else:
        renderer.text(f"wrote {target}")


@app.command("validate")
def validate(
    ctx: typer.Context,
    file: str = typer.Argument(
        None, metavar="[FILE]", help="File to check (default: the discovered one)."
    ),
) -> None:
    """Check a configuration file; errors exit with code 3, warnings are listed."""
    import sys

    from llmspell_cli.render import Renderer
    from llmspell_kernel.config import load_config

    loaded = load_config(file or ctx.obj.config_path)
    renderer = Renderer(ctx.obj.output)
    source = str(loaded.source) if loaded.source else "(built-in defaults)"
    if renderer.machine:
        renderer.document({"valid": True, "path": source, "warnings": loaded.warnings})
        return
    for warning in loaded.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    renderer.text(f"ok: {source}")


@app.command("show")
def show(
    ctx: typer.Context,
    section: str = typer.Argument(None, metavar="[SECTION]", help="e.g. runtime or engines.lua"),
) -> None:
    """Show the effective configuration (files plus environment), secrets redacted."""
    from llmspell_cli.render import Renderer
    from llmspell_kernel.config import load_config
    from llmspell_kernel.errors import UsageError

    data = load_config(ctx.obj.config_path).config.to_dict(redact=True)
    if section:
        for part in section.split("."):
            if not isinstance(data, dict) or part not in data:
                raise UsageError(f"unknown configuration section '{section}'")
            data = data[part]
    renderer = Renderer(ctx.obj.output)
    if renderer.machine or not isinstance(data, dict):
        renderer.document(data)
        return
    import tomli_w

    if section:  # tables keep their full names ([runtime.security]): the text pastes as is
        for part in reversed(section.split(".")):
            data = {part: data}
    renderer.stream.write(tomli_w.dumps(data))
    renderer.stream.flush()
