"""--model-override (run/exec/repl/debug), LLMSPELL_MODEL_OVERRIDE and providers.model_override:
every agent goes to one model whatever its script asked for, recorded in its result's metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmspell_kernel.api import kernel_settings_from_config, start_embedded_kernel
from llmspell_kernel.config import Config
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings
from tests.llm_server import Reply, ScriptedLLMServer, openai_text
from tests.test_agents import cli_env, run
from tests.test_apps_local_model import _installed as local_model_installed

ASKS_ANTHROPIC = (
    'return Agent.builder():name("w"):model("anthropic/claude-3-haiku-20240307")'
    ':api_key("sk-ant-ignored"):build():execute("hi")'
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLMServer]:
    server = ScriptedLLMServer()
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLMSPELL_MODEL_OVERRIDE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("LLMSPELL_OPENAI_ENDPOINT", server.url)
    yield server
    server.close()


def test_the_engines_override_routes_an_agent_and_its_metadata_says_so(server) -> None:
    server.script(Reply(body=openai_text("routed")))
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    engine.model_override = "openai/gpt-4o-mini"
    code = ASKS_ANTHROPIC.replace("return ", "local r = ")
    reply, configured = run(engine, code + "\nreturn {r, Agent.get('w'):get_config().model}")
    assert reply["text"] == "routed" and configured == "gpt-4o-mini"
    meta = reply["metadata"]
    assert (meta["provider"], meta["model"]) == ("openai", "gpt-4o-mini")
    assert meta["model_override"] == "openai/gpt-4o-mini"
    assert meta["requested_model"] == "anthropic/claude-3-haiku-20240307"
    assert server.seen[0].path == "/v1/chat/completions"
    assert server.seen[0].body["model"] == "gpt-4o-mini"
    # the builder's key was for the model it asked for, not for the override's provider
    assert server.seen[0].headers["authorization"] == "Bearer sk-test"


def test_a_connected_clients_override_travels_with_each_execution(server) -> None:
    server.script(Reply(body=openai_text("one")), Reply(body=openai_text("two")))
    config = Config()
    config.state.backend = "memory"
    kernel = start_embedded_kernel(kernel_settings_from_config(config))
    try:
        client = kernel.client()
        client.model_override = "openai/gpt-4o-mini"
        outputs = list(client.execute(ASKS_ANTHROPIC + ".metadata.model_override"))
        values = [o.data.get("application/json") for o in outputs if hasattr(o, "data")]
        assert values == ["openai/gpt-4o-mini"]
        client.model_override = None  # the next execution asks for what its script names
        list(client.execute('return Agent.builder():model("gpt-4o-mini"):build():execute("x")'))
        assert [s.body["model"] for s in server.seen] == ["gpt-4o-mini", "gpt-4o-mini"]
        client.close()
    finally:
        kernel.shutdown()


def _exec(server: ScriptedLLMServer, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "llmspell_cli", *args],
        capture_output=True,
        text=True,
        env={**cli_env(server), **(env or {})},
        timeout=60,
    )


@pytest.mark.slow
def test_exec_flag_env_and_config_route_every_agent(server, tmp_path: Path) -> None:
    server.script(*[Reply(body=openai_text("ok")) for _ in range(3)])
    code = ASKS_ANTHROPIC + ".metadata"
    flag = _exec(server, "--output", "json", "exec", "--model-override", "openai/gpt-4o-mini", code)
    assert flag.returncode == 0, flag.stderr
    meta = json.loads(flag.stdout)["result"]
    assert (meta["model_override"], meta["requested_model"]) == (
        "openai/gpt-4o-mini",
        "anthropic/claude-3-haiku-20240307",
    )
    env = _exec(server, "exec", code + ".model", env={"LLMSPELL_MODEL_OVERRIDE": "gpt-4o-mini"})
    assert (env.returncode, env.stdout, env.stderr) == (0, "gpt-4o-mini\n", "")
    config = tmp_path / "llmspell.toml"
    config.write_text('[providers]\nmodel_override = "openai/gpt-4o-mini"\n')
    script = tmp_path / "app.lua"
    script.write_text(code + ".provider\n")
    ran = _exec(server, "--config", str(config), "run", str(script))
    assert (ran.returncode, ran.stdout) == (0, "openai\n"), ran.stderr
    assert [s.body["model"] for s in server.seen] == ["gpt-4o-mini"] * 3


@pytest.mark.slow
def test_a_bad_override_is_one_usage_error_before_anything_runs(server) -> None:
    unknown = _exec(server, "exec", "--model-override", "nosuch/m", "print('ran')")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.startswith(
        "error: model override 'nosuch/m': Unknown provider 'nosuch' (known: "
    )
    assert len(unknown.stderr.splitlines()) == 1
    malformed = _exec(server, "run", "--model-override", "openai/", "x.lua")
    assert malformed.returncode == 2
    assert malformed.stderr.splitlines()[0] == (
        "error: --model-override must be PROVIDER/MODEL or MODEL, got 'openai/'"
    )
    assert not server.seen


def test_repl_and_debug_take_the_flag() -> None:
    from typer.testing import CliRunner

    from llmspell_cli.main import app

    for command in ("run", "exec", "repl", "debug"):
        shown = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
        assert "--model-override" in shown.output, command


# -- RAG under the override ------------------------------------------------------------------------
RAG_SCRIPT = """
RAG.ingest({content = "Lua is a lightweight scripting language"})
print(RAG.config.provider, #RAG.search("scripting language", {k = 1}))
"""


def _rag_run(tmp_path: Path, base_url: str, *args: str, env: dict[str, str]):
    """An upstream-style app: its config embeds with OpenAI's ada model (served locally)."""
    tmp_path.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
        '[rag]\nprovider = "openai"\nembedding_model = "text-embedding-ada-002"\n'
        "vector_dimensions = 256\n"
    )
    script = tmp_path / "app.lua"
    script.write_text(RAG_SCRIPT)
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    return subprocess.run(
        [sys.executable, "-m", "llmspell_cli", "-c", str(config), "run", str(script), *args],
        capture_output=True,
        text=True,
        env={**clean, "LLMSPELL_OPENAI_ENDPOINT": base_url, **env},
        timeout=120,
    )


