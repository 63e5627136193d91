"""The Agent and Provider globals (lua-api.md 2.7, 2.8) against the scripted wire-format server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings
from tests.llm_server import (
    Reply,
    ScriptedLLMServer,
    anthropic_text,
    anthropic_tool_use,
    error_body,
    openai_stream,
    openai_text,
    openai_tool_call,
)

PROVIDER_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLMServer]:
    server = ScriptedLLMServer()
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("LLMSPELL_OPENAI_ENDPOINT", server.url)
    yield server
    server.close()


@pytest.fixture
def engine() -> LuaEngine:
    return LuaEngine(EngineSettings(data=DataSettings(backend="memory")))


def run(engine: LuaEngine, code: str) -> object:
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.status == "ok", outcome.evalue
    return outcome.value


def fails(engine: LuaEngine, code: str) -> str:
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.status == "error"
    return outcome.evalue


def cli_env(server: ScriptedLLMServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARIABLES}
    env.update(OPENAI_API_KEY="sk-test", LLMSPELL_OPENAI_ENDPOINT=server.url)
    return env


def test_build_needs_no_network_and_no_key_the_first_execute_names_it(engine) -> None:
    os.environ.pop("OPENAI_API_KEY", None)
    code = 'a = Agent.builder():name("helper"):model("openai/gpt-4o-mini"):build()\nreturn 1'
    assert run(engine, code) == 1
    message = fails(engine, 'local r = a:execute({text = "hi"})')
    assert message == (
        "main.lua:1: No API key for provider 'openai': set OPENAI_API_KEY or "
        "LLMSPELL_OPENAI_API_KEY, or run 'llmspell keys add openai <key>'"
    )


def test_execute_returns_text_and_usage_and_keeps_the_conversation(server, engine) -> None:
    server.script(Reply(body=openai_text("Hi!")), Reply(body=openai_text("You said hi.")))
    first = run(
        engine,
        'a = Agent.builder():model("openai/gpt-4o-mini"):system_prompt("Be brief.")'
        ":temperature(0.3):max_tokens(150.0):build()\n"
        'local r = a:execute("hi") return r',
    )
    assert first["text"] == "Hi!"
    meta = first["metadata"]
    assert (meta["provider"], meta["model"], meta["token_count"]) == ("openai", "gpt-4o-mini", 12)
    assert meta["usage"] == {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
    # the shipped price table × the reported tokens (tests/test_usage.py checks it exactly)
    assert meta["cost"] == 3.15e-06  # (9 × 0.15 + 3 × 0.6) / 1e6 USD
    second = run(engine, 'return a:execute({text = "what?", parameters = {temperature = 1}})')
    assert second["text"] == "You said hi."
    body = server.seen[1].body
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["temperature"] == 1 and body["max_tokens"] == 150


def test_max_conversation_length_bounds_the_history(server, engine) -> None:
    server.script(*[Reply(body=openai_text(f"r{i}")) for i in range(3)])
    run(
        engine,
        'local a = Agent.builder():model("gpt-4o-mini"):max_conversation_length(2):build()\n'
        'a:execute("one") a:execute("two") a:execute("three")',
    )
    roles = [(m["role"], m["content"]) for m in server.seen[2].body["messages"]]
    assert roles == [("user", "two"), ("assistant", "r1"), ("user", "three")]


def test_execute_with_context_keeps_one_history_per_conversation(server, engine) -> None:
    server.script(*[Reply(body=openai_text(f"r{i}")) for i in range(4)])
    last = run(
        engine,
        'local a = Agent.builder():model("gpt-4o-mini"):build()\n'
        'a:execute_with_context("alpha one", {conversation_id = "a"})\n'
        'a:execute_with_context("beta one", {conversation_id = "b", scope = "triage"})\n'
        'a:execute("default one")\n'
        'return a:execute_with_context("alpha two", {conversation_id = "a"})',
    )
    seen = [[m["content"] for m in call.body["messages"]] for call in server.seen]
    assert seen[1] == ["beta one"]  # another conversation: nothing of "a"
    assert seen[2] == ["default one"]  # the default history is its own
    assert seen[3] == ["alpha one", "r0", "alpha two"]
    assert last["metadata"]["context"] == {"conversation_id": "a"}
    bad = fails(
        engine,
        'return Agent.builder():model("gpt-4o-mini"):build()'
        ':execute_with_context("x", {conversation = "a"})',
    )
    assert "unknown context field 'conversation'" in bad


def test_a_json_reply_also_arrives_as_data(server, engine) -> None:
    server.script(Reply(body=openai_text('{"answer": 42}')))
    value = run(engine, 'return Agent.builder():model("gpt-4o-mini"):build():execute("q").data')
    assert value == {"answer": 42}


def test_get_config_and_registry_statics(server, engine) -> None:
    value = run(
        engine,
        """
        local a = Agent.builder():name("writer"):model("anthropic/claude-3-haiku-20240307")
          :temperature(0.5):allowed_tools({}):build()
        local name = Agent.register({name = "reg", model = {provider = "openai",
          model_id = "gpt-4o-mini", temperature = 0.1}, custom_config = {system_prompt = "S"}})
        return {a:get_config(), name, Agent.list_instances(), Agent.get("nope") == nil,
                Agent.get("reg"):get_config().system_prompt, Agent.discover()[1].type,
                a:get_state(), a:get_metrics().executions}
        """,
    )
    config, name, instances, missing, system, kind, state, executions = value
    assert (config["name"], config["provider"], config["model"]) == (
        "writer",
        "anthropic",
        "claude-3-haiku-20240307",
    )
    assert config["temperature"] == 0.5
    assert (name, instances, missing, system, kind) == ("reg", ["reg", "writer"], True, "S", "llm")
    assert (state, executions) == ("ready", 0)


def test_builder_errors_carry_the_callers_position(engine) -> None:
    assert fails(engine, 'Agent.builder():model("nope/x"):build()').startswith(
        "main.lua:1: Unknown provider 'nope'"
    )
    assert fails(engine, "Agent.builder():build()") == "main.lua:1: Model is required"
    assert fails(engine, 'local b = Agent.builder()\nb.model("x")') == (
        "main.lua:2: model: call with ':' not '.'"
    )
    assert fails(engine, "Agent.create({})") == (
        "main.lua:1: Agent.create is deprecated: use Agent.builder()"
    )


def test_invoke_stream_hands_each_chunk_to_the_callback(server, engine) -> None:
    server.script(Reply(events=openai_stream(["Hel", "lo", " world"])))
    value = run(
        engine,
        """
        local seen = {}
        local r = Agent.builder():model("gpt-4o-mini"):build()
          :invokeStream({text = "hi"}, function(chunk) seen[#seen + 1] = chunk.text end)
        return {seen, r.success, r.chunks_received, r.text, r.metadata.usage.completion_tokens}
        """,
    )
    assert value == [["Hel", "lo", " world"], True, 3, "Hello world", 3]


def test_tool_calling_round_trip_through_a_wrapped_agent(server, engine) -> None:
    server.script(
        Reply(body=openai_tool_call("helper_tool", {"input": "2+2?"})),
        Reply(body=openai_text("4")),  # the helper agent answers the tool call
        Reply(body=openai_text("The helper says 4.")),
    )
    value = run(
        engine,
        """
        Agent.builder():name("helper"):model("gpt-4o-mini"):build()
        local tool = Agent.wrap_as_tool("helper")
        local boss = Agent.builder():model("gpt-4o-mini"):allow_tool(tool):build()
        local r = boss:execute("Ask the helper")
        return {tool, r.text, r.tool_calls[1].name, r.metadata.token_count}
        """,
    )
    assert value == ["helper_tool", "The helper says 4.", "helper_tool", 25 + 12]
    tools = server.seen[0].body["tools"]
    assert tools[0]["function"]["name"] == "helper_tool"
    assert server.seen[1].body["messages"][-1] == {"role": "user", "content": "2+2?"}
    last = server.seen[2].body["messages"]
    assert last[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "4"}


def test_a_lua_tool_returning_a_plain_table_sends_its_json(server, engine, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("LLMSPELL_ANTHROPIC_ENDPOINT", server.url)
    server.script(
        Reply(body=openai_tool_call("weather", {"city": "Oslo"})),
        Reply(body=openai_tool_call("greeting", {"city": "Oslo"}, call_id="call_2")),
        Reply(body=openai_tool_call("uniform", {"city": "Oslo"}, call_id="call_3")),
        Reply(body=openai_text("21 degrees.")),
        Reply(body=anthropic_tool_use("weather", {"city": "Oslo"})),
        Reply(body=anthropic_text("21 degrees.")),
    )
    value = run(
        engine,
        """
        local schema = {type = "object", properties = {city = {type = "string"}}}
        Tool.register({name = "weather", description = "Weather", parameters = schema,
          fn = function(p) return {temp = 21, city = p.city, sky = {"clear"}} end})
        Tool.register({name = "greeting", description = "Greet", parameters = schema,
          fn = function(p) return "hello " .. p.city end})
        Tool.register({name = "uniform", description = "Uniform", parameters = schema,
          fn = function(p) return {success = true, result = {n = 1}, message = "one"} end})
        local tools = {"weather", "greeting", "uniform"}
        local a = Agent.builder():model("gpt-4o-mini"):allowed_tools(tools):build()
        local r = a:execute("Weather in Oslo?")
        local b = Agent.builder():model("anthropic/claude-3-haiku-20240307")
          :allowed_tools({"weather"}):build()
        b:execute("Weather in Oslo?")
        local direct = Tool.invoke("weather", {city = "Bergen"})
        return {r.text, direct.success, direct.text, direct.temp}
        """,
    )
    assert value == [
        "21 degrees.",
        True,
        '{"city":"Bergen","sky":["clear"],"temp":21}',
        21,
    ]
    messages = server.seen[3].body["messages"]
    tool_messages = [m for m in messages if m["role"] == "tool"]
    assert [json.loads(tool_messages[0]["content"])] == [
        {"temp": 21, "city": "Oslo", "sky": ["clear"]}
    ]
    assert [m["content"] for m in tool_messages[1:]] == ["hello Oslo", "one"]
    blocks = server.seen[5].body["messages"][-1]["content"]
    assert blocks[0]["type"] == "tool_result" and blocks[0]["tool_use_id"] == "toolu_1"
    assert json.loads(blocks[0]["content"]) == {"temp": 21, "city": "Oslo", "sky": ["clear"]}


def test_max_tool_calls_bounds_the_loop(server, engine) -> None:
    call = Reply(body=openai_tool_call("helper_tool", {"input": "again"}))
    server.script(call, Reply(body=openai_text("x")), Reply(body=openai_text("done")))
    value = run(
        engine,
        """
        Agent.builder():name("helper"):model("gpt-4o-mini"):build()
        local boss = Agent.builder():model("gpt-4o-mini")
          :allowed_tools({Agent.wrap_as_tool("helper")}):max_tool_calls(1):build()
        return boss:execute("loop").text
        """,
    )
    assert value == "done"
    assert "tools" not in server.seen[2].body  # past the bound the model must answer


def test_a_provider_error_is_one_line_with_the_position(server, engine) -> None:
    server.script(Reply(401, error_body("invalid_api_key", "bad key")))
    message = fails(
        engine, 'local a = Agent.builder():model("gpt-4o-mini"):build()\na:execute("x")'
    )
    assert message == (
        "main.lua:2: authentication failed for provider 'openai' (HTTP 401): "
        "check OPENAI_API_KEY or 'llmspell keys add openai'"
    )


def test_provider_global(server, engine) -> None:
    value = run(
        engine,
        'return {Provider.isAvailable("openai"), Provider.isAvailable("anthropic"),'
        ' Provider.get("nope") == nil, Provider.getCapabilities("openai").supports_streaming,'
        " Provider.list()[1].name}",
    )
    assert value == [True, False, True, True, "openai"]


def test_interrupt_ends_a_slow_call_and_the_engine_serves_the_next(server, engine) -> None:
    server.script(Reply(hang=True), Reply(body=openai_text("again")))
    outcome: list[object] = []
    code = 'a = Agent.builder():model("gpt-4o-mini"):build()\npcall(a.execute, a, "slow")'
    runner = threading.Thread(target=lambda: outcome.append(engine.execute(code)))
    runner.start()
    while not server.seen:
        runner.join(0.01)
    began = time.monotonic()
    engine.interrupt()
    runner.join(10)
    assert time.monotonic() - began < 1.0  # ~1 ms here; the bound only catches a hang
    assert outcome[0].ename == "Interrupted"
    assert run(engine, 'return a:execute("next").text') == "again"


@pytest.mark.slow
def test_a_thousand_agent_calls_leak_no_thread_socket_or_descriptor(server, engine) -> None:
    server.script(*[Reply(body=openai_text("ok")) for _ in range(1001)])
    run(engine, 'a = Agent.builder():model("gpt-4o-mini"):max_conversation_length(0):build()')
    run(engine, 'a:execute("warm up")')
    threads = threading.active_count() - len(server.seen)  # the server's handler threads end
    fds = len(os.listdir("/proc/self/fd"))
    assert run(engine, 'for i = 1, 1000 do a:execute("x") end return a:get_metrics().executions')
    assert threading.active_count() <= threads + 2  # one keep-alive handler may still linger
    assert len(os.listdir("/proc/self/fd")) <= fds + 1


@pytest.mark.slow
def test_llmspell_run_prints_streamed_tokens_as_they_arrive(server, tmp_path) -> None:
    gate = threading.Event()
    server.script(Reply(events=openai_stream(["First", " second", " third"]), gate=gate))
    script = tmp_path / "stream.lua"
    script.write_text(
        'local a = Agent.builder():model("gpt-4o-mini"):build()\n'
        'a:invokeStream({text = "go"}, function(c) io.write(c.text) end)\nprint()\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "llmspell_cli", "run", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(server),
    )
    try:
        first = os.read(process.stdout.fileno(), 5)  # arrives while the server holds the rest
        assert first == b"First" and not gate.is_set()
        gate.set()
        rest, err = process.communicate(timeout=30)
    finally:
        gate.set()
        process.kill()
    assert (first + rest).decode() == "First second third\n", err


@pytest.mark.slow
def test_ctrl_c_during_a_slow_call_exits_130(server) -> None:
    server.script(Reply(hang=True))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmspell_cli",
            "exec",
            'Agent.builder():model("gpt-4o-mini"):build():execute("slow")',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(server),
    )
    while not server.seen:
        try:
            process.wait(0.01)
        except subprocess.TimeoutExpired:
            continue
        break
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=10)
    elapsed = time.monotonic() - began
    assert process.returncode == 130, err
    assert elapsed < 2.0  # measured ~0.05 s; the bound only catches a hang


@pytest.mark.slow
def test_cli_prints_one_error_line_for_a_provider_failure(server) -> None:
    server.script(Reply(404, error_body("model_not_found", "nope")))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmspell_cli",
            "exec",
            'return Agent.builder():model("gpt-5-nano"):build():execute("x").text',
        ],
        capture_output=True,
        text=True,
        env=cli_env(server),
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == f"error: exec:1: model 'gpt-5-nano' not found at {server.url}\n"
