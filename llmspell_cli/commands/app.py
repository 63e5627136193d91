"""`llmspell app list|info|run|validate`: the shipped applications (and any directory holding a
main.lua and a config.toml), run like `llmspell run` with the app's configuration, and the
validation suite that checks what each one really produced."""

from __future__ import annotations

import typer

from llmspell_cli.options import model_override_option

app = typer.Typer(
    help="The example applications: list them, run one, or validate them all.\n\n"
    "NAME is a shipped application (`llmspell app list`) or a directory holding main.lua and "
    "config.toml.",
    no_args_is_help=True,
)

ALLOWED_PATHS_ENV = "LLMSPELL_TOOLS_FILE_OPERATIONS_ALLOWED_PATHS"
NAME_HELP = "A shipped application or an application directory."


@app.command("list")
def list_apps(ctx: typer.Context) -> None:
    """List the shipped applications by layer (1 simple, 2 complex, 3 expert).

    Example: llmspell app list --output json
    """
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import list_apps as shipped

    apps = shipped()
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document([_summary(a) for a in apps])
        return
    rows = [[a.name, f"{a.layer} {a.layer_name}", a.agents, a.description] for a in apps]
    renderer.table(None, ["name", "layer", "agents", "description"], rows, whole=("name",))
    renderer.text("`llmspell app info NAME` shows one; `llmspell app run NAME` runs it.")


@app.command("info")
def info(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help=NAME_HELP),
) -> None:
    """Show an application: what it does, its agents, workflows, outputs and how to run it.

    Example: llmspell app info webapp-creator
    """
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import find_app

    found = find_app(name)
    document = _summary(found) | {
        "path": str(found.path),
        "title": found.title,
        "workflows": found.workflows,
        "uses": list(found.uses),
        "providers": list(found.providers),
        "outputs": [{"path": o.path, "format": o.format} for o in found.outputs],
    }
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(document)
        return
    renderer.text(f"{found.title} ({found.name}; layer {found.layer} {found.layer_name})")
    if found.description:
        renderer.text(f"  {found.description}")
    renderer.text(f"  path: {found.path}")
    renderer.text(f"  agents: {found.agents}; workflow runs: at least {found.workflows}")
    if found.uses:
        renderer.text(f"  shows: {', '.join(found.uses)}")
    if found.outputs:
        renderer.text("  writes (below --output DIR):")
        for output in found.outputs:
            renderer.text(f"    {output.path} ({output.format})")
    renderer.text(f"Run: llmspell app run {name} [-- --output DIR ...]")


def _summary(found: object) -> dict[str, object]:
    return {
        "name": getattr(found, "name", ""),
        "layer": getattr(found, "layer", 0),
        "layer_name": getattr(found, "layer_name", ""),
        "agents": getattr(found, "agents", 0),
        "description": getattr(found, "description", ""),
        "shipped": getattr(found, "shipped", False),
    }


@app.command("run")
def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help=NAME_HELP),
    args: list[str] = typer.Argument(None, metavar="[-- ARGS...]", help="Script arguments."),
    model_override: str = model_override_option(),
    timeout: float = typer.Option(
        None, "--timeout", metavar="SECONDS", help="Stop the app after this many seconds."
    ),
) -> None:
    """Run an application with its own config.toml (unless --config names another). Its
    agents use the app's own models, or local/smollm2 when a provider they need has no API key
    (--model-override picks any model).

    Its files go to `-- --output DIR`, by default a fresh directory under the user's data dir
    (~/.local/share/llmspell-apps/NAME/...); the app prints where.

    Example: llmspell app run file-organizer -- --output ./organized
    """
    import json
    import os
    import sys
    from pathlib import Path

    from llmspell_cli.context import load_effective_config
    from llmspell_cli.execution import run_script
    from llmspell_cli.options import set_model_override
    from llmspell_kernel.api import (
        app_model_fallback,
        app_script_args,
        find_app,
        fresh_app_output_dir,
    )

    opts = ctx.obj
    found = find_app(name)
    script_args, output = _split_output(list(args or []))
    if output is None:
        output_dir = Path(fresh_app_output_dir(found.name))
    else:
        output_dir = Path(os.path.abspath(os.path.expanduser(output)))
        output_dir.mkdir(parents=True, exist_ok=True)
    if not opts.config_path:
        opts.config_path = str(found.config)
    set_model_override(opts, model_override)
    if not opts.model_override:
        fallback = app_model_fallback(found)
        if fallback:
            sys.stderr.write(
                f"note: no API key for {' or '.join(found.providers) or 'the app'}'s models: "
                f"using {fallback} (--model-override chooses another)\n"
            )
            opts.model_override = fallback
    # The output directory joins the file tools' allowed paths for this run only.
    config = load_effective_config(opts)
    paths = [*config.tools.file_operations.allowed_paths, str(output_dir)]
    os.environ[ALLOWED_PATHS_ENV] = json.dumps(paths)
    code = run_script(
        opts,
        str(found.main),
        app_script_args(found, output_dir, script_args),
        engine="lua",
        timeout=timeout,
    )
    raise typer.Exit(code)


def _split_output(args: list[str]) -> tuple[list[str], str | None]:
    """The script arguments without `--output DIR` / `--output=DIR`, and that DIR."""
    rest: list[str] = []
    output: str | None = None
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--output" and index + 1 < len(args):
            output = args[index + 1]
            index += 2
            continue
        if token.startswith("--output="):
            output = token.split("=", 1)[1]
        else:
            rest.append(token)
        index += 1
    return rest, output


@app.command("validate")
def validate(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, metavar="[NAME...]", help="Apps (default: all)."),
    layer: int = typer.Option(
        None,
        "--layer",
        metavar="N",
        help="Only the apps of layer N (1 simple, 2 complex, 3 expert).",
    ),
    model_override: str = model_override_option(),
    report: tuple[str, str] = typer.Option(
        (None, None),
        "--report",
        metavar="json|html FILE",
        help="Write the report as JSON (what --compare reads) or as one self-contained HTML "
        "page with a table and a chart of durations.",
    ),
    compare: str = typer.Option(
        None,
        "--compare",
        metavar="PREVIOUS.json",
        help="Flag regressions against an earlier JSON report (a pass that now fails, "
        "duration or cost up by more than 25%).",
    ),
    repeat: int = typer.Option(
        1, "--repeat", metavar="N", help="Run the suite N times in this process (memory growth)."
    ),
    timeout: float = typer.Option(
        900.0, "--timeout", metavar="SECONDS", help="Stop an app after this many seconds."
    ),
    work_dir: str = typer.Option(
        None,
        "--work-dir",
        metavar="DIR",
        help="Where the runs' outputs, stores and console logs go (default: a fresh directory "
        "under the user's data dir).",
    ),
) -> None:
    """Run each app in a fresh kernel and check what it really produced: exit status, every
    output file parsing in its format, agents and workflow runs from the run's own records.
    Exit 0 only when every layer meets its target (100% simple, 90% complex, 80% expert).
    Agents use each app's own models, or local/smollm2 when a provider has no API key.

    Example: llmspell app validate --model-override local/smollm2 --report html report.html
    """
    from llmspell_cli.app_validation import run_validation

    raise typer.Exit(
        run_validation(
            ctx.obj,
            names=list(names or []),
            layer=layer,
            model_override=model_override,
            reports=[report] if report and report[0] is not None else [],
            compare=compare,
            repeat=repeat,
            timeout=timeout,
            work_dir=work_dir,
        )
    )
