"""Recorded workflow runs, read back from the state store for `llmspell workflow list|show`
and `llmspell session show`.

Each run leaves its record at `workflow:<execution_id>` (run.Run.summary: workflow, type,
session, start, duration, success, each step's timing); its steps' keys lie below
`workflow:<execution_id>:`.
"""

from __future__ import annotations

from typing import Any

from llmspell_kernel.errors import LlmspellError


class WorkflowNotFound(LlmspellError):
    """No workflow of that name or id (registered in the kernel, or with recorded runs)."""


def recorded_runs(
    store: Any, *, session_id: str | None = None, name: str | None = None
) -> list[dict[str, Any]]:
    """Run records (oldest first), optionally of one session, or of one workflow (its name or
    definition id) or one run (its execution id)."""
    runs = []
    for key in store.keys("workflow:"):
        if key.count(":") != 1:  # a step's key, not a run record
            continue
        record = store.get(key)
        if not isinstance(record, dict) or "execution_id" not in record:
            continue
        if session_id is not None and record.get("session_id") != session_id:
            continue
        if name is not None and name not in (
            record.get("name"),
            record.get("workflow_id"),
            record.get("execution_id"),
        ):
            continue
        runs.append(record)
    runs.sort(key=lambda r: float(r.get("started_at") or 0))
    return runs


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per workflow name: its type, runs, failures and the newest run."""
    by_name: dict[str, dict[str, Any]] = {}
    for run in runs:
        row = by_name.setdefault(
            str(run.get("name")),
            {"name": run.get("name"), "type": run.get("type"), "runs": 0, "failures": 0},
        )
        row["runs"] += 1
        row["failures"] += 0 if run.get("success") else 1
        row["last_execution_id"] = run.get("execution_id")
        row["last_started_at"] = run.get("started_at")
        row["last_duration_ms"] = run.get("duration_ms")
        row["last_success"] = bool(run.get("success"))
    return sorted(by_name.values(), key=lambda r: str(r["name"]))


def workflow_list(hub: Any, tenant: str, _params: dict[str, Any]) -> dict[str, Any]:
    """`workflow.list` on a store: the workflows that ran (a kernel adds its registry)."""
    return {"recorded": summarize(recorded_runs(hub.state(tenant))), "registered": None}


def workflow_show(hub: Any, tenant: str, params: dict[str, Any]) -> dict[str, Any]:
    """`workflow.show NAME`: its recorded runs with step timings (a kernel adds its definition)."""
    name = str(params.get("name") or "")
    if not name:
        raise LlmspellError("name the workflow to show")
    runs = recorded_runs(hub.state(tenant), name=name)
    return {"name": name, "runs": runs, "definition": None}


def with_registry(op: str, params: dict[str, Any], reply: dict[str, Any], registry: Any) -> None:
    """Online: add the kernel's registry of built workflows to a `workflow.*` reply; `show`
    of a name that neither ran nor is registered becomes the not-found error."""
    if reply.get("status") != "ok":
        return
    result = reply["result"]
    if op == "workflow.list":
        result["registered"] = registry.listing()
    elif op == "workflow.show":
        result["definition"] = registry.describe(result["name"])
        if result["definition"] is None and not result["runs"]:
            reply.clear()
            reply.update(
                status="error",
                error=f"Workflow '{result['name']}' not found",
                hint="`llmspell workflow list` names the workflows this kernel has built or run",
                exit_code=1,
            )
