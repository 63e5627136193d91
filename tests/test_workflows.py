"""The Workflow global (lua-api.md 2.10): real Lua, real tools, the scripted provider server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmspell_kernel import providers
from llmspell_kernel.config import load_config
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings
from tests.llm_server import Reply, ScriptedLLMServer, openai_text
from tests.test_agents import PROVIDER_VARIABLES, engine, fails, run

__all__ = ["engine"]  # the fixture, shared with the agent tests


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ScriptedLLMServer]:
    server = ScriptedLLMServer()
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("LLMSPELL_OPENAI_ENDPOINT", server.url)
    # A provider allows 8 requests at once by default; the fan-out tests need more.
    config = tmp_path / "providers.toml"
    config.write_text("[providers.openai]\nmax_concurrency = 32\n")
    saved = list(providers.configured)
    providers.configure(load_config(config).config)
    yield server
    providers.configured[:] = saved
    server.close()


AGENTS = """
for i = 1, {n} do
  Agent.builder():name("w" .. i):model("openai/gpt-4o-mini"):build()
end
"""


def test_sequential_tools_substitute_placeholders_and_write_state(engine) -> None:
    value = run(
        engine,
        """
        local wf = Workflow.builder():name("pipe"):sequential()
          :add_step({name = "gen", type = "tool", tool = "uuid_generator",
                     input = {operation = "generate", version = "v4"}})
          :add_step({name = "up", tool = "text_manipulator",
                     input = {operation = "uppercase",
                              input = "{{input.topic}}/{{topic}}/{{step.gen.result.uuid}}/{{nope}}"}})
          :add_step({name = "echo", type = "custom", ["function"] = function(input, ctx)
              return "saw " .. ctx.outputs.up .. " in " .. ctx.workflow_name
            end})
          :build()
        local r = wf:execute({topic = "lua"})
        local exec = r.metadata.extra.execution_id
        local legacy = State.load("custom", ":workflow:" .. exec .. ":up")
        local same = State.load("workflow", exec .. ":up")
        return {r.success, r.text, r.outputs.up, r.outputs.echo, legacy.output == same.output,
                State.load("workflow", exec .. ":step:up:output"), legacy.success,
                r.metadata.extra.total_steps, r.metadata.extra.workflow_type,
                r.metadata.extra.workflow_id == exec, wf:get_execution_id() == exec}
        """,
    )
    assert isinstance(value, list)
    success, text, up, echo, same, stored, ok, total, kind, wid, last = value
    assert success is True and ok is True and same and wid and last
    assert text == "Workflow 'pipe' completed successfully: 3/3 steps succeeded"
    head, middle, uuid, rest = up.split("/")
    assert (head, middle, rest) == ("LUA", "LUA", "{{NOPE}}")  # unresolved stays verbatim
    assert len(uuid) == 36
    assert echo == f"saw {up} in pipe" and stored == up
    assert (total, kind) == (3, "sequential")


def test_parallel_tools_all_run_and_fail_fast_names_the_step(engine) -> None:
    value = run(
        engine,
        """
        local wf = Workflow.parallel({name = "par", steps = {
          {name = "h", type = "tool", tool = "hash_calculator",
           input = {operation = "hash", algorithm = "sha256", input = "abc"}},
          {name = "b", type = "tool", tool = "base64_encoder", input = {operation = "encode", input = "hi"}},
        }})
        local r = wf:execute()
        return {r.success, r.outputs.b, r.metadata.extra.successful_steps}
        """,
    )
    assert value == [True, "aGk=", 2]
    message = fails(
        engine,
        """
        local wf = Workflow.builder():name("bad"):parallel()
          :add_step({name = "oops", type = "tool", tool = "no_such_tool"})
          :build()
        local r = wf:execute({})
        """,
    )
    assert (
        message == "main.lua:5: Workflow 'bad' failed at step 'oops': Tool 'no_such_tool' not found"
    )


def test_continue_records_failures_and_retry_tries_three_times(engine) -> None:
    value = run(
        engine,
        """
        local wf = Workflow.builder():name("cont"):sequential():error_strategy("continue")
          :add_step({name = "bad", type = "custom", ["function"] = function() error("nope", 0) end})
          :add_step({name = "good", type = "custom", ["function"] = function() return "fine" end})
          :build()
        local r = wf:execute({})
        local calls = 0
        local flaky = Workflow.builder():name("flaky"):sequential():error_strategy("retry")
          :add_step({name = "f", type = "custom", ["function"] = function()
              calls = calls + 1
              if calls < 3 then error("not yet", 0) end
              return "third time"
            end})
          :build()
        local f = flaky:execute({})
        local rec = State.load("workflow", f.metadata.extra.execution_id .. ":f")
        return {r.success, r.error, r.outputs.good, r.metadata.extra.failed_steps,
                f.success, f.outputs.f, calls, rec.retry_count}
        """,
    )
    assert value == [False, "nope", "fine", 1, True, "third time", 3, 2]


def test_conditions_of_every_type_pick_the_branch(engine) -> None:
    code = """
    local function branchy(cond)
      return Workflow.builder():conditional()
        :add_step({name = "probe", type = "custom", ["function"] = function() return " Ready " end})
        :condition(cond)
        :add_then_step({name = "yes", type = "custom", ["function"] = function() return "then" end})
        :add_else_step({name = "no", type = "custom", ["function"] = function() return "else" end})
        :build()
    end
    local conds = {
      "always", "never", "step:probe:Ready", "step:probe:other",
      {type = "shared_data_equals", key = "kind", value = "blog"},
      {type = "shared_data_equals", key = "kind", expected = "mail"},
      {type = "shared_data_exists", key = "kind"},
      {type = "shared_data_exists", key = "absent"},
      {type = "step_output_equals", step = "probe", expected = "Ready"},
      {type = "step_result_equals", step = "probe", expected = "nope"},
      {type = "step_output_contains", step = "probe", text = "READ"},
      {type = "and", conditions = {"always", {type = "shared_data_exists", key = "kind"}}},
      {type = "or", conditions = {"never", "never"}},
      {type = "not", condition = "never"},
      {type = "custom", fn = function(ctx) return ctx.outputs.probe == " Ready " and ctx.input.kind == "blog" end},
      {type = "shared_data_equals", key = "probe", value = " Ready "},
    }
    local out = {}
    for i, c in ipairs(conds) do
      local r = branchy(c):execute({kind = "blog"})
      out[i] = r.outputs.yes or r.outputs.no
    end
    return out
    """
    assert run(engine, code) == [
        "then", "else", "then", "else", "then", "else", "then", "else",
        "then", "else", "then", "then", "else", "then", "then", "then",
    ]  # fmt: skip


def test_add_branch_is_a_real_nway_branch(engine) -> None:
    value = run(
        engine,
        """
        local wf = Workflow.builder():name("route"):conditional()
          :condition({type = "shared_data_equals", key = "p", value = "critical"})
          :add_then_step({name = "crit", type = "custom", ["function"] = function() return "c" end})
          :add_branch({type = "shared_data_equals", key = "p", value = "high"},
                      {{name = "high", type = "custom", ["function"] = function() return "h" end}})
          :add_else_step({name = "low", type = "custom", ["function"] = function() return "l" end})
          :build()
        local a, b, c = wf:execute({p = "critical"}), wf:execute({p = "high"}), wf:execute({p = "x"})
        return {a.outputs.crit, b.outputs.high, c.outputs.low, b.outputs.low == nil}
        """,
    )
    assert value == ["c", "h", "l", True]


def test_loops_range_collection_and_while(engine) -> None:
    value = run(
        engine,
        """
        local seen = {}
        local ranged = Workflow.builder():name("r"):loop():with_range({start = 1, ["end"] = 6, step = 2})
          :add_step({name = "s", type = "custom", ["function"] = function(input)
              seen[#seen + 1] = input.v return input.v end, parameters = {v = "{{loop_value}}@{{loop_index}}"}})
          :build()
        local r = ranged:execute({})
        local coll = Workflow.loop({name = "c", iterator = {collection = {"user", "task"}},
          body = {steps = {{name = "t", type = "tool", tool = "text_manipulator",
                            input = {operation = "uppercase", input = "{{loop_value}}-{{iteration}}"}}}}})
        local c = coll:execute({})
        local exec = c.metadata.extra.execution_id
        local first = State.load("workflow", exec .. ":iteration_0:t").output
        local n = 0
        local w = Workflow.builder():name("w"):loop():with_while(function(ctx) return ctx.loop_index < 4 end)
          :add_step({name = "x", type = "custom", ["function"] = function() n = n + 1 return n end})
          :build():execute({})
        local e = Workflow.builder():name("e"):loop():with_while("loop_index < input.limit")
          :max_iterations(10)
          :add_step({name = "y", type = "custom", ["function"] = function() return "y" end})
          :build():execute({limit = 3})
        local capped = Workflow.builder():name("m"):loop():with_while(function() return true end)
          :max_iterations(2)
          :add_step({name = "z", type = "custom", ["function"] = function() return "z" end})
          :build():execute({})
        return {table.concat(seen, ","), r.metadata.extra.iterations, c.outputs.t, first,
                w.metadata.extra.iterations, n, e.metadata.extra.iterations,
                capped.metadata.extra.iterations}
        """,
    )
    assert value == ["1@0,3@1,5@2", 3, "TASK-1", "USER-0", 4, 4, 3, 2]


def test_nested_workflow_gets_only_its_input(engine) -> None:
    value = run(
        engine,
        """
        local inner = Workflow.builder():name("inner"):sequential()
          :add_step({name = "i", type = "custom", ["function"] = function(input, ctx)
              return "inner got " .. tostring(ctx.input and nil) .. tostring(input.word) end,
              parameters = {word = "{{input.word}}/{{secret}}"}})
          :build()
        local outer = Workflow.builder():name("outer"):sequential()
          :add_step({name = "n", type = "workflow", workflow = inner, input = {word = "{{topic}}"}})
          :add_step({name = "after", type = "custom", ["function"] = function(input) return input.t end,
                     parameters = {t = "[{{n}}]"}})
          :build()
        local r = outer:execute({topic = "hi", secret = "s"})
        local exec = r.metadata.extra.execution_id
        return {r.outputs.n, r.outputs.after, State.load("workflow", exec .. ":nested:inner:output")}
        """,
    )
    assert value == [
        "inner got nilhi/{{secret}}",
        "[inner got nilhi/{{secret}}]",
        "inner got nilhi/{{secret}}",
    ]


def test_builder_errors_and_registry(engine) -> None:
    assert fails(engine, 'local w = Workflow.builder():name("x"):build()') == (
        "main.lua:1: Workflow type not specified"
    )
    assert fails(
        engine, 'local b = Workflow.builder():sequential():add_step({name = "a", type = "agent"})'
    ) == ("main.lua:1: add_step: step 'a' needs agent = <agent name>")
    assert "call with ':' not '.'" in fails(engine, "Workflow.builder().build()")
    value = run(
        engine,
        """
        Workflow.clear()
        local a = Workflow.builder():name("a"):sequential()
          :add_step({name = "s", type = "tool", tool = "uuid_generator", input = {operation = "generate"}})
          :build()
        local b = Workflow.builder():name("b"):parallel():build()
        local listed = Workflow.list()
        local got = Workflow.get("a")
        a:execute({})
        a:execute({})
        local m = a:get_metrics()
        local outputs = a:get_all_outputs()
        local names = a:list_outputs()
        local one = a:get_output("s")
        a:clear_outputs()
        local after = a:get_output("s")
        local v = b:validate()
        local removed = Workflow.remove(b.id)
        return {#listed, got == a, a:get_info().type, m.executions, type(outputs.s), names[1],
                #one, after == nil, v.valid, v.warnings[1], removed, #Workflow.list(),
                Workflow.get("b") == nil, Workflow.types()[3]}
        """,
    )
    assert value == [
        2, True, "sequential", 2, "string", "s", 36, True, True, "the workflow has no steps",
        True, 1, True, "loop",
    ]  # fmt: skip


def test_upstream_shared_data_and_a_lua_function_condition(engine) -> None:
    value = run(
        engine,
        """
        local wf = Workflow.builder():name("router"):conditional()
          :condition({type = "shared_data_equals", key = "content_type", value = "blog"})
          :add_then_step({name = "blog", type = "custom", ["function"] = function() return "b" end})
          :add_else_step({name = "mail", type = "custom", ["function"] = function() return "m" end})
          :build()
        wf:set_shared_data("content_type", "blog")
        local first = wf:execute({}).outputs.blog
        wf:set_shared_data("content_type", "email")
        local second = wf:execute({}).outputs.mail
        return {first, second}
        """,
    )
    assert value == ["b", "m"]


def test_agent_steps_write_the_keys_upstream_apps_read(server, engine) -> None:
    server.script(Reply(body=openai_text("draft about lua")), Reply(body=openai_text("polished")))
    value = run(
        engine,
        """
        Agent.builder():name("writer_1"):model("openai/gpt-4o-mini"):build()
        local editor = Agent.builder():name("editor"):model("openai/gpt-4o-mini"):build()
        local wf = Workflow.builder():name("content"):sequential()
          :add_step({name = "draft", type = "agent", agent = "writer_1"})
          :add_step({name = "edit", type = "agent", agent = editor, input = "Polish: {{draft}}"})
          :build()
        local r = wf:execute({text = "write about {{nothing}} lua"})
        local exec = r.metadata.extra.execution_id
        local a = State.load("custom", ":workflow:" .. exec .. ":agent:writer_1:output")
        local b = State.load("workflow", exec .. ":agent:writer_1:output")
        local meta = State.load("workflow", exec .. ":agent:editor:metadata")
        local by_step = r.metadata.extra.agent_outputs.draft  -- upstream's webapp-creator reads these
        return {a, a == b, r.metadata.extra.agent_outputs.writer_1, r.outputs.edit, meta.model,
                by_step, math.type(r.metadata.execution_time_ms)}
        """,
    )
    assert value == [
        "draft about lua", True, "draft about lua", "polished", "gpt-4o-mini", "draft about lua",
        "integer",
    ]  # fmt: skip
    assert server.seen[0].body["messages"][-1]["content"] == "write about {{nothing}} lua"
    assert server.seen[1].body["messages"][-1]["content"] == "Polish: draft about lua"


def test_twenty_parallel_agent_steps_overlap(server, engine) -> None:
    # The twenty replies wait at one barrier: they are answered only once all twenty requests
    # are in flight at the same time (steps run one after another would break it after 30 s).
    together = threading.Barrier(20)
    server.script(
        Reply(body=openai_text("warm")),
        *[Reply(body=openai_text(f"r{i}"), together=together) for i in range(20)],
    )
    run(engine, AGENTS.format(n=20) + 'Agent.get("w1"):execute("warm up")')
    code = """
    local b = Workflow.builder():name("fan"):parallel():max_concurrency(20)
    for i = 1, 20 do
      b:add_step({name = "s" .. i, type = "agent", agent = "w" .. i, input = "part " .. i})
    end
    local r = b:build():execute({})
    local n = 0
    for _ in pairs(r.outputs) do n = n + 1 end
    return {r.success, n}
    """
    assert run(engine, code) == [True, 20]
    assert not together.broken  # every request was sent before the first reply


def test_a_loop_with_max_concurrency_overlaps_its_iterations(server, engine) -> None:
    delay = 0.3
    server.script(*[Reply(body=openai_text(f"r{i}"), delay=delay) for i in range(6)])
    run(engine, AGENTS.format(n=1))
    value = run(
        engine,
        """
        local r = Workflow.builder():name("crud"):loop():with_collection({"a", "b", "c", "d", "e", "f"})
          :max_concurrency(6)
          :add_step({name = "gen", type = "agent", agent = "w1", input = "routes for {{loop_value}}"})
          :build():execute({})
        return {r.success, r.metadata.extra.iterations}
        """,
    )
    assert value == [True, 6]
    starts = sorted(s.at for s in server.seen)
    assert starts[-1] - starts[0] < delay
    asked = sorted(s.body["messages"][-1]["content"] for s in server.seen)
    assert asked == [f"routes for {c}" for c in "abcdef"]


def test_custom_steps_of_a_parallel_workflow_never_interleave(server, engine) -> None:
    server.script(*[Reply(body=openai_text("inside"), delay=0.05) for _ in range(4)])
    run(engine, AGENTS.format(n=1))
    value = run(
        engine,
        """
        local log = {}
        local b = Workflow.builder():name("mix"):parallel()
        for i = 1, 4 do
          b:add_step({name = "c" .. i, type = "custom", ["function"] = function()
            log[#log + 1] = "in" .. i
            Agent.get("w1"):execute("x")  -- blocks here: a Lua step is never suspended
            log[#log + 1] = "out" .. i
            return "done"
          end})
        end
        b:build():execute({})
        return table.concat(log, " ")
        """,
    )
    assert value == "in1 out1 in2 out2 in3 out3 in4 out4"


def test_step_and_run_timeouts_cancel_what_is_in_flight(server, engine) -> None:
    server.script(Reply(hang=True))
    run(engine, AGENTS.format(n=2))
    value = run(
        engine,
        """
        local r = Workflow.builder():name("slow"):parallel():error_strategy("continue")
          :add_step({name = "hangs", type = "agent", agent = "w1", input = "x", timeout_ms = 300})
          :add_step({name = "fast", type = "custom", ["function"] = function() return "quick" end})
          :build():execute({})
        return {r.success, r.error, r.outputs.fast}
        """,
    )
    assert value == [False, "step 'hangs' timed out after 300 ms", "quick"]
    server.script(Reply(hang=True), Reply(hang=True))
    began = time.monotonic()
    message = fails(
        engine,
        """
        local wf = Workflow.builder():name("whole"):parallel():timeout_ms(300)
          :add_step({name = "a", type = "agent", agent = "w1", input = "x"})
          :add_step({name = "b", type = "agent", agent = "w2", input = "y"})
          :build()
        local r = wf:execute({})
        """,
    )
    assert message == "main.lua:6: Workflow 'whole' timed out"
    assert time.monotonic() - began < 5
    assert len(engine.workflow_pending) == 0  # nothing left in flight


def test_interrupt_cancels_every_in_flight_step(server, engine) -> None:
    server.script(*[Reply(hang=True) for _ in range(3)])
    run(engine, AGENTS.format(n=3))
    code = """
    local b = Workflow.builder():name("stuck"):parallel()
    for i = 1, 3 do b:add_step({name = "s" .. i, type = "agent", agent = "w" .. i, input = "x"}) end
    b:build():execute({})
    """
    outcome: list[object] = []
    runner = threading.Thread(target=lambda: outcome.append(engine.execute(code)))
    runner.start()
    deadline = time.monotonic() + 30
    while len(server.seen) < 3 and time.monotonic() < deadline:
        runner.join(0.01)
    began = time.monotonic()
    engine.interrupt()
    runner.join(10)
    assert time.monotonic() - began < 2.0
    assert getattr(outcome[0], "status", None) == "error"
    assert len(engine.workflow_pending) == 0
    server.script(Reply(body=openai_text("again")))
    assert run(engine, 'return Agent.get("w1"):execute("next").text') == "again"


def test_workflow_hook_points_and_system_events(engine) -> None:
    value = run(
        engine,
        """
        local seen = {}
        Hook.register("BeforeWorkflowStage", function(ctx)
          seen[#seen + 1] = ctx.data.workflow_name .. "/" .. ctx.data.step_name
          if ctx.data.step_name == "skipme" then return "skip" end
          if ctx.data.step_name == "mod" then return {type = "modified", data = {input = {text = "changed"}}} end
        end)
        Hook.register("AfterWorkflowStage", function(ctx)
          if ctx.data.step_name == "mod" then return {type = "replace", data = "replaced"} end
        end)
        local sub = Event.subscribe("workflow.*")
        local wf = Workflow.builder():name("hk"):sequential()
          :add_step({name = "skipme", type = "custom", ["function"] = function() return "no" end})
          :add_step({name = "mod", type = "custom", ["function"] = function(input) return input.text end,
                     parameters = {text = "orig"}})
          :build()
        local r = wf:execute({})
        local types = {}
        local ev = Event.receive(sub, 0)
        while ev do types[#types + 1] = ev.event_type ev = Event.receive(sub, 0) end
        local stopper = Hook.register("BeforeWorkflowStart", function() return {type = "cancel", reason = "no"} end)
        local ok, err = pcall(function() local x = wf:execute({}) return x end)
        stopper:unregister()
        return {r.outputs.mod, r.outputs.skipme == nil, table.concat(seen, " "), table.concat(types, " "), err}
        """,
    )
    assert value == [
        "replaced",
        True,
        "hk/skipme hk/mod",
        "workflow.started workflow.step.completed workflow.completed",
        "main.lua:22: Cancelled by hook: no",
    ]


def test_network_tool_steps_of_a_parallel_workflow_overlap() -> None:
    from llmspell_kernel.tools.settings import ToolSettings

    server = ScriptedLLMServer()  # any POST gets the next scripted reply
    delay = 0.3
    server.script(*[Reply(body={"ok": i}, delay=delay) for i in range(4)])
    tools = ToolSettings(allow_localhost=True)
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory"), tools=tools))
    try:
        value = run(
            engine,
            f"""
            local b = Workflow.builder():name("fetch"):parallel()
            for i = 1, 4 do
              b:add_step({{name = "get" .. i, type = "tool", tool = "http_request",
                          input = {{method = "POST", input = "{server.url}/x" .. i, body = {{n = i}}}}}})
            end
            local r = b:build():execute({{}})
            return {{r.success, r.metadata.extra.successful_steps}}
            """,
        )
    finally:
        server.close()
    assert value == [True, 4]
    starts = sorted(s.at for s in server.seen)
    assert starts[-1] - starts[0] < delay  # all four were asked before the first answered


def test_a_nested_parallel_workflow_waits_with_its_parent(server, engine) -> None:
    delay = 0.3
    server.script(*[Reply(body=openai_text(f"r{i}"), delay=delay) for i in range(4)])
    run(engine, AGENTS.format(n=4))
    value = run(
        engine,
        """
        local inner = Workflow.builder():name("inner"):parallel()
          :add_step({name = "a3", type = "agent", agent = "w3", input = "three"})
          :add_step({name = "a4", type = "agent", agent = "w4", input = "four"})
          :build()
        local r = Workflow.builder():name("outer"):parallel()
          :add_step({name = "a1", type = "agent", agent = "w1", input = "one"})
          :add_step({name = "a2", type = "agent", agent = "w2", input = "two"})
          :add_step({name = "nested", type = "workflow", workflow = inner})
          :build():execute({})
        return {r.success, r.metadata.extra.successful_steps}
        """,
    )
    assert value == [True, 3]
    starts = sorted(s.at for s in server.seen)
    assert len(starts) == 4 and starts[-1] - starts[0] < delay


def test_a_reset_lua_state_starts_without_workflows(engine) -> None:
    run(engine, 'Workflow.builder():name("gone"):sequential():build()')
    assert run(engine, "return #Workflow.list()") == 1
    engine.reset()
    assert run(engine, 'return {#Workflow.list(), Workflow.get("gone") == nil}') == [0, True]


def test_hooks_cancel_a_run_and_retry_a_failed_step(engine) -> None:
    value = run(
        engine,
        """
        local tries = 0
        local wf = Workflow.builder():name("guarded"):sequential():error_strategy("continue")
          :add_step({name = "first", type = "custom", ["function"] = function() return "ok" end})
          :add_step({name = "danger", type = "custom", ["function"] = function() return "boom" end})
          :add_step({name = "never", type = "custom", ["function"] = function() return "no" end})
          :build()
        local h = Hook.register("BeforeWorkflowStage", function(ctx)
          if ctx.data.step_name == "danger" then return {type = "cancel", reason = "too risky"} end
        end)
        local ok, err = pcall(function() local r = wf:execute({}) return r end)
        h:unregister()
        local rec = State.load("workflow", wf:get_execution_id() .. ":never")
        local flaky = Workflow.builder():name("flaky2"):sequential()
          :add_step({name = "f", type = "custom", ["function"] = function()
              tries = tries + 1
              if tries == 1 then error("first try fails", 0) end
              return "second try"
            end})
          :build()
        local r2 = Hook.register("WorkflowError", function(ctx)
          return {type = "retry", delay_ms = 10, max_attempts = 2}
        end)
        local out = flaky:execute({})
        r2:unregister()
        return {ok, err, rec == nil, out.outputs.f, tries}
        """,
    )
    assert value == [False, "main.lua:11: Cancelled by hook: too risky", True, "second try", 2]


def test_fail_fast_cancels_the_other_branches_calls(server, engine) -> None:
    server.script(Reply(hang=True))
    run(engine, AGENTS.format(n=1))
    began = time.monotonic()
    message = fails(
        engine,
        """
        local wf = Workflow.builder():name("ff"):parallel()
          :add_step({name = "slow", type = "agent", agent = "w1", input = "x"})
          :add_step({name = "bad", type = "custom", ["function"] = function() error("broken", 0) end})
          :build()
        local r = wf:execute({})
        """,
    )
    assert message == "main.lua:6: Workflow 'ff' failed at step 'bad': broken"
    assert time.monotonic() - began < 5
    assert len(engine.workflow_pending) == 0


def test_a_nested_workflow_keeps_its_own_timeout(server, engine) -> None:
    server.script(Reply(hang=True))
    run(engine, AGENTS.format(n=1))
    began = time.monotonic()
    value = run(
        engine,
        """
        local inner = Workflow.builder():name("inner_t"):sequential():timeout_ms(300)
          :add_step({name = "stuck", type = "agent", agent = "w1", input = "x"})
          :build()
        local r = Workflow.builder():name("outer_t"):parallel():error_strategy("continue")
          :add_step({name = "n", type = "workflow", workflow = inner})
          :add_step({name = "s", type = "custom", ["function"] = function() return "sibling" end})
          :build():execute({})
        return {r.success, r.error, r.outputs.s}
        """,
    )
    assert value == [False, "Workflow 'inner_t' timed out", "sibling"]
    assert time.monotonic() - began < 5
    assert len(engine.workflow_pending) == 0


def test_building_a_name_again_takes_it_over_and_the_old_object_still_runs(engine) -> None:
    value = run(
        engine,
        """
        local function make(text)
          return Workflow.builder():name("same"):sequential()
            :add_step({name = "s", type = "custom", ["function"] = function() return text end})
            :build()
        end
        local old, new = make("old"), make("new")
        return {old:execute({}).outputs.s, new:execute({}).outputs.s,
                Workflow.get("same") == new, #Workflow.list(), Workflow.get(old.id) == old}
        """,
    )
    assert value == ["old", "new", True, 1, True]


def test_a_step_timeout_stops_waiting_for_a_network_tool() -> None:
    from llmspell_kernel.tools.settings import ToolSettings

    server = ScriptedLLMServer()
    server.script(Reply(hang=True))
    tools = ToolSettings(allow_localhost=True)
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory"), tools=tools))
    began = time.monotonic()
    try:
        value = run(
            engine,
            f"""
            local r = Workflow.builder():name("patient"):sequential():error_strategy("continue")
              :add_step({{name = "get", type = "tool", tool = "http_request", timeout_ms = 300,
                          input = {{method = "POST", input = "{server.url}/slow"}}}})
              :add_step({{name = "after", type = "custom", ["function"] = function() return "ran" end}})
              :build():execute({{}})
            return {{r.error, r.outputs.after}}
            """,
        )
    finally:
        server.close()
    assert value == ["step 'get' timed out after 300 ms", "ran"]
    assert time.monotonic() - began < 5  # the tool's own timeout is 30 s
    assert len(engine.workflow_pending) == 0
