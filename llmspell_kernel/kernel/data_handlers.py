"""The kernel's side of the data commands and of execution records.

`llmspell_data_request` (control or shell channel) runs a state/session/backup operation on the
kernel's own DataHub, so `llmspell state show --kernel ID` sees exactly what the kernel's scripts
see, and the kernel stays the only owner of its database while it runs. A kernel serves one
tenant: its backups hold, restore, list and delete that tenant's data only.

`track_execution` records each execute request in its session (the one the client names in the
`llmspell.session_id` metadata, else the current session) and applies the per-session rate limit.
Without a session nothing is touched: a plain `llmspell exec` never opens a database.
"""

from __future__ import annotations

import functools
import time

from llmspell_kernel.logs import get_logger

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

log = get_logger("llmspell.kernel.data")

DATA_REQUEST = "llmspell_data_request"


def handle_data_request(kernel: Any, content: dict[str, Any]) -> dict[str, Any]:
    """The reply content of one data request."""
    from llmspell_kernel.state.operations import run_operation

    engine = kernel.engine
    if engine is None:
        return {"status": "error", "error": "the kernel is starting", "exit_code": 4}
    asked = content.get("tenant")
    own = engine.data.tenant
    if asked is not None and str(asked) != own:
        # A kernel runs under one tenant; naming another one must not reach its data.
        return {
            "status": "error",
            "error": f"this kernel serves tenant '{own or 'default'}', not '{asked}'",
            "hint": "use a kernel started for that tenant, or the offline store (--config)",
            "exit_code": 2,
        }
    engine.data.maybe_gc()  # the kernel's periodic session expiry
    if str(content.get("op", "")).startswith("events."):
        engine.events.flush()  # what the running execution published so far
    reply = run_operation(engine.data, content, tenant_only=True)
    op = str(content.get("op", ""))
    if op.startswith("workflow."):  # plus the workflows the kernel's scripts have built
        from llmspell_kernel.lua.globals.workflow import workflow_registry
        from llmspell_kernel.workflows.records import with_registry

        with_registry(op, content.get("params") or {}, reply, workflow_registry(engine))
    return reply


def expire_sessions_when_due(kernel: Any) -> None:
    """Called by the executor loop between requests: the periodic session expiry
    (`sessions.gc_interval_seconds`), so an idle kernel service expires sessions too. Only the
    store is touched, never Lua; the check itself is a clock read."""
    engine = kernel.engine
    if engine is None:
        return
    try:
        done = engine.data.periodic_gc()
    except Exception as exc:  # a store that cannot be opened must not stop the kernel
        log.warning("periodic session expiry failed: %s", exc)
        return
    if done:
        expired = sum(len(r["expired"]) for r in done.values())
        suspended = sum(len(r["suspended"]) for r in done.values())
        if expired or suspended:
            log.info("session expiry: %d expired, %d suspended", expired, suspended)


OUTPUT_LIMIT = 1 << 20
SESSION_CHECK_SECONDS = 1.0  # how long the kernel's own session is trusted to be active  # characters of printed output kept per execution record


class ExecutionTracker:
    """One execution on its way into its session's records."""

    def __init__(
        self, hub: Any, session_id: str | None, code: str, script_path: str | None, args: list[str]
    ) -> None:
        self.hub = hub
        self.session_id = session_id
        self.code = code
        self.script_path = script_path
        self.args = args
        self.started_at = time.time()
        # (stream name, pieces of its text): joined once at the end, since appending to one
        # string per print was quadratic (200k prints spent seconds here).
        self._outputs: list[tuple[str, list[str]]] = []
        self.kept = 0
        self.refused: Any = None

    def output(self, name: str, text: str) -> None:
        """Keep printed text for the record (up to OUTPUT_LIMIT characters)."""
        if self.kept >= OUTPUT_LIMIT:
            return
        text = text[: OUTPUT_LIMIT - self.kept]
        self.kept += len(text)
        if self._outputs and self._outputs[-1][0] == name:
            self._outputs[-1][1].append(text)
        else:
            self._outputs.append((name, [text]))

    @property
    def outputs(self) -> list[dict[str, str]]:
        """The printed text kept so far, one entry per run of one stream."""
        return [{"name": name, "text": "".join(parts)} for name, parts in self._outputs]

    def finish(self, outcome: Any, duration_ms: float) -> tuple[Any, str, dict[str, Any]] | None:
        """The record of the finished execution, for `record_executions`: (hub, session id,
        record) in the named session, else the one current now; None when nothing is kept."""
        if self.refused is not None:
            return None
        session_id = self.session_id or self.hub.current_session()
        if session_id is None:
            return None
        return (
            self.hub,
            session_id,
            {
                "code": self.code,
                "script_path": self.script_path,
                "args": self.args,
                "status": outcome.status,
                "outputs": self.outputs,
                "result": outcome.value if outcome.has_value else None,
                "error": outcome.evalue if outcome.status != "ok" else None,
                "started_at": self.started_at,
                "duration_ms": duration_ms,
            },
        )


