"""`[events]` configuration as the engine sees it."""

from __future__ import annotations

from llmspell_kernel.records import Record

# Annotations only: typing is not imported at run time (this module is on the start-up path).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar


class EventSettings(Record):
    """`enabled` gates the system events (a script's own publish always works); `filters`
    are globs of system event types to emit (empty: all); `persist` writes every event to the
    state database, kept `retention_days` (0: forever); `iopub` sends them to clients."""

    __slots__ = (
        "enabled",
        "buffer_size",
        "filters",
        "emit_state_events",
        "persist",
        "retention_days",
        "iopub",
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "enabled": True,
        "buffer_size": 10000,
        "filters": (),
        "emit_state_events": False,
        "persist": True,
        "retention_days": 30,
        "iopub": True,
    }
    enabled: bool
    buffer_size: int
    filters: tuple[str, ...]
    emit_state_events: bool
    persist: bool
    retention_days: float
    iopub: bool

    @classmethod
    def from_config(cls, config: Any) -> EventSettings:
        """From a loaded `llmspell_kernel.config.Config`."""
        events = config.events
        return cls(
            enabled=bool(events.enabled),
            buffer_size=max(1, int(events.buffer_size)),
            filters=tuple(str(f) for f in events.filters),
            emit_state_events=bool(events.emit_state_events),
            persist=bool(events.persist),
            retention_days=float(events.retention_days),
            iopub=bool(events.iopub),
        )


_TRUE = ("1", "true", "yes", "on")


def tracing_requested(environ: Any = None) -> bool:
    """Whether the standard OTEL_* variables ask for traces (llmspell_kernel/events/tracing.py):
    OTEL_TRACES_EXPORTER other than "none", or an OTLP endpoint, unless OTEL_SDK_DISABLED."""
    import os

    env = os.environ if environ is None else environ
    if str(env.get("OTEL_SDK_DISABLED", "")).strip().lower() in _TRUE:
        return False
    exporter = str(env.get("OTEL_TRACES_EXPORTER", "")).strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
