"""The in-process event bus of one engine: subscriptions with bounded queues (the oldest
event is dropped when one is full), blocking receive with a timeout, statistics, and sinks
that see every published event (the store, the kernel's IOPub, tracing)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable

from llmspell_kernel.events.model import Event, glob_matcher
from llmspell_kernel.logs import get_logger

log = get_logger("llmspell.events")  # logging itself loads on the first message

Sink = Callable[[Event], None]
BatchSink = Callable[[list[Event]], None]


class Subscription:
    """One `Event.subscribe`: its pattern and the events queued for it. (A plain class: the
    `dataclasses` import alone was a quarter of a script's first tool call, which builds the bus.)"""

    __slots__ = ("id", "pattern", "language", "capacity", "queue", "dropped", "_matches", "_regex")

    def __init__(self, id: str, pattern: str, language: str, capacity: int) -> None:
        self.id = id
        self.pattern = pattern
        self.language = language
        self.capacity = capacity
        self.queue: deque[Event] = deque()
        self.dropped = 0
        self._matches: dict[str, bool] = {}
        self._regex = glob_matcher(pattern)

    def __repr__(self) -> str:
        return f"Subscription(id={self.id!r}, pattern={self.pattern!r}, queued={len(self.queue)})"

    def matches(self, event_type: str) -> bool:
        known = self._matches.get(event_type)
        if known is None:
            if len(self._matches) > 4096:
                self._matches.clear()
            known = self._matches[event_type] = self._regex.match(event_type) is not None
        return known

    def info(self) -> dict[str, str]:
        return {"id": self.id, "pattern": self.pattern, "language": self.language}


class EventBus:
    """Thread-safe publish/subscribe; `receive` may block, everything else is quick."""

    def __init__(self, buffer_size: int = 10000) -> None:
        self.buffer_size = max(1, int(buffer_size))
        self._subscriptions: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._waiting = 0  # receivers blocked in _arrived.wait (a publish wakes only those)
        self._sequence = itertools.count(1)
        self._ids = itertools.count(1)
        self.published = 0
        self.delivered = 0
        self.dropped = 0
        self.sinks: list[Sink] = []  # called with each event
        self.batch_sinks: list[BatchSink] = []  # called with the events of one publish

    def subscribe(self, pattern: str, language: str = "lua") -> Subscription:
        """A new subscription: it sees events published from now on whose type matches."""
        subscription = Subscription(f"sub_{next(self._ids)}", pattern, language, self.buffer_size)
        with self._lock:
            self._subscriptions[subscription.id] = subscription
        return subscription

    def unsubscribe(self, subscription_id: str) -> bool:
        with self._lock:
            found = self._subscriptions.pop(subscription_id, None)
            self._arrived.notify_all()
        return found is not None

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions.values())

    def publish(self, event: Event) -> Event:
        """Number the event, queue it for every matching subscription, then tell the sinks."""
        self.publish_many([event])
        return event

    def publish_many(self, events: list[Event]) -> None:
        """`publish` for each event in turn, with one lock and one wake-up of receivers."""
        with self._lock:
            subscriptions = list(self._subscriptions.values())
            sequence = self._sequence
            published = len(events)
            for event in events:
                runs = event.folded  # hook runs folded into it (the hub's dispatch): first
                if runs is not None:
                    event.folded = [(next(sequence), at, data) for at, data in runs]
                    published += len(runs)
                event.sequence = next(sequence)
            self._enqueue(subscriptions, events)
            self.published += published
        for batch_sink in self.batch_sinks:
            try:
                batch_sink(events)
            except Exception:  # one failing sink must neither lose the event nor fail the script
                log.exception("an event sink failed")
        for sink in self.sinks:
            for event in events:
                try:
                    sink(event)
                except Exception:
                    log.exception("an event sink failed")

    def watched(self) -> bool:
        """Whether anything but the batch sinks sees events (a subscription, a sink)."""
        return bool(self._subscriptions or self.sinks)

    def deliver(self, events: list[Event]) -> None:
        """Queue events published elsewhere (another kernel on the shared store) for the
        matching subscriptions only: they keep their numbers and reach no sink."""
        with self._lock:
            self._enqueue(list(self._subscriptions.values()), events)

    def _enqueue(self, subscriptions: list[Subscription], events: list[Event]) -> None:
        """(Under the lock.) Each event to every subscription whose pattern matches."""
        for event in events:
            for subscription in subscriptions:
                if not subscription.matches(event.event_type):
                    continue
                queue = subscription.queue
                if len(queue) >= subscription.capacity:
                    queue.popleft()
                    subscription.dropped += 1
                    self.dropped += 1
                queue.append(event)
        if subscriptions and self._waiting:
            self._arrived.notify_all()

    def receive(
        self,
        subscription_id: str,
        timeout: float,
        stop: Callable[[], bool] = lambda: False,
    ) -> Event | None:
        """The oldest queued event, waiting up to `timeout` seconds (0: poll); None on timeout,
        when `stop()` turns true (an interrupt: call `wake()`) or the subscription goes.
        KeyError for an unknown subscription."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            subscription = self._subscriptions[subscription_id]
            while True:
                now = time.time()
                while subscription.queue:
                    event = subscription.queue.popleft()
                    if not event.expired(now):
                        self.delivered += 1
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or stop() or subscription_id not in self._subscriptions:
                    return None
                self._waiting += 1
                try:
                    self._arrived.wait(remaining)
                finally:
                    self._waiting -= 1

    def wake(self) -> None:
        """Make waiting receivers look at `stop()` again."""
        with self._lock:
            self._arrived.notify_all()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "published": self.published,
                "delivered": self.delivered,
                "dropped": self.dropped,
                "active_subscriptions": len(self._subscriptions),
            }
