"""Replay: re-run a session's recorded executions in a fresh embedded kernel and compare."""

from __future__ import annotations

from typing import Any


def _source(execution: dict[str, Any]) -> str:
    if execution.get("script_path"):
        return str(execution["script_path"])
    lines = (execution.get("code") or "").strip().splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= 40 else text[:39] + "…"


def _stdout(outputs: list[dict[str, str]]) -> str:
    return "".join(o["text"] for o in outputs if o.get("name") == "stdout")


def replay_executions(config: Any, executions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run each recorded execution in order in one fresh kernel (memory store); per step the
    recorded and replayed status, stdout and result, and what differs."""
    from llmspell_kernel.api import kernel_settings_from_config, start_embedded_kernel
    from llmspell_kernel.client import ErrorOutput, Result, Stream

    settings = kernel_settings_from_config(config)
    assert settings.engine.data is not None  # kernel_settings_from_config always sets it
    settings.engine.data.backend = "memory"  # replaying must not change the real store
    steps: list[dict[str, Any]] = []
    if not executions:
        return steps
    with start_embedded_kernel(settings) as kernel:
        client = kernel.client()
        try:
            for recorded in executions:
                outputs: list[dict[str, str]] = []
                result: Any = None
                error = None
                execution = client.execute(
                    recorded["code"],
                    script_path=recorded.get("script_path"),
                    args=list(recorded.get("args") or []),
                    stop_on_error=False,
                )
                for item in execution:
                    if isinstance(item, Stream):
                        outputs.append({"name": item.name, "text": item.text})
                    elif isinstance(item, Result) and not item.display:
                        result = item.data.get("application/json", item.text)
                    elif isinstance(item, ErrorOutput):
                        error = item.evalue
                replayed = {
                    "status": execution.status,
                    "stdout": _stdout(outputs),
                    "result": result,
                    "error": error,
                }
                before = {
                    "status": recorded["status"],
                    "stdout": _stdout(recorded.get("outputs") or []),
                    "result": recorded.get("result"),
                    "error": recorded.get("error"),
                }
                differences = [
                    name
                    for name in ("status", "stdout", "result", "error")
                    if before[name] != replayed[name]
                ]
                steps.append(
                    {
                        "step": recorded["step"],
                        "source": _source(recorded),
                        "recorded": before,
                        "replayed": replayed,
                        "same": not differences,
                        "differences": differences,
                    }
                )
        finally:
            client.close()
    return steps
