"""`llmspell app validate`: choose the apps, show a progress bar (on a terminal only), print
the per-app and per-layer results, write the reports, and turn the verdict into an exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from llmspell_cli.options import GlobalOptions
from llmspell_cli.render import Renderer
from llmspell_kernel.errors import UsageError

MB = 1024 * 1024
REPORT_FORMATS = ("json", "html")


def run_validation(
    opts: GlobalOptions,
    *,
    names: list[str],
    layer: int | None,
    model_override: str | None,
    reports: list[tuple[str, str]],
    compare: str | None,
    repeat: int,
    timeout: float,
    work_dir: str | None,
) -> int:
    """Validate the chosen apps; 0 when every layer meets its target, else 1."""
    from llmspell_cli.options import set_model_override
    from llmspell_kernel import api

    if repeat < 1:
        raise UsageError(f"--repeat must be 1 or more, got {repeat}")
    if timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {timeout:g}")
    for fmt, _path in reports:
        if fmt not in REPORT_FORMATS:
            raise UsageError(f"--report must be json or html, got '{fmt}'")
    if compare is not None and not Path(compare).is_file():
        raise UsageError(f"--compare: no such report: {compare}")
    apps = [api.find_app(name) for name in names] if names else api.list_apps()
    if layer is not None:
        apps = [a for a in apps if a.layer == layer]
        if not apps:
            raise UsageError(f"no application of layer {layer} among those chosen")
    set_model_override(opts, model_override)
    override = opts.model_override
    renderer = Renderer(opts.output)
    fallback = None
    if override is None:
        fallbacks = {api.app_model_fallback(a) for a in apps} - {None}
        fallback = next(iter(fallbacks), None)
        if fallback:
            sys.stderr.write(
                f"note: some providers the apps use have no API key: every agent uses "
                f"{fallback} (--model-override chooses another)\n"
            )
            override = fallback
    root = Path(work_dir).expanduser().resolve() if work_dir else _fresh_work_dir()
    root.mkdir(parents=True, exist_ok=True)
    with _ProgressBar(enabled=sys.stderr.isatty() and opts.trace != "off") as bar:
        report = api.validate_apps(
            apps,
            work_dir=root,
            model_override=override,
            repeat=repeat,
            timeout=timeout,
            progress=bar.update,
        )
    if compare is not None:
        report.regressions = api.compare_app_reports(report, Path(compare))
    for fmt, path in reports:
        api.write_app_report(report, fmt, Path(path))
    if renderer.machine:
        renderer.document(report.as_dict())
    else:
        _print_text(renderer, report, reports)
    return 0 if report.passed else 1


def _fresh_work_dir() -> Path:
    from llmspell_kernel.api import fresh_app_output_dir

    return Path(fresh_app_output_dir("validation"))


def _print_text(renderer: Renderer, report: Any, reports: list[tuple[str, str]]) -> None:
    rows = []
    for result in report.results:
        failed = [c for c in result.checks if not c.passed]
        note = "; ".join(f"{c.name}: {c.detail}" for c in failed[:2]) or (
            f"{len(result.checks)} checks"
        )
        cost = "-" if result.cost_usd is None else f"${result.cost_usd:.4f}"
        rows.append(
            [
                result.name + (f" #{result.round}" if len(report.rounds) > 1 else ""),
                result.layer,
                "pass" if result.passed else "FAIL",
                f"{result.duration_s:.1f}s",
                result.agent_calls,
                f"{result.input_tokens}/{result.output_tokens}",
                cost,
                f"{result.peak_rss_bytes / MB:.0f}MB",
                note,
            ]
        )
    renderer.table(
        None,
        ["app", "layer", "result", "time", "calls", "tokens in/out", "cost", "peak RSS", "checks"],
        rows,
        whole=("app",),
    )
    for summary in report.layers():
        mark = "met" if summary.met else "MISSED"
        renderer.text(
            f"layer {summary.layer} ({summary.name}): {summary.passed}/{summary.runs} passed "
            f"({summary.rate:.0%}, target {summary.target:.0%}) {mark}"
        )
    if len(report.rounds) > 1:
        growth = ", ".join(f"{m.growth_bytes / MB:+.1f}MB" for m in report.rounds)
        renderer.text(f"RSS growth per round: {growth}")
    for regression in report.regressions:
        renderer.text(f"regression: {regression.app} ({regression.what}): {regression.detail}")
    renderer.text(f"wall time {report.wall_time_s:.1f}s; runs in {report.work_dir}")
    for fmt, path in reports:
        renderer.text(f"{fmt} report: {path}")
    renderer.text("PASSED" if report.passed else "FAILED: a layer missed its target")


class _ProgressBar:
    """rich's progress bar on stderr while the suite runs; nothing when stderr is not a tty."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._progress.start()
        return self

    def update(self, done: int, total: int, current: str | None) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task("validating", total=total)
        description = f"validating {current}" if current else "done"
        self._progress.update(self._task, completed=done, description=description)

    def __exit__(self, *_exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
