"""The events of one engine: its bus (made on first use), the correlation id of the running
execution, and the sinks every event reaches — the state database and whatever the kernel adds
(IOPub, tracing). Stored events are written in batches by a writer thread (when 1024 are
pending, else about a second after the first of them) and when the kernel flushes at the end
of an execution, so a publish costs the script no SQL.

System events (tool.*, hook.executed, workflow.*: thousands per second from a script of cheap
tools) cost the script one tuple each: `system_fields` queues (type, correlation id, time,
data) and `dispatch` turns the queue into numbered events for the bus and the sinks — when 256
are queued, before any other publish, subscribe or receive (so order holds), at the end of an
execution (`flush`), and from the writer thread ~20 ms after the first of a batch, so that a
connected client sees them while a long call runs. One thread wake-up per batch, not per event;
and none while events keep coming: for a second after a dispatch the writer looks at the queue
every 20 ms by itself, so a script making call after call (an agent's execute queues
agent.started and agent.completed) does not wake it each time (a wake-up took the GIL in the
middle of the provider call's thread hand-over: ~0.08 ms of each agent:execute).

On the start-up path: nothing heavy is imported until the first event or subscription.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from llmspell_kernel.events.settings import EventSettings, tracing_requested
from llmspell_kernel.logs import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from llmspell_kernel.events.bus import BatchSink, EventBus, Sink
    from llmspell_kernel.events.model import Event
    from llmspell_kernel.events.tracing import Tracing
    from llmspell_kernel.state.hub import DataHub

log = get_logger("llmspell.events")

FLUSH_COUNT = 1024
FLUSH_SECONDS = 1.0
DISPATCH_COUNT = 256  # queued system events dispatched together
DISPATCH_SECONDS = 0.02  # the longest a queued system event waits (the writer dispatches it)
PURGE_SECONDS = 3600.0
HOOK_EVENT = "hook.executed"

_escape: Callable[[str], str] | None = None  # json's C string encoder, once an event needs it


def _load_escape() -> Callable[[str], str]:
    global _escape
    from json.encoder import encode_basestring_ascii

    _escape = encode_basestring_ascii
    return encode_basestring_ascii


class EventHub:
    """Bus, correlation and persistence of one engine (see the module docstring)."""

    def __init__(
        self,
        settings: EventSettings | None,
        data: DataHub,
        correlation: Callable[[], str],
    ) -> None:
        self.settings = settings or EventSettings()
        self.data = data
        self.correlation = correlation  # the running execution's correlation id
        self.kernel_id: str | None = None  # set by a kernel service (rows name it)
        self._bus: EventBus | None = None
        self._pending: list[Event] = []
        self._pending_lock = threading.Lock()  # parallel steps may publish from other threads
        self._pending_since = 0.0  # when the oldest pending event arrived (monotonic)
        # Queued system events (see the module docstring) and the lock that keeps dispatches,
        # and the publishes they must precede, in order.
        # (a deque: the Lua thread appends while the writer may be taking from the left)
        self._queued: deque[tuple[str, str, float, Any]] = deque()
        self._dispatch_lock = threading.RLock()  # a sink may publish (tracing, a hook)
        self._dispatch_due = False  # the writer was asked to dispatch the current queue
        self._polling = False  # the writer checks the queue every DISPATCH_SECONDS unasked
        self._write_lock = threading.Lock()  # batches reach the table in publication order
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        self._closed = False
        self._last_purge = 0.0
        self._filters: Any = None
        self._extra_sinks: list[Sink] = []
        self._extra_batch_sinks: list[BatchSink] = []
        self._hook_texts: dict[tuple[str, str, str, str, str | None], tuple[str, str]] = {}
        # On the postgres backend, script events reach the other kernels on the database
        # (events/shared.py): stored at once with a NOTIFY, and received by a listener.
        self.shared = self.settings.persist and data.settings.backend == "postgres"
        self._origin = ""
        self._listener: Any = None
        # OpenTelemetry spans (the llmspell[otel] extra), only when OTEL_* variables ask:
        # otherwise nothing of it is imported.
        self._tracer: Tracing | None = None
        if tracing_requested():
            from llmspell_kernel.events.tracing import new_tracing

            self.tracer = new_tracing()
            if self.tracer is not None:
                self._extra_batch_sinks.append(self.tracer.on_events)

    @property
    def tracer(self) -> Tracing | None:
        """OpenTelemetry spans from the events (events/tracing.py), or None; its sink only
        queues each event, its own thread makes the spans."""
        return self._tracer

    @tracer.setter
    def tracer(self, tracer: Tracing | None) -> None:
        self._tracer = tracer
        if tracer is not None:
            tracer.sync = self.dispatch  # a provider call's span needs its agent's started

    @property
    def bus(self) -> EventBus:
        bus = self._bus
        if bus is None:
            from llmspell_kernel.events.bus import EventBus

            bus = self._bus = EventBus(self.settings.buffer_size)
            if self.settings.persist:
                bus.batch_sinks.append(self._keep)
            bus.sinks.extend(self._extra_sinks)
            bus.batch_sinks.extend(self._extra_batch_sinks)
        return bus

    def subscribe(self, pattern: str, language: str = "lua") -> Any:
        """A new subscription of the bus; on a shared store, events published by the other
        kernels on it arrive too (the listener starts with the first subscription)."""
        if self.shared and self._listener is None and not self._closed:
            from llmspell_kernel.events.shared import Listener

            self._listener = Listener(
                self.data.database(), self.data.tenant, self.origin, self._deliver
            )
            self._listener.ready.wait(10)
        return self.bus.subscribe(pattern, language)

    def _deliver(self, events: list[Event]) -> None:
        """The listener's events, to the current bus (a reset makes a new one)."""
        bus = self._bus
        if bus is not None:
            bus.deliver(events)

    @property
    def origin(self) -> str:
        """This hub's id in cross-kernel notifications."""
        if not self._origin:
            from llmspell_kernel.events.shared import new_origin

            self._origin = new_origin()
        return self._origin

    def _share(self, event: Event) -> None:
        """Store a script's event now and notify the other kernels (after what is pending, so
        the table keeps publication order); a failure is logged, never raised."""
        try:
            from llmspell_kernel.events.shared import store_and_notify

            self.flush()
            with self._write_lock:
                store_and_notify(
                    self.data.database(), self.data.tenant, self.kernel_id, self.origin, event
                )
        except Exception as exc:
            log.warning("could not share event %s: %s", event.event_type, exc)

    def reset(self) -> None:
        """A new Lua state: pending events are written, subscriptions end."""
        self.flush()
        self._bus = None

    def add_sink(self, sink: Sink) -> None:
        """Another receiver of every event (IOPub, tracing); it must be quick and not raise."""
        self._extra_sinks.append(sink)
        if self._bus is not None:
            self._bus.sinks.append(sink)

    def add_batch_sink(self, sink: BatchSink) -> None:
        """Another receiver of every event, called with the events of one publish (or one
        dispatch of queued system events) at once: tracing's. Quick and not raising."""
        self._extra_batch_sinks.append(sink)
        if self._bus is not None:
            self._bus.batch_sinks.append(sink)

    def system_wanted(self, event_type: str) -> bool:
        """Whether a system event of this type is emitted (`[events]` enabled and filters)."""
        settings = self.settings
        if not settings.enabled:
            return False
        if event_type == "workflow.state.updated" and not settings.emit_state_events:
            return False
        if not settings.filters:
            return True
        if self._filters is None:
            from llmspell_kernel.events.model import glob_matcher

            self._filters = [glob_matcher(f) for f in settings.filters]
        return any(m.match(event_type) for m in self._filters)

    def publish(
        self,
        event_type: str,
        data: Any,
        *,
        correlation_id: str | None = None,
        inherit: bool = True,
        source: str = "script",
        language: str = "lua",
        ttl_seconds: float | None = None,
        target: str | None = None,
        tags: list[str] | None = None,
        priority: str = "normal",
    ) -> Event:
        """Publish one event. Without `correlation_id` it carries the execution's id when
        `inherit` (system events; a script's publish inside a hook, step or callback), else a
        fresh UUID (lua-api.md 2.5)."""
        from llmspell_kernel.events.model import Event, new_id

        if correlation_id is None:
            correlation_id = self.correlation() if inherit else new_id()
        event = Event(
            event_type,
            data,
            correlation_id,
            language=language,
            ttl_seconds=ttl_seconds,
            source=source,
            target=target,
            tags=tags or [],
            priority=priority,
        )
        with self._dispatch_lock:  # after the system events queued before it
            self.dispatch()
            self.bus.publish(event)
        if self.shared and source == "script":
            self._share(event)
        return event

    def system_json(self, event_type: str, data_json: str) -> None:
        """A system event whose data the Lua side encoded (a value was itself a table)."""
        self._queue(event_type, data_json)

    def system_data(self, event_type: str, data: dict[str, Any]) -> None:
        """A system event whose data the caller made (it must not change it afterwards)."""
        self._queue(event_type, data)

    def system_fields(self, event_type: str, fields: tuple[Any, ...]) -> None:
        """A system event whose data arrives as key, value, key, value... (nil values are
        dropped, as a Lua table drops them): queued, see the module docstring."""
        data = {}
        for i in range(0, len(fields) - 1, 2):
            value = fields[i + 1]
            if value is not None:
                data[fields[i]] = value
        self._queue(event_type, data)

    def _hook_text(self, key: tuple[str, str, str, str, str | None]) -> tuple[str, str]:
        """The JSON text of a hook run's data around its duration (the keys sorted as the
        store's encoder sorts them), kept per hook, point, action and component (a bounded
        cache: a script makes few of them). hook.py's `executed` queues a Lua hook's run as
        this text with its duration; `Event.data` decodes it only for a reader."""
        name, hook_id, point, action, component = key
        escape = _escape or _load_escape()
        if component is None:
            head = f'{{"action":{escape(action)}'
        else:
            head = f'{{"action":{escape(action)},"component":{escape(component)}'
        parts = (
            f'{head},"duration_ms":',
            f',"hook_id":{escape(hook_id)},"hook_point":{escape(point)},"name":{escape(name)}}}',
        )
        if len(self._hook_texts) >= 4096:
            self._hook_texts.clear()
        self._hook_texts[key] = parts
        return parts

    def _queue(self, event_type: str, data: Any) -> None:
        queued = self._queued
        queued.append((event_type, self.correlation(), time.time(), data))
        if len(queued) >= DISPATCH_COUNT:
            self.dispatch()
        elif not self._dispatch_due:  # the first of a batch: the writer dispatches it soon
            self._dispatch_due = True  # before reading _polling (see _write_loop)
            if not self._polling:  # else the writer looks within DISPATCH_SECONDS anyway
                self._start_writer()
                self._wake.set()

    def dispatch(self) -> None:
        """Publish the queued system events, in order, on the bus (numbered there) and so to
        the sinks. Any thread may call it."""
        if not self._queued:
            return
        from llmspell_kernel.events.model import system_event

        with self._dispatch_lock:
            self._dispatch_due = False  # before taking: a later event asks for the writer again
            queued = self._queued
            take = queued.popleft
            events: list[Event] = []
            bus = self.bus
            if bus.watched() or any(sink != self._keep for sink in bus.batch_sinks):
                while queued:
                    event_type, correlation_id, at, data = take()
                    events.append(system_event(event_type, data, correlation_id, at))
            else:  # only the store sees them: hook runs ride on the event after them
                self._fold(take, events)
            if not events:
                return
            bus.publish_many(events)

    def _fold(self, take: Callable[[], tuple[str, str, float, Any]], events: list[Event]) -> None:
        """(dispatch) The queued events, each run of hook.executed events (their data the
        JSON text hook_executed made) carried as `folded` by the next event of the same
        correlation id instead of events of their own: the store keeps them in its row, and
        its query reads them back as their own rows would read (events/store.py)."""
        from llmspell_kernel.events.model import system_event

        queued = self._queued
        runs: list[tuple[float, str]] = []
        runs_id = ""
        while queued:
            event_type, correlation_id, at, data = take()
            if event_type == HOOK_EVENT and type(data) is str:
                if runs and runs_id != correlation_id:
                    events.extend([system_event(HOOK_EVENT, t, runs_id, a) for a, t in runs])
                    runs = []
                runs_id = correlation_id
                runs.append((at, data))
                continue
            event = system_event(event_type, data, correlation_id, at)
            if runs:
                if runs_id == correlation_id:
                    event.folded = runs
                else:
                    events.extend([system_event(HOOK_EVENT, t, runs_id, a) for a, t in runs])
                runs = []
            events.append(event)
        if runs:  # no event after them yet: events of their own
            events.extend([system_event(HOOK_EVENT, t, runs_id, a) for a, t in runs])

    def system(self, event_type: str, data: dict[str, Any], source: str = "system") -> None:
        """A system event (agent.*, tool.*, workflow.*, hook.executed) when wanted."""
        if self.system_wanted(event_type):
            self.publish(event_type, data, source=source)

    def _keep(self, events: list[Event]) -> None:
        """The store's sink: events wait for the writer (or the execution's end); a shared
        store's script events are written by `_share` instead."""
        if self.shared:
            events = [e for e in events if e.source != "script"]
            if not events:
                return
        with self._pending_lock:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.extend(events)
            self._start_writer()
            if len(self._pending) >= FLUSH_COUNT and not self._wake.is_set():
                self._wake.set()  # (once: the writer looks at the count after clearing it)

    def _start_writer(self) -> None:
        if self._writer is None and not self._closed:
            self._writer = threading.Thread(
                target=self._write_loop, name="llmspell-events", daemon=True
            )
            self._writer.start()

    def _write_loop(self) -> None:
        last_dispatch = 0.0
        while not self._closed:
            # Polling: a batch queued meanwhile is dispatched at the next look, unasked. The
            # queue sets _dispatch_due before it reads _polling, and this loop clears _polling
            # before it reads _dispatch_due, so a batch is never left to the long wait.
            polling = self._polling or self._dispatch_due
            woken = self._wake.wait(DISPATCH_SECONDS if polling else FLUSH_SECONDS)
            self._wake.clear()
            if self._dispatch_due:  # the first of a batch of system events was queued:
                if not self._polling:
                    self._wake.wait(DISPATCH_SECONDS)  # let the batch fill, then dispatch it
                    self._wake.clear()
                self.dispatch()
                last_dispatch = time.monotonic()
                self._polling = True
            elif self._polling and time.monotonic() - last_dispatch >= FLUSH_SECONDS:
                self._polling = False  # quiet for a second: the next batch wakes the writer
            pending = len(self._pending)
            if pending and (
                (not woken and not polling)
                or self._closed
                or pending >= FLUSH_COUNT
                or time.monotonic() - self._pending_since >= FLUSH_SECONDS
            ):
                self.flush()

    def close(self) -> None:
        """Write what is pending and stop the writer (the kernel stops)."""
        self._closed = True
        self._wake.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=5)
        self.flush()
        if self._tracer is not None:
            self._tracer.shutdown()

    def flush(self) -> None:
        """Dispatch queued system events, then write pending events to the state database
        (a failure is logged, never raised)."""
        self.dispatch()
        with self._write_lock:
            with self._pending_lock:
                pending = self._pending
                if not pending:
                    return
                self._pending = []
            self._write(pending)

    def _write(self, pending: list[Event]) -> None:
        try:
            from llmspell_kernel.events.store import EventStore

            store = EventStore(self.data.database(), self.data.tenant)
            store.add(pending, self.kernel_id)
            now = time.monotonic()
            if now - self._last_purge >= PURGE_SECONDS or not self._last_purge:
                self._last_purge = now
                store.purge(self.settings.retention_days)
        except Exception as exc:  # a store that cannot be written must not fail the script
            log.warning("could not store %d events: %s", len(pending), exc)
