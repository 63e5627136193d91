"""`llmspell workflow list|show`: workflows a kernel's scripts built, and recorded runs."""

from __future__ import annotations

from typing import Any

import typer

from llmspell_cli.commands.state import TENANT_HELP, _access

app = typer.Typer(
    help="Workflows: those a running kernel's scripts have built (--kernel/--connect) and the "
    "runs recorded in the store. Without a kernel (none running, or --config naming a store) "
    "only recorded runs are listed: an embedded `llmspell run` builds its workflows in a "
    "process that has ended, but every run leaves its record (workflow:<execution_id>).",
    no_args_is_help=True,
)

KERNEL_HELP = (
    "Use this running kernel (id, HOST:PORT or connection file): its registry of built "
    "workflows, plus the runs in its store."
)
STEP_ROWS = 50  # steps shown per run in text mode (--output json has them all)


def _when(stamp: Any) -> str:
    if not isinstance(stamp, int | float):
        return ""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(float(stamp), UTC).strftime("%Y-%m-%d %H:%M:%S")


def _status(ok: Any) -> str:
    return "ok" if ok else "failed"


def run_rows(runs: list[dict[str, Any]]) -> list[list[Any]]:
    """One row per run: what `workflow show` and `session show` list."""
    return [
        [
            r.get("execution_id"),
            r.get("name"),
            r.get("type"),
            _status(r.get("success")),
            _when(r.get("started_at")),
            f"{float(r.get('duration_ms') or 0):.1f}",
            len(r.get("steps") or []),
        ]
        for r in runs
    ]


RUN_COLUMNS = ["execution", "workflow", "type", "status", "started", "ms", "steps"]


def render_runs(renderer: Any, runs: list[dict[str, Any]], title: str) -> None:
    """The runs' table, then each run's steps with their timings."""
    renderer.table(title, RUN_COLUMNS, run_rows(runs), whole=("execution",))
    for run in runs:
        steps = run.get("steps") or []
        rows = [
            [
                s.get("step_name"),
                "" if s.get("iteration") is None else s["iteration"],
                _status(s.get("success")),
                f"{float(s.get('duration_ms') or 0):.1f}",
                s.get("error") or "",
            ]
            for s in steps[:STEP_ROWS]
        ]
        renderer.text("")
        renderer.table(
            f"{run.get('name')} {run.get('execution_id')}",
            ["step", "iteration", "status", "ms", "error"],
            rows,
        )
        if len(steps) > STEP_ROWS:
            renderer.text(f"… {len(steps) - STEP_ROWS} more steps (--output json lists them all)")


@app.command("list")
def list_workflows(
    ctx: typer.Context,
    kernel: str = typer.Option(None, "--kernel", "--connect", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Workflows built in the kernel (id, name, type, steps, runs) and the recorded runs per
    workflow name (runs, failures, the last one)."""
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, tenant) as access:
        result = access.call("workflow.list")
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    registered = result.get("registered")
    if registered:
        renderer.table(
            "built in the kernel",
            ["id", "name", "type", "steps", "executions", "failures", "avg ms"],
            [
                [
                    w["id"],
                    w["name"],
                    w["type"],
                    w["steps"],
                    w["executions"],
                    w["failures"],
                    f"{w['avg_duration_ms']:.1f}",
                ]
                for w in registered
            ],
            whole=("id", "name"),
        )
        renderer.text("")
    recorded = result["recorded"]
    if recorded:
        renderer.table(
            "recorded runs",
            ["name", "type", "runs", "failures", "last run", "last ms", "last status"],
            [
                [
                    w["name"],
                    w["type"],
                    w["runs"],
                    w["failures"],
                    _when(w.get("last_started_at")),
                    f"{float(w.get('last_duration_ms') or 0):.1f}",
                    _status(w.get("last_success")),
                ]
                for w in recorded
            ],
            whole=("name",),
        )
    elif not registered:
        renderer.text("no workflows" if registered is not None else "no recorded workflow runs")


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., metavar="NAME", help="A workflow's name or id, or one run's execution id."
    ),
    kernel: str = typer.Option(None, "--kernel", "--connect", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """One workflow: its definition (steps, branches, limits; from a kernel) and its recorded
    runs with each step's timing."""
    from llmspell_cli.render import Renderer
    from llmspell_kernel.errors import LlmspellError

    with _access(ctx, kernel, tenant) as access:
        result = access.call("workflow.show", name=name)
    definition = result.get("definition")
    runs = result.get("runs") or []
    if definition is None and not runs:
        raise LlmspellError(
            f"Workflow '{name}' not found",
            hint="`llmspell workflow list` names the workflows that were built or ran",
        )
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    if definition is not None:
        for label, key in (("id", "id"), ("name", "name"), ("type", "type")):
            renderer.text(f"{label + ':':17}{definition[key]}")
        renderer.text(f"{'description:':17}{definition.get('description') or ''}")
        renderer.text(f"{'error strategy:':17}{definition['error_strategy']}")
        renderer.text(f"{'max concurrency:':17}{definition['max_concurrency']}")
        if definition.get("timeout_ms") is not None:
            renderer.text(f"{'timeout ms:':17}{definition['timeout_ms']:g}")
        steps: list[list[Any]] = []
        for where, group in (
            [("steps", definition["steps"])]
            + [(f"branch {i + 1}", b["steps"]) for i, b in enumerate(definition["branches"])]
            + [("default", definition["default_steps"])]
        ):
            for s in group:
                steps.append([where, s["name"], s["type"], s.get("target") or ""])
        if steps:
            renderer.text("")
            renderer.table("steps", ["part", "name", "type", "target"], steps)
    if runs:
        renderer.text("")
        render_runs(renderer, runs, "runs")
