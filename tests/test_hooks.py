"""The Hook global (lua-api.md 2.6) at the tool and agent seams: real Lua, the real tool
registry, the scripted wire-format server for provider failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings
from tests import scripted_provider
from tests.llm_server import Reply, ScriptedLLMServer, error_body, openai_text

server = scripted_provider.server  # the fixture


@pytest.fixture
def output() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def engine(output: list[tuple[str, str]]) -> LuaEngine:
    return LuaEngine(
        EngineSettings(data=DataSettings(backend="memory")),
        output=lambda name, text: output.append((name, text)),
    )


def run(engine: LuaEngine, code: str) -> object:
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.status == "ok", outcome.evalue
    return outcome.value


def fails(engine: LuaEngine, code: str) -> str:
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.status == "error", outcome.value
    return outcome.evalue


ECHO_TOOL = """
Tool.register({name = "echo", description = "echoes", fn = function(p)
  calls = (calls or 0) + 1
  return {success = true, text = tostring(p.text), result = {text = p.text}}
end})
"""


def test_a_cancel_hook_on_before_tool_execution_stops_the_tool_with_the_callers_position(
    engine: LuaEngine,
) -> None:
    run(
        engine,
        ECHO_TOOL
        + """
        Hook.register("BeforeToolExecution", function(ctx)
          if ctx.data.tool_name == "echo" then
            return {type = "cancel", reason = "no echoes here"}
          end
          return "continue"
        end, "high")""",
    )
    message = fails(engine, 'local r = Tool.invoke("echo", {text = "hi"})')
    assert message == "main.lua:1: Cancelled by hook: no echoes here"
    assert run(engine, "return calls") is None  # the tool never ran
    # any other string cancels too, with the string as the reason
    run(engine, 'Hook.register("BeforeToolExecution", function() return "stop" end, "highest")')
    assert (
        fails(engine, 'local r = Tool.invoke("echo", {})') == "main.lua:1: Cancelled by hook: stop"
    )


def test_points_accept_both_spellings_and_unknown_points_are_an_error(engine: LuaEngine) -> None:
    assert run(
        engine, 'return Hook.register("before_tool_execution", function() end):hook_point()'
    ) == ("BeforeToolExecution")
    assert (
        run(engine, 'return Hook.register("AgentError", function() end):hook_point()')
        == "AgentError"
    )
    assert fails(engine, 'local h = Hook.register("BeforeLunch", function() end)') == (
        "main.lua:1: Unknown hook point: BeforeLunch"
    )
    # the kernel's points are for Python extensions, not scripts
    assert "Unknown hook point: PreExecute" in fails(engine, 'Hook.register("PreExecute", print)')
    assert "must be a function" in fails(engine, 'Hook.register("ToolError", 1)')
    assert "unknown hook priority 'urgent'" in fails(
        engine, 'Hook.register("ToolError", function() end, "urgent")'
    )


def test_priorities_by_name_and_integer_ties_in_registration_order(engine: LuaEngine) -> None:
    order = run(
        engine,
        ECHO_TOOL
        + """
        local order = {}
        local function note(tag) return function() order[#order + 1] = tag end end
        Hook.register("BeforeToolExecution", note("low"), "low")
        Hook.register("BeforeToolExecution", note("normal-1"))
        Hook.register("BeforeToolExecution", note("int-50"), 50)
        Hook.register("BeforeToolExecution", note("normal-2"), "normal")
        Hook.register("BeforeToolExecution", note("highest"), "highest")
        Hook.register("BeforeToolExecution", note("high"), -100.0)
        Hook.register("BeforeToolExecution", note("lowest"), "lowest")
        Tool.invoke("echo", {text = "x"})
        return order""",
    )
    assert order == ["highest", "high", "normal-1", "normal-2", "int-50", "low", "lowest"]


def test_modified_merges_into_the_data_and_the_next_hook_sees_it(engine: LuaEngine) -> None:
    result = run(
        engine,
        ECHO_TOOL
        + """
        Hook.register("BeforeToolExecution", function(ctx)
          return {type = "modified", data = {parameters = {text = "changed"}}}
        end, "high")
        Hook.register("BeforeToolExecution", function(ctx)
          seen = ctx.data.parameters.text .. "/" .. ctx.data.tool_name
        end)
        Hook.register("AfterToolExecution", function(ctx)
          local r = ctx.data.result
          r.text = r.text .. "!"
          return {type = "modified", data = {result = r}}
        end)
        local r = Tool.invoke("echo", {text = "original"})
        return {r.text, seen}""",
    )
    assert result == ["changed!", "changed/echo"]


def test_replace_skip_and_redirect_at_the_tool_seam(engine: LuaEngine) -> None:
    run(
        engine,
        ECHO_TOOL
        + """
        Tool.register({name = "shout", description = "", fn = function(p)
          return {success = true, text = string.upper(p.text)}
        end})
        Hook.register("BeforeToolExecution", function(ctx)
          local mode = ctx.data.parameters.mode
          if mode == "replace" then return {type = "replace", data = {success = true, text = "cached"}} end
          if mode == "skip" then return {type = "skipped", reason = "not today"} end
          if mode == "bare-skip" then return "skip" end
          if mode == "redirect" then return {type = "redirect", target = "shout"} end
        end)""",
    )
    assert run(engine, 'return Tool.invoke("echo", {mode = "replace"}).text') == "cached"
    assert run(engine, 'return Tool.invoke("echo", {mode = "skip"})') == {
        "success": False,
        "skipped": True,
        "reason": "not today",
        "text": "",
    }
    assert run(engine, 'return Tool.invoke("echo", {mode = "bare-skip"}).skipped') is True
    assert run(engine, 'return Tool.invoke("echo", {mode = "redirect", text = "hi"}).text') == "HI"
    assert run(engine, "return calls") is None


def test_redirect_and_retry_are_ignored_where_the_point_does_not_take_them(
    engine: LuaEngine, output: list[tuple[str, str]]
) -> None:
    text = run(
        engine,
        ECHO_TOOL
        + """
        Hook.register("AfterToolExecution", function() return {type = "redirect", target = "x"} end)
        Hook.register("BeforeToolExecution", function() return {type = "retry"} end)
        return Tool.invoke("echo", {text = "kept"}).text""",
    )
    assert text == "kept"
    warnings = "".join(t for name, t in output if name == "stderr")
    assert "{type=redirect}, which AfterToolExecution does not take" in warnings
    assert "{type=retry}, which BeforeToolExecution does not take" in warnings


def test_a_raising_hook_is_logged_to_stderr_and_counts_as_continue(
    engine: LuaEngine, output: list[tuple[str, str]]
) -> None:
    text = run(
        engine,
        ECHO_TOOL
        + """
        Hook.register("BeforeToolExecution", function() error("hook bug") end, "high")
        Hook.register("BeforeToolExecution", function() ran_after = true end)
        return Tool.invoke("echo", {text = "fine"}).text""",
    )
    assert text == "fine"
    assert run(engine, "return ran_after") is True
    warnings = "".join(t for name, t in output if name == "stderr")
    assert "hook lua_hook_1 on BeforeToolExecution failed: main.lua:" in warnings
    assert "hook bug" in warnings


def test_retry_on_tool_error_runs_the_tool_again(engine: LuaEngine) -> None:
    result = run(
        engine,
        """
        Tool.register({name = "flaky", description = "", fn = function()
          tries = (tries or 0) + 1
          if tries < 3 then error("try again") end
          return "third time"
        end})
        Hook.register("ToolError", function(ctx)
          errors = (errors or 0) + 1
          last_error = ctx.data.error
          return {type = "retry", delay_ms = 1, max_attempts = 3}
        end)
        return {Tool.invoke("flaky", {}).text, tries, errors}""",
    )
    assert result == ["third time", 3, 2]
    assert (
        run(engine, "return last_error") == "Tool 'flaky' execution failed: main.lua:4: try again"
    )
    # past max_attempts the error reaches the script, with its position
    run(engine, "tries = -10")
    assert fails(engine, 'local r = Tool.invoke("flaky", {})') == (
        "main.lua:1: Tool 'flaky' execution failed: main.lua:4: try again"
    )


def test_context_shape_and_correlation_id(engine: LuaEngine) -> None:
    from llmspell_kernel.lua.globals.event import begin_execution

    begin_execution(engine, "corr-1")
    ctx = run(
        engine,
        ECHO_TOOL
        + """
        Hook.register("BeforeToolExecution", function(ctx) seen = ctx end)
        Tool.invoke("echo", {text = "x"})
        return seen""",
    )
    assert ctx == {
        "point": "BeforeToolExecution",
        "correlation_id": "corr-1",
        "component_id": {"type": "tool", "name": "echo"},
        "language": "lua",
        "metadata": {},
        "data": {"tool_name": "echo", "parameters": {"text": "x"}},
    }


def test_list_filters_handles_and_unregister(engine: LuaEngine) -> None:
    rows = run(
        engine,
        """
        a = Hook.register("BeforeAgentExecution", function() end, "high")
        b = Hook.register("ToolError", function() end, {priority = 5, name = "audit", tags = {"ops"}})
        return {all = Hook.list(), agent = Hook.list("before_agent_execution"),
                tagged = Hook.list({tag = "ops"}), high = Hook.list({priority = "high"}),
                lua = Hook.list({language = "lua", hook_point = "ToolError"})}""",
    )
    assert isinstance(rows, dict)
    assert [r["hook_point"] for r in rows["all"]] == ["BeforeAgentExecution", "ToolError"]
    assert rows["agent"][0]["priority"] == -100 and rows["agent"][0]["language"] == "lua"
    assert rows["tagged"][0]["name"] == "audit" and rows["tagged"][0]["tags"] == ["ops"]
    assert [r["hook_point"] for r in rows["high"]] == ["BeforeAgentExecution"]
    assert [r["name"] for r in rows["lua"]] == ["audit"]
    assert run(engine, "return {a:id(), b:hook_point()}") == ["lua_hook_1", "ToolError"]
    assert run(engine, "return {a:unregister(), a:unregister(), Hook.unregister(b:id())}") == [
        True,
        False,
        True,
    ]
    assert run(engine, "return #Hook.list()") == 0
    assert "id: call with ':' not '.'" in fails(
        engine, "local h = Hook.register('ToolError', print) h.id()"
    )
    assert "Unknown hook point: nope" in fails(engine, 'Hook.list("nope")')


def test_a_hook_may_unregister_itself_while_its_chain_runs(engine: LuaEngine) -> None:
    counts = run(
        engine,
        ECHO_TOOL
        + """
        local n1, n2 = 0, 0
        local h
        h = Hook.register("BeforeToolExecution", function() n1 = n1 + 1; h:unregister() end)
        Hook.register("BeforeToolExecution", function() n2 = n2 + 1 end)
        Tool.invoke("echo", {}) Tool.invoke("echo", {})
        return {n1, n2}""",
    )
    assert counts == [1, 2]


# -- agents ---------------------------------------------------------------------------------------


AGENT = 'a = Agent.builder():name("helper"):model("openai/gpt-4o-mini"):build()\n'


def test_agent_hooks_modify_input_replace_output_and_cancel(
    engine: LuaEngine, server: ScriptedLLMServer
) -> None:
    server.script(Reply(body=openai_text("from the model")))
    text = run(
        engine,
        AGENT
        + """
        Hook.register("BeforeAgentExecution", function(ctx)
          if ctx.data.input.text == "cancel me" then return {type = "cancel", reason = "nope"} end
          return {type = "modified", data = {input = {text = "rewritten"}}}
        end)
        Hook.register("AfterAgentExecution", function(ctx)
          after = ctx.data.output.text
          return {type = "replace", data = {text = "replaced"}}
        end)
        return a:execute({text = "original"}).text""",
    )
    assert text == "replaced"
    assert run(engine, "return after") == "from the model"
    assert server.seen[-1].body["messages"][-1]["content"] == "rewritten"
    assert fails(engine, 'local r = a:execute({text = "cancel me"})') == (
        "main.lua:1: Cancelled by hook: nope"
    )


def test_redirect_runs_another_agent(engine: LuaEngine, server: ScriptedLLMServer) -> None:
    server.script(Reply(body=openai_text("the expert answers")))
    text = run(
        engine,
        AGENT
        + """
        Agent.builder():name("expert"):model("openai/gpt-4o"):build()
        Hook.register("BeforeAgentExecution", function(ctx)
          if ctx.data.agent_name == "helper" then return {type = "redirect", target = "expert"} end
        end)
        local r = a:execute("hard question")
        return r.metadata.agent .. ": " .. r.text""",
    )
    assert text == "expert: the expert answers"
    assert server.seen[-1].body["model"] == "gpt-4o"


def test_retry_hook_on_agent_error_retries_a_provider_failure(
    tmp_path: Path, server: ScriptedLLMServer
) -> None:
    server.script(
        Reply(status=500, body=error_body("server_error", "the model is overloaded")),
        Reply(body=openai_text("second time lucky")),
    )
    config = tmp_path / "llmspell.toml"
    config.write_text(
        f'[providers.openai]\nprovider_type = "openai"\nbase_url = "{server.url}"\nmax_retries = 0\n',
        encoding="utf-8",
    )
    script = tmp_path / "retry.lua"
    script.write_text(
        AGENT
        + """
        local errors = {}
        Hook.register("AgentError", function(ctx)
          errors[#errors + 1] = ctx.data.error
          return {type = "retry", delay_ms = 10, max_attempts = 3}
        end)
        print(a:execute("hello").text)
        print(#errors, errors[1])
        """,
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "llmspell_cli", "-c", str(config), "run", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "second time lucky"
    assert lines[1].startswith("1\t") and "overloaded" in lines[1]
    assert len(server.seen) == 2


def test_an_after_hook_cancel_raises_at_the_callers_line(engine: LuaEngine) -> None:
    run(
        engine,
        ECHO_TOOL
        + """Hook.register("AfterToolExecution", function() return {type = "cancel", reason = "late"} end)""",
    )
    assert fails(engine, 'local x = 1\nlocal r = Tool.invoke("echo", {})') == (
        "main.lua:2: Cancelled by hook: late"
    )
    assert run(engine, "return calls") == 1  # the tool ran; its result was refused


# -- the kernel's points (Python hooks) ------------------------------------------------------------
def test_state_change_hooks_see_writes_and_may_refuse_them(engine: LuaEngine) -> None:
    from llmspell_kernel.hooks.registry import HookContext

    seen: list[dict[str, object]] = []

    def audit(ctx: HookContext) -> object:
        seen.append(dict(ctx.data))
        if ctx.data["key"] == "secret":
            return {"type": "cancel", "reason": "not here"}
        return None

    engine.hooks.registry.register("StateChange", audit, name="audit")
    run(engine, 'State.save("global", "n", {a = 1}) State.delete("global", "n")')
    assert seen == [
        {"operation": "save", "scope": "global", "key": "n", "value": {"a": 1}},
        {"operation": "delete", "scope": "global", "key": "n", "value": None},
    ]
    message = fails(engine, 'State.save("global", "secret", 1)')
    assert message.endswith("Cancelled by hook: not here")
    assert run(engine, 'return State.load("global", "secret")') is None


def test_pre_debug_hooks_may_refuse_a_debugger(engine: LuaEngine) -> None:
    from llmspell_kernel.debug.session import DebugError, Debugger

    calls: list[str] = []

    def gate(ctx: object) -> str:
        calls.append("asked")
        return "debugging is off on this kernel"

    entry = engine.hooks.registry.register("pre_debug", gate)
    with pytest.raises(DebugError, match="Cancelled by hook: debugging is off on this kernel"):
        Debugger(lambda *_a: None).attach(engine)
    assert calls == ["asked"] and engine.debugger is None
    engine.hooks.registry.unregister(entry.id)
    Debugger(lambda *_a: None).attach(engine)
    assert engine.debugger is not None


def test_agent_init_hooks_see_and_may_refuse_or_change_a_build(engine: LuaEngine) -> None:
    got = run(
        engine,
        """
        Hook.register("BeforeAgentInit", function(ctx)
          if ctx.data.agent_name == "forbidden" then return {type = "cancel", reason = "no"} end
          local cfg = ctx.data.config
          cfg.system_prompt = "be brief"
          return {type = "modified", data = {config = cfg}}
        end)
        Hook.register("AfterAgentInit", function(ctx) built = ctx.data.config.system_prompt end)
        local a = Agent.builder():name("helper"):model("openai/gpt-4o-mini"):build()
        return {a:get_config().system_prompt, built}""",
    )
    assert got == ["be brief", "be brief"]
    assert fails(
        engine, 'local a = Agent.builder():name("forbidden"):model("openai/gpt-4o-mini"):build()'
    ) == ("main.lua:1: Cancelled by hook: no")
    assert "Cancelled by hook: no" in fails(
        engine, 'Agent.register({name = "forbidden", model = "openai/gpt-4o-mini"})'
    )


def test_tool_discovery_and_validation_hooks(engine: LuaEngine) -> None:
    got = run(
        engine,
        ECHO_TOOL
        + """
        Hook.register("AfterToolDiscovery", function(ctx)
          local kept = {}
          for _, t in ipairs(ctx.data.tools) do
            if t.name == "echo" then kept[#kept + 1] = t end
          end
          return {type = "modified", data = {tools = kept}}
        end)
        Hook.register("ToolValidation", function(ctx)
          if ctx.data.parameters.text == nil then return {type = "cancel", reason = "text is required"} end
          return {type = "modified", data = {parameters = {text = ctx.data.parameters.text .. "?"}}}
        end)
        local listed, found = Tool.list(), Tool.discover({category = "custom"})
        return {#listed, listed[1].name, #found, Tool.invoke("echo", {text = "ok"}).text}""",
    )
    assert got == [1, "echo", 1, "ok?"]
    assert fails(engine, 'local r = Tool.invoke("echo", {})') == (
        "main.lua:1: Cancelled by hook: text is required"
    )


def test_entry_points_are_cached_until_their_directory_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import configparser  # noqa: F401 - loaded before sys.path is narrowed to the test's site
    import sys

    from llmspell_kernel.hooks import extensions

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site)])
    monkeypatch.setattr(extensions, "_found", None)
    assert extensions.entry_point_targets() == []
    assert (tmp_path / "home" / ".cache" / "llmspell" / "hook-entry-points").is_file()
    before = site.stat().st_mtime_ns
    (site / "ext-1.0.dist-info").mkdir()
    (site / "ext-1.0.dist-info" / "entry_points.txt").write_text(
        "[llmspell.hooks]\next = ext_mod:setup\n", encoding="utf-8"
    )
    os.utime(site, ns=(before + 1_000_000, before + 1_000_000))  # coarse clocks: a new time
    monkeypatch.setattr(extensions, "_found", None)
    assert extensions.entry_point_targets() == ["ext_mod:setup"]


def test_an_interrupt_inside_a_hook_stops_the_script_and_is_not_a_hook_failure(
    engine: LuaEngine, output: list[tuple[str, str]]
) -> None:
    """A hook's call is protected (its own error is a warning and the chain goes on), but an
    interrupt raised while it runs passes through and ends the execution."""
    import threading
    import time

    subscription = engine.events.bus.subscribe("test.looping")

    def interrupt_when_looping() -> None:
        if engine.events.bus.receive(subscription.id, 60.0) is not None:
            engine.interrupt()

    thread = threading.Thread(target=interrupt_when_looping)
    thread.start()
    started = time.monotonic()
    outcome = engine.execute(
        """Hook.register("BeforeToolExecution", function()
          Event.publish("test.looping", {})
          while true do end
        end)
        Tool.invoke("base64_encoder", {operation = "encode", input = "x"})
        return "went on" """,
        chunk_name="@main.lua",
    )
    thread.join(60)
    assert outcome.ename == "Interrupted", outcome.value
    assert time.monotonic() - started < 60
    assert not any("failed" in text for _name, text in output)


def test_before_tool_hooks_on_a_builtin_tool_with_the_events_on(engine: LuaEngine) -> None:
    """BeforeToolExecution hooks only (the one-crossing call with hooks): tool.started, the
    hook's run, then tool.completed (its duration includes the hook's), modified parameters
    reach the tool, a redirect to a script's tool and a cancel behave as on the full path."""
    from llmspell_kernel.events.store import EventStore

    got = run(
        engine,
        """
        Tool.register({name = "shout", description = "", fn = function(p)
          return {text = p.input .. "!"}
        end})
        local h = Hook.register("BeforeToolExecution", function(ctx)
          if ctx.data.parameters.input == "go" then
            return {type = "redirect", target = "shout"}
          elseif ctx.data.parameters.input == "stop" then
            return {type = "cancel", reason = "no"}
          end
          return {type = "modified", data = {parameters = {operation = "encode", input = "b"}}}
        end, {name = "rewrite"})
        local encoded = Tool.invoke("base64_encoder", {operation = "encode", input = "a"})
        local shouted = Tool.invoke("base64_encoder", {input = "go"})
        local ok, err = pcall(Tool.invoke, "base64_encoder", {input = "stop"})
        return {encoded.result, shouted.text, err}""",
    )
    assert got[0]["output"] == "Yg==" and got[1] == "go!"
    assert got[2].endswith("Cancelled by hook: no")
    engine.events.flush()
    rows = EventStore(engine.data.database(), engine.data.tenant).query()
    listed = [(r["event_type"], r["data"].get("name")) for r in rows]
    assert listed[:7] == [
        ("tool.started", "base64_encoder"),
        ("hook.executed", "rewrite"),
        ("tool.completed", "base64_encoder"),
        ("tool.started", "base64_encoder"),
        ("hook.executed", "rewrite"),
        ("tool.completed", "shout"),
        ("tool.started", "base64_encoder"),
    ]
    assert listed[7:] == [("hook.executed", "rewrite")]
    assert rows[4]["data"]["action"] == "redirect"
    assert rows[2]["data"]["duration_ms"] >= rows[1]["data"]["duration_ms"]
    assert rows[2]["data"]["success"] is True
