"""The `Config` global (lua-api.md 2.11): the effective configuration, read-only, secrets masked,
through the real CLI with a configuration file."""

from __future__ import annotations

import json
from pathlib import Path

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from tests.processes import llmspell


def test_config_is_a_global_table_like_the_others() -> None:
    # upstream's getting-started/00-hello-world.lua lists the capitalised global tables
    engine = LuaEngine(EngineSettings())
    outcome = engine.execute(
        "local names = {} for k, v in pairs(_G) do"
        ' if k:match("^[A-Z]") and type(v) == "table" then names[#names + 1] = k end end'
        " table.sort(names) return names",
        chunk_name="@main.lua",
    )
    assert outcome.status == "ok"
    assert "Config" in outcome.value and "Provider" in outcome.value


def test_config_reads_the_effective_configuration_with_secrets_masked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "llmspell.toml"
    config.write_text(
        f'[tools.file_operations]\nallowed_paths = ["{data}"]\n'
        "[runtime.security]\nallow_network_access = false\n"
        '[providers.openai]\nprovider_type = "openai"\napi_key = "sk-very-secret"\n'
        'default_model = "gpt-4o-mini"\n'
        '[providers.Local-Box]\nprovider_type = "openai"\nbase_url = "http://127.0.0.1:9"\n'
    )
    script = tmp_path / "read.lua"
    script.write_text(
        "return {\n"
        '  paths = Config.get("tools.file_operations.allowed_paths"),\n'
        '  key = Config.get("providers.openai.api_key"),\n'
        '  model = Config.getProvider("OpenAI").default_model,\n'
        '  provider_key = Config.getProvider("openai").api_key,\n'
        "  names = Config.listProviders(),\n"
        '  missing = {Config.get("tools.nope.deeper"), Config.getProvider("nope"),'
        ' Config.getSection("nope")},\n'
        "  whole_has_rag = Config.get().rag ~= nil,\n"
        '  section = Config.getSection("runtime").security.allow_network_access,\n'
        "  security = Config.getSecurity().allow_file_access,\n"
        "  tools = Config.getTools().file_operations.max_depth,\n"
        "  engine = Config.getDefaultEngine(),\n"
        "  network = Config.isNetworkAccessAllowed(),\n"
        "  any_path = Config.isFileAccessAllowed(),\n"
        f'  inside = Config.isFileAccessAllowed("{data}/notes.txt"),\n'
        f'  escape = Config.isFileAccessAllowed("{data}/../read.lua"),\n'
        '  outside = Config.isFileAccessAllowed("/etc/passwd"),\n'
        "}\n"
    )
    done = llmspell("-c", str(config), "--output", "json", "run", str(script))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["result"]
    assert result["paths"] == [str(data)]
    assert result["key"] == result["provider_key"] == "***"
    assert "sk-very-secret" not in done.stdout
    assert result["model"] == "gpt-4o-mini"
    assert result["names"] == ["Local-Box", "openai"]
    assert result["missing"] == {}  # three nils
    assert result["whole_has_rag"] is True
    assert (result["section"], result["security"], result["network"]) == (False, True, False)
    assert (result["tools"], result["engine"]) == (10, "lua")
    assert (result["any_path"], result["inside"]) == (True, True)
    assert (result["escape"], result["outside"]) == (False, False)


def test_config_is_read_only_and_names_a_bad_argument(tmp_path: Path) -> None:
    for code, message in (
        ('Config.setProvider("x", {})', "write.lua:1: Config is read-only"),
        ('Config.addAllowedPath("/")', "write.lua:1: Config is read-only"),
        ("local v = Config.get(3)", "write.lua:1: Config.get: path must be a string"),
        (
            "local v = Config.isFileAccessAllowed({})",
            "write.lua:1: Config.isFileAccessAllowed: path must be a string",
        ),
    ):
        script = tmp_path / "write.lua"
        script.write_text(code + "\n")
        done = llmspell("run", str(script))
        assert (done.returncode, done.stderr) == (1, f"error: {message}\n")
    done = llmspell("exec", 'Config.get().runtime = "x" return Config.get("runtime") ~= "x"')
    assert (done.returncode, done.stdout) == (0, "true\n")  # a fresh copy each call