@pytest.mark.slow
def test_an_override_to_the_local_model_embeds_locally_unless_the_rag_provider_is_chosen(
    tmp_path: Path,
) -> None:
    from tests.embedding_server import embedding_server
    from tests.test_rag import _vectorizer

    with embedding_server(_vectorizer()) as remote:
        keyless = _rag_run(tmp_path / "a", remote.base_url, env={})
        assert keyless.returncode == 1 and "No API key for provider 'openai'" in keyless.stderr
        offline = _rag_run(
            tmp_path / "b", remote.base_url, "--model-override", "local/smollm2", env={}
        )
        assert (offline.returncode, offline.stdout) == (0, "local\t1\n"), offline.stderr
        assert offline.stderr == ""  # nothing else either (wordllama's logging, bug 1)
        assert not remote.requests  # the configured provider was never asked
        chosen = _rag_run(
            tmp_path / "c",
            remote.base_url,
            "--model-override",
            "local/smollm2",
            env={"LLMSPELL_RAG_PROVIDER": "openai", "OPENAI_API_KEY": "sk-test"},
        )
        assert (chosen.returncode, chosen.stdout) == (0, "openai\t1\n"), chosen.stderr
        assert {r["model"] for r in remote.requests} == {"text-embedding-ada-002"}


def test_only_an_override_to_a_local_provider_moves_the_embedder() -> None:
    from llmspell_kernel.lua.globals.rag import _routes_offline

    assert _routes_offline("local/smollm2") and _routes_offline("local/model.gguf")
    assert not _routes_offline("openai/gpt-4o-mini") and not _routes_offline("nosuch/m")


def test_an_override_to_the_local_model_caps_reply_length_and_nothing_else_does() -> None:
    from llmspell_kernel.errors import LlmspellError
    from llmspell_kernel.providers.resolve import OVERRIDE_MAX_TOKENS, resolve_endpoint

    asked = resolve_endpoint("gpt-4o", override="local/smollm2", env={})
    assert asked.max_tokens_cap == OVERRIDE_MAX_TOKENS == 256
    assert asked.overridden_from == "gpt-4o"
    chosen = {"LLMSPELL_LOCAL_OVERRIDE_MAX_TOKENS": "100"}
    assert resolve_endpoint("gpt-4o", override="local/smollm2", env=chosen).max_tokens_cap == 100
    off = {"LLMSPELL_LOCAL_OVERRIDE_MAX_TOKENS": "0"}
    assert resolve_endpoint("gpt-4o", override="local/smollm2", env=off).max_tokens_cap is None
    # a script that names the local model itself, and an override to a hosted model: no cap
    assert resolve_endpoint("local/smollm2", env={}).max_tokens_cap is None
    assert resolve_endpoint("x", override="openai/gpt-4o-mini", env={}).max_tokens_cap is None
    for bad in ("-5", "lots"):
        with pytest.raises(LlmspellError) as caught:
            resolve_endpoint(
                "gpt-4o",
                override="local/smollm2",
                env={"LLMSPELL_LOCAL_OVERRIDE_MAX_TOKENS": bad},
            )
        assert str(caught.value) == (
            "LLMSPELL_LOCAL_OVERRIDE_MAX_TOKENS must be a whole number of tokens "
            f"(0: no cap), not '{bad}'"
        )


def test_an_override_to_a_hosted_model_sends_the_scripts_max_tokens(server) -> None:
    server.script(Reply(body=openai_text("long")))
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    engine.model_override = "openai/gpt-4o-mini"
    code = ASKS_ANTHROPIC.replace(":build()", ":max_tokens(2000):build()")
    reply = run(engine, code)
    assert server.seen[0].body["max_tokens"] == 2000
    assert "max_tokens_cap" not in reply["metadata"]


@pytest.mark.slow
@pytest.mark.skipif(not local_model_installed(), reason="needs the bundled local model")
def test_the_local_models_reply_cap_is_sent_and_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMSPELL_LOCAL_OVERRIDE_MAX_TOKENS", "6")
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    engine.model_override = "local/smollm2"
    code = (
        'local a = Agent.builder():name("w"):model("openai/gpt-4o"):max_tokens(2000)'
        ":temperature(0):build()\n"
        'local b = Agent.builder():name("v"):model("openai/gpt-4o"):temperature(0):build()\n'
        'local prompt = "Write a long story about a lighthouse keeper."\n'
        "return {a:execute(prompt), b:execute(prompt), "
        "a:execute({text = prompt, parameters = {max_tokens = 3}})}"
    )
    capped, unset, below = run(engine, code)
    for reply, requested in ((capped, 2000), (unset, None)):
        meta = reply["metadata"]
        assert meta["usage"]["completion_tokens"] == 6, meta
        assert meta["finish_reason"] == "length"
        assert meta["max_tokens_cap"] == 6 and meta.get("requested_max_tokens") == requested
        assert meta["model_override"] == "local/smollm2"
    # a request for fewer tokens than the cap is sent as it is
    assert below["metadata"]["usage"]["completion_tokens"] == 3
    assert "max_tokens_cap" not in below["metadata"]
