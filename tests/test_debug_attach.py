"""Debug events on a shared kernel reach the debug session (the client's `on_foreign`, which
the DAP attach bridge relays), never the pending debug_request they are parented by."""

from __future__ import annotations

import threading
import time
from typing import Any

from llmspell_kernel.api import start_embedded_kernel

CODE = "local n = 0\nfor i = 1, 3 do\n  n = n + i\nend\nreturn n\n"


class Events:
    """The debug_event names an editor-side client sees through on_foreign."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, _channel: str, msg: dict[str, Any]) -> None:
        if msg["header"]["msg_type"] == "debug_event":
            with self._lock:
                self.names.append(str(msg["content"].get("event")))

    def count(self, name: str) -> int:
        with self._lock:
            return self.names.count(name)


def _wait(client: Any, events: Events, name: str, count: int, timeout: float = 10.0) -> None:
    """Read the client's IOPub (as the bridge's pump does) until `count` `name` events."""
    deadline = time.monotonic() + timeout
    while events.count(name) < count:
        assert time.monotonic() < deadline, f"{name} #{count} never arrived: {events.names}"
        client._next_for("test-pump", 0.05)


def test_events_parented_by_a_debug_request_reach_the_session_not_the_request():
    # The kernel publishes `continued` before it replies to the `next`/`continue` asking for
    # it, and over the in-process queue it arrives first: the request used to swallow it
    # (and, over the network, sometimes the `stopped` that overtook the reply).
    with start_embedded_kernel() as kernel:
        events = Events()
        editor = kernel.client(on_foreign=events)
        runner = kernel.client()
        editor.debug_request("initialize", {"adapterID": "test", "linesStartAt1": True})
        editor.debug_request("attach", {})
        path = editor.debug_request("dumpCell", {"code": CODE})["body"]["sourcePath"]
        placed = editor.debug_request(
            "setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": 3}]}
        )
        assert placed["body"]["breakpoints"][0]["verified"]
        editor.debug_request("configurationDone", {})
        execution = runner.execute(CODE)
        _wait(editor, events, "stopped", 1)
        for step in range(2, 5):
            reply = editor.debug_request("next", {"threadId": 1})
            assert reply["success"], reply
            _wait(editor, events, "continued", step - 1)
            _wait(editor, events, "stopped", step)
        editor.debug_request("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
        editor.debug_request("continue", {"threadId": 1})
        _wait(editor, events, "continued", 4)
        execution.wait()
        assert execution.reply["status"] == "ok"
