"""The kernel's handlers through KernelClient over the in-process transport."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from llmspell_kernel.api import EmbeddedKernel, start_embedded_kernel
from llmspell_kernel.client import ErrorOutput, KernelClient, Result, Stream


@pytest.fixture
def kernel() -> Iterator[EmbeddedKernel]:
    with start_embedded_kernel() as embedded:
        yield embedded


@pytest.fixture
def client(kernel: EmbeddedKernel) -> KernelClient:
    return kernel.client()


def test_execute_streams_then_result_and_reply(client):
    execution = client.execute('print("hi") return {a=1, b={2,3}}')
    outputs = list(execution)
    assert outputs[0] == Stream("stdout", "hi\n")
    assert isinstance(outputs[1], Result)
    assert outputs[1].data["application/json"] == {"a": 1, "b": [2, 3]}
    assert outputs[1].data["text/plain"] == "{a = 1, b = {2, 3}}"
    assert execution.reply["status"] == "ok"
    assert execution.reply["execution_count"] == 1


def test_stream_arrives_before_execution_ends(client):
    execution = client.execute(
        'print("early") local t = os.clock() while os.clock() - t < 0.3 do end'
    )
    started = time.monotonic()
    first = next(execution)
    assert first == Stream("stdout", "early\n")
    assert time.monotonic() - started < 0.25
    list(execution)


def test_error_output_and_reply(client):
    execution = client.execute('error("boom")')
    outputs = list(execution)
    assert isinstance(outputs[0], ErrorOutput)
    assert outputs[0].evalue == "cell[1]:1: boom"
    assert execution.reply["status"] == "error"
    assert execution.reply["ename"] == "LuaError"


def test_trailing_semicolon_suppresses_value(client):
    assert list(client.execute("1 + 1;")) == []
    assert [o.text for o in client.execute("1 + 1")] == ["2"]


def test_globals_persist_between_executions(client):
    list(client.execute("counter = 41"))
    assert [o.text for o in client.execute("counter + 1")] == ["42"]


def test_silent_execution_publishes_nothing_and_keeps_count(client):
    list(client.execute("return 1"))
    execution = client.execute('print("x") return 2', silent=True)
    assert list(execution) == []
    assert execution.reply["execution_count"] == 1


def test_output_listeners_see_every_cell_also_silent_ones(kernel, client):
    # run_cell hands what a cell prints to the kernel's output listeners (the session record is
    # one) instead of replacing the engine's output callback.
    heard: list[tuple[str, str]] = []
    kernel.kernel.output_listeners.append(lambda name, text: heard.append((name, text)))
    output_before = kernel.kernel.engine._output
    list(client.execute('print("seen")'))
    execution = client.execute('io.stderr:write("quiet")', silent=True)
    assert list(execution) == []
    assert ("stdout", "seen\n") in heard
    assert ("stderr", "quiet") in heard
    assert kernel.kernel.engine._output is output_before


def test_user_expressions(client):
    execution = client.execute("y = 5", user_expressions={"double": "y * 2", "bad": "nope()"})
    list(execution)
    expressions = execution.reply["user_expressions"]
    assert expressions["double"]["data"]["text/plain"] == "10"
    assert expressions["bad"]["status"] == "error"


def test_stop_on_error_aborts_queued_requests(client):
    first = client.execute("error('first')")
    second = client.execute("x_after = 1")
    list(first)
    list(second)
    assert second.reply["status"] == "aborted"


def test_interrupt_from_another_client(kernel, client):
    execution = client.execute("while true do end")
    timer = threading.Timer(0.1, kernel.client().interrupt)
    started = time.monotonic()
    timer.start()
    outputs = list(execution)
    assert time.monotonic() - started < 0.6
    assert execution.reply["ename"] == "Interrupted"
    assert isinstance(outputs[0], ErrorOutput)
    assert [o.text for o in client.execute("return 3")] == ["3"]


def test_is_complete(client):
    assert client.is_complete("function f()") == {"status": "incomplete", "indent": "  "}
    assert client.is_complete("x = 1")["status"] == "complete"
    assert client.is_complete("x = = 1")["status"] == "invalid"
    assert client.is_complete("1 + 1")["status"] == "complete"


def test_complete_globals_fields_and_methods(client):
    reply = client.complete("string.fo")
    assert reply["matches"] == ["string.format"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (0, 9)
    assert client.complete("JSON.")["matches"] == ["JSON.null", "JSON.parse", "JSON.stringify"]
    list(client.execute('s = "abc"'))
    assert "s:upper" in client.complete("s:up")["matches"]
    assert "print" in client.complete("pri")["matches"]
    assert "function" in client.complete("fun")["matches"]
    mid = client.complete("x = string.fo + 1", cursor_pos=13)
    assert mid["matches"] == ["string.format"] and mid["cursor_start"] == 4


def test_inspect(client):
    reply = client.inspect("string.format")
    assert reply["found"] and "Format values" in reply["data"]["text/plain"]
    list(client.execute("function greet(name, greeting) end"))
    assert "greet(name, greeting)" in client.inspect("greet")["data"]["text/plain"]
    assert client.inspect("nothing_here")["found"] is False


def test_kernel_info(client):
    info = client.kernel_info()
    assert info["language_info"]["name"] == "lua"
    assert info["implementation"] == "llmspell"
    assert info["protocol_version"] == "5.3"


def test_history_tail_range_search(client):
    for code in ("x1 = 1", "x2 = 2", "y = 3"):
        list(client.execute(code))
    assert [h[2] for h in client.history(hist_access_type="tail", n=2)["history"]] == [
        "x2 = 2",
        "y = 3",
    ]
    assert [h[1] for h in client.history(hist_access_type="range", start=1, stop=3)["history"]] == [
        1,
        2,
    ]
    assert [h[2] for h in client.history(hist_access_type="search", pattern="x*")["history"]] == [
        "x1 = 1",
        "x2 = 2",
    ]


def test_input_request_round_trip(kernel):
    client = kernel.client(input_handler=lambda prompt, password: f"answer to {prompt}")
    outputs = list(client.execute('local v = input("q?") print(v)'))
    assert outputs == [Stream("stdout", "answer to q?\n")]
    assert list(client.execute("return io.read()", allow_stdin=False)) == []


def test_two_clients_share_globals_and_see_each_others_output(kernel):
    seen: list[str] = []
    first = kernel.client()
    second = kernel.client(on_foreign=lambda channel, msg: seen.append(msg["header"]["msg_type"]))
    list(first.execute("shared = 7"))
    assert [o.text for o in second.execute("shared")] == ["7"]
    assert "execute_input" in seen


def test_restart_clears_globals(client):
    list(client.execute("gone = 1"))
    assert client.shutdown(restart=True)["restart"] is True
    assert list(client.execute("return gone")) == []


def test_status_counts_clients_that_sent_requests_not_probes(kernel):
    watcher = kernel.client()

    def clients() -> int:
        return watcher.request("control", "llmspell_status_request", {})["content"]["clients"]

    assert clients() == 0
    prober = kernel.client()
    prober.request("control", "kernel_info_request", {})
    assert clients() == 0
    list(prober.execute("return 1"))
    assert clients() == 1
    list(kernel.client().execute("return 2"))
    assert clients() == 2


def test_is_complete_and_completion_edge_cases(client):
    assert client.is_complete("1 +")["status"] == "incomplete"
    assert client.is_complete("f(")["status"] == "incomplete"
    assert client.is_complete("foo bar")["status"] == "invalid"
    assert client.complete('("a"):re')["matches"] == [":rep", ":reverse"]
    assert client.complete("f():re")["matches"] == []


def test_several_returned_values_are_all_shown_and_the_first_is_the_value(client):
    [result] = list(client.execute('return 1, "two", nil'))
    assert result.text == '1\t"two"\tnil'
    assert result.data["application/json"] == 1
    assert result.metadata == {"llmspell": {"count": 3}}
    [single] = list(client.execute("return 1"))
    assert single.text == "1" and single.metadata == {}


def test_consecutive_writes_are_coalesced_and_stay_in_order(client):
    """Issue 12 item 8: one `stream` message per print made 200k lines 25x slower than lua5.4;
    writes are batched per stream, in order, and flushed before the error of the execution."""
    execution = client.execute(
        'for i = 1, 2000 do print(i) end io.stderr:write("e\\n") print("after") error("boom")'
    )
    outputs = list(execution)
    kinds = [(o.name if isinstance(o, Stream) else type(o).__name__) for o in outputs]
    first_stderr = kinds.index("stderr")
    assert 1 <= first_stderr <= 5, kinds  # 2000 prints, a handful of messages
    assert "".join(o.text for o in outputs[:first_stderr]) == "".join(
        f"{i}\n" for i in range(1, 2001)
    )
    assert outputs[first_stderr : first_stderr + 2] == [
        Stream("stderr", "e\n"),
        Stream("stdout", "after\n"),
    ]
    assert isinstance(outputs[-1], ErrorOutput) and len(outputs) == first_stderr + 3


def test_batched_output_still_applies_back_pressure(kernel):
    """A client that does not read holds the printing script back (bounded memory)."""
    from llmspell_kernel.transport.inprocess import MAX_PENDING_STREAM_BYTES

    client = kernel.client()
    transport = client.transport
    client.execute('local s = string.rep("x", 100000) for i = 1, 400 do print(s) end')
    deadline = time.monotonic() + 30
    while transport._pending <= MAX_PENDING_STREAM_BYTES and time.monotonic() < deadline:
        time.sleep(0.01)
    assert transport._pending > MAX_PENDING_STREAM_BYTES
    time.sleep(0.2)  # an unbounded writer would run ahead now (40 MB in all)
    assert transport._pending < MAX_PENDING_STREAM_BYTES + 2 * 100_001
    assert client.execute("return 1").wait()  # reads the first execution's output too
    assert transport._pending == 0


def test_a_fault_outside_any_request_is_logged_at_growing_intervals_and_backs_off(
    monkeypatch,
):
    # A step of the executor that keeps failing before it takes a request (here the sessions'
    # expiry check, 8 times in a row) must not spin a core writing a traceback per turn: the
    # 1st, 2nd, 4th and 8th are logged, the loop waits between turns, and the kernel answers
    # once the fault is gone.
    from llmspell_kernel.kernel import server

    real = server.expire_sessions_when_due
    calls: list[float] = []
    eighth = threading.Event()

    def failing(kernel: object) -> None:
        calls.append(time.monotonic())
        if len(calls) <= 8:
            if len(calls) == 8:
                eighth.set()
            raise RuntimeError("store unavailable")
        real(kernel)  # type: ignore[arg-type]

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("llmspell.kernel")
    log.addHandler(handler)
    try:
        with start_embedded_kernel() as embedded:
            monkeypatch.setattr(server, "expire_sessions_when_due", failing)
            assert eighth.wait(30)
            execution = embedded.client().execute("return 1")
            assert [o.text for o in execution] == ["1"]
    finally:
        log.removeHandler(handler)
    logged = [r for r in records if "recovered from an error" in r.getMessage()]
    assert [r.getMessage().split("request")[1] for r in logged] == [
        "",
        " (2 in a row)",
        " (4 in a row)",
        " (8 in a row)",
    ]
    assert calls[8] - calls[1] >= 0.004 + 0.008 + 0.016 + 0.032 + 0.064 + 0.128 + 0.256
