"""The workflows one engine has built (`Workflow.list/get/remove/clear`, `llmspell workflow`).

Scripts touch it on the executor thread; a kernel's data request (`llmspell workflow list
--kernel ID`) reads it from the control thread, hence the lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from llmspell_kernel.workflows.definition import WorkflowDef


@dataclass
class Metrics:
    executions: int = 0
    failures: int = 0
    total_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        runs = self.executions + self.failures
        return {
            "executions": self.executions,
            "failures": self.failures,
            "avg_duration_ms": round(self.total_ms / runs, 3) if runs else 0.0,
        }


@dataclass
class Entry:
    definition: WorkflowDef
    metrics: Metrics = field(default_factory=Metrics)
    last_execution_id: str | None = None
    last_run: dict[str, Any] | None = None  # the run record (run.Run.summary)
    shared: dict[str, Any] = field(default_factory=dict)  # wf:set_shared_data(key, value)


class WorkflowRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}  # by definition id, in build order

    def add(self, definition: WorkflowDef) -> None:
        """Register a built workflow. One built again under the same name takes the name over
        (Workflow.get(name), listings); the earlier object keeps working by its id."""
        with self._lock:
            self._entries[definition.id] = Entry(definition)

    def _named(self, name: str) -> Entry | None:
        """The newest workflow of that name (call with the lock held)."""
        found = None
        for entry in self._entries.values():
            if entry.definition.name == name:
                found = entry
        return found

    def find(self, id_or_name: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(id_or_name)
            return entry if entry is not None else self._named(id_or_name)

    def remove(self, id_or_name: str) -> bool:
        entry = self.find(id_or_name)
        if entry is None:
            return False
        with self._lock:
            return self._entries.pop(entry.definition.id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def finished(self, definition_id: str, record: dict[str, Any]) -> None:
        """Count one finished run of a workflow."""
        with self._lock:
            entry = self._entries.get(definition_id)
            if entry is None:
                return
            if record["success"]:
                entry.metrics.executions += 1
            else:
                entry.metrics.failures += 1
            entry.metrics.total_ms += float(record["duration_ms"])
            entry.last_execution_id = record["execution_id"]
            entry.last_run = record

    def listing(self) -> list[dict[str, Any]]:
        """`Workflow.list()` rows, plus what `llmspell workflow list` shows: the newest
        workflow of each name."""
        with self._lock:
            newest = {e.definition.name: e for e in self._entries.values()}
            entries = [e for e in self._entries.values() if newest[e.definition.name] is e]
        return [
            {
                "id": e.definition.id,
                "name": e.definition.name,
                "type": e.definition.type,
                "description": e.definition.description,
                "steps": len(e.definition.all_steps()),
                "last_execution_id": e.last_execution_id,
                **e.metrics.as_dict(),
            }
            for e in entries
        ]

    def describe(self, id_or_name: str) -> dict[str, Any] | None:
        """`llmspell workflow show NAME`: the definition, its metrics and its last run."""
        entry = self.find(id_or_name)
        if entry is None:
            return None
        table = entry.definition.as_table()
        table["metrics"] = entry.metrics.as_dict()
        table["last_execution_id"] = entry.last_execution_id
        table["last_run"] = entry.last_run
        return table
