"""Hostile scripts against the sandbox: host objects, metatables, files, limits, stoppability.

Every attack runs at each security level it concerns, on a real engine (and through the real
CLI where the failure mode was the process itself: a deadlock, a Lua panic, a C call that never
returns). A held attack is one that fails cleanly (an error or a refused value) and leaves the
secret unread, the process alive and the next execution working.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from llmspell_kernel.lua.engine import SECURITY_LEVELS, EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings
from tests.processes import llmspell

SECRET = "TOP-SECRET-d41d8cd9"


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A script directory, an allowed directory and a secret outside both."""
    paths = {
        "scripts": tmp_path / "scripts",
        "allowed": tmp_path / "allowed",
        "outside": tmp_path / "outside",
    }
    for path in paths.values():
        path.mkdir()
    (paths["outside"] / "secret.txt").write_text(SECRET)
    (paths["scripts"] / "main.lua").write_text("return 1\n")
    return paths


def make_engine(level: str, layout: dict[str, Path], tmp_path: Path, **extra: object) -> LuaEngine:
    settings = EngineSettings(
        security_level=level,
        allowed_paths=(str(layout["allowed"]),),
        data=DataSettings(path=str(tmp_path / "store" / "state.db")),
        **extra,
    )
    return LuaEngine(settings)


def run(engine: LuaEngine, code: str, layout: dict[str, Path]) -> object:
    return engine.execute(code, script_path=str(layout["scripts"] / "main.lua"), chunk_name="=t")


# -- 1. no Python object in script space; no writable host metatable --------------------------

WALK = r"""
local env, real_getmetatable, hostile, level = ...
local seen, failures, calls = {}, {}, 0
local SKIP = { ["os.exit"] = true, ["input"] = true, ["io.read"] = true, ["io.lines"] = true }
-- At `unrestricted` the real os, io, debug and package libraries are the script's: calling them
-- with hostile arguments would remove, rename and truncate real files. Walk the rest.
local REAL = { os = true, io = true, debug = true, package = true, require = true,
  dofile = true, loadfile = true, load = true, collectgarbage = true }

local mine = {} -- the hostile arguments themselves: their metatables are the script's own
for _, args in ipairs(hostile) do
  for i = 1, args.n do
    local v = args[i]
    if v ~= nil and v == v then mine[v] = true end
  end
end

local function check_value(where, v)
  if v ~= v or (v ~= nil and mine[v]) then return end
  local t = type(v)
  if t == "userdata" then
    failures[#failures + 1] = where .. " is a userdata: " .. tostring(v)
  end
  local visible = env.getmetatable(v)
  local real = real_getmetatable(v)
  if type(visible) == "table" and rawequal(visible, real) then
    failures[#failures + 1] = where .. " exposes its metatable"
  end
end

local function call_hostile(where, f)
  for i, args in ipairs(hostile) do
    calls = calls + 1
    local results = table.pack(pcall(f, table.unpack(args, 1, args.n)))
    for j = 2, results.n do
      check_value(where .. "(args #" .. i .. ") value " .. (j - 1), results[j])
    end
  end
end

local function walk(prefix, t, depth)
  if seen[t] or depth > 3 then return end
  seen[t] = true
  check_value(prefix, t)
  for k, v in next, t do
    local name = prefix == "" and tostring(k) or prefix .. "." .. tostring(k)
    if level == "unrestricted" and REAL[name:match("^[^.]+")] then
      goto continue
    end
    check_value(name, v)
    if type(v) == "table" then
      walk(name, v, depth + 1)
    elseif type(v) == "function" and not SKIP[name] then
      call_hostile(name, v)
    end
    ::continue::
  end
end
walk("", env, 0)
return failures, calls
"""

HOSTILE_ARGS = r"""
local weird = setmetatable({}, { __index = function() error({}) end, __tostring = function() error("x") end })
return {
  table.pack(),
  table.pack(nil),
  table.pack('"\\ud800"'),
  table.pack('"\\udfff\\ud800"'),
  table.pack("[" .. string.rep("[", 400) .. string.rep("]", 400) .. "]"),
  table.pack("\255\254 not utf-8"),
  table.pack({}, {}, {}),
  table.pack(weird, weird),
  table.pack(function() end, coroutine.create(function() end)),
  table.pack(1e308, -1e308, 0/0),
  table.pack(math.mininteger, math.maxinteger),
  table.pack("../outside/secret.txt", "r"),
  table.pack("s", "k", weird),
  table.pack(string.rep("x", 70000)),
  table.pack(true, false),
}
"""


