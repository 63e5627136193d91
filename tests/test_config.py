"""Configuration schema, discovery, environment overrides and the `config` commands."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmspell_cli.main import app
from llmspell_kernel.config import default_config_text, load_config, user_config_path
from llmspell_kernel.errors import ConfigError
from tests.processes import llmspell

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_any_file():
    loaded = load_config(env={})
    assert loaded.source is None
    assert loaded.config.engines.lua.security_level == "safe"
    assert loaded.config.engines.lua.max_memory_bytes == 50 * 1024 * 1024
    assert loaded.config.tools.file_operations.allowed_paths == ["/tmp"]


def test_discovery_prefers_local_file_over_user_file(tmp_path: Path):
    user = user_config_path()
    user.parent.mkdir(parents=True)
    user.write_text("[kernel]\nport = 1000\n")
    assert load_config(env={}).config.kernel.port == 1000
    (tmp_path / "llmspell.toml").write_text("[kernel]\nport = 2000\n")
    loaded = load_config(env={})
    assert loaded.config.kernel.port == 2000 and loaded.source == tmp_path / "llmspell.toml"


def test_env_overrides_typed_values():
    env = {
        "LLMSPELL_RUNTIME_SCRIPT_TIMEOUT_SECONDS": "7.5",
        "LLMSPELL_ENGINES_LUA_MAX_MEMORY_BYTES": "2000000",
        "LLMSPELL_RUNTIME_SECURITY_ALLOW_PROCESS_SPAWN": "yes",
        "LLMSPELL_TOOLS_FILE_OPERATIONS_ALLOWED_PATHS": '["/a", "/b"]',
        "LLMSPELL_ENGINES_LUA_SECURITY_LEVEL": "Privileged",
        "LLMSPELL_OUTPUT": "json",
    }
    config = load_config(env=env).config
    assert config.runtime.script_timeout_seconds == 7.5
    assert config.engines.lua.max_memory_bytes == 2000000
    assert config.runtime.security.allow_process_spawn is True
    assert config.tools.file_operations.allowed_paths == ["/a", "/b"]
    assert config.engines.lua.security_level == "privileged"


def test_env_with_wrong_type_names_variable_and_key():
    with pytest.raises(ConfigError, match=r"LLMSPELL_KERNEL_PORT: kernel.port must be an integer"):
        load_config(env={"LLMSPELL_KERNEL_PORT": "many"})


def test_wrong_type_in_file_names_file_and_key(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[runtime]\nscript_timeout_seconds = "abc"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert (
        str(info.value)
        == f'{path}: runtime.script_timeout_seconds must be a number, got string "abc"'
    )


def test_bad_choice_lists_allowed_values(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[engines.lua]\nsecurity_level = "open"\n')
    with pytest.raises(ConfigError, match="safe, privileged, unrestricted"):
        load_config(path, env={})


def test_toml_syntax_error_names_file_and_line(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text("[runtime\n")
    with pytest.raises(ConfigError, match=r"c.toml: invalid TOML: .*line 1"):
        load_config(path, env={})


def test_unknown_keys_are_warnings(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text("[engines.lua]\nfoo = 1\n[nonsense]\nx = 1\n")
    loaded = load_config(path, env={})
    assert f"unknown key 'engines.lua.foo' in {path}" in loaded.warnings
    assert any("'nonsense'" in w for w in loaded.warnings)


def test_both_provider_nestings_are_accepted(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[providers]\ndefault_provider = "openai"\n[providers.openai]\nmodel = "gpt-4o-mini"\n'
        '[providers.providers.anthropic]\nmodel = "claude"\napi_key = "sk-secret"\n'
    )
    config = load_config(path, env={}).config
    assert set(config.providers.providers) == {"openai", "anthropic"}
    shown = config.to_dict(redact=True)
    assert shown["providers"]["anthropic"]["api_key"] == "***"
    assert "sk-secret" not in json.dumps(shown)


def test_shipped_template_matches_package_copy_and_validates(tmp_path: Path):
    assert (ROOT / "config" / "llmspell.toml").read_text() == default_config_text()
    path = tmp_path / "t.toml"
    path.write_text(default_config_text())
    loaded = load_config(path, env={})
    assert loaded.warnings == []
    assert tomllib.loads(default_config_text())["engines"]["lua"]["security_level"] == "safe"


def test_cli_init_then_validate(tmp_path: Path):
    result = runner.invoke(app, ["config", "init"])
    assert result.exit_code == 0, result.output
    assert user_config_path().is_file()
    again = runner.invoke(app, ["config", "init"])
    assert again.exit_code == 1 and "--force" in again.stderr
    assert runner.invoke(app, ["config", "init", "--force"]).exit_code == 0
    validated = runner.invoke(app, ["config", "validate"])
    assert validated.exit_code == 0 and validated.stdout.startswith("ok: ")


def test_cli_show_json_reflects_env_override(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LLMSPELL_RUNTIME_SCRIPT_TIMEOUT_SECONDS", "7")
    result = runner.invoke(app, ["config", "show", "--output", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runtime"]["script_timeout_seconds"] == 7.0
    section = runner.invoke(app, ["config", "show", "engines.lua"])
    assert 'security_level = "safe"' in section.stdout
    assert runner.invoke(app, ["config", "show", "nope"]).exit_code == 2


def test_cli_validate_bad_file_exits_3(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text("[kernel]\nport = 'x'\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 3
    assert result.stderr.strip() == f'error: {path}: kernel.port must be an integer, got string "x"'


def test_provider_variables_are_not_unknown_keys():
    env = {
        "LLMSPELL_OPENAI_API_KEY": "sk-env",
        "LLMSPELL_ANTHROPIC_ENDPOINT": "http://localhost:1",
        "LLMSPELL_GROQ_MODEL": "llama",
        "LLMSPELL_MY_LOCAL_PROVIDER_TYPE": "openai",
        "LLMSPELL_PROVIDER_OPENAI_API_KEY": "sk-config",
        "LLMSPELL_PROVIDER_MY_LOCAL_TIMEOUT_SECONDS": "5",
        "LLMSPELL_NOT_A_KEY": "1",
    }
    loaded = load_config(env=env)
    assert loaded.warnings == ["environment variable LLMSPELL_NOT_A_KEY names no configuration key"]
    providers = loaded.config.providers.providers
    assert providers["openai"].api_key == "sk-config"  # lua-api.md 3, precedence step 2
    assert providers["my_local"].timeout_seconds == 5.0
    assert "sk-config" not in json.dumps(loaded.config.to_dict(redact=True))
    with pytest.raises(ConfigError, match="PROVIDER_OPENAI_MAX_RETRIES"):
        load_config(env={"LLMSPELL_PROVIDER_OPENAI_MAX_RETRIES": "many"})


def test_provider_variables_print_no_warning_on_commands(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LLMSPELL_OPENAI_API_KEY", "sk-test")
    result = runner.invoke(app, ["exec", "return 1"])
    assert result.exit_code == 0 and result.stdout == "1\n"
    assert "names no configuration key" not in result.stderr


def test_cli_init_into_a_directory_or_missing_parent_is_one_line_and_leaves_nothing(
    tmp_path: Path,
):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    target = tmp_path / "somedir"
    target.mkdir()
    (tmp_path / "a-file").write_text("x")
    for path in (target, tmp_path / "a-file" / "config.toml"):
        result = llmspell("config", "init", "-o", str(path), "--force")
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: cannot write {path}: ")
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr
        assert result.stderr.count("error:") == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a-file", "somedir"]
    written = tmp_path / "new" / "config.toml"
    assert llmspell("config", "init", "-o", str(written)).returncode == 0
    assert sorted(p.name for p in written.parent.iterdir()) == ["config.toml"]


def test_cli_show_section_names_tables_in_full_and_reads_back(tmp_path: Path):
    shown = llmspell("config", "show", "runtime")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("[runtime]\n")
    assert "\n[runtime.security]\n" in shown.stdout and "\n[security]" not in shown.stdout
    pasted = tmp_path / "pasted.toml"
    pasted.write_text(shown.stdout)
    assert llmspell("config", "validate", str(pasted)).stdout == f"ok: {pasted}\n"
    assert tomllib.loads(shown.stdout)["runtime"]["security"]["allow_process_spawn"] is False


def test_upstream_spellings_of_our_settings_are_read_as_ours(tmp_path: Path):
    # upstream rs-llmspell's example configurations (state-enabled.toml, rag-basic.toml) say so
    path = tmp_path / "c.toml"
    path.write_text(
        "[engines.lua]\nmemory_limit = 20971520\n"
        '[runtime.state_persistence]\nbackend_type = "Memory"\n'
        '[rag.embedding]\ndefault_provider = "openai"\nbatch_size = 32\ncache_size = 10\n'
        '[rag.chunking]\nchunk_size = 512\noverlap = 64\nstrategy = "sliding_window"\n'
        "[rag.cache]\nsearch_cache_enabled = true\n"
    )
    loaded = load_config(path, env={})
    config = loaded.config
    assert config.engines.lua.max_memory_bytes == 20 * 1024 * 1024
    assert config.runtime.state_persistence.backend == "memory"
    assert (config.rag.provider, config.rag.batch_size) == ("openai", 32)
    assert (config.rag.chunk_size, config.rag.chunk_overlap) == (512, 64)
    assert loaded.warnings == [
        f"ignored in {path}: rag.embedding.{{cache_size}} "
        "(upstream's settings with no llmspell equivalent)",
        f"ignored in {path}: rag.chunking.{{strategy}} "
        "(upstream's settings with no llmspell equivalent)",
        f"unknown key 'rag.cache' in {path}",
    ]


def test_our_spelling_wins_and_an_upstream_value_we_lack_stays_a_warning(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text(
        "[engines.lua]\nmemory_limit = 20971520\nmax_memory_bytes = 10485760\n"
        '[runtime.state_persistence]\nbackend_type = "sled"\n'
        "[rag.chunking]\nchunk_size = 512\n"
    )
    loaded = load_config(path, env={})
    assert loaded.config.engines.lua.max_memory_bytes == 10 * 1024 * 1024
    assert loaded.config.runtime.state_persistence.backend == "sqlite"
    assert loaded.config.rag.chunk_size == 512
    assert loaded.warnings == [
        f"unknown key 'runtime.state_persistence.backend_type' in {path}",
    ]
