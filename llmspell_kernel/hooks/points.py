"""Hook point names and priorities (lua-api.md 2.6; both spellings and integer priorities are
accepted, as pitfall 13 asks)."""

from __future__ import annotations

# The points scripts may register on, in the order the contract lists them.
POINTS = (
    "SystemStartup",
    "SystemShutdown",
    "BeforeAgentInit",
    "AfterAgentInit",
    "BeforeAgentExecution",
    "AfterAgentExecution",
    "BeforeAgentShutdown",
    "AfterAgentShutdown",
    "AgentError",
    "BeforeToolDiscovery",
    "AfterToolDiscovery",
    "BeforeToolExecution",
    "AfterToolExecution",
    "ToolValidation",
    "ToolError",
    "BeforeWorkflowStart",
    "BeforeWorkflowStage",
    "AfterWorkflowStage",
    "WorkflowStageTransition",
    "WorkflowCheckpoint",
    "WorkflowRollback",
    "AfterWorkflowComplete",
    "WorkflowError",
)
# Points of the kernel itself, for Python extensions only (a script never sees them).
KERNEL_POINTS = ("PreExecute", "PostExecute", "PreDebug", "StateChange")
# `{type="redirect"}` is honoured only here; `{type="retry"}` only at the ...Error points.
REDIRECT_POINTS = frozenset({"BeforeAgentExecution", "BeforeToolExecution"})
RETRY_POINTS = frozenset(p for p in POINTS if p.endswith("Error"))

PRIORITIES = {
    "highest": -(2**31),
    "high": -100,
    "normal": 0,
    "low": 100,
    "lowest": 2**31 - 1,
}


def snake_case(point: str) -> str:
    """`BeforeAgentExecution` -> `before_agent_execution`."""
    out = []
    for index, char in enumerate(point):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def spellings(points: tuple[str, ...] = POINTS) -> dict[str, str]:
    """Every accepted spelling of `points` -> its PascalCase name."""
    names: dict[str, str] = {}
    for point in points:
        names[point] = point
        names[snake_case(point)] = point
    return names


_ALL = spellings(POINTS + KERNEL_POINTS)


def canonical_point(name: object, *, kernel: bool = False) -> str | None:
    """The PascalCase name of a script point (or, with `kernel`, of any point); None if unknown."""
    if not isinstance(name, str):
        return None
    point = _ALL.get(name)
    if point is None or (not kernel and point in KERNEL_POINTS):
        return None
    return point


def priority_value(priority: object) -> int:
    """A priority name or integer as its number (lower runs first); ValueError otherwise."""
    if priority is None:
        return 0
    if isinstance(priority, str):
        value = PRIORITIES.get(priority.lower())
        if value is None:
            raise ValueError(
                f"unknown hook priority '{priority}' (highest, high, normal, low, lowest or an"
                " integer)"
            )
        return value
    if isinstance(priority, bool) or not isinstance(priority, int | float):
        raise ValueError("a hook priority must be a name or an integer")
    if not float(priority).is_integer():
        raise ValueError(f"a hook priority must be an integer, got {priority}")
    return int(priority)
