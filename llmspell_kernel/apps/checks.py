"""Checks of what an application run produced: its files (they exist and parse in their
format) and its records (agents that called a model, workflow runs that completed, non-empty
agent outputs), read from the run's own store rather than from anything it printed."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmspell_kernel.apps.catalogue import AppInfo, OutputSpec


@dataclass(frozen=True)
class CheckResult:
    """One check: passed, failed, or skipped (no parser at hand; never counted as passed)."""

    name: str
    passed: bool
    detail: str = ""
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_outputs(app: AppInfo, output_dir: Path) -> list[CheckResult]:
    """One check per file the manifest names (each match of a glob path)."""
    results: list[CheckResult] = []
    for spec in app.outputs:
        matches = sorted(p for p in output_dir.glob(spec.path) if p.is_file())
        if not matches or len(matches) < spec.min_count:
            wanted = f"at least {spec.min_count} files" if spec.min_count > 1 else "the file"
            results.append(
                CheckResult(f"file {spec.path}", False, f"{wanted} missing ({len(matches)} found)")
            )
            continue
        for path in matches:
            name = f"file {path.relative_to(output_dir)}"
            results.append(_check_file(name, path, spec))
    return results


def _check_file(name: str, path: Path, spec: OutputSpec) -> CheckResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return CheckResult(name, False, f"unreadable: {exc}")
    if not text.strip():
        return CheckResult(name, False, "empty")
    checker = _CHECKERS[spec.format]
    try:
        return checker(name, path, text, spec)
    except _Invalid as exc:
        return CheckResult(name, False, str(exc))


class _Invalid(Exception):
    """A file does not hold what its format requires (the message says what)."""


def _structured(name: str, value: Any, spec: OutputSpec, fmt: str) -> CheckResult:
    for dotted in spec.keys:
        if _lookup(value, dotted) is _MISSING:
            raise _Invalid(f"{fmt} has no '{dotted}'")
    for dotted in spec.nonempty:
        found = _lookup(value, dotted)
        if found is _MISSING or found in (None, "", 0, [], {}) or found is False:
            raise _Invalid(f"{fmt} '{dotted}' is empty")
    return CheckResult(name, True, f"valid {fmt}")


def _json(name: str, path: Path, text: str, spec: OutputSpec) -> CheckResult:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"invalid JSON: {exc}") from None
    return _structured(name, value, spec, "JSON")


def _yaml(name: str, path: Path, text: str, spec: OutputSpec) -> CheckResult:
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _Invalid(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(value, dict | list):
        raise _Invalid("YAML is not a mapping or a list")
    return _structured(name, value, spec, "YAML")


_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _markdown(name: str, path: Path, text: str, spec: OutputSpec) -> CheckResult:
    headings = [h.strip().lower() for h in _HEADING.findall(text)]
    if not headings:
        raise _Invalid("Markdown has no heading")
    missing = [s for s in spec.sections if not any(s.lower() in h for h in headings)]
    if missing:
        raise _Invalid(f"Markdown lacks the sections {', '.join(missing)}")
    return CheckResult(name, True, f"Markdown with {len(headings)} headings")


def _text(name: str, path: Path, text: str, spec: OutputSpec) -> CheckResult:
    missing = [s for s in spec.sections if s.lower() not in text.lower()]
    if missing:
        raise _Invalid(f"text lacks {', '.join(missing)}")
    return CheckResult(name, True, f"{len(text.splitlines())} lines")


def _sql(name: str, path: Path, text: str, spec: OutputSpec) -> CheckResult:
    """SQLite's own parser: the statements run on an empty in-memory database."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(text)
        tables = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()[0]
    except sqlite3.Error as exc:
        raise _Invalid(f"SQLite rejects it: {exc}") from None
    finally:
        connection.close()
    return CheckResult(name, True, f"SQL accepted by SQLite ({tables} tables)")