@pytest.mark.parametrize("level", SECURITY_LEVELS)
def test_every_global_called_with_hostile_arguments_leaks_no_host_object(level, layout, tmp_path):
    engine = make_engine(level, layout, tmp_path)
    real_debug = engine.runtime.globals().debug
    hostile = engine.runtime.execute(HOSTILE_ARGS)
    os.chdir(layout["scripts"])  # relative hostile paths stay inside tmp_path
    failures, calls = engine.runtime.execute(
        WALK, engine.env, real_debug.getmetatable, hostile, level
    )
    problems = [failures[i] for i in range(1, len(failures) + 1)]
    assert problems == []
    assert calls > 500  # the walk really reached the libraries and the llmspell globals
    assert run(engine, "return 1 + 1", layout).value == 2  # and the engine still works


@pytest.mark.parametrize("level", SECURITY_LEVELS)
def test_json_parse_errors_are_strings_and_metatable_stays_locked(level, layout, tmp_path):
    engine = make_engine(level, layout, tmp_path)
    code = r"""
      local out = {}
      for _, text in ipairs({'"\\ud800"', '"\\udfff"', '[' .. string.rep('[', 100000), '{"a":' }) do
        local ok, e = pcall(JSON.parse, text)
        out[#out + 1] = type(e)
      end
      return out
    """
    outcome = run(engine, code, layout)
    assert outcome.status == "ok", outcome.evalue
    assert all(kind in ("string", "table") for kind in outcome.value), outcome.value
    assert "userdata" not in outcome.value


HIJACK = r"""
local ok, e = pcall(JSON.parse, '"\\ud800"')
local mt = getmetatable(e)
if type(mt) == "table" then
  pcall(function() mt.__call = function() return "/etc/passwd" end end)
end
local f = io.open("{secret}")
return f and f:read("a") or "held"
"""


@pytest.mark.parametrize("level", ("safe", "privileged"))
def test_metatable_hijack_cannot_bypass_the_read_check(level, layout, tmp_path):
    engine = make_engine(level, layout, tmp_path)
    secret = layout["outside"] / "secret.txt"
    outcome = run(engine, HIJACK.replace("{secret}", str(secret)), layout)
    assert SECRET not in str(outcome.value) and SECRET not in outcome.evalue
    assert outcome.status == "ok" and outcome.value == "held", outcome.evalue