def record_executions(finished: list[tuple[Any, str, dict[str, Any]]]) -> None:
    """Store finished executions' records in their sessions, in order: one transaction per
    session (a kernel that has requests waiting keeps records for a moment, see
    Kernel.flush_records). A record that cannot be kept must not fail anything."""
    groups: dict[tuple[int, str], tuple[Any, list[dict[str, Any]]]] = {}
    for hub, session_id, record in finished:
        groups.setdefault((id(hub), session_id), (hub, []))[1].append(record)
    for (_hub_id, session_id), (hub, records) in groups.items():
        try:
            hub.sessions().record_executions(session_id, records)
        except Exception as exc:
            log.warning("could not record the execution in session %s: %s", session_id, exc)
    for hub, _records in {id(hub): (hub, None) for hub, _s, _r in finished}.values():
        try:
            hub.maybe_gc()
        except Exception as exc:
            log.warning("session expiry failed: %s", exc)


def _kernel_session(kernel: Any, hub: Any) -> str:
    """The session a kernel service records executions in when no other is current: made on
    the first such execution, and again when the last one expired or was closed. It is not
    made current, so a script's own `Session.create()` still becomes the current session."""
    manager = hub.sessions()
    known = getattr(kernel, "kernel_session_id", None)
    if known is not None:
        # Checked at most once a second while executions come in (a query per `return 1` was
        # a tenth of a kernel service's time); the kernel forgets the check whenever it
        # handles any other request, which is how sessions are closed or deleted meanwhile.
        now = time.monotonic()
        if now < kernel.kernel_session_trusted_until:
            return str(known)
        if manager.status(known) == "active":
            kernel.kernel_session_trusted_until = now + SESSION_CHECK_SECONDS
            return str(known)
    known = manager.create(
        {
            "name": f"kernel {kernel.kernel_id}",
            "description": "executions of this kernel outside any named session",
            "tags": ["kernel"],
        }
    )
    kernel.kernel_session_id = known
    kernel.on_stop.append(functools.partial(_complete_kernel_session, kernel, known))
    return str(known)


def _complete_kernel_session(kernel: Any, session_id: str) -> None:
    """When the kernel stops, the session it made for itself is completed: it recorded that
    kernel's run, which is over (it stayed active until its TTL, 7 days by default). The
    kernel has closed its store by then; this opens it for one update and closes it again."""
    engine = kernel.engine
    if engine is None:
        return
    hub = engine.data
    try:
        manager = hub.sessions()
        if manager.status(session_id) in ("active", "suspended"):
            manager.transition(session_id, "complete")
    except Exception as exc:  # a store gone or locked must not stop the shutdown
        log.warning("could not complete the kernel's session %s: %s", session_id, exc)
    finally:
        hub.close()


def track_execution(
    kernel: Any, options: dict[str, Any], code: str, script_path: str | None, args: list[str]
) -> ExecutionTracker:
    """Start tracking one execution (the kernel passes what it prints to `output`, then calls
    `finish`). `tracker.refused` holds an error Outcome when the named session is unknown or
    its rate limit is reached."""
    engine = kernel.engine
    hub = engine.data
    named = options.get("session_id")
    tracker = ExecutionTracker(hub, str(named) if named else None, code, script_path, args)
    session_id = tracker.session_id or hub.current_session()
    checked = False  # the kernel's own session: _kernel_session has just vouched for it
    if session_id is None and kernel.settings.kernel_session:
        try:
            session_id = tracker.session_id = _kernel_session(kernel, hub)
            checked = True
        except Exception as exc:  # a store that cannot be opened must not stop executions
            log.warning("could not open the kernel's session: %s", exc)
    if session_id is not None:
        try:
            manager = hub.sessions()
            if named:  # a unique id prefix names its session, as in every data command
                session_id = tracker.session_id = manager.resolve(session_id)
            elif not checked and manager.status(session_id) is None:
                from llmspell_kernel.sessions.manager import SessionNotFound

                raise SessionNotFound(f"Session '{session_id}' not found")
            manager.check_rate(session_id)
        except Exception as exc:
            from llmspell_kernel.lua.engine import Outcome

            message = getattr(exc, "message", str(exc))
            tracker.refused = Outcome(
                status="error",
                ename="SessionError",
                evalue=message,
                traceback=[message],
                exit_code=getattr(exc, "exit_code", None),  # 2 for an ambiguous prefix
            )
            return tracker
        if named:
            hub.current_sessions[hub.tenant] = session_id
    return tracker
