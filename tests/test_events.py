"""The Event global and bus (lua-api.md 2.5), system events, the correlation id of a request,
persistence in the state database and IOPub delivery: real Lua, real SQLite files in
tmp_path, the embedded kernel and the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from llmspell_kernel.events.settings import EventSettings
from llmspell_kernel.events.store import EventStore
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings
from tests import scripted_provider
from tests.llm_server import Reply, ScriptedLLMServer, openai_text, openai_tool_call

server = scripted_provider.server  # the fixture


def make_engine(**events: Any) -> LuaEngine:
    return LuaEngine(
        EngineSettings(data=DataSettings(backend="memory"), events=EventSettings(**events))
    )


def run(engine: LuaEngine, code: str) -> Any:
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.status == "ok", outcome.evalue
    return outcome.value


def fails(engine: LuaEngine, code: str) -> str:
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.status == "error", outcome.value
    return outcome.evalue


def llmspell(*args: str, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmspell_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def test_the_contract_example_round_trips() -> None:
    engine = make_engine()
    event = run(
        engine,
        """
        local sub = Event.subscribe("order.*")
        local id = Event.publish("order.created", {id = 7}, {correlation_id = "c-1"})
        local ev = Event.receive(sub, 100)
        assert(ev.id == id)
        return ev""",
    )
    assert event["event_type"] == "order.created" and event["data"] == {"id": 7}
    assert event["correlation_id"] == "c-1" and event["language"] == "lua"
    assert event["sequence"] == 1 and event["timestamp"].endswith("Z")
    assert event["metadata"] == {"source": "script", "tags": {}, "priority": "normal"}  # {}: Lua
    assert "ttl" not in event


def test_globs_match_any_run_with_star_and_one_character_with_question_mark() -> None:
    engine = make_engine()
    got = run(
        engine,
        """
        local subs = {star = Event.subscribe("order.*"), all = Event.subscribe("*"),
                      one = Event.subscribe("order.?"), mid = Event.subscribe("*.created")}
        for _, t in ipairs({"order.created", "order.x", "order.item.created", "user.created", "orders"}) do
          Event.publish(t, {})
        end
        local out = {}
        for name, sub in pairs(subs) do
          local seen = {}
          while true do
            local ev = Event.receive(sub, 0)
            if not ev then break end
            seen[#seen + 1] = ev.event_type
          end
          out[name] = seen
        end
        return out""",
    )
    assert got["star"] == ["order.created", "order.x", "order.item.created"]
    assert got["all"] == [
        "order.created",
        "order.x",
        "order.item.created",
        "user.created",
        "orders",
    ]
    assert got["one"] == ["order.x"]
    assert got["mid"] == ["order.created", "order.item.created", "user.created"]


def test_a_subscription_sees_only_later_events_and_receive_times_out_with_nil() -> None:
    engine = make_engine()
    got = run(
        engine,
        """
        Event.publish("early", {})
        local sub = Event.subscribe("*")
        local polled = Event.receive(sub, 0)
        local t0 = os.clock()
        local waited = Event.receive(sub, 50)
        Event.publish("late", {n = 1})
        return {polled == nil, waited == nil, Event.receive(sub).event_type}""",
    )
    assert got == [True, True, "late"]
    assert "unknown subscription 'nope'" in fails(engine, 'Event.receive("nope", 0)')
    assert "Event.subscribe: pattern must be a non-empty string" in fails(
        engine, "Event.subscribe(1)"
    )
    assert "Event.publish: event_type" in fails(engine, "Event.publish(nil)")
    assert "unknown option 'colour'" in fails(engine, 'Event.publish("x", {}, {colour = 1})')


def test_unsubscribe_list_and_stats() -> None:
    engine = make_engine()
    got = run(
        engine,
        """
        local a = Event.subscribe("a.*")
        local b = Event.subscribe("b.*", {language = "python"})
        Event.publish("a.1", {}) Event.publish("a.2", {}) Event.publish("c", {})
        Event.receive(a, 0)
        local listed = Event.list_subscriptions()
        local first, again = Event.unsubscribe(b), Event.unsubscribe(b)
        return {listed = listed, first = first, again = again, stats = Event.get_stats()}""",
    )
    assert got["listed"] == [
        {"id": "sub_1", "pattern": "a.*", "language": "lua"},
        {"id": "sub_2", "pattern": "b.*", "language": "python"},
    ]
    assert (got["first"], got["again"]) == (True, False)
    assert got["stats"] == {
        "published": 3,
        "delivered": 1,
        "dropped": 0,
        "active_subscriptions": 1,
    }


def test_a_full_queue_drops_the_oldest_event() -> None:
    engine = make_engine(buffer_size=3)
    got = run(
        engine,
        """
        local sub = Event.subscribe("n")
        for i = 1, 5 do Event.publish("n", {i = i}) end
        local seen = {}
        for _ = 1, 4 do local ev = Event.receive(sub, 0); seen[#seen + 1] = ev and ev.data.i end
        return {seen, Event.get_stats().dropped}""",
    )
    assert got == [[3, 4, 5], 2]


def test_expired_events_are_not_delivered() -> None:
    engine = make_engine()
    got = run(
        engine,
        """
        local sub = Event.subscribe("t")
        Event.publish("t", {n = 1}, {ttl_seconds = 0.001})
        Event.publish("t", {n = 2}, {ttl_seconds = 60})
        Event.receive(Event.subscribe("nothing"), 30) -- a 30 ms wait
        local ev = Event.receive(sub, 0)
        return {ev.data.n, ev.ttl}""",
    )
    assert got == [2, 60]


def test_receive_is_interrupted_at_once() -> None:
    engine = make_engine()
    outcome: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcome.append(
            engine.execute('local s = Event.subscribe("never") return Event.receive(s, 120000)')
        )
    )
    started = time.monotonic()
    worker.start()
    deadline = time.monotonic() + 30
    while not engine._running and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.interrupt()
    worker.join(60)
    assert not worker.is_alive()
    assert outcome[0].ename == "Interrupted"
    assert time.monotonic() - started < 60


def test_publish_inherits_the_execution_id_inside_hooks_only() -> None:
    from llmspell_kernel.lua.globals.event import begin_execution

    engine = make_engine()
    begin_execution(engine, "req-42")
    got = run(
        engine,
        """
        local sub = Event.subscribe("mine.*")
        Tool.register({name = "noop", description = "", fn = function() return "ok" end})
        Hook.register("BeforeToolExecution", function(ctx)
          Event.publish("mine.in_hook", {})
          inside = ctx.correlation_id
        end)
        Event.publish("mine.top", {})
        Tool.invoke("noop", {})
        local top, hooked = Event.receive(sub, 0), Event.receive(sub, 0)
        return {top.correlation_id, hooked.correlation_id, inside}""",
    )
    top, hooked, inside = got
    assert hooked == inside == "req-42"
    assert top != "req-42" and len(top) == 36  # a fresh UUID outside hooks


def test_system_events_follow_enabled_and_filters() -> None:
    code = """
        local sub = Event.subscribe("*")
        Tool.register({name = "noop", description = "", fn = function() return "ok" end})
        Tool.invoke("noop", {})
        pcall(Tool.invoke, "missing", {})
        local seen = {}
        while true do
          local ev = Event.receive(sub, 0)
          if not ev then break end
          seen[#seen + 1] = ev.event_type .. ":" .. tostring(ev.data.name)
        end
        return seen"""
    assert run(make_engine(), code) == [
        "tool.started:noop",
        "tool.completed:noop",
        "tool.started:missing",
        "tool.failed:missing",
    ]
    assert run(make_engine(filters=("*.failed",)), code) == ["tool.failed:missing"]
    assert run(make_engine(enabled=False), code) == {}  # an empty table


def test_builtin_tool_events_are_the_same_without_tool_hooks() -> None:
    """A built-in tool called with no tool hooks takes one crossing (Python queues its events);
    with a hook it takes tool.lua's observed path: the same events, data, ids and errors."""
    from llmspell_kernel.events.store import _encode
    from llmspell_kernel.lua.globals.event import begin_execution

    code = """
        local sub = Event.subscribe("tool.*") %s
        local bad = Tool.invoke("base64_encoder", {operation = "decode", input = "%%%%%%"})
        Tool.invoke("base64_encoder", {operation = "encode", input = "hi"})
        local _, err = pcall(Tool.invoke, "base64_encoder", {operation = "nope"})
        local seen = {err, bad.success}
        durations = {}
        while true do
          local ev = Event.receive(sub, 0)
          if not ev then break end
          local d = ev.data
          seen[#seen + 1] = {ev.event_type, ev.correlation_id, d.name, tostring(d.success),
            tostring(d.error), type(d.duration_ms)}
          durations[#durations + 1] = d.duration_ms
        end
        return seen"""
    outcomes = []
    for hook in ("", 'Hook.register("AfterToolExecution", function() end)'):
        engine = make_engine()
        begin_execution(engine, "req-7")
        started = time.perf_counter()
        outcomes.append(run(engine, code % hook))
        elapsed_ms = (time.perf_counter() - started) * 1000
        durations = run(engine, "return durations")
        assert len(durations) == 3 and all(0 <= d <= elapsed_ms for d in durations)
        engine.events.flush()  # the stored data: the text the store's encoder makes
        rows = engine.data.database().query("SELECT event_type, data FROM events", ())
        stored = [(kind, json.loads(text)) for kind, text in rows]
        assert [text for _, text in rows] == [_encode(data) for _, data in stored]
        for _, data in stored:
            data.pop("duration_ms", None)
        outcomes.append(stored)
        failure = fails(engine, 'Tool.invoke("base64_encoder", {operation = "nope"})')
        assert failure.startswith("main.lua:1: Tool 'base64_encoder' execution failed: ")
        outcomes.append(failure)
    assert outcomes[0] == outcomes[3]
    assert outcomes[1] == outcomes[4]
    assert outcomes[2] == outcomes[5] and len(outcomes[1]) == 6
    seen = outcomes[0]
    error = (
        "Tool 'base64_encoder' execution failed: parameter 'operation' must be one of encode,"
        " decode, got 'nope'"
    )
    assert seen[0] == error and seen[1] is False
    assert [tuple(row) for row in seen[2:]] == [
        ("tool.started", "req-7", "base64_encoder", "nil", "nil", "nil"),
        ("tool.completed", "req-7", "base64_encoder", "false", "nil", "number"),
        ("tool.started", "req-7", "base64_encoder", "nil", "nil", "nil"),
        ("tool.completed", "req-7", "base64_encoder", "true", "nil", "number"),
        ("tool.started", "req-7", "base64_encoder", "nil", "nil", "nil"),
        ("tool.failed", "req-7", "base64_encoder", "nil", error, "number"),
    ]


def test_a_tool_result_over_the_memory_limit_is_reported_alike_with_and_without_hooks() -> None:
    """The bridge refuses a result the memory limit cannot hold: tool.failed either way."""
    code = """%s
        local sub = Event.subscribe("tool.*")
        keep = {} -- 8 MB: room for the 4 kB input, none for the 5 MB result (twice: text, result)
        for i = 1, 8 do keep[i] = string.rep("a", 1000000) .. i end
        local ok, err = pcall(Tool.invoke, "text_manipulator", {operation = "replace",
          input = string.rep("a", 4000), options = {from = "a", to = string.rep("b", 1250)}})
        keep = nil
        collectgarbage()
        local seen = {tostring(ok), err}
        while true do
          local ev = Event.receive(sub, 0)
          if not ev then break end
          seen[#seen + 1] = ev.event_type .. ":" .. tostring(ev.data.error)
        end
        return table.concat(seen, " | ")"""
    for hook in ("", 'Hook.register("AfterToolExecution", function() end)'):
        engine = LuaEngine(
            EngineSettings(max_memory_bytes=16 * 1024 * 1024, data=DataSettings(backend="memory"))
        )
        assert run(engine, code % hook) == (
            "false | not enough memory | tool.started:nil | tool.failed:not enough memory"
        )


def test_agent_events_and_a_failed_agent(server: ScriptedLLMServer) -> None:
    server.script(Reply(body=openai_text("hi")), Reply(400, {"error": {"message": "bad"}}))
    engine = make_engine()
    got = run(
        engine,
        """
        local sub = Event.subscribe("agent.*")
        local a = Agent.builder():name("helper"):model("openai/gpt-4o-mini"):build()
        a:execute("hello")
        local ok, err = pcall(a.execute, a, "again")
        local seen = {}
        while true do
          local ev = Event.receive(sub, 0)
          if not ev then break end
          seen[#seen + 1] = {ev.event_type, ev.data.name, ev.data.duration_ms ~= nil, ev.data.error ~= nil}
        end
        return {seen, err}""",
    )
    events, error = got
    assert events == [
        ["agent.started", "helper", False, False],
        ["agent.completed", "helper", True, False],
        ["agent.started", "helper", False, False],
        ["agent.failed", "helper", True, True],
    ]
    assert "HTTP 400" in error and not error.startswith("[string")


def test_one_correlation_id_per_request_in_events_usage_and_hooks(
    tmp_path: Path, server: ScriptedLLMServer
) -> None:
    """An embedded kernel: the request's msg_id is the id of everything it caused."""
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.kernel.server import KernelSettings

    server.script(
        Reply(body=openai_tool_call("noop", {})),
        Reply(body=openai_text("done")),
    )
    data = DataSettings(path=str(tmp_path / "state.db"))
    settings = KernelSettings(engine=EngineSettings(data=data))
    with start_embedded_kernel(settings) as kernel:
        client = kernel.client()
        execution = client.execute(
            """
            Tool.register({name = "noop", description = "", fn = function() return "ok" end})
            Hook.register("BeforeToolExecution", function(ctx) hook_id = ctx.correlation_id end)
            local a = Agent.builder():name("helper"):model("openai/gpt-4o-mini")
              :allow_tool("noop"):build()
            local r = a:execute("use the tool")
            return {r.metadata.correlation_id, hook_id}"""
        )
        outputs = execution.wait()
        msg_id = execution.msg_id
        assert execution.reply["status"] == "ok", execution.reply
        assert [o.data["text/plain"] for o in outputs if hasattr(o, "data")] == [
            f'{{"{msg_id}", "{msg_id}"}}'
        ]
        engine = kernel.kernel.engine
        assert engine is not None
        calls = engine.data.usage().calls()
        assert [c["correlation_id"] for c in calls] == [msg_id, msg_id]
        rows = EventStore(engine.data.database(), engine.data.tenant).query(correlation_id=msg_id)
        client.close()
    assert [(r["event_type"], r["data"].get("name")) for r in rows] == [
        ("agent.started", "helper"),
        ("tool.started", "noop"),
        ("hook.executed", "lua_hook_1"),
        ("tool.completed", "noop"),
        ("agent.completed", "helper"),
    ]


def test_events_reach_other_clients_as_iopub_comm_messages(tmp_path: Path) -> None:
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.kernel.server import EVENTS_COMM_ID, KernelSettings

    data = DataSettings(backend="memory")
    with start_embedded_kernel(KernelSettings(engine=EngineSettings(data=data))) as kernel:
        watcher_seen: list[dict[str, Any]] = []
        watcher = kernel.client(on_foreign=lambda _c, msg: watcher_seen.append(msg))
        runner = kernel.client()
        execution = runner.execute('Event.publish("shown.live", {n = 1}) return 1')
        execution.wait()
        deadline = time.monotonic() + 30
        comms: list[dict[str, Any]] = []
        while not comms and time.monotonic() < deadline:
            watcher.poll_events(0.1)
            comms = [m for m in watcher_seen if m["header"]["msg_type"] == "comm_msg"]
        runner.close()
        watcher.close()
    assert comms, "the second client saw no event"
    content = comms[0]["content"]
    assert content["comm_id"] == EVENTS_COMM_ID
    assert content["data"]["llmspell_event"]["event_type"] == "shown.live"
    assert comms[0]["parent_header"]["msg_id"] == execution.msg_id


def test_an_embedded_kernel_publishes_events_only_while_another_client_shows_them() -> None:
    """The event messages of an in-process kernel reach its clients only while a client other
    than the one running the script wants other clients' traffic (`on_foreign`): the CLI's one
    client never reads its own, and building them was ~18 µs of CPU an event."""
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.kernel.server import KernelSettings

    data = DataSettings(backend="memory")
    with start_embedded_kernel(KernelSettings(engine=EngineSettings(data=data))) as kernel:
        raw = kernel.transport.connect()  # sees every IOPub message the kernel publishes
        runner = kernel.client()

        def published(code: str) -> list[str]:
            execution = runner.execute(code)
            execution.wait()
            kinds = []
            while (item := raw.recv(0.5)) is not None:
                if item[1]["parent_header"].get("msg_id") == execution.msg_id:
                    kinds.append(item[1]["header"]["msg_type"])
                    if kinds[-1] == "status" and item[1]["content"]["execution_state"] == "idle":
                        break
            return kinds

        alone = published('Event.publish("quiet.one", {}) Tool.invoke("uuid_generator", {})')
        assert "execute_input" in alone and "comm_msg" not in alone
        watcher = kernel.client(on_foreign=lambda _channel, _msg: None)
        assert "comm_msg" in published('Event.publish("shown.one", {})')
        watcher.on_foreign = None
        assert "comm_msg" not in published('Event.publish("quiet.two", {})')
        raw.wants_foreign = True  # a transport's own flag counts as well
        assert "comm_msg" in published('Event.publish("shown.two", {})')
        runner.close()
        watcher.close()
        raw.close()


def test_retention_purges_old_events(tmp_path: Path) -> None:
    from llmspell_kernel.events.model import Event
    from llmspell_kernel.state.database import SqliteDatabase

    db = SqliteDatabase(tmp_path / "state.db")
    store = EventStore(db, "default")
    now = time.time()
    store.add([Event("old", {}, "c", at=now - 10 * 86400), Event("new", {}, "c", at=now)])
    assert store.purge(0) == 0
    assert store.purge(5, now=now) == 1
    assert [r["event_type"] for r in store.query()] == ["new"]
    db.close()


# -- the CLI ---------------------------------------------------------------------------------------
SCRIPT = """
Tool.register({name = "noop", description = "", fn = function() return "ok" end})
Hook.register("AfterToolExecution", function() end)
Tool.invoke("noop", {})
Event.publish("script.note", {text = "hello"}, {correlation_id = "mine"})
"""


@pytest.mark.usefixtures("store_backend")
def test_llmspell_events_lists_filters_and_renders_json(tmp_path: Path) -> None:
    script = tmp_path / "s.lua"
    script.write_text(SCRIPT, encoding="utf-8")
    assert llmspell("run", str(script)).returncode == 0
    listed = llmspell("events", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    assert [e["event_type"] for e in events] == [
        "tool.started",
        "hook.executed",
        "tool.completed",
        "script.note",
    ]
    run_id = events[0]["correlation_id"]
    assert {e["correlation_id"] for e in events[:3]} == {run_id}
    only = json.loads(llmspell("events", "--type", "tool.*", "--output", "json").stdout)
    assert [e["event_type"] for e in only] == ["tool.started", "tool.completed"]
    mine = llmspell("events", "--correlation", "mine")
    assert mine.returncode == 0 and "script.note  mine" in mine.stdout
    assert "hello" in mine.stdout
    none = llmspell("events", "--since", "2999-01-01")
    assert none.returncode == 0 and "no events recorded matching" in none.stdout
    bad = llmspell("events", "--since", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --since must be")
    assert "Traceback" not in bad.stderr


@pytest.mark.usefixtures("store_backend")
def test_llmspell_events_follow_prints_new_events_until_interrupted(tmp_path: Path) -> None:
    assert llmspell("exec", 'Event.publish("before.follow", {})').returncode == 0
    follower = subprocess.Popen(
        [sys.executable, "-m", "llmspell_cli", "events", "--follow", "--output", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.extend(iter(follower.stdout.readline, "")),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("after.follow" in line for line in lines):
            llmspell("exec", 'Event.publish("after.follow", {n = 1})')
            time.sleep(0.5)
        assert any("after.follow" in line for line in lines), lines
        assert not any("before.follow" in line for line in lines)
        assert json.loads(lines[0])["event_type"] == "after.follow"
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(30)
    assert follower.returncode == 0, follower.stderr.read()  # type: ignore[union-attr]


# -- Python extensions -------------------------------------------------------------------------------
EXTENSION = """
import json, os

LOG = os.environ["HOOK_LOG"]


def _note(*parts):
    with open(LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(parts) + "\\n")


def setup(hooks):
    def pre(ctx):
        _note("pre", ctx.correlation_id, ctx.data["code"])
        if "forbidden" in ctx.data["code"]:
            return {"type": "cancel", "reason": "forbidden word"}
        return None

    hooks.register("PreExecute", pre, "high", name="audit-pre")
    hooks.register("PostExecute", lambda ctx: _note("post", ctx.data["status"]))
    hooks.register(
        "BeforeToolExecution",
        lambda ctx: {"type": "modified", "data": {"parameters": {"text": "from python"}}},
    )
"""


def test_python_hooks_from_the_configuration_see_every_execution(tmp_path: Path) -> None:
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "audit_ext.py").write_text(EXTENSION, encoding="utf-8")
    config = tmp_path / "llmspell.toml"
    config.write_text('[hooks]\npython = ["audit_ext:setup"]\n', encoding="utf-8")
    log = tmp_path / "hooks.log"
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "ext"), "HOOK_LOG": str(log)}
    code = (
        'Tool.register({name = "say", description = "", fn = function(p) return p.text end}) '
        'return Tool.invoke("say", {text = "from lua"}).text'
    )
    done = llmspell("-c", str(config), "exec", code, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "from python"
    notes = [json.loads(line) for line in log.read_text().splitlines()]
    assert notes[0][0] == "pre" and notes[0][2] == code and notes[0][1]
    assert notes[1] == ["post", "ok"]
    refused = llmspell("-c", str(config), "exec", "return 'forbidden'", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: Cancelled by hook: forbidden word"
    listed = llmspell("-c", str(config), "exec", "return Hook.list('PreExecute')", env=env)
    assert "Unknown hook point: PreExecute" in listed.stderr  # the kernel's points: Python only
    rows = llmspell("-c", str(config), "exec", "return #Hook.list({language = 'python'})", env=env)
    assert rows.stdout.strip() == "3"


def test_python_hooks_from_an_installed_packages_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "audit_ext-1.0.dist-info").mkdir(parents=True)
    (site / "audit_ext.py").write_text(EXTENSION, encoding="utf-8")
    (site / "audit_ext-1.0.dist-info" / "entry_points.txt").write_text(
        "[llmspell.hooks]\naudit = audit_ext:setup\n", encoding="utf-8"
    )
    log = tmp_path / "hooks.log"
    env = {**os.environ, "PYTHONPATH": str(site), "HOOK_LOG": str(log)}
    done = llmspell("exec", "return 40 + 2", env=env)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)[0] for line in log.read_text().splitlines()] == ["pre", "post"]
    off = tmp_path / "off.toml"
    off.write_text("[hooks]\nentry_points = false\n", encoding="utf-8")
    log.unlink()
    assert llmspell("-c", str(off), "exec", "return 1", env=env).returncode == 0
    assert not log.exists()


@pytest.mark.slow
def test_a_kernel_service_serves_its_events_and_streams_them_live(isolated_home: Path) -> None:
    from tests.processes import daemon_kernel

    with daemon_kernel("events") as port:
        address = f"localhost:{port}"
        first = llmspell("exec", 'Event.publish("svc.first", {n = 1})', "--connect", address)
        assert first.returncode == 0, first.stderr
        listed = llmspell("events", "--kernel", "events", "--type", "svc.*", "--output", "json")
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert [r["event_type"] for r in rows] == ["svc.first"]
        assert rows[0]["kernel_id"] == "events"
        follower = subprocess.Popen(
            [sys.executable, "-m", "llmspell_cli", "events", "--follow", "--kernel", "events"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            lines: list[str] = []
            reader = threading.Thread(
                target=lambda: lines.extend(iter(follower.stdout.readline, "")),  # type: ignore[union-attr]
                daemon=True,
            )
            reader.start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any("svc.live" in x for x in lines):
                code = 'Event.publish("svc.live", {name = "from another client"})'
                assert llmspell("exec", code, "--connect", address).returncode == 0
                time.sleep(0.3)
            assert any("svc.live" in x and "from another client" in x for x in lines), lines
        finally:
            follower.send_signal(signal.SIGINT)
            follower.wait(30)
        assert follower.returncode == 0, follower.stderr.read()  # type: ignore[union-attr]


def test_system_events_reach_another_thread_while_the_call_they_report_runs(
    server: ScriptedLLMServer,
) -> None:
    """System events are dispatched in batches; the writer thread dispatches a batch that
    waits (here: agent.started, then a provider that never answers), so a receiver on another
    thread (as IOPub is) sees it during the call. The receiver then interrupts the run."""
    server.script(Reply(hang=True))
    engine = make_engine()
    subscription = engine.events.bus.subscribe("agent.*")
    seen: list[str] = []

    def receiver() -> None:
        event = engine.events.bus.receive(subscription.id, 60.0)
        if event is not None:
            seen.append(event.event_type)
        engine.interrupt()

    thread = threading.Thread(target=receiver)
    thread.start()
    outcome = engine.execute(
        'Agent.builder():name("slow"):model("openai/gpt-4o-mini"):build():execute("hi")'
    )
    thread.join(timeout=60)
    assert seen == ["agent.started"]
    assert outcome.status != "ok"  # interrupted by the receiver, not answered


def test_system_events_of_a_busy_script_reach_another_thread_without_waking_the_writer(
    server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a dispatch the writer looks at the queue every DISPATCH_SECONDS by itself for a
    while (FLUSH_SECONDS; call after call then wakes no thread): a batch queued then still
    reaches a receiver while the call it reports runs."""
    from llmspell_kernel.events import hub

    monkeypatch.setattr(hub, "FLUSH_SECONDS", 60.0)  # however slow the machine, still looking
    server.script(Reply(body=openai_text("ok")), Reply(hang=True))
    engine = make_engine()
    events = engine.events
    engine.execute('Agent.builder():name("b"):model("openai/gpt-4o-mini"):build():execute("x")')
    deadline = time.monotonic() + 30
    while not events._polling and time.monotonic() < deadline:  # the writer's look-out
        time.sleep(0.005)
    assert events._polling
    subscription = events.bus.subscribe("agent.*")
    woken: list[bool] = []
    wake = events._wake.set

    def counted_wake() -> None:
        woken.append(True)
        wake()

    events._wake.set = counted_wake
    seen: list[str] = []

    def receiver() -> None:
        event = events.bus.receive(subscription.id, 60.0)
        if event is not None:
            seen.append(event.event_type)
        engine.interrupt()

    thread = threading.Thread(target=receiver)
    thread.start()
    outcome = engine.execute('Agent.get("b"):execute("hi")')
    thread.join(timeout=60)
    assert seen == ["agent.started"]
    assert outcome.status != "ok"  # interrupted by the receiver, not answered
    assert woken == []  # the writer found the batch by itself


def test_hook_executed_is_stored_as_the_encoder_writes_it_and_read_as_a_table() -> None:
    """hook.executed's data is formatted from its fields (no dict, no encoder): the stored
    text is what the store's JSON encoder makes of the same dict (quotes, non-ASCII, the
    component left out when nil), and a subscriber gets it as a table, in order."""
    from llmspell_kernel.events.store import _encode

    engine = make_engine()
    got = run(
        engine,
        """
        local sub = Event.subscribe("*")
        Hook.register("BeforeToolExecution", function() return "continue" end,
                      {name = 'say "é"\\n'})
        Tool.invoke("base64_encoder", {operation = "encode", input = "x"})
        local seen = {}
        while true do
          local ev = Event.receive(sub, 0)
          if ev == nil then break end
          seen[#seen + 1] = ev.event_type .. ":" .. tostring(ev.data.name)
          if ev.event_type == "hook.executed" then
            seen[#seen + 1] = ev.data.component .. ":" .. ev.data.action
          end
        end
        return seen""",
    )
    assert got == [
        "tool.started:base64_encoder",
        'hook.executed:say "é"\n',
        "base64_encoder:continue",
        "tool.completed:base64_encoder",
    ]
    engine.events.flush()
    db = engine.data.database()
    # stored folded into the row of the tool.completed after it (events/store.py)
    assert db.query("SELECT count(*) FROM events WHERE event_type = 'hook.executed'", ()) == [(0,)]
    (metadata,) = db.query("SELECT metadata FROM events WHERE event_type = 'tool.completed'", ())[0]
    rows = EventStore(db, engine.data.tenant).query()
    assert [r["event_type"] for r in rows] == ["tool.started", "hook.executed", "tool.completed"]
    data = rows[1]["data"]
    assert f'"data":{_encode(data)},' in metadata  # the text the encoder makes of it
    assert data["name"] == 'say "é"\n' and data["hook_point"] == "BeforeToolExecution"
    assert data["hook_id"].startswith("lua_hook_") and data["duration_ms"] >= 0
    assert rows[2]["metadata"] == rows[1]["metadata"] == rows[0]["metadata"]
    sequences = [r["sequence"] for r in rows]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)


def test_the_stores_encoder_writes_what_json_writes() -> None:
    """The events' rows are encoded by one C encoder built once (events/store.py); the text is
    exactly what json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str) makes."""
    from llmspell_kernel.events.store import _encode

    reference = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode
    values: list[Any] = [
        {"b": 1, "a": [1, 2.5, None, True, False], "c": {"z": {}, "y": []}},
        {"nan": float("nan"), "inf": float("inf"), "big": 10**30, "neg": -0.0},
        {"é": 'ü "q"\n\t\u2028', "emoji": "\U0001f600"},
        {"path": Path("/tmp/x"), "tuple": (1, "two")},
        {2: "int keys", 1: True},
        "plain text",
        [],
        {},
        7,
        1.5,
        None,
    ]
    for value in values:
        assert _encode(value) == reference(value), value
    with pytest.raises(TypeError):  # keys json cannot sort stay refused, as json refuses them
        _encode({1: "a", "b": 2})


def test_folded_hook_runs_read_back_as_their_own_rows_would() -> None:
    """Hook runs stored in the row of the system event after them read back as entries of
    their own, in order, with their ids, numbers and times, under every filter; runs that no
    system event of their correlation id follows keep rows of their own."""
    from llmspell_kernel.events.model import Event, system_event
    from llmspell_kernel.state.database import SqliteDatabase

    def hook(n: int, correlation_id: str, at: float) -> Event:
        data = {"name": f"h{n}", "hook_id": f"lua_hook_{n}", "action": "continue"}
        return system_event("hook.executed", data, correlation_id, at)

    t = 1_700_000_000.0
    events = [
        system_event("tool.started", {"name": "t"}, "c1", t),
        hook(1, "c1", t + 1),
        hook(2, "c1", t + 2),
        system_event("tool.completed", {"name": "t"}, "c1", t + 3),
        hook(3, "c1", t + 4),
        Event("script.note", {"n": 1}, "c1", at=t + 5),  # a script's event: not folded into
        hook(4, "c2", t + 6),
        system_event("agent.completed", {"name": "a"}, "c1", t + 7),  # another correlation id
        hook(5, "c1", t + 8),  # the batch's last
    ]
    for number, event in enumerate(events, 1):
        event.sequence = number
    folded_db, plain_db = SqliteDatabase(None), SqliteDatabase(None)
    folded, plain = EventStore(folded_db, "default"), EventStore(plain_db, "default")
    folded.add(events, "k1")
    for event in events:
        plain.add([event], "k1")  # one event a batch: nothing to fold into
    assert folded_db.query("SELECT count(*) FROM events", ()) == [(7,)]
    assert plain_db.query("SELECT count(*) FROM events", ()) == [(9,)]

    def read(store: EventStore, **filters: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "cursor"} for r in store.query(**filters)]

    for filters in (
        {},
        {"correlation_id": "c1"},
        {"event_type": "hook.*"},
        {"event_type": "tool.*"},
        {"since": t + 2},  # inside the folded runs: h2 on
        {"kernel_id": "k1"},
    ):
        assert read(folded, **filters) == read(plain, **filters), filters
    assert [r["data"]["name"] for r in read(folded, event_type="hook.*")] == [
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
    ]
    # a limit stops after a whole row: the next page (after its cursor) loses no folded run
    first = folded.query(limit=2)
    assert [r["event_type"] for r in first] == [
        "tool.started",
        "hook.executed",
        "hook.executed",
        "tool.completed",
    ]
    rest = folded.query(after=first[-1]["cursor"])
    assert [r["sequence"] for r in first + rest] == list(range(1, 10))
    folded_db.close()
    plain_db.close()


def test_hook_runs_only_the_store_sees_are_carried_by_the_event_after_them() -> None:
    """With no subscription and no sink but the store, a tool's hook runs make no events of
    their own (its tool.completed carries them); they are numbered and counted as published,
    and read back exactly as with a subscriber watching (each run an event of its own)."""
    script = """
    Hook.register("BeforeToolExecution", function() end, {name = "first"})
    Hook.register("AfterToolExecution", function() end, {name = "second"})
    %s
    Tool.invoke("base64_encoder", {operation = "encode", input = "x"})
    Tool.invoke("base64_encoder", {operation = "encode", input = "y"})
    return Event.get_stats().published"""
    listings = []
    for watching in (False, True):
        engine = make_engine()
        published = run(engine, script % ('Event.subscribe("tool.*")' if watching else ""))
        assert published == 8
        engine.events.flush()
        db = engine.data.database()
        # stored folded into the two tool.completed rows either way (the store folds too)
        assert db.query("SELECT count(*) FROM events", ()) == [(4,)]
        rows = EventStore(db, engine.data.tenant).query()
        assert [r["sequence"] for r in rows] == list(range(1, 9))
        listings.append(
            [
                (r["event_type"], r["data"].get("name"), r["data"].get("hook_point"), r["source"])
                for r in rows
            ]
        )
        assert len({r["id"] for r in rows}) == 8
    assert listings[0] == listings[1]
    assert listings[0][:4] == [
        ("tool.started", "base64_encoder", None, "system"),
        ("hook.executed", "first", "BeforeToolExecution", "system"),
        ("hook.executed", "second", "AfterToolExecution", "system"),
        ("tool.completed", "base64_encoder", None, "system"),
    ]


def test_carried_hook_runs_share_one_stored_id_block_and_read_with_ids_of_their_own() -> None:
    """A row's carried runs are stored as [seq, at, data] with the first id of one block
    (their ids derived when read: unique, UUID layout, the same at every read); a row of the
    earlier layout (an id stored per run) reads as before."""
    import re

    from llmspell_kernel.events.model import system_event
    from llmspell_kernel.state.database import SqliteDatabase

    text = '{"action":"continue","duration_ms":0.5,"hook_id":"h","hook_point":"P","name":"n"}'
    t = time.time()
    events = []
    for i in range(3):
        event = system_event("tool.completed", {"name": "x"}, "c1", t + i)
        event.sequence = i * 10 + 3
        event.folded = [(i * 10 + 1, t + i - 0.5, text), (i * 10 + 2, t + i - 0.2, text)]
        events.append(event)
    db = SqliteDatabase(None)
    store = EventStore(db, "default")
    store.add(events, None)
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    (metadata,) = db.query("SELECT metadata FROM events LIMIT 1", ())[0]
    assert len(re.findall(uuid, metadata)) == 1  # one id stored for the row's two runs
    rows = store.query()
    hooks = [r for r in rows if r["event_type"] == "hook.executed"]
    assert [r["sequence"] for r in rows] == [1, 2, 3, 11, 12, 13, 21, 22, 23]
    assert [r["at"] for r in hooks[:2]] == [t - 0.5, t - 0.2]
    assert hooks[0]["data"]["duration_ms"] == 0.5
    assert all(re.fullmatch(uuid, r["id"]) for r in rows)
    assert len({r["id"] for r in rows}) == 9
    assert [r["id"] for r in store.query()] == [r["id"] for r in rows]
    earlier = (
        f'{{"folded":[{{"at":{t!r},"data":{text},"id":"old-1","seq":1}}],"priority":"normal",'
        '"source":"system","tags":[]}'
    )
    db.write("UPDATE events SET metadata = ? WHERE seq = 3", (earlier,))
    again = store.query()
    assert [(r["id"], r["sequence"], r["at"]) for r in again[:2]] == [
        ("old-1", 1, t),
        (rows[2]["id"], 3, t),
    ]
    db.close()


def test_a_received_event_is_the_table_to_lua_makes_of_as_table() -> None:
    from llmspell_kernel.events.model import Event, system_event
    from llmspell_kernel.lua.convert import to_lua
    from llmspell_kernel.lua.globals.event import event_table

    engine = make_engine()
    run(engine, "return 1")
    samples = [
        Event("a.flat", {"i": 1, "x": 2.5, "ok": True, "gone": None, "s": "é"}, "c-1"),
        Event("a.big", {"n": 2**70, "m": -(2**63)}, "c-2", ttl_seconds=3.0, target="t"),
        Event("a.nested", {"list": [1, None, {"k": (1, 2)}], "when": Path("/p")}, "c-3"),
        Event("a.scalar", "text", "c-4", tags=["x", "y"], priority="high", source="py"),
        Event("a.none", None, "c-5", at=1_700_000_000.9999996),
        system_event("tool.completed", '{"name":"t","big":123456789012345678901234}', "c", 1.5),
        system_event("tool.started", '{"name":"t","args":[1,{"a":null}]}', "c", 2.0),
        system_event("tool.failed", {"name": "t", "error": "boom"}, "c", 3.25),
    ]
    for event in samples:
        expected = engine.to_python(to_lua(engine.runtime, event.as_table()))
        fresh = system_event(event.event_type, event._data_json, "c", event.at)
        if event._data_json is not None:  # decoded on the first read: a fresh one for each
            fresh.id, fresh.correlation_id = event.id, event.correlation_id
            event = fresh
        got = engine.to_python(event_table(engine.runtime, event))
        # (JSON text tells 1 from 1.0: an integer beyond 64 bits must arrive as a float)
        assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_rfc3339_keeps_a_second_text_but_formats_every_time_as_before() -> None:
    from llmspell_kernel.events.model import rfc3339

    def plain(at: float) -> str:
        whole = int(at)
        micros = int(round((at - whole) * 1_000_000))
        if micros == 1_000_000:
            whole, micros = whole + 1, 0
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"

    times = [1_700_000_000.5, 1_700_000_000.75, 1_700_000_000.9999996, 1_700_000_001.0]
    times += [1_699_999_999.25, 1_700_000_000.000001, 0.0, 1_700_000_000.5]
    assert [rfc3339(t) for t in times] == [plain(t) for t in times]
    assert rfc3339(1_700_000_000.9999996) == "2023-11-14T22:13:21.000000Z"


@pytest.mark.parametrize("count", [1, 2, 89, 90, 91, 200, 2500])
def test_a_batch_stored_many_rows_to_a_statement_reads_as_row_by_row(count: int) -> None:
    """EventStore.add puts ROWS_PER_INSERT rows in one INSERT on SQLite: every row, in order
    (the rowid order `query` lists), reads back as rows inserted one at a time do."""
    from llmspell_kernel.events.model import Event, system_event
    from llmspell_kernel.events.store import ROWS_PER_INSERT, rows_of
    from llmspell_kernel.state.database import SqliteDatabase

    assert ROWS_PER_INSERT * 11 <= 999  # SQLite's oldest limit of parameters
    t = 1_700_000_000.0
    events: list[Event] = []
    for n in range(count):
        if n % 3 == 0:
            event = system_event("hook.executed", {"name": f"h{n}"}, "c1", t + n)
        elif n % 3 == 1:
            event = system_event("tool.completed", {"name": "t", "n": n}, "c1", t + n)
        else:
            event = Event("script.note", {"n": n}, "c2", at=t + n, tags=["x"], ttl_seconds=9.0)
        event.sequence = n + 1
        events.append(event)
    many_db, single_db = SqliteDatabase(None), SqliteDatabase(None)
    many, single = EventStore(many_db, "default"), EventStore(single_db, "default")
    many.add(events, "k1")
    rows = rows_of("default", "k1", events)
    with single_db.transaction():
        for row in rows:
            single_db.write(f"INSERT INTO events VALUES ({', '.join('?' * 11)})", row)
    assert many_db.query("SELECT * FROM events ORDER BY rowid", ()) == rows
    assert many.query() == single.query()
    assert [r["sequence"] for r in many.query()] == list(range(1, count + 1))
    many_db.close()
    single_db.close()