# -- the hostile corpus ------------------------------------------------------------------------
# (name, code, levels it must hold at). `{secret}` is a file outside every root, `{allowed}` the
# allowed directory, `{keys}` the user's keys file. Each must fail or return something other
# than the secret, and never kill the engine.
CORPUS: list[tuple[str, str, tuple[str, ...]]] = [
    ("io.open outside roots", 'return io.open("{secret}"):read("a")', ("safe", "privileged")),
    (
        "io.lines outside roots",
        'for l in io.lines("{secret}") do return l end',
        ("safe", "privileged"),
    ),
    ("dofile outside roots", 'return dofile("{secret}")', ("safe", "privileged")),
    ("loadfile outside roots", 'return loadfile("{secret}")', ("safe", "privileged")),
    (
        "relative traversal",
        'return io.open("../outside/secret.txt"):read("a")',
        ("safe", "privileged"),
    ),
    (
        "dot-dot from allowed",
        'return io.open("{allowed}/../outside/secret.txt"):read("a")',
        ("safe", "privileged"),
    ),
    (
        "symlink out of allowed",
        'return io.open("{allowed}/link"):read("a")',
        ("safe", "privileged"),
    ),
    ("keys file", 'return io.open("{keys}"):read("a")', ("safe", "privileged")),
    (
        "write at safe",
        'local f = io.open("{allowed}/w.txt", "w") f:write("x") f:close() return "wrote"',
        ("safe",),
    ),
    (
        "write outside allowed",
        'local f = io.open("{outside}/w.txt", "w") f:write("x") return "wrote"',
        ("safe", "privileged"),
    ),
    (
        "append outside",
        'local f = io.open("{outside}/w.txt", "a+") return f and "opened" or "refused"',
        ("safe", "privileged"),
    ),
    ("os.remove outside", 'return os.remove("{secret}")', ("safe", "privileged")),
    (
        "os.rename outside",
        'return os.rename("{secret}", "{allowed}/moved")',
        ("safe", "privileged"),
    ),
    ("os.execute", 'return os.execute("cat {secret}")', ("safe", "privileged")),
    ("io.popen", 'return io.popen("cat {secret}"):read("a")', ("safe", "privileged")),
    ("require C module", 'return require("io")', ("safe",)),
    ("package.loadlib", 'return package.loadlib("libc.so.6", "system")', ("safe", "privileged")),
    ("debug.getupvalue", "return debug.getupvalue(io.open, 1)", ("safe", "privileged")),
    ("debug.sethook", 'debug.sethook() return "unhooked"', ("safe", "privileged")),
    ("string.dump", "return string.dump(print)", ("safe", "privileged")),
    ("string method dump", 'return ("x").dump(print)', ("safe", "privileged")),
    ("binary chunk", 'return load("\\27Lua", "x", "b")', ("safe", "privileged")),
    ("binary via mode nil", 'return load(string.char(27) .. "Lua")', ("safe", "privileged")),
    (
        "string metatable write",
        'getmetatable("").__index = {{}} rawset(getmetatable(""), "__index", nil) return ("x"):upper()',
        SECURITY_LEVELS,
    ),
    ("python global", 'return python.eval("1")', SECURITY_LEVELS),
    ("_G escape", "return _G._G.io.popen", ("safe", "privileged")),
    (
        "load with real env",
        'return load("return io.popen", "x", "t", _G)()',
        ("safe", "privileged"),
    ),
    (
        "setmetatable __gc",
        'setmetatable({{}}, {{__gc = function() while true do end end}}) collectgarbage() return "collected"',
        ("safe", "privileged"),
    ),
    (
        "getmetatable of JSON.null",
        'local mt = getmetatable(JSON.null) mt.__tostring = nil return "changed"',
        SECURITY_LEVELS,
    ),
    (
        "timer metatable",
        'local mt = getmetatable(Debug.timer("t")) mt.__index = nil return "changed"',
        SECURITY_LEVELS,
    ),
    (
        "interrupt sentinel forged",
        'local ok, e = pcall(error, setmetatable({{}}, {{__name = "llmspell.Interrupted"}})) return ok',
        SECURITY_LEVELS,
    ),
    ("host write with table", 'io.write({{}}) return "wrote"', SECURITY_LEVELS),
    (
        "print with erroring tostring",
        'print(setmetatable({{}}, {{__tostring = function() error("boom") end}})) return "printed"',
        SECURITY_LEVELS,
    ),
    ("State.save of a function", 'State.save("s", "k", print) return "saved"', SECURITY_LEVELS),
    (
        "State.save of a cycle",
        'local t = {{}} t.t = t State.save("s", "k", t) return "saved"',
        SECURITY_LEVELS,
    ),
    ("JSON.stringify cycle", "local t = {{}} t.t = t return JSON.stringify(t)", SECURITY_LEVELS),
    (
        "JSON deep nesting",
        'return JSON.parse(string.rep("[", 200000) .. string.rep("]", 200000))',
        SECURITY_LEVELS,
    ),
    (
        "Artifact.store_file outside",
        'local s = Session.create({{name="x"}}) return Artifact.store_file(s, "tool_result", "{secret}")',
        ("safe", "privileged"),
    ),
    ("session id traversal", 'return Session.get("../../etc/passwd")', SECURITY_LEVELS),
    (
        "state scope injection",
        'return State.load("x\'; DROP TABLE state; --", "k")',
        SECURITY_LEVELS,
    ),
    (
        "coroutine escape of hook",
        "local co = coroutine.create(function() debug.sethook() end) return coroutine.resume(co)",
        ("safe", "privileged"),
    ),
    ("os.getenv at safe", 'return os.getenv("HOME")', ("safe",)),
    ("tostring of io.open", "return tostring(io.open)", SECURITY_LEVELS),
]


