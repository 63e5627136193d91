"""The application validation suite: every app in a fresh kernel, its outcome checked, pass
rates per layer against the targets, regressions against an earlier report, and the memory of
this process round after round (`--repeat`)."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmspell_kernel.apps.catalogue import LAYER_TARGETS, LAYERS, AppInfo
from llmspell_kernel.apps.checks import CheckResult, check_outputs, check_records
from llmspell_kernel.apps.runner import AppRun, current_rss_bytes, run_in_fresh_kernel

REPORT_VERSION = 1
REGRESSION_RATIO = 1.25  # duration or cost up by more than 25%


@dataclass
class AppResult:
    """One app in one round: its checks and measurements."""

    name: str
    layer: int
    round: int
    passed: bool
    exit_code: int
    error: str | None
    checks: list[CheckResult]
    duration_s: float
    provider_time_s: float  # the provider calls' own latency (the rest is llmspell and the app)
    agent_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    peak_rss_bytes: int
    output_dir: str
    console_log: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "duration_s": round(self.duration_s, 3),
            "provider_time_s": round(self.provider_time_s, 3),
        }


@dataclass
class LayerSummary:
    layer: int
    name: str
    runs: int
    passed: int
    target: float

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    @property
    def met(self) -> bool:
        return self.runs > 0 and self.rate >= self.target

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"rate": round(self.rate, 4), "met": self.met}


@dataclass
class RoundMemory:
    """RSS of this process after a round (garbage collected), and its growth over the round."""

    round: int
    rss_before_bytes: int
    rss_after_bytes: int

    @property
    def growth_bytes(self) -> int:
        return self.rss_after_bytes - self.rss_before_bytes

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"growth_bytes": self.growth_bytes}


@dataclass
class Regression:
    app: str
    what: str  # "pass", "duration" or "cost"
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SuiteReport:
    started_at: str
    model_override: str | None
    work_dir: str
    results: list[AppResult] = field(default_factory=list)
    rounds: list[RoundMemory] = field(default_factory=list)
    wall_time_s: float = 0.0
    regressions: list[Regression] = field(default_factory=list)

    def layers(self) -> list[LayerSummary]:
        summaries = []
        for layer in sorted({r.layer for r in self.results}):
            runs = [r for r in self.results if r.layer == layer]
            summaries.append(
                LayerSummary(
                    layer,
                    LAYERS.get(layer, str(layer)),
                    len(runs),
                    sum(1 for r in runs if r.passed),
                    LAYER_TARGETS.get(layer, 1.0),
                )
            )
        return summaries

    @property
    def passed(self) -> bool:
        """Every layer meets its target (regressions are reported, they do not fail it)."""
        layers = self.layers()
        return bool(layers) and all(layer.met for layer in layers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "started_at": self.started_at,
            "model_override": self.model_override,
            "work_dir": self.work_dir,
            "wall_time_s": round(self.wall_time_s, 3),
            "passed": self.passed,
            "layers": [layer.as_dict() for layer in self.layers()],
            "apps": [r.as_dict() for r in self.results],
            "rounds": [m.as_dict() for m in self.rounds],
            "regressions": [r.as_dict() for r in self.regressions],
        }


# progress(done, total, app name about to run or None at the end)
Progress = Callable[[int, int, str | None], None]


def validate_apps(
    apps: list[AppInfo],
    *,
    work_dir: Path,
    model_override: str | None = None,
    repeat: int = 1,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> SuiteReport:
    """Run every app `repeat` times, each run in a fresh kernel of this process."""
    report = SuiteReport(
        started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        model_override=model_override,
        work_dir=str(work_dir),
    )
    total = len(apps) * repeat
    done = 0
    started = time.perf_counter()
    for round_number in range(1, repeat + 1):
        gc.collect()
        before = current_rss_bytes()
        for app in apps:
            if progress is not None:
                progress(done, total, app.name)
            run_dir = work_dir / f"round-{round_number}" / app.name
            report.results.append(
                _validate_one(app, run_dir, round_number, model_override, timeout)
            )
            done += 1
        gc.collect()
        report.rounds.append(RoundMemory(round_number, before, current_rss_bytes()))
    report.wall_time_s = time.perf_counter() - started
    if progress is not None:
        progress(done, total, None)
    return report


def _validate_one(
    app: AppInfo,
    run_dir: Path,
    round_number: int,
    model_override: str | None,
    timeout: float | None,
) -> AppResult:
    output_dir = run_dir / "output"
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        run = run_in_fresh_kernel(
            app,
            output_dir,
            work_dir=run_dir,
            model_override=model_override,
            extra_args=app.validate_args,
            timeout=timeout,
        )
    except Exception as exc:  # the kernel did not start (bad config, missing model, ...)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        check = CheckResult("kernel", False, message)
        return AppResult(
            app.name, app.layer, round_number, False, 1, message, [check],
            0.0, 0.0, 0, 0, 0, None, 0, str(output_dir), "",
        )  # fmt: skip
    log = run_dir / "console.log"
    log.write_text(_console(run), encoding="utf-8")
    checks = [_exit_check(run), *check_outputs(app, output_dir), *check_records(app, run.records)]
    calls = run.records.calls
    costs = [c["cost_usd"] for c in calls if c["cost_usd"] is not None]
    return AppResult(
        name=app.name,
        layer=app.layer,
        round=round_number,
        passed=all(c.passed for c in checks),
        exit_code=run.exit_code,
        error=run.error,
        checks=checks,
        duration_s=run.duration_s,
        provider_time_s=sum(float(c["latency_ms"] or 0.0) for c in calls) / 1000.0,
        agent_calls=len(calls),
        input_tokens=sum(c["input_tokens"] or 0 for c in calls),
        output_tokens=sum(c["output_tokens"] or 0 for c in calls),
        cost_usd=sum(costs) if costs or not calls else None,
        peak_rss_bytes=run.peak_rss_bytes,
        output_dir=str(output_dir),
        console_log=str(log),
    )


def _exit_check(run: AppRun) -> CheckResult:
    detail = f"exit {run.exit_code}" + (f": {run.error}" if run.error else "")
    return CheckResult("exit status", run.exit_code == 0 and run.error is None, detail)


def _console(run: AppRun) -> str:
    parts = ["== stdout ==\n", run.stdout, "\n== stderr ==\n", run.stderr]
    if run.error:
        parts += ["\n== error ==\n", run.error, "\n"]
    return "".join(parts)


def compare_reports(report: SuiteReport, previous: dict[str, Any]) -> list[Regression]:
    """What got worse since `previous` (a report's JSON): a pass that now fails, a median
    duration or a total cost up by more than 25%."""
    found: list[Regression] = []
    before = _per_app(previous.get("apps") or [])
    now = _per_app([r.as_dict() for r in report.results])
    for name, current in now.items():
        old = before.get(name)
        if old is None:
            continue
        if old["passed"] and not current["passed"]:
            found.append(Regression(name, "pass", "passed before, fails now"))
        for what, unit in (("duration_s", "s"), ("cost_usd", "USD")):
            was, is_now = old[what], current[what]
            if was and is_now is not None and is_now > was * REGRESSION_RATIO:
                found.append(
                    Regression(
                        name,
                        what.split("_")[0],
                        f"{was:.4g} {unit} -> {is_now:.4g} {unit} (+{(is_now / was - 1):.0%})",
                    )
                )
    return found


def _per_app(apps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rounds folded per app: passed in every round, median duration, mean cost per round."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in apps:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            grouped.setdefault(entry["name"], []).append(entry)
    folded = {}
    for name, runs in grouped.items():
        costs = [r["cost_usd"] for r in runs if isinstance(r.get("cost_usd"), int | float)]
        durations = [float(r.get("duration_s") or 0.0) for r in runs]
        folded[name] = {
            "passed": all(bool(r.get("passed")) for r in runs),
            "duration_s": statistics.median(durations) if durations else 0.0,
            "cost_usd": sum(costs) / len(costs) if costs else None,
        }
    return folded
