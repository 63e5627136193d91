"""The Python side of the `Workflow` global (lua-api.md 2.10); workflow.lua runs the steps.

Installed with the other globals, but nothing of llmspell_kernel.workflows is imported until a
script first builds a workflow (start-up stays as fast as before). Failures come back as
`(false, message)`; workflow.lua raises them with the caller's position.
"""

from __future__ import annotations

import os
import time

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.globals.state import text_arg
from llmspell_kernel.lua.host import answer

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from llmspell_kernel.workflows.registry import WorkflowRegistry
    from llmspell_kernel.workflows.run import Run


# Built-in tools whose calls wait on the network: in a parallel workflow they run in worker
# threads side by side (lua-api.md 2.10); every other tool runs on the script's thread.
NETWORK_CATEGORIES = ("web", "api")
NETWORK_TOOLS = ("service_checker",)


def workflow_registry(engine: Any) -> WorkflowRegistry:
    """The engine's registry of built workflows (made on first use)."""
    found = getattr(engine, "workflows", None)
    if found is None:
        from llmspell_kernel.workflows.registry import WorkflowRegistry

        found = engine.workflows = WorkflowRegistry()
    return found


def install_workflow_global(engine: Any, agent_async: Any) -> Any:
    """Define `Workflow` (after Tool, Agent, Hook and Event); returns workflow.lua's table.
    `agent_async` is agent.lua's table of branch coroutines (see workflow.lua)."""
    runs: dict[str, Run] = {}
    engine.workflows = None  # a new Lua state (reset) starts with no workflows

    def registry() -> WorkflowRegistry:
        return workflow_registry(engine)

    def store() -> Any:
        return engine.data.state()

    def definition(def_id: Any) -> Any:
        entry = registry().find(text_arg(def_id, "workflow id"))
        if entry is None:
            raise LlmspellError(f"Workflow '{def_id}' not found")
        return entry

    def run_of(run_id: Any) -> Run:
        run = runs.get(run_id)
        if run is None:
            raise LlmspellError("this workflow execution has already ended")
        return run

    def frame_id(value: Any) -> int | None:
        return None if value is None else int(value)

    def build(raw: Any) -> Any:
        from llmspell_kernel.workflows import definition as parser

        parsed = parser.parse(engine.to_python(raw))
        registry().add(parsed)
        table = parsed.as_table()
        table["backoff_ms"] = parser.RETRY_BACKOFF_MS
        return engine.to_lua(table)

    def lookup(id_or_name: Any) -> str | None:
        entry = registry().find(text_arg(id_or_name, "workflow id"))
        return None if entry is None else entry.definition.id

    def start(def_id: Any, raw_input: Any) -> str:
        from llmspell_kernel.workflows.run import Run

        value = engine.to_python(raw_input)
        if value is None or value == []:
            value = {}
        if not isinstance(value, dict):
            raise LlmspellError("execute: the input must be a table")
        try:
            session = engine.data.current_session()
        except Exception:  # no store at hand: the run is simply not tied to a session
            session = None
        entry = definition(def_id)
        run = Run(entry.definition, value, session, entry.shared)
        runs[run.id] = run
        return run.id

    def step_input(run_id: Any, step_id: Any, frame: Any) -> Any:
        run = run_of(run_id)
        step = run.steps[int(step_id)]
        value = run.step_input(step, frame_id(frame))
        if value is None and step.type == "agent":
            value = run.input.get("text")
        return engine.to_lua(value)

    def finish(
        run_id: Any,
        step_id: Any,
        frame: Any,
        ok: Any,
        value: Any,
        error: Any,
        retries: Any,
        skipped: Any,
        began: Any,
    ) -> None:
        run = run_of(run_id)
        run.finish_step(
            run.steps[int(step_id)],
            frame_id(frame),
            bool(ok),
            engine.to_python(value),
            None if error is None else str(error),
            int(retries or 0),
            bool(skipped),
            time.perf_counter() * 1000.0 - float(began),
        )

    def frame(run_id: Any, index: Any) -> bool:
        """Open loop iteration `index`; False once a range or collection is exhausted."""
        run = run_of(run_id)
        index = int(index)
        iterator = run.definition.iterator
        if iterator is None:
            return False
        if iterator.kind == "while":
            run.frame(index, None)
            return True
        if index >= len(iterator.values):
            return False
        run.frame(index, iterator.values[index])
        return True

    def unframe(run_id: Any, index: Any) -> None:
        """A while loop's check failed before iteration `index` ran: it does not count."""
        run = run_of(run_id)
        run.frames.pop(int(index), None)
        run.iterations = int(index)

    def scope(run_id: Any, frame: Any) -> Any:
        run = run_of(run_id)
        current = run.frames.get(int(frame)) if frame is not None else None
        table: dict[str, Any] = {"input": run.input, "outputs": run.outputs_in(frame_id(frame))}
        if current is not None:
            table["loop_index"] = current.index
            table["loop_value"] = current.value
        return engine.to_lua(table)

    def check(run_id: Any, condition: Any, frame: Any) -> bool:
        from llmspell_kernel.workflows.conditions import check as holds

        run = run_of(run_id)
        f = frame_id(frame)
        return holds(engine.to_python(condition), run.outputs_in(f), run.shared(f))

    def flush(run_id: Any) -> None:
        run_of(run_id).flush(store())

    def finish_run(run_id: Any, success: Any, error: Any) -> Any:
        run = runs.pop(run_id, None)
        if run is None:
            raise LlmspellError("this workflow execution has already ended")
        result = run.result(bool(success), None if error is None else str(error))
        assert run.record is not None
        registry().finished(run.definition.id, run.record)
        run.flush(store())
        return engine.to_lua(result)

    def abandon(run_id: Any) -> None:
        runs.pop(run_id, None)

    # -- instances ------------------------------------------------------------------------------
    def last_execution(def_id: Any) -> str | None:
        return definition(def_id).last_execution_id

    def records(def_id: Any) -> dict[str, Any]:
        """Step records of the last run, by step name (read back from State)."""
        entry = definition(def_id)
        exec_id = entry.last_execution_id
        if exec_id is None:
            return {}
        prefix = f"workflow:{exec_id}:"
        names = {s.name for s in entry.definition.all_steps()}
        found = {}
        for key, value in store().items(prefix):
            name = key[len(prefix) :]
            if name in names and isinstance(value, dict):
                found[name] = value
        return found

    def output(def_id: Any, step: Any) -> Any:
        record = records(def_id).get(text_arg(step, "step name"))
        return None if record is None else record.get("output")

    def outputs(def_id: Any) -> Any:
        return engine.to_lua({k: v.get("output") for k, v in records(def_id).items()})

    def output_names(def_id: Any) -> Any:
        return engine.to_lua(sorted(records(def_id)))

    def clear_outputs(def_id: Any) -> None:
        entry = definition(def_id)
        if entry.last_execution_id is not None:
            store().clear(f"workflow:{entry.last_execution_id}:")

    def set_shared(def_id: Any, key: Any, value: Any) -> None:
        shared = definition(def_id).shared
        name = text_arg(key, "key")
        if value is None:
            shared.pop(name, None)
        else:
            shared[name] = engine.to_python(value)

    def validate(def_id: Any) -> Any:
        from llmspell_kernel.workflows.definition import validate as check_definition

        report = check_definition(definition(def_id).definition)
        return engine.to_lua({"valid": not report["errors"], **report})

    def metrics(def_id: Any) -> Any:
        return engine.to_lua(definition(def_id).metrics.as_dict())

    def list_workflows() -> Any:
        return engine.to_lua(
            [{"id": r["id"], "name": r["name"], "type": r["type"]} for r in registry().listing()]
        )

    def remove(def_id: Any) -> bool:
        return registry().remove(text_arg(def_id, "workflow id"))

    def clear() -> None:
        registry().clear()

    # -- work in flight -------------------------------------------------------------------------
    def pending() -> Any:
        from llmspell_kernel.workflows.concurrency import pending_of

        return pending_of(engine)

    def sleep(ms: Any) -> int:
        return pending().sleep(float(ms) / 1000.0)

    def handles_of(value: Any) -> list[int]:
        items = engine.to_python(value) or []
        if isinstance(items, dict):
            items = list(items.values())
        return [int(h) for h in items]

    def ready(handles: Any) -> Any:
        return engine.to_lua(pending().ready(handles_of(handles)))

    def wait_any(handles: Any, timeout_ms: Any) -> Any:
        timeout = None if timeout_ms is None else max(0.0, float(timeout_ms) / 1000.0)
        return engine.to_lua(pending().wait_any(handles_of(handles), timeout, engine))

    def tool_is_network(name: Any) -> bool:
        entry = engine.tools.registry.entry(text_arg(name, "tool name"))
        if entry is None or not entry.builtin:
            return False
        return entry.info()["category"] in NETWORK_CATEGORIES or entry.name in NETWORK_TOOLS

    def tool_submit(name: Any, params: Any) -> int:
        """Run a built-in tool in a worker thread (workflow.lua waits for the handle)."""
        tools = engine.tools
        value = engine.to_python(params) if params is not None else {}
        if isinstance(value, list) and not value:
            value = {}
        if not isinstance(value, dict):
            raise LlmspellError("Tool.invoke: parameters must be a table")
        tools.context  # noqa: B018 - made here, on the script's thread, not in a worker
        return pending().in_thread(tools.invoke, text_arg(name, "tool name"), value)

    def tool_result(handle: Any) -> Any:
        from llmspell_kernel.workflows.concurrency import outcome

        return engine.to_lua(outcome(pending().take(int(handle))))

    def cancel(handle: Any) -> None:
        pending().cancel(int(handle))

    def clock() -> float:
        return time.perf_counter() * 1000.0

    functions: dict[str, Callable[..., Any]] = {
        "build": build,
        "lookup": lookup,
        "start": start,
        "input": step_input,
        "finish": finish,
        "frame": frame,
        "unframe": unframe,
        "scope": scope,
        "check": check,
        "flush": flush,
        "finish_run": finish_run,
        "last_execution": last_execution,
        "output": output,
        "outputs": outputs,
        "output_names": output_names,
        "clear_outputs": clear_outputs,
        "set_shared": set_shared,
        "validate": validate,
        "metrics": metrics,
        "list": list_workflows,
        "remove": remove,
        "clear": clear,
        "sleep": sleep,
        "ready": ready,
        "wait_any": wait_any,
        "tool_is_network": tool_is_network,
        "tool_submit": tool_submit,
        "tool_result": tool_result,
    }
    py = engine.bridge.table({name: answer(fn) for name, fn in functions.items()}, "Workflow.")
    # Called where a failure has nothing to report (clean-up) or cannot fail: no answer wrapper.
    py.clock = engine.bridge.function(clock, "Workflow.clock", builds=False)
    py.cancel = engine.bridge.function(cancel, "Workflow.cancel")
    py.abandon = engine.bridge.function(abandon, "Workflow.abandon")
    path = os.path.join(os.path.dirname(__file__), "workflow.lua")
    with open(path, encoding="utf-8") as handle:
        seam = engine.runtime.execute(handle.read(), engine.env, py, agent_async)
    seam.set_tools(engine.tool_api)
    seam.set_hooks(engine.hook_api)  # the workflow hook points (hook.lua's seam)
    seam.set_events(engine.event_api)  # workflow.* system events (event.lua's seam)
    return seam
