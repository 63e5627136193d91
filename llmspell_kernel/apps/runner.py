"""One application run in a fresh embedded kernel of this process: its own configuration (the
app's config.toml, with a model override, its output directory allowed for file tools, and a
store of its own), its console captured, its duration, peak RSS and records measured."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmspell_kernel.apps.catalogue import AppInfo
from llmspell_kernel.apps.checks import RunRecords


@dataclass
class AppRun:
    """What one run did: exit status, console, error, timings, memory and records."""

    app: AppInfo
    output_dir: Path
    exit_code: int
    stdout: str
    stderr: str
    error: str | None
    duration_s: float
    peak_rss_bytes: int
    records: RunRecords = field(default_factory=lambda: RunRecords([], {}))


def app_config(
    app: AppInfo,
    output_dir: Path,
    *,
    model_override: str | None = None,
    state_path: Path | None = None,
) -> Any:
    """The app's effective configuration for one run (environment overrides included)."""
    from llmspell_kernel.config import load_config

    config = load_config(app.config).config
    if model_override:
        config.providers.model_override = model_override
    paths = config.tools.file_operations.allowed_paths
    if str(output_dir) not in paths:
        config.tools.file_operations.allowed_paths = [*paths, str(output_dir)]
    if state_path is not None:  # the records are read back from this file
        config.state.backend = "sqlite"
        config.runtime.state_persistence.backend = "sqlite"
        config.state.path = str(state_path)
    return config


def script_args(app: AppInfo, output_dir: Path, extra: list[str] | tuple[str, ...]) -> list[str]:
    """What every app is given: where it lives (to read its sample inputs) and where to write.
    Ours come last and in `--key=value` form, so the user's own `--key value` pair is never the
    trailing one (which ARGS would read as a flag and a positional argument)."""
    return [*extra, f"--app-dir={app.path}", f"--output={output_dir}"]


def run_in_fresh_kernel(
    app: AppInfo,
    output_dir: Path,
    *,
    work_dir: Path,
    model_override: str | None = None,
    extra_args: list[str] | tuple[str, ...] = (),
    timeout: float | None = None,
) -> AppRun:
    """Run `app` once in a new embedded kernel; its store is `work_dir/state.db`."""
    from llmspell_kernel.api import kernel_settings_from_config, start_embedded_kernel
    from llmspell_kernel.client import ErrorOutput, Stream

    work_dir.mkdir(parents=True, exist_ok=True)
    state_path = work_dir / "state.db"
    config = app_config(app, output_dir, model_override=model_override, state_path=state_path)
    settings = kernel_settings_from_config(config)
    code = app.main.read_text(encoding="utf-8", errors="replace")
    stdout: list[str] = []
    stderr: list[str] = []
    error: str | None = None
    sampler = _RssSampler()
    started = time.perf_counter()
    sampler.start()
    try:
        with start_embedded_kernel(settings) as kernel:
            client = kernel.client()
            try:
                execution = client.execute(
                    code,
                    script_path=str(app.main),
                    args=script_args(app, output_dir, extra_args),
                    timeout=timeout,
                )
                for output in execution:
                    if isinstance(output, Stream):
                        (stdout if output.name == "stdout" else stderr).append(output.text)
                    elif isinstance(output, ErrorOutput):
                        error = output.evalue
                reply = execution.reply or {}
                metadata = (execution.reply_metadata or {}).get("llmspell") or {}
            finally:
                client.close()
    finally:
        duration = time.perf_counter() - started
        peak = sampler.stop()
    exit_code = _exit_code(reply, metadata, error)
    return AppRun(
        app=app,
        output_dir=output_dir,
        exit_code=exit_code,
        stdout="".join(stdout),
        stderr="".join(stderr),
        error=error,
        duration_s=duration,
        peak_rss_bytes=peak,
        records=read_records(config),
    )


def _exit_code(reply: dict[str, Any], metadata: dict[str, Any], error: str | None) -> int:
    """As `llmspell run` would exit: os.exit's code, else 1 for an error, else 0."""
    code = metadata.get("exit_code")
    if isinstance(code, int):
        return code
    return 0 if reply.get("status") == "ok" and error is None else 1


def read_records(config: Any) -> RunRecords:
    """The provider calls and workflow records of the store `config` names."""
    from llmspell_kernel.state.hub import DataHub
    from llmspell_kernel.state.settings import DataSettings

    settings = DataSettings.from_config(config)
    if settings.database_path is None or not settings.database_path.exists():
        return RunRecords([], {})
    hub = DataHub(settings)
    try:
        calls = hub.usage().calls()
        state = dict(hub.state().items("workflow:"))
        events = _events(hub)
    finally:
        hub.close()
    return RunRecords(calls, state, events)


def _events(hub: Any) -> list[dict[str, Any]]:
    """The run's workflow.* and agent.* events (none when the store has no events table)."""
    import sqlite3

    try:
        from llmspell_kernel.events.store import EventStore
    except ImportError:
        return []
    store = EventStore(hub.database(), hub.tenant)
    try:
        return [e for e in store.query() if e["event_type"].startswith(("workflow.", "agent."))]
    except sqlite3.Error:
        return []


def current_rss_bytes() -> int:
    """This process's resident set size now (Linux /proc; else the peak so far)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class _RssSampler:
    """The highest RSS seen while a run lasts (sampled every 20 ms by a daemon thread)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="app-rss", daemon=True)

    def start(self) -> None:
        self.peak = current_rss_bytes()
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, current_rss_bytes())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, current_rss_bytes())
