"""One execution of a workflow: its outputs for placeholders and conditions, its step records,
the State keys of lua-api.md 2.10 and the result table.

State writes are kept and written in one transaction (`flush`) before any Lua code of the
script can read them (a custom step, a condition function) and when the run ends: one commit
per step would cost more than the rest of a cheap step.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from llmspell_kernel.workflows.definition import StepDef, WorkflowDef
from llmspell_kernel.workflows.placeholders import lookup, substitute, text_of


@dataclass
class StepRecord:
    """One step execution (`workflow:<exec_id>:<step_name>` holds the first six fields)."""

    step_name: str
    step_id: int
    output: str
    success: bool
    error: str | None
    duration_ms: float
    retry_count: int
    type: str
    iteration: int | None = None
    skipped: bool = False

    def timing(self) -> dict[str, Any]:
        """What the run record keeps of it (`session show`, `llmspell workflow show`)."""
        row: dict[str, Any] = {
            "step_name": self.step_name,
            "type": self.type,
            "success": self.success,
            "duration_ms": self.duration_ms,
        }
        if self.iteration is not None:
            row["iteration"] = self.iteration
        if self.error is not None:
            row["error"] = self.error
        return row

    def stored(self) -> dict[str, Any]:
        row = {
            "step_name": self.step_name,
            "step_id": self.step_id,
            "output": self.output,
            "success": self.success,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "retry_count": self.retry_count,
        }
        if self.skipped:
            row["skipped"] = True
        return row


@dataclass
class Frame:
    """One loop iteration: its variables and the outputs of its steps so far."""

    index: int
    value: Any
    outputs: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)


def step_text(kind: str, value: Any) -> str:
    """The text output of a step's result (what `{{name}}` and `outputs[name]` hold)."""
    if isinstance(value, dict):
        if kind == "workflow":
            extra = (value.get("metadata") or {}).get("extra") or {}
            final = extra.get("final_output")
            if isinstance(final, str):
                return final
        text = value.get("text")
        if isinstance(text, str):
            return text
    if value is None:
        return ""
    return text_of(value)