def _corpus_cases() -> list[tuple[str, str, str]]:
    return [(name, code, level) for name, code, levels in CORPUS for level in levels]


@pytest.mark.parametrize(("name", "code", "level"), _corpus_cases(), ids=lambda x: str(x)[:40])
def test_hostile_corpus_is_held(name, code, level, layout, tmp_path, isolated_home, monkeypatch):
    keys = isolated_home / ".config" / "llmspell" / "keys.json"
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_text(f'{{"openai": "{SECRET}"}}')
    monkeypatch.delenv("XDG_CONFIG_HOME")  # the default location below $HOME
    (layout["allowed"] / "link").symlink_to(layout["outside"] / "secret.txt")
    source = (
        code.replace("{secret}", str(layout["outside"] / "secret.txt"))
        .replace("{allowed}", str(layout["allowed"]))
        .replace("{outside}", str(layout["outside"]))
        .replace("{keys}", str(keys))
        .replace("{{", "{")
        .replace("}}", "}")
    )
    engine = make_engine(level, layout, tmp_path)
    outcome = run(engine, source, layout)
    shown = f"{outcome.value!r} {outcome.text} {outcome.evalue}"
    assert SECRET not in shown, name
    assert outcome.value not in ("wrote", "opened", "unhooked", "collected", "changed", "saved")
    assert not (layout["outside"] / "w.txt").exists()
    assert (layout["outside"] / "secret.txt").read_text() == SECRET
    if outcome.status == "ok" and isinstance(outcome.value, str):
        assert "userdata" not in outcome.value
    assert run(engine, "return 40 + 2", layout).value == 42, name


def test_unrestricted_still_has_the_whole_library(layout, tmp_path):
    engine = make_engine("unrestricted", layout, tmp_path)
    secret = layout["outside"] / "secret.txt"
    outcome = run(engine, f'return io.open("{secret}"):read("a")', layout)
    assert outcome.value == SECRET


# -- 2. every script stoppable ------------------------------------------------------------------


def test_interrupt_before_lua_starts_is_kept(layout, tmp_path):
    engine = make_engine("safe", layout, tmp_path)
    engine.begin_execution()
    assert engine.interrupt() is True  # arrives while the kernel still prepares the run
    started = time.monotonic()
    outcome = run(engine, "while true do end", layout)
    assert outcome.ename == "Interrupted"
    assert time.monotonic() - started < 5
    assert run(engine, "return 1", layout).value == 1  # and nothing is left pending


def test_syntax_error_after_begin_execution_leaves_nothing_pending(layout, tmp_path):
    engine = make_engine("safe", layout, tmp_path)
    engine.begin_execution()
    assert run(engine, "return +", layout).ename == "SyntaxError"
    assert engine.interrupt() is False  # nothing runs now
    assert run(engine, "return 2", layout).value == 2


def test_an_ignored_interrupt_calls_the_stuck_handler(layout, tmp_path):
    calls: list[str] = []
    entering = threading.Event()
    settings = EngineSettings(
        security_level="safe",
        allowed_paths=(str(layout["allowed"]),),
        data=DataSettings(path=str(tmp_path / "store" / "state.db")),
        interrupt_grace_seconds=0.3,
        on_stuck=calls.append,
    )
    engine = LuaEngine(settings, output=lambda _name, text: "entering" in text and entering.set())
    # A pattern that backtracks for a very long time inside one C call: no hook can run. The
    # script prints on the same line just before the call and the interrupt waits for that
    # output: an interrupt landing before the call starts is honoured by the next hook
    # (correctly: no stuck handler), so such an attempt is repeated.
    code = (
        'print("entering") '
        'return string.find(string.rep("a", 30), string.rep("a*", 8) .. "b")'  # 1.4 s unloaded
    )
    for _attempt in range(5):
        entering.clear()
        worker = threading.Thread(target=run, args=(engine, code, layout), daemon=True)
        worker.start()
        assert entering.wait(30)
        assert engine.interrupt()
        deadline = time.monotonic() + 30
        while not calls and worker.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        worker.join(120)  # the pattern ends on its own soon after; the engine stays usable
        assert not worker.is_alive()
        if calls:
            break
    assert calls == ["interrupt"]
    assert run(engine, "return 1", layout).value == 1


