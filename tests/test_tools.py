"""The Tool global and the built-in tools, on real files in tmp_path, real processes and a local
HTTP server; every destructive operation points below tmp_path."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.tools.settings import ToolSettings
from tests.processes import llmspell, python_json


def make_engine(allowed: Path, **tool_settings: object) -> tuple[LuaEngine, list[str]]:
    out: list[str] = []
    engine = LuaEngine(
        EngineSettings(allowed_paths=(str(allowed),), tools=ToolSettings(**tool_settings)),
        output=lambda _name, text: out.append(text),
    )
    return engine, out


def run(engine: LuaEngine, code: str) -> object:
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.status == "ok", outcome.evalue
    return outcome.value


def failure(engine: LuaEngine, code: str) -> str:
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.status == "error"
    return outcome.evalue


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    directory = tmp_path / "allowed"
    directory.mkdir()
    return directory


# -- acceptance ---------------------------------------------------------------------------------
def test_writing_outside_the_allowed_paths_raises_a_denial_naming_the_key(allowed: Path):
    assert not os.path.exists("/etc/x")
    engine, _ = make_engine(allowed)
    message = failure(
        engine, 'Tool.invoke("file_operations", {operation="write", path="/etc/x", input="y"})'
    )
    assert message.startswith("main.lua:1: Tool 'file_operations' execution failed: '/etc/x'")
    assert "tools.file_operations.allowed_paths" in message
    assert not os.path.exists("/etc/x")


def test_a_symlink_inside_an_allowed_dir_pointing_outside_is_refused(allowed: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("keep")
    (allowed / "link").symlink_to(outside)
    (allowed / "file-link").symlink_to(secret)
    engine, _ = make_engine(allowed)
    for code in (
        f'Tool.invoke("file_operations", {{operation="read", path="{allowed}/file-link"}})',
        f'Tool.invoke("file_operations", {{operation="write", path="{allowed}/link/secret.txt", '
        'input="gone"})',
        f'Tool.invoke("file_operations", {{operation="delete", path="{allowed}/link/secret.txt"}})',
        f'Tool.invoke("file_operations", {{operation="read", path="{allowed}/../outside/secret.txt"}})',
    ):
        assert "is outside tools.file_operations.allowed_paths" in failure(engine, code)
    assert secret.read_text() == "keep"


def test_tools_list_prints_the_catalogue_with_categories_and_permission_marks():
    listed = llmspell("tools", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "filesystem:" in lines and "utility:" in lines and "system:" in lines
    row = next(line for line in lines if line.split()[:1] == ["file_operations"])
    assert row.split()[1] == "FILE"
    assert next(line for line in lines if "process_executor" in line).split()[1] == "PROC"
    assert next(line for line in lines if "environment_reader" in line).split()[1] == "ENV"
    as_json = json.loads(llmspell("--output", "json", "tools", "list").stdout)
    names = {row["name"] for row in as_json}
    assert {"file_operations", "webhook-caller", "calculator", "template_engine"} <= names
    info = json.loads(llmspell("tools", "info", "webhook_caller", "--output", "json").stdout)
    assert info["name"] == "webhook-caller" and info["parameters"]["required"] == ["input"]
    missing = llmspell("tools", "info", "nope")
    assert missing.returncode == 2 and "Tool 'nope' not found" in missing.stderr


# -- the Tool global ----------------------------------------------------------------------------
def test_tool_global_lists_gets_and_discovers_with_dash_and_underscore_alike(allowed: Path):
    engine, _ = make_engine(allowed)
    value = run(
        engine,
        """
        local names = {}
        for _, t in ipairs(Tool.list()) do names[#names + 1] = t.name .. "/" .. t.category end
        local w = Tool["webhook-caller"]
        local t = Tool.get("file-operations")
        return {
          names = table.concat(names, " "),
          same = Tool.webhook_caller.name == w.name,
          exists = {Tool.exists("webhook_caller"), Tool.exists("hash-calculator"), Tool.exists("nope")},
          missing = Tool.get("nope") == nil and Tool.nope == nil,
          schema = t.schema.parameters[1],
          categories = Tool.categories(),
          system = #Tool.discover({category = "system"}),
          tagged = Tool.discover({tag = "UUID"})[1].name,
          executed = Tool.hash_calculator:execute({input = "abc"}).result.hash:sub(1, 8),
        }
        """,
    )
    assert "file_operations/filesystem" in value["names"]
    assert "webhook-caller/web" in value["names"]
    assert value["same"] and value["missing"]
    assert value["exists"] == [True, True, False]
    assert value["schema"]["name"] == "operation" and value["schema"]["required"] is True
    assert "custom" in value["categories"] and "filesystem" in value["categories"]
    system = 4 if importlib.util.find_spec("psutil") else 3  # system_monitor needs psutil
    assert value["system"] == system and value["tagged"] == "uuid_generator"
    assert value["executed"] == "ba7816bf"


def test_unknown_tool_and_bad_parameters_raise_with_the_callers_position(allowed: Path):
    engine, _ = make_engine(allowed)
    assert failure(engine, 'local r = Tool.invoke("nope", {})') == (
        "main.lua:1: Tool 'nope' not found"
    )
    message = failure(
        engine, 'local r = Tool.invoke("hash_calculator", {algorithm = "md4", input = "x"})'
    )
    assert message == (
        "main.lua:1: Tool 'hash_calculator' execution failed: parameter 'algorithm' must be one "
        "of md5, sha1, sha256, sha512, got 'md4'"
    )
    assert "missing required parameter 'operation'" in failure(
        engine, 'local r = Tool.invoke("file_operations", {path = "/tmp/x"})'
    )
    assert "execute: call with ':' not '.'" in failure(
        engine, 'local r = Tool.get("calculator").execute({input = "1"})'
    )


def test_registered_lua_tools_run_through_the_same_invocation_and_reach_the_agents_registry(
    allowed: Path,
):
    engine, _ = make_engine(allowed)
    value = run(
        engine,
        """
        local name = Tool.register({
          name = "adder-tool", description = "Adds one",
          parameters = {type = "object", properties = {n = {type = "number"}}, required = {"n"}},
          fn = function(p) return {result = p.n + 1} end,
        })
        local r = Tool.invoke("adder_tool", {n = 41})
        local ok, err = pcall(function() local x = Tool.invoke("adder-tool", {}) return x end)
        return {name = name, success = r.success, text = r.text, result = r.result,
                tool = r.metadata.tool, custom = Tool.discover({category = "custom"})[1].name,
                err = err}
        """,
    )
    assert value["name"] == "adder-tool" and value["success"] is True
    assert value["text"] == "42" and value["result"] == 42
    assert value["tool"] == "adder_tool" and value["custom"] == "adder-tool"
    assert value["err"].startswith("main.lua:8: Tool 'adder-tool' execution failed: main.lua:5:")
    spec = engine.tools.registry.spec("adder_tool")
    assert spec.parameters["required"] == ["n"] and spec.description == "Adds one"
    assert engine.tools.registry.spec("file-operations").parameters["required"] == ["operation"]


# -- file_operations ----------------------------------------------------------------------------
def test_file_operations_round_trip_inside_the_allowed_dir(allowed: Path):
    engine, _ = make_engine(allowed)
    base = str(allowed)
    value = run(
        engine,
        f"""
        local F = function(p) local r = Tool.invoke("file_operations", p) return r end
        local w = F({{operation = "write", path = "{base}/sub/a.txt", input = "hello"}})
        F({{operation = "append", path = "{base}/sub/a.txt", input = " world"}})
        local read = F({{operation = "read", path = "{base}/sub/a.txt"}})
        F({{operation = "copy", source_path = "{base}/sub/a.txt", target_path = "{base}/b.txt"}})
        F({{operation = "mv", source_path = "{base}/b.txt", target_path = "{base}/c.txt"}})
        F({{operation = "mkdir", path = "{base}/d/e"}})
        local ls = F({{operation = "ls", path = "{base}"}})
        local stat = F({{operation = "stat", path = "{base}/c.txt"}})
        local gone = F({{operation = "read", path = "{base}/missing.txt"}})
        F({{operation = "delete", path = "{base}/c.txt"}})
        local exists = F({{operation = "exists", path = "{base}/c.txt"}})
        return {{w = w.success, text = read.text, size = read.result.size,
                 names = ls.text, stat = stat.result.size, gone = gone,
                 exists = exists.result.exists, exists_text = exists.text}}
        """,
    )
    assert value["w"] is True and value["text"] == "hello world" and value["size"] == 11
    assert value["names"].split("\n") == ["c.txt", "d", "sub"]
    assert value["stat"] == 11
    assert value["gone"]["success"] is False and "file not found" in value["gone"]["error"]
    assert value["exists"] is False and value["exists_text"] == "false"
    assert (allowed / "sub" / "a.txt").read_text() == "hello world"
    assert not (allowed / "c.txt").exists()


def test_file_tools_never_reach_llmspell_private_files_even_inside_allowed_paths(
    isolated_home: Path, tmp_path: Path
):
    data = isolated_home / ".local" / "share" / "llmspell"
    data.mkdir(parents=True)
    (data / "state.db").write_text("private")
    engine, _ = make_engine(tmp_path)
    message = failure(
        engine,
        f'local r = Tool.invoke("file_operations", {{operation="read", path="{data}/state.db"}})',
    )
    assert "belongs to llmspell's own configuration, data or runtime files" in message


def test_file_access_can_be_switched_off_and_blocked_extensions_are_refused(allowed: Path):
    engine, _ = make_engine(allowed, allow_file_access=False)
    assert "runtime.security.allow_file_access" in failure(
        engine, f'Tool.invoke("file_operations", {{operation="exists", path="{allowed}/a"}})'
    )
    engine, _ = make_engine(allowed)
    assert "tools.file_operations.blocked_extensions" in failure(
        engine,
        f'Tool.invoke("file_operations", {{operation="write", path="{allowed}/x.so", input="y"}})',
    )
    assert "tools.file_operations.max_file_size" in failure(
        make_engine(allowed, max_file_size=3)[0],
        f'Tool.invoke("file_operations", {{operation="write", path="{allowed}/big", input="1234"}})',
    )


# -- utility tools ------------------------------------------------------------------------------
def test_utility_tools_answer_as_upstream_scripts_read_them(allowed: Path):
    engine, _ = make_engine(allowed)
    value = run(
        engine,
        """
        local T = function(n, p) local r = Tool.invoke(n, p) return r end
        local enc = T("base64_encoder", {operation = "encode", input = "Hello LLMSpell"})
        local dec = T("base64_encoder", {operation = "decode", input = enc.result.output})
        local url = T("base64_encoder", {operation = "encode", input = "??>", variant = "url-safe"})
        local v5 = T("uuid_generator", {version = "v5", namespace = "dns", name = "example.com"})
        local v7 = T("uuid_generator", {version = "v7"})
        local comp = T("uuid_generator", {operation = "component_id", prefix = "tool", short = true})
        local valid = T("uuid_generator", {operation = "validate", uuid = v7.result.uuid})
        local up = T("text_manipulator", {operation = "uppercase", input = "hello llmspell"})
        local rep = T("text_manipulator", {operation = "replace", input = "hello world",
                                           options = {from = "world", to = "llmspell"}})
        local snake = T("text_manipulator", {operation = "snake_case", input = "HelloWorld fooBar"})
        local tpl = T("template_engine", {input = "Hi {{ name }}{% for x in xs %} {{ x }}{% endfor %}",
                                          context = {name = "Bo", xs = {1, 2}}})
        local calc = T("calculator", {operation = "evaluate", input = "2 + 2 * 3"})
        local vars = T("calculator", {input = "sqrt(x) + 2^3", variables = {x = 16}})
        local bad = T("calculator", {operation = "validate", input = "2 +"})
        local h = T("hash_calculator", {operation = "hash", algorithm = "md5", input = "abc", format = "base64"})
        local add = T("date_time_handler", {operation = "add", input = "2024-01-31", amount = 1, unit = "months"})
        local tz = T("date_time_handler", {operation = "convert_timezone", input = "2024-06-01T12:00:00Z",
                                          target_timezone = "Europe/Paris"})
        local diff = T("date_time_handler", {operation = "difference", start = "2024-01-01", ["end"] = "2024-01-03"})
        local now = T("date_time_handler", {operation = "now"})
        local jq = T("json_processor", {input = {items = {{name = "a"}, {name = "b"}}}, query = "[.items[].name]"})
        local val = T("data_validation", {input = {a = 1}, schema = {type = "object", required = {"b"}}})
        local d = T("diff_calculator", {old_text = "a\\nb\\n", new_text = "a\\nc\\n"})
        return {enc = enc.result.encoded, dec = dec.result.decoded, url = url.text, v5 = v5.result.uuid,
                v7 = v7.result.uuid:sub(15, 15), comp = comp.text, valid = valid.result,
                up = up.result.result, rep = rep.result.result, snake = snake.text, tpl = tpl.text,
                calc = calc.result.result, vars = vars.result.result, bad = bad.result.valid,
                h = h.result.hash, add = add.text, tz = tz.text, days = diff.result.days,
                now = type(now.result.timestamp), jq = jq.result, val = val.result,
                diff = d.result.diff, lines = d.result.lines_added}
        """,
    )
    assert value["enc"] == "SGVsbG8gTExNU3BlbGw=" and value["dec"] == "Hello LLMSpell"
    assert value["url"] == "Pz8-"
    assert value["v5"] == "cfbff0d1-9375-5685-968c-48ce8b15ae17"
    assert value["v7"] == "7" and value["valid"] == {"valid": True, "version": 7}
    assert value["comp"].startswith("tool_") and len(value["comp"]) == 13
    assert value["up"] == "HELLO LLMSPELL" and value["rep"] == "hello llmspell"
    assert value["snake"] == "hello_world_foo_bar" and value["tpl"] == "Hi Bo 1 2"
    assert value["calc"] == 8 and value["vars"] == 12 and value["bad"] is False
    assert value["h"] == "kAFQmDzST7DWlj99KOF/cg=="
    assert value["add"] == "2024-02-29T00:00:00Z" and value["tz"] == "2024-06-01T14:00:00+02:00"
    assert value["days"] == 2 and value["now"] == "number"
    assert value["jq"] == ["a", "b"]
    assert (
        value["val"]["valid"] is False and "'b' is a required property" in value["val"]["errors"][0]
    )
    assert "-b\n+c\n" in value["diff"] and value["lines"] == 1


def test_calculator_and_template_engine_run_no_code(allowed: Path):
    engine, _ = make_engine(allowed)
    assert "cannot evaluate" in failure(
        engine, """Tool.invoke("calculator", {input = "__import__('os').system('true')"})"""
    )
    assert "refused by the sandbox" in failure(
        engine,
        """Tool.invoke("template_engine", {input = "{{ ''.__class__.__mro__ }}"})""",
    )
    assert "handlebars templates are not supported" in failure(
        engine, """Tool.invoke("template_engine", {input = "{{#each items}}x{{/each}}"})"""
    )


def test_hash_calculator_reads_files_through_the_file_gate(allowed: Path):
    (allowed / "f.txt").write_text("hello")
    engine, _ = make_engine(allowed)
    value = run(
        engine,
        f"""local r = Tool.invoke("hash_calculator", {{operation = "verify", file = "{allowed}/f.txt",
            expected_hash = "2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"}})
            return r.result.verified""",
    )
    assert value is True
    assert "tools.file_operations.allowed_paths" in failure(
        engine, 'Tool.invoke("hash_calculator", {file = "/etc/hostname"})'
    )


# -- system tools -------------------------------------------------------------------------------
def test_environment_reader_redacts_secrets(allowed: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MY_SERVICE_API_KEY", "sk-very-secret")
    monkeypatch.setenv("MY_SERVICE_URL", "http://example")
    engine, out = make_engine(allowed)
    value = run(
        engine,
        """
        local g = Tool.invoke("environment_reader", {operation = "get", variable_name = "MY_SERVICE_API_KEY"})
        local l = Tool.invoke("environment_reader", {operation = "list", pattern = "MY_SERVICE_*"})
        local ok, err = pcall(function() local r = Tool.invoke("environment_reader",
            {operation = "set", variable_name = "OPENAI_API_KEY", value = "x"}) return r end)
        return {g = g.result.value, l = l.result, err = err}
        """,
    )
    assert value["g"] == "[REDACTED]"
    assert value["l"] == {
        "count": 2,
        "variables": {"MY_SERVICE_API_KEY": "[REDACTED]", "MY_SERVICE_URL": "http://example"},
    }
    assert "cannot be set by a script" in value["err"]


def test_process_executor_runs_allowed_programs_and_refuses_others(allowed: Path):
    engine, _ = make_engine(allowed)
    value = run(
        engine,
        f"""
        local e = Tool.invoke("process_executor", {{executable = "echo", arguments = {{"hi", "there"}}}})
        local ls = Tool.invoke("process_executor", {{executable = "ls", arguments = {{"{allowed}/none"}}}})
        return {{out = e.result.stdout, code = e.result.exit_code, ls = ls.success, lscode = ls.result.exit_code}}
        """,
    )
    assert value == {"out": "hi there\n", "code": 0, "ls": False, "lscode": 2}
    victim = allowed / "victim"
    victim.write_text("x")
    assert "tools.process_executor.blocked_executables" in failure(
        engine,
        f'Tool.invoke("process_executor", {{executable = "rm", arguments = {{"{victim}"}}}})',
    )
    assert "runtime.security.allow_process_spawn = true" in failure(
        engine, 'Tool.invoke("process_executor", {executable = "sh", arguments = {"-c", "true"}})'
    )
    assert "tools.file_operations.allowed_paths" in failure(
        engine,
        'Tool.invoke("process_executor", {executable = "cat", arguments = {"/etc/hostname"}})',
    )
    assert victim.exists()


def test_process_executor_timeout_and_output_cap(allowed: Path):
    engine, _ = make_engine(allowed, allow_process_spawn=True, max_output_bytes=10)
    value = run(
        engine,
        """
        local slow = Tool.invoke("process_executor", {executable = "sleep", arguments = {"5"}, timeout_seconds = 0.3})
        local big = Tool.invoke("process_executor", {executable = "printf", arguments = {"%050d", "1"}})
        return {slow = slow.success, error = slow.error, big = big.result.stdout, cut = big.result.truncated}
        """,
    )
    assert value["slow"] is False and "timed out after 0.3 s" in value["error"]
    assert value["big"] == "0000000000" and value["cut"] is True


def test_the_proc_gate_finds_programs_as_shutil_which_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import shutil

    from llmspell_kernel.tools.gates import which

    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second, second / "subdir"):
        directory.mkdir()
    for path, mode in (
        (first / "plain", 0o644),
        (second / "plain", 0o755),
        (second / "tool", 0o755),
    ):
        path.write_text("#!/bin/sh\n")
        path.chmod(mode)
    monkeypatch.chdir(second)
    names = ["plain", "tool", "subdir", "absent", "sh", str(second / "tool"), str(first / "plain")]
    names += [str(second / "subdir"), "./tool", "subdir/../tool", ""]
    paths = [f"{first}:{second}", f"{second}:{first}", f"::{first}", "", ":", f"{first}:{first}"]
    for search in [*paths, None]:
        if search is None:
            monkeypatch.delenv("PATH", raising=False)
        else:
            monkeypatch.setenv("PATH", search)
        for name in names:
            assert which(name) == shutil.which(name), (search, name)


@pytest.mark.skipif(sys.platform == "win32", reason="dateutil.tz.win is kept out off Windows only")
def test_date_time_handler_parses_as_dateutil_without_trying_its_windows_zones():
    texts = [
        "March 5, 2024",
        "5 Mar 2024 10:30 +0200",
        "2024-03-05T10:30:00 UTC",
        "Tue, 5 Mar 2024",
    ]
    code = (
        "import json, sys\n"
        "if sys.argv[1] == 'tool':\n"
        "    from llmspell_kernel.tools.builtin.date_time_handler import _dateutil_parser\n"
        "    parser = _dateutil_parser()\n"
        "else:\n"
        "    import dateutil.parser as parser\n"
        "import dateutil.tz\n"
        "out = [parser.parse(t).isoformat() for t in json.loads(sys.argv[2])]\n"
        "print(json.dumps([out, dateutil.tz.tzwin, 'ctypes' in sys.modules]))\n"
    )
    tool, plain = (python_json(code, mode, json.dumps(texts)) for mode in ("tool", "plain"))
    assert tool[:2] == plain[:2] and tool[0][1] == "2024-03-05T10:30:00+02:00"
    assert tool[2] is False and plain[2] is True  # plain dateutil imported ctypes for nothing


def test_secret_names_are_those_the_secret_patterns_match():
    import fnmatch
    import random

    from llmspell_kernel.tools.gates import SECRET_PATTERNS, is_secret

    rng = random.Random(7)
    pieces = [
        "KEY",
        "key",
        "Token",
        "SECRET",
        "PASS",
        "WORD",
        "PASSWORD",
        "_",
        "K",
        "EY",
        "\n",
        "A",
    ]
    names = ["", "HOME", "API_KEY", "MONKEY", "PASSWD", "secret", "X\nTOKEN"]
    names += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) for _ in range(2000)]
    for name in names:
        matched = any(fnmatch.fnmatchcase(name.upper(), p) for p in SECRET_PATTERNS)
        assert is_secret(name) is matched, name


def shaped_result(params: object, context: object) -> object:
    """A built-in tool's function whose result is not a plain tree (see the test below)."""
    import datetime

    from llmspell_kernel.tools.base import ToolResponse

    shared = ["a", "b"]
    return ToolResponse(
        result={
            "when": datetime.date(2026, 12, 2),
            "path": Path("/tmp/x"),
            "first": shared,
            "second": shared,
            "big": 2**70,
            "nested": {"n": [1, {"deep": True}]},
        }
    )


def test_results_that_are_not_plain_trees_reach_lua_as_values(allowed: Path):
    from llmspell_kernel.tools.catalogue import ToolDefinition
    from llmspell_kernel.tools.registry import ToolEntry

    engine, _ = make_engine(allowed)
    run(engine, "Tool.invoke('uuid_generator', {})")
    definition = ToolDefinition("shaped", "custom", "", {}, "tests.test_tools:shaped_result")
    engine.tools.registry._all()["shaped"] = ToolEntry(definition, True)
    value = run(
        engine,
        """local r = Tool.invoke("shaped", {}).result
        return {when = r.when, path = r.path, first = #r.first, second = #r.second,
                big = math.type(r.big), deep = r.nested.n[2].deep}""",
    )
    assert value == {"when": "2026-12-02", "path": "/tmp/x", "first": 2, "second": 2,
                     "big": "float", "deep": True}  # fmt: skip


# -- network tools ------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path == "/fail":
            self.server.failures += 1  # type: ignore[attr-defined]
            self.send_response(503)
            self.end_headers()
            return
        if self.path == "/redirect-out":
            self.send_response(302)
            self.send_header("Location", "http://localhost.localdomain.invalid/")
            self.end_headers()
            return
        payload = json.dumps(
            {"method": self.command, "path": self.path, "body": body,
             "auth": self.headers.get("Authorization")}
        ).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _answer


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.failures = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_http_tools_block_this_machine_unless_configured(allowed: Path, http_server):
    url = f"http://127.0.0.1:{http_server.server_port}/x"
    engine, _ = make_engine(allowed)
    for tool in ("http_request", "webhook-caller"):
        message = failure(engine, f'Tool.invoke("{tool}", {{input = "{url}"}})')
        assert "host '127.0.0.1' is this machine" in message
        assert "tools.http_request.allow_localhost = true" in message
    assert "tools.http_request.blocked_hosts" in failure(
        make_engine(allowed, allow_localhost=True, blocked_hosts=("127.0.0.1",))[0],
        f'Tool.invoke("http_request", {{input = "{url}"}})',
    )
    assert "runtime.security.allow_network_access" in failure(
        make_engine(allowed, allow_network_access=False)[0],
        f'Tool.invoke("http_request", {{input = "{url}"}})',
    )


def test_http_request_and_webhook_caller_against_a_local_server(allowed: Path, http_server):
    base = f"http://127.0.0.1:{http_server.server_port}"
    engine, _ = make_engine(allowed, allow_localhost=True)
    value = run(
        engine,
        f"""
        local g = Tool.invoke("http_request", {{input = "{base}/get", auth = {{type = "bearer", token = "t0k"}}}})
        local p = Tool.invoke("http_request", {{url = "{base}/post", method = "POST", body = {{a = 1}}}})
        local w = Tool.invoke("webhook-caller", {{input = "{base}/hook", payload = {{event = "done"}}}})
        local f = Tool.invoke("webhook_caller", {{input = "{base}/fail", max_retries = 2, payload = {{}}}})
        return {{g = g.result.json, status = g.result.status_code, p = p.result.json.body,
                 w = w.result, f = f.success, ferr = f.error, attempts = f.result.attempts}}
        """,
    )
    assert value["status"] == 200
    assert value["g"]["auth"] == "Bearer t0k" and value["g"]["method"] == "GET"
    assert json.loads(value["p"]) == {"a": 1}
    assert value["w"]["success"] is True and value["w"]["status_code"] == 200
    assert json.loads(value["w"]["response"]["json"]["body"]) == {"event": "done"}
    assert value["f"] is False and "503" in value["ferr"] and value["attempts"] == 3
    assert http_server.failures == 3


def test_service_checker_reports_open_and_closed_ports(allowed: Path, http_server):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        free = closed.getsockname()[1]
    engine, _ = make_engine(allowed)
    value = run(
        engine,
        f"""
        local up = Tool.invoke("service_checker", {{check_type = "tcp", target = "127.0.0.1:{http_server.server_port}"}})
        local down = Tool.invoke("service_checker", {{target = "127.0.0.1:{free}", timeout_ms = 1000}})
        local web = Tool.invoke("service_checker", {{target = "http://127.0.0.1:{http_server.server_port}/"}})
        return {{up = up.result.healthy, down = down.result.healthy, web = web.result.status_code}}
        """,
    )
    assert value == {"up": True, "down": False, "web": 200}


EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "tools").glob("*.lua"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_tool_example_runs_offline(script: Path, tmp_path: Path):
    ran = llmspell("run", str(script), "--", "--dir", str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == "" and ran.stdout.strip()


# What a script's first tool call must not load (measured in benchmarks/tools.py: dataclasses
# with inspect ~7 ms, typing ~2 ms, json ~1.5 ms, datetime ~0.8 ms, random ~0.7 ms; the whole
# shared first call was 19 ms with them and is ~5 ms without).
FIRST_CALL_STDLIB = (
    "dataclasses", "inspect", "typing", "json", "datetime", "random", "textwrap", "tempfile",
    "shutil",
)  # fmt: skip
FIRST_CALL_CODE = r"""
import json as _json, sys
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
engine = LuaEngine(EngineSettings(allowed_paths=(sys.argv[1],)))
engine.execute("return 1")
before = set(sys.modules)
outcomes = [engine.execute('''
assert(Tool.invoke("text_manipulator", {operation = "uppercase", input = "x"}).text == "X")
assert(#Tool.invoke("hash_calculator", {input = "x"}).text == 64)
assert(Tool.invoke("calculator", {input = "2 * 3"}).result.result == 6)
assert(Tool.invoke("uuid_generator", {operation = "generate"}).success)
assert(Tool.invoke("base64_encoder", {operation = "encode", input = "x"}).text == "eA==")
'''), engine.execute('''
local path = arg[1]  -- file_operations: an atomic write without tempfile, then a read
Tool.invoke("file_operations", {operation = "write", path = path, input = "y"})
assert(Tool.invoke("file_operations", {operation = "read", path = path}).text == "y")
assert(Tool.invoke("file_operations", {operation = "exists", path = path}).result.exists)
''', args=(sys.argv[1] + "/out.txt",))]
failed = [o.evalue for o in outcomes if o.status != "ok"]
sys.stdout.write(_json.dumps(failed or sorted(set(sys.modules) - before)))
"""


def test_the_first_calls_of_the_utility_tools_load_none_of_the_slow_stdlib_modules(tmp_path: Path):
    modules = python_json(FIRST_CALL_CODE, str(tmp_path))
    assert (tmp_path / "out.txt").read_text() == "y", modules  # else: the scripts' errors
    loaded = {name.split(".", 1)[0] for name in modules}
    assert loaded.isdisjoint(FIRST_CALL_STDLIB), (
        f"{sorted(loaded & set(FIRST_CALL_STDLIB))} joined a script's first tool call: import "
        "them where they are used (`python -X importtime` shows who imports them)"
    )


def test_make_temporary_creates_a_new_owner_only_file_each_time(tmp_path: Path):
    from llmspell_kernel.files import make_temporary

    fd, name = make_temporary(tmp_path, ".x.")
    os.close(fd)
    made = Path(name)
    assert made.parent == tmp_path and made.name.startswith(".x.") and made.suffix == ".tmp"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    other_fd, other = make_temporary(tmp_path, ".x.")
    os.close(other_fd)
    assert other != name  # a new name each time, created exclusively


def test_the_registry_finds_one_tool_without_listing_and_a_script_tool_keeps_its_name():
    from llmspell_kernel.providers.types import ToolSpec
    from llmspell_kernel.tools.catalogue import CATALOGUE, available
    from llmspell_kernel.tools.registry import ToolRegistry

    registry = ToolRegistry()
    hashing = registry.entry("hash-calculator")
    assert hashing is not None and hashing.builtin and hashing.name == "hash_calculator"
    assert registry.entry("no_such_tool") is None
    registry.register(ToolSpec("uuid-generator", "a script's own", {"type": "object"}))
    names = registry.names()  # the whole catalogue, checked now, around the script's tool
    expected = {d.name for d in CATALOGUE if available(d)} - {"uuid_generator"}
    assert set(names) == expected | {"uuid-generator"} and len(names) == len(set(names))
    mine = registry.entry("uuid_generator")
    assert mine is not None and not mine.builtin and mine.definition.description == "a script's own"
    assert registry.entry("hash_calculator") is hashing  # the same entry, not a second one