class Run:
    """State of one execution (see the module docstring)."""

    def __init__(
        self,
        definition: WorkflowDef,
        run_input: dict[str, Any],
        session_id: str | None,
        shared: dict[str, Any] | None = None,
    ) -> None:
        self.definition = definition
        self.base_shared = dict(shared or {})  # wf:set_shared_data, below the run input
        self.id = str(uuid.uuid4())
        self.input = run_input
        self.session_id = session_id
        self.started_wall = time.time()
        self.started = time.perf_counter()
        self.outputs: dict[str, str] = {}
        self.results: dict[str, Any] = {}
        self.frames: dict[int, Frame] = {}
        self.records: list[StepRecord] = []
        self.agent_outputs: dict[str, str] = {}
        self.step_agent_outputs: dict[str, str] = {}  # the same texts by step name
        self.iterations = 0
        self.final_output: str | None = None
        self.record: dict[str, Any] | None = None  # the run record, once `result` made it
        self.writes: list[tuple[str, Any]] = []
        self.steps = {s.id: s for s in definition.all_steps()}

    # -- frames, inputs and conditions ------------------------------------------------------------
    def frame(self, index: int, value: Any) -> int:
        """Open the frame of loop iteration `index` (0-based); its id is the index."""
        self.frames[index] = Frame(index, value)
        self.iterations = max(self.iterations, index + 1)
        return index

    def resolver(self, frame: Frame | None) -> Any:
        """The placeholder resolver of one step (lua-api.md 2.10's order)."""

        def output_of(name: str) -> tuple[bool, Any, Any]:
            if frame is not None and name in frame.outputs:
                return True, frame.outputs[name], frame.results.get(name)
            if name in self.outputs:
                return True, self.outputs[name], self.results.get(name)
            return False, None, None

        def resolve(expr: str) -> tuple[bool, Any]:
            if frame is not None:
                if expr in ("loop_index", "iteration"):
                    return True, frame.index
                if expr == "loop_value":
                    return True, frame.value
                if expr.startswith("loop_value."):
                    return lookup(frame.value, expr[len("loop_value.") :])
            found, text, _ = output_of(expr)
            if found:
                return True, text
            if expr.startswith("step."):
                name, _, path = expr[5:].partition(".")
                found, text, full = output_of(name)
                if found:
                    if not path or path == "output":
                        return True, text
                    return lookup(full, path)
            if expr.startswith("input."):
                return lookup(self.input, expr[6:])
            return lookup(self.input, expr)

        return resolve

    def step_input(self, step: StepDef, frame_id: int | None) -> Any:
        """The step's input with placeholders substituted."""
        template = step.input
        if template is None:
            return None
        frame = self.frames.get(frame_id) if frame_id is not None else None
        return substitute(template, self.resolver(frame))

    def shared(self, frame_id: int | None) -> dict[str, Any]:
        """Shared data of conditions: the run input, step outputs by name, loop variables."""
        data: dict[str, Any] = {**self.base_shared, **self.input}
        data.update(self.outputs)
        frame = self.frames.get(frame_id) if frame_id is not None else None
        if frame is not None:
            data.update(frame.outputs)
            data["loop_index"] = frame.index
            data["loop_value"] = frame.value
        return data

    def outputs_in(self, frame_id: int | None) -> dict[str, str]:
        frame = self.frames.get(frame_id) if frame_id is not None else None
        if frame is None:
            return self.outputs
        return {**self.outputs, **frame.outputs}

    # -- step results -----------------------------------------------------------------------------
    def finish_step(
        self,
        step: StepDef,
        frame_id: int | None,
        success: bool,
        value: Any,
        error: str | None,
        retries: int,
        skipped: bool = False,
        elapsed: float = 0.0,
    ) -> str:
        """Record one step execution (`elapsed` ms, retries included); returns its text."""
        text = step_text(step.type, value) if success else ""
        record = StepRecord(
            step_name=step.name,
            step_id=step.id,
            output=text,
            success=success,
            error=error,
            duration_ms=round(elapsed, 3),
            retry_count=retries,
            type=step.type,
            iteration=frame_id,
            skipped=skipped,
        )
        self.records.append(record)
        prefix = f"workflow:{self.id}:"
        stored = record.stored()
        self.writes.append((prefix + step.name, stored))
        if frame_id is not None:
            self.writes.append((f"{prefix}iteration_{frame_id}:{step.name}", stored))
        if success and not skipped:
            self.outputs[step.name] = text
            self.results[step.name] = value
            frame = self.frames.get(frame_id) if frame_id is not None else None
            if frame is not None:
                frame.outputs[step.name] = text
                frame.results[step.name] = value
            self.final_output = text
            if step.type == "agent" and step.target:
                self.agent_outputs[step.target] = text
                self.step_agent_outputs[step.name] = text
                self.writes.append((f"{prefix}agent:{step.target}:output", text))
                metadata = value.get("metadata") if isinstance(value, dict) else None
                if metadata is not None:
                    self.writes.append((f"{prefix}agent:{step.target}:metadata", metadata))
            elif step.type == "workflow":
                nested = (
                    value.get("metadata", {}).get("extra", {}) if isinstance(value, dict) else {}
                )
                name = nested.get("workflow_name") or step.target
                self.writes.append((f"{prefix}nested:{name}:output", text))
            else:
                self.writes.append((f"{prefix}step:{step.name}:output", text))
        return text

    # -- the end ----------------------------------------------------------------------------------
    def duration_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def summary(self, success: bool, error: str | None) -> dict[str, Any]:
        """The run record (`workflow:<exec_id>`): what `session show` and the CLI list."""
        return {
            "execution_id": self.id,
            "workflow_id": self.definition.id,
            "name": self.definition.name,
            "type": self.definition.type,
            "session_id": self.session_id,
            "started_at": self.started_wall,
            "duration_ms": self.duration_ms(),
            "success": success,
            "error": error,
            "steps": [r.timing() for r in self.records],
        }

    def result(self, success: bool, error: str | None) -> dict[str, Any]:
        """The result table of `wf:execute` (lua-api.md 2.10), and the run record queued."""
        d = self.definition
        failed = sum(1 for r in self.records if not r.success and not r.skipped)
        total = len(self.records)
        ok = sum(1 for r in self.records if r.success)
        if success:
            text = f"Workflow '{d.name}' completed successfully: {ok}/{total} steps succeeded"
        else:
            text = f"Workflow '{d.name}' failed: {failed} of {total} steps failed"
            if error:
                text += f" (first error: {error})"
        extra: dict[str, Any] = {
            "execution_id": self.id,
            "workflow_id": self.id,
            "definition_id": d.id,
            "workflow_type": d.type,
            "workflow_name": d.name,
            "total_steps": total,
            "successful_steps": ok,
            "failed_steps": failed,
            "success_rate": (ok / total) if total else 1.0,
            # By agent name (lua-api.md 2.10), and by step name too where that differs:
            # upstream's webapp-creator names its agents `<role>_<timestamp>` and reads
            # agent_outputs.<role> (its step names); an agent's own name wins a clash.
            "agent_outputs": {**self.step_agent_outputs, **self.agent_outputs},
        }
        if self.final_output is not None:
            extra["final_output"] = self.final_output
        if d.type == "loop":
            extra["iterations"] = self.iterations
        result: dict[str, Any] = {
            "success": success,
            "text": text,
            "outputs": dict(self.outputs),
            # whole milliseconds, as upstream gave them (its apps format them with %d)
            "metadata": {"execution_time_ms": round(self.duration_ms()), "extra": extra},
        }
        if error is not None:
            result["error"] = error
        self.record = self.summary(success, error)
        self.writes.append((f"workflow:{self.id}", self.record))
        return result

    def flush(self, store: Any) -> None:
        """Write the queued State keys in one transaction (`store`: a StateStore)."""
        if not self.writes:
            return
        from llmspell_kernel.state.store import encode_value

        writes, self.writes = self.writes, []
        with store.db.transaction():
            for key, value in writes:
                store.put(key, encode_value(value))