def _javascript(name: str, path: Path, text: str, spec: OutputSpec) -> CheckResult:
    """Node's parser (`node --check`) where Node is installed; skipped otherwise."""
    node = shutil.which("node")
    if node is None:
        return CheckResult(name, False, "no JavaScript parser (node) on PATH", skipped=True)
    try:
        done = subprocess.run(
            [node, "--check", str(path)], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult(name, False, f"node --check did not run: {exc}", skipped=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if "Error" in line]
        raise _Invalid(f"node --check rejects it: {(lines or ['syntax error'])[0].strip()}")
    return CheckResult(name, True, "JavaScript accepted by node --check")


_CHECKERS = {
    "json": _json,
    "yaml": _yaml,
    "markdown": _markdown,
    "text": _text,
    "sql": _sql,
    "javascript": _javascript,
}

_MISSING = object()


def _lookup(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


@dataclass(frozen=True)
class RunRecords:
    """What a run's store recorded: its provider calls and its workflow step records."""

    calls: list[dict[str, Any]]
    state: dict[str, Any]  # full key -> value, the `workflow:` keys only
    events: list[dict[str, Any]] = field(default_factory=list)  # workflow.* and agent.* events

    @property
    def agents(self) -> list[str]:
        """Agents with at least one successful provider call, in order of first call."""
        seen: dict[str, None] = {}
        for call in self.calls:
            if call["status"] == "ok" and call["agent"]:
                seen.setdefault(call["agent"], None)
        return list(seen)

    def workflow_counts(self) -> tuple[int, int]:
        """(completed, failed) workflow runs: from the workflow.completed / workflow.failed
        events when the run published any, else from the step records in state."""
        types = [e["event_type"] for e in self.events]
        if any(t.startswith("workflow.") for t in types):
            return types.count("workflow.completed"), types.count("workflow.failed")
        runs = self.workflow_runs()
        completed = sum(1 for ok in runs.values() if ok)
        return completed, len(runs) - completed

    def workflow_runs(self) -> dict[str, bool]:
        """Each workflow execution id and whether every step it recorded succeeded."""
        runs: dict[str, bool] = {}
        for key, value in self.state.items():
            parts = key.split(":")
            if len(parts) != 3 or not isinstance(value, dict) or "success" not in value:
                continue  # step records are workflow:<exec_id>:<step_name>
            execution = parts[1]
            runs[execution] = runs.get(execution, True) and bool(value.get("success"))
        return runs

    def agent_outputs(self) -> dict[str, str]:
        """`workflow:<exec>:agent:<name>:output` texts by agent name (the last one wins)."""
        found: dict[str, str] = {}
        for key, value in self.state.items():
            parts = key.split(":")
            if len(parts) == 5 and parts[2] == "agent" and parts[4] == "output":
                found[parts[3]] = value if isinstance(value, str) else json.dumps(value)
        return found


def check_records(app: AppInfo, records: RunRecords) -> list[CheckResult]:
    """Agents, workflow runs and agent outputs against what the manifest expects."""
    results: list[CheckResult] = []
    failed_calls = [c for c in records.calls if c["status"] != "ok"]
    if app.agents:
        agents = records.agents
        results.append(
            CheckResult(
                "agents",
                len(agents) >= app.agents,
                f"{len(agents)} agents called the model (expected {app.agents})",
            )
        )
    results.append(
        CheckResult(
            "provider calls",
            not failed_calls,
            f"{len(records.calls)} calls, {len(failed_calls)} failed"
            + (f": {failed_calls[0]['error']}" if failed_calls else ""),
        )
    )
    if app.workflows:
        completed, failed = records.workflow_counts()
        results.append(
            CheckResult(
                "workflows",
                completed >= app.workflows and failed == 0,
                f"{completed} workflow runs completed, {failed} failed "
                f"(expected at least {app.workflows})",
            )
        )
        outputs = records.agent_outputs()
        empty = sorted(name for name, text in outputs.items() if not text.strip())
        results.append(
            CheckResult(
                "agent outputs",
                bool(outputs) and not empty,
                f"{len(outputs)} agent outputs recorded"
                + (f", empty: {', '.join(empty)}" if empty else ""),
            )
        )
    return results