def test_embedded_cli_exits_when_a_c_call_ignores_the_timeout(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[engines.lua]\ninterrupt_grace_seconds = 0.5\n")
    code = 'return string.find(string.rep("a", 60), string.rep("a*", 12) .. "b")'
    started = time.monotonic()
    result = llmspell("-c", str(config), "exec", "--timeout", "0.5", code, timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "did not stop after the time limit" in result.stderr
    assert "Traceback" not in result.stderr


# -- 3/4. memory: no deadlock near the cap, no Lua panic -----------------------------------------


def _small_heap(tmp_path: Path, megabytes: int = 4) -> Path:
    config = tmp_path / "small.toml"
    config.write_text(f"[engines.lua]\nmax_memory_bytes = {megabytes * 1024 * 1024}\n")
    return config


@pytest.mark.parametrize(
    "code",
    [
        'return #JSON.parse("[" .. string.rep(\'"abcdefghij",\', 150000) .. \'"x"]\')',
        'local s = Session.create({name = "big"}) '
        'Artifact.store(s, "user_input", "big.txt", string.rep("z", 3 * 1024 * 1024)) '
        'collectgarbage() local t = {} for i = 1, 3 do t[i] = Artifact.get(s, "big.txt") end '
        "return #t",
        'for i = 1, 60000 do State.save("wide", "key" .. i, i) end '
        'local all = {} for i = 1, 30 do all[i] = State.list_keys("wide") end return #all',
    ],
    ids=["json-parse", "artifact-get", "state-list-keys"],
)
def test_host_results_at_the_memory_cap_fail_cleanly(code, tmp_path):
    config = _small_heap(tmp_path)
    result = llmspell("-c", str(config), "exec", code, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "memory limit exceeded" in result.stderr


def test_a_script_larger_than_the_heap_is_a_memory_error_not_a_panic(tmp_path):
    config = _small_heap(tmp_path, 1)
    script = tmp_path / "huge.lua"
    script.write_text("".join(f'x{i % 50} = "{"q" * 40}{i}"\n' for i in range(60000)))
    result = llmspell("-c", str(config), "run", str(script), timeout=120)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "memory limit exceeded" in result.stderr


def test_a_full_heap_does_not_panic_the_next_large_request(layout, tmp_path):
    engine = make_engine("safe", layout, tmp_path, max_memory_bytes=2 * 1024 * 1024)
    filled = run(engine, "hog = {} for i = 1, 1e7 do hog[i] = i end", layout)
    assert filled.ename == "MemoryError"
    big = "return #[[" + "y" * (3 * 1024 * 1024) + "]]"
    assert run(engine, big, layout).ename == "MemoryError"  # compiled uncapped, fails in Lua
    assert run(engine, "hog = nil collectgarbage() return 5", layout).value == 5


@pytest.mark.parametrize("value", ["100", "-5"])
def test_max_memory_bytes_is_validated(value, tmp_path):
    config = tmp_path / "m.toml"
    config.write_text(f"[engines.lua]\nmax_memory_bytes = {value}\n")
    result = llmspell("-c", str(config), "exec", "return 1")
    assert result.returncode == 3
    assert "at least 1048576" in result.stderr


# -- 5. memory outside the Lua heap is bounded ---------------------------------------------------


def test_in_process_output_applies_back_pressure():
    from llmspell_kernel.protocol.message import MessageFactory
    from llmspell_kernel.transport import inprocess

    kernel = inprocess.InProcessKernelTransport()
    client = kernel.connect()
    factory = MessageFactory()
    chunk = "x" * (1024 * 1024)
    sent = []

    def flood() -> None:
        for _ in range(40):
            kernel.publish(factory.message("stream", {"name": "stdout", "text": chunk}, None))
            sent.append(1)

    producer = threading.Thread(target=flood, daemon=True)
    producer.start()
    deadline = time.monotonic() + 30
    while len(sent) < 9 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # give an unbounded producer the chance to run ahead (it must not)
    assert 9 <= len(sent) <= 10
    received = 0
    while received < 40:
        item = client.recv(5)
        assert item is not None
        received += 1
    producer.join(10)
    assert len(sent) == 40


def test_debug_capture_keeps_bounded_messages(layout, tmp_path):
    engine = make_engine("safe", layout, tmp_path)
    outcome = run(
        engine,
        'local s = string.rep("y", 1024 * 1024) for i = 1, 20 do Debug.error(s) end '
        "return #Debug.getCapturedEntries()[1].message",
        layout,
    )
    assert outcome.status == "ok", outcome.evalue
    assert outcome.value < 8192


# -- 9. llmspell's own files are never script-readable --------------------------------------------


@pytest.mark.parametrize("level", ("safe", "privileged"))
def test_scripts_in_home_cannot_read_keys_or_the_store(level, isolated_home, tmp_path):
    keys = Path(os.environ["XDG_CONFIG_HOME"]) / "llmspell" / "keys.json"
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_text(SECRET)
    store = Path(os.environ["XDG_DATA_HOME"]) / "llmspell" / "state.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(SECRET)
    engine = LuaEngine(EngineSettings(security_level=level, allowed_paths=(str(isolated_home),)))
    for path in (keys, store):
        outcome = engine.execute(
            f'local f, m, e = io.open("{path}") return {{f == nil, m, e}}',
            script_path=str(isolated_home / "s.lua"),
        )
        assert outcome.status == "ok", outcome.evalue
        unopened, message, errno = outcome.value  # nil, message, 13 as for an unreadable file
        assert unopened is True
        assert message.startswith(f"{path}: Permission denied (it belongs to llmspell's own")
        assert errno == 13 and SECRET not in message
        dofile = engine.execute(
            f'return dofile("{path}")', script_path=str(isolated_home / "s.lua")
        )
        assert dofile.status == "error" and "llmspell's own" in dofile.evalue
    writing = engine.execute(
        f'return select(2, io.open("{keys}", "w"))', script_path=str(isolated_home / "s.lua")
    )
    assert writing.status == "ok" and "Permission denied" in writing.value
    assert keys.read_text() == SECRET


def test_world_readable_keys_file_is_made_private(isolated_home):
    from llmspell_kernel.keys import KeyStore

    path = isolated_home / "keys.json"
    path.write_text('{"openai": "sk-test"}')
    path.chmod(0o644)
    assert KeyStore(path).load() == {"openai": "sk-test"}
    assert path.stat().st_mode & 0o777 == 0o600


# -- 11. small things ------------------------------------------------------------------------------


def test_shebang_and_bom_are_skipped(tmp_path):
    script = tmp_path / "s.lua"
    script.write_bytes(b"\xef\xbb\xbf#!/usr/bin/env llmspell\nprint('hi')\nerror('line three')\n")
    result = llmspell("run", str(script))
    assert result.stdout == "hi\n"
    assert ":3: line three" in result.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="Linux file modes")
def test_finalizers_are_refused_below_unrestricted(layout, tmp_path):
    engine = make_engine("safe", layout, tmp_path)
    outcome = run(engine, "setmetatable({}, {__gc = print})", layout)
    assert "__gc metamethods are not allowed" in outcome.evalue
    assert run(engine, "return setmetatable({}, {__index = {a = 1}}).a", layout).value == 1


@pytest.mark.parametrize("value", ["1e309", "-1", "nan"])
def test_timeout_must_be_a_finite_number(value):
    result = llmspell("exec", "--timeout", value, "return 1")
    assert result.returncode == 2
    assert "--timeout must be a number of seconds" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_hook_wake_between_executions_does_not_break_the_next_one(layout, tmp_path):
    engine = make_engine("safe", layout, tmp_path)
    engine.wake_hook()  # a debugger pause or breakpoint change landing while nothing runs
    assert run(engine, "return 7", layout).value == 7
