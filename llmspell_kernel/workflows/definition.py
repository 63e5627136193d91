"""A workflow's definition (lua-api.md 2.10), parsed and checked once when it is built.

workflow.lua sends the builder's table with its functions replaced by references (`fn_ref`),
agent objects by their names and nested workflows by their ids; it gets the normalised
definition back (`as_table`) and runs it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.workflows import conditions
from llmspell_kernel.workflows.placeholders import has_placeholder

TYPES = ("sequential", "conditional", "loop", "parallel")
STEP_TYPES = ("tool", "agent", "workflow", "custom")
STRATEGIES = ("fail_fast", "continue", "retry")
DEFAULT_CONCURRENCY = 4
DEFAULT_WHILE_ITERATIONS = 100
RETRY_ATTEMPTS = 3
RETRY_BACKOFF_MS = 1000


@dataclass
class StepDef:
    """One step; `id` numbers the steps of a workflow (all branches and the loop body)."""

    id: int
    name: str
    type: str
    target: str | None  # tool name, agent name or nested workflow id; None for custom
    input: Any  # the template (placeholders substituted per run)
    fn_ref: int | None = None
    timeout_ms: float | None = None
    retry_count: int = 0
    # Whether the run keeps the step's whole result (for `{{step.<name>.<path>}}`, an agent's
    # metadata, a nested run's output) or only its text: converting a tool's result table
    # costs more than the rest of a cheap step.
    keep_result: bool = True

    def as_table(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "keep_result": self.keep_result,
            "static_input": not has_placeholder(self.input),
        }
        if self.target is not None:
            row["target"] = self.target
        if self.fn_ref is not None:
            row["fn_ref"] = self.fn_ref
        if self.timeout_ms is not None:
            row["timeout_ms"] = self.timeout_ms
        row["retry_count"] = self.retry_count
        return row


@dataclass
class Branch:
    condition: dict[str, Any]
    steps: list[StepDef]


@dataclass
class Iterator:
    """How a loop iterates: `range` (start, end exclusive, step), `collection` or `while`."""

    kind: str
    values: list[Any] = field(default_factory=list)  # range and collection, already expanded
    while_ref: int | None = None
    while_expr: str | None = None


@dataclass
class WorkflowDef:
    id: str
    name: str
    type: str
    description: str
    steps: list[StepDef]  # sequential/parallel steps, the loop body, the conditional preamble
    branches: list[Branch]
    default_steps: list[StepDef]
    iterator: Iterator | None
    error_strategy: str
    timeout_ms: float | None
    max_concurrency: int
    max_iterations: int | None

    def all_steps(self) -> list[StepDef]:
        return self.steps + [s for b in self.branches for s in b.steps] + self.default_steps

    def as_table(self) -> dict[str, Any]:
        """What workflow.lua runs (and `Workflow.get(...):get_info()` and the CLI show)."""
        table: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "steps": [s.as_table() for s in self.steps],
            "branches": [
                {"condition": b.condition, "steps": [s.as_table() for s in b.steps]}
                for b in self.branches
            ],
            "default_steps": [s.as_table() for s in self.default_steps],
            "error_strategy": self.error_strategy,
            "max_concurrency": self.max_concurrency,
        }
        if self.timeout_ms is not None:
            table["timeout_ms"] = self.timeout_ms
        if self.max_iterations is not None:
            table["max_iterations"] = self.max_iterations
        it = self.iterator
        if it is not None:
            table["iterator"] = {"kind": it.kind, "count": len(it.values)}
            if it.while_ref is not None:
                table["iterator"]["while_ref"] = it.while_ref
            if it.while_expr is not None:
                table["iterator"]["while_expr"] = it.while_expr
        return table


def _number(raw: Any, what: str, *, integer: bool = False, minimum: float = 0) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise LlmspellError(f"{what} must be a number")
    if integer and not float(raw).is_integer():
        raise LlmspellError(f"{what} must be an integer, got {raw}")
    if raw < minimum:
        raise LlmspellError(f"{what} must be at least {minimum:g}, got {raw}")
    return float(raw)


def _list(raw: Any, what: str) -> list[Any]:
    if raw is None or (isinstance(raw, dict) and not raw):
        return []
    if not isinstance(raw, list):
        raise LlmspellError(f"{what} must be an array")
    return raw


class _Steps:
    """Numbers steps across the whole workflow and checks that names are unique."""

    def __init__(self) -> None:
        self.count = 0
        self.names: set[str] = set()

    def parse(self, raw: Any, where: str) -> list[StepDef]:
        return [self.one(item, f"{where}[{i + 1}]") for i, item in enumerate(_list(raw, where))]

    def one(self, raw: Any, where: str) -> StepDef:
        if not isinstance(raw, dict):
            raise LlmspellError(f"{where}: a step must be a table")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise LlmspellError(f"{where}: a step needs a name")
        if name in self.names:
            raise LlmspellError(f"step name '{name}' is used twice (step names must be unique)")
        self.names.add(name)
        kind = raw.get("type") or step_type(raw)
        if kind not in STEP_TYPES:
            raise LlmspellError(
                f"step '{name}': unknown step type '{kind}' (tool, agent, workflow or custom)"
            )
        target: str | None = None
        fn_ref = None
        if kind == "custom":
            if not isinstance(raw.get("fn_ref"), int):
                raise LlmspellError(
                    f"step '{name}': a custom step needs function = function(input, ctx) ... end"
                )
            fn_ref = int(raw["fn_ref"])
        else:
            value = raw.get(kind)
            if not isinstance(value, str) or not value:
                raise LlmspellError(f"step '{name}': a {kind} step needs {kind} = <name>")
            target = value
        template = raw.get("input", raw.get("parameters"))
        if kind == "custom" and raw.get("parameters") is not None:
            template = raw.get("parameters")
        timeout = _number(raw.get("timeout_ms"), f"step '{name}': timeout_ms")
        retries = _number(raw.get("retry_count"), f"step '{name}': retry_count", integer=True)
        self.count += 1
        return StepDef(
            id=self.count,
            name=name,
            type=kind,
            target=target,
            input=template,
            fn_ref=fn_ref,
            timeout_ms=timeout,
            retry_count=int(retries or 0),
        )


PATH_PLACEHOLDER = re.compile(r"\{\{\s*step\.([^.{}\s]+)\.([^{}\s]+?)\s*\}\}")


def _path_references(value: Any, found: set[str]) -> None:
    """Names of steps whose result fields a template reads (`{{step.<name>.<path>}}`)."""
    if isinstance(value, str):
        if "{{" in value:
            found.update(
                m.group(1) for m in PATH_PLACEHOLDER.finditer(value) if m.group(2) != "output"
            )
    elif isinstance(value, dict):
        for item in value.values():
            _path_references(item, found)
    elif isinstance(value, list):
        for item in value:
            _path_references(item, found)


def step_type(raw: dict[str, Any]) -> str:
    """The type of a step that names none, from the fields it has."""
    for kind in ("tool", "agent", "workflow"):
        if raw.get(kind) is not None:
            return kind
    if raw.get("fn_ref") is not None:
        return "custom"
    return "tool"


def _iterator(raw: Any) -> Iterator:
    if not isinstance(raw, dict):
        raise LlmspellError(
            "a loop workflow needs an iterator: with_range, with_collection or with_while"
        )
    if raw.get("range") is not None:
        spec = raw["range"]
        if not isinstance(spec, dict):
            raise LlmspellError('with_range: expected {start = 1, ["end"] = 10, step = 1}')
        start = _number(spec.get("start", 0), "range start", integer=True, minimum=float("-inf"))
        end = _number(spec.get("end"), "range end", integer=True, minimum=float("-inf"))
        step = _number(spec.get("step", 1), "range step", integer=True, minimum=float("-inf"))
        if end is None:
            raise LlmspellError('with_range: the range needs an end (["end"] = n, exclusive)')
        if not step:
            raise LlmspellError("with_range: step must not be 0")
        return Iterator("range", list(range(int(start or 0), int(end), int(step or 1))))
    if raw.get("collection") is not None:
        values = raw["collection"]
        if isinstance(values, dict):
            if values:
                raise LlmspellError("with_collection: expected an array of values")
            values = []
        if not isinstance(values, list):
            raise LlmspellError("with_collection: expected an array of values")
        return Iterator("collection", list(values))
    if isinstance(raw.get("while_ref"), int):
        return Iterator("while", while_ref=int(raw["while_ref"]))
    if isinstance(raw.get("while_expr"), str):
        return Iterator("while", while_expr=raw["while_expr"])
    raise LlmspellError(
        "a loop workflow needs an iterator: with_range, with_collection or with_while"
    )


def parse(raw: Any) -> WorkflowDef:
    """Check a builder's table; LlmspellError names the first problem."""
    if not isinstance(raw, dict):
        raise LlmspellError("a workflow definition must be a table")
    kind = raw.get("type")
    if kind is None:
        raise LlmspellError("Workflow type not specified")
    if kind == "loop_workflow":
        kind = "loop"
    if kind not in TYPES:
        raise LlmspellError(
            f"Unknown workflow type: {kind} (sequential, parallel, conditional, loop)"
        )
    name = raw.get("name") or f"workflow_{uuid.uuid4().hex[:8]}"
    if not isinstance(name, str):
        raise LlmspellError("a workflow name must be a string")
    steps = _Steps()
    body = steps.parse(raw.get("steps"), "steps")
    branches: list[Branch] = []
    default: list[StepDef] = []
    iterator = None
    if kind == "conditional":
        for i, item in enumerate(_list(raw.get("branches"), "branches")):
            if not isinstance(item, dict):
                raise LlmspellError(f"branches[{i + 1}] must be a table {{condition, steps}}")
            where = f"branches[{i + 1}]"
            condition = conditions.normalize(item.get("condition", "always"), where + ".condition")
            branches.append(Branch(condition, steps.parse(item.get("steps"), where + ".steps")))
        raw_default = raw.get("default_branch")
        if isinstance(raw_default, dict) and "steps" in raw_default:
            raw_default = raw_default["steps"]
        default = steps.parse(raw_default, "default_branch.steps")
        if not branches and not default and not body:
            raise LlmspellError("a conditional workflow needs a condition and steps")
    elif kind == "loop":
        iterator = _iterator(raw.get("iterator"))
    strategy = raw.get("error_strategy") or "fail_fast"
    if isinstance(strategy, dict):  # upstream's {type = "retry", max_attempts = ...}
        strategy = strategy.get("type") or "fail_fast"
    if strategy not in STRATEGIES:
        strategy = "fail_fast"  # lua-api.md 2.10: any unknown string is fail_fast
    concurrency = _number(raw.get("max_concurrency"), "max_concurrency", integer=True, minimum=1)
    iterations = _number(raw.get("max_iterations"), "max_iterations", integer=True)
    if iterator is not None and iterator.kind == "while" and iterations is None:
        iterations = DEFAULT_WHILE_ITERATIONS
    everything = body + [s for b in branches for s in b.steps] + default
    referenced: set[str] = set()
    for step in everything:
        _path_references(step.input, referenced)
    for step in everything:
        step.keep_result = step.type != "tool" or step.name in referenced
    workflow_id = raw.get("id") or str(uuid.uuid4())
    return WorkflowDef(
        id=str(workflow_id),
        name=name,
        type=kind,
        description=str(raw.get("description") or ""),
        steps=body,
        branches=branches,
        default_steps=default,
        iterator=iterator,
        error_strategy=str(strategy),
        timeout_ms=_number(raw.get("timeout_ms"), "timeout_ms"),
        max_concurrency=int(concurrency or (1 if kind == "loop" else DEFAULT_CONCURRENCY)),
        max_iterations=None if iterations is None else int(iterations),
    )


def validate(definition: WorkflowDef) -> dict[str, list[str]]:
    """`wf:validate()`: problems that do not stop a build (an empty workflow, a loop that
    cannot run) as warnings; errors are what `parse` would raise (none once built)."""
    warnings: list[str] = []
    if not definition.all_steps():
        warnings.append("the workflow has no steps")
    if definition.type == "loop" and definition.iterator is not None:
        it = definition.iterator
        if it.kind != "while" and not it.values:
            warnings.append("the loop iterates over nothing")
    if definition.type != "conditional" and (definition.branches or definition.default_steps):
        warnings.append("branches are ignored by a non-conditional workflow")
    return {"errors": [], "warnings": warnings}
