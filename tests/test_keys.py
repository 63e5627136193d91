"""`llmspell keys`: owner-only atomic storage, masked listing, env precedence, no leaks."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from llmspell_kernel.keys import KeyStore, keys_path, mask, resolve_api_key
from tests.data_helpers import cli, cli_json

SECRET = "sk-test-0123456789abcdefSECRET"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_file_is_0600_after_every_write_even_if_it_was_wider():
    path = keys_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    os.chmod(path, 0o644)
    assert cli("keys", "add", "openai", SECRET).exit_code == 0
    assert _mode(path) == 0o600
    os.chmod(path, 0o666)
    assert cli("keys", "add", "anthropic", "-", input=SECRET + "x\n").exit_code == 0
    assert _mode(path) == 0o600
    os.chmod(path, 0o644)
    assert cli("keys", "remove", "anthropic").exit_code == 0
    assert _mode(path) == 0o600
    assert KeyStore().load() == {"openai": SECRET}
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".keys-")]


def test_prompted_key_is_read_without_echo_and_never_printed():
    result = cli("keys", "add", "OpenAI", input=SECRET + "\n")
    assert result.exit_code == 0
    assert SECRET not in result.output
    assert KeyStore().load()["openai"] == SECRET


def test_list_shows_provider_source_and_masked_key_only(monkeypatch: pytest.MonkeyPatch):
    cli("keys", "add", "openai", SECRET)
    cli("keys", "add", "groq", "gsk-another-long-secret-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-environment-secret")
    monkeypatch.setenv("LLMSPELL_GROQ_API_KEY", "gsk-llmspell-env-secret")
    rows = {r["provider"]: r for r in cli_json("keys", "list")["keys"]}
    assert rows["openai"] == {"provider": "openai", "source": "file", "key": mask(SECRET)}
    assert rows["anthropic"]["source"] == "env:ANTHROPIC_API_KEY"
    assert (
        rows["groq"]["source"] == "env:LLMSPELL_GROQ_API_KEY" and "shadowed" in rows["groq"]["note"]
    )
    text = cli("keys", "list")
    assert text.exit_code == 0
    for secret in (
        SECRET,
        "sk-ant-environment-secret",
        "gsk-llmspell-env-secret",
        "gsk-another-long-secret-key",
    ):
        assert secret not in text.stdout
    assert mask(SECRET) in text.stdout


def test_precedence_env_beats_stored_key(monkeypatch: pytest.MonkeyPatch):
    KeyStore().add("openai", SECRET)
    assert resolve_api_key("openai") == (SECRET, "file")
    monkeypatch.setenv("OPENAI_API_KEY", "from-standard-variable")
    assert resolve_api_key("openai") == ("from-standard-variable", "env:OPENAI_API_KEY")
    monkeypatch.setenv("LLMSPELL_OPENAI_API_KEY", "from-llmspell-variable")
    assert resolve_api_key("openai")[1] == "env:LLMSPELL_OPENAI_API_KEY"
    assert resolve_api_key("cohere") is None


def test_bad_input_is_one_clear_line():
    assert cli("keys", "add", "openai", "-", input="\n").stderr == "error: no key given\n"
    bad = cli("keys", "add", "bad name!", "x")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: 'bad name!' is not a provider name")
    missing = cli("keys", "remove", "openai")
    assert missing.exit_code == 1 and missing.stderr == "error: no stored key for 'openai'\n"
    keys_path().parent.mkdir(parents=True, exist_ok=True)
    keys_path().write_text("not json")
    broken = cli("keys", "list")
    assert broken.exit_code == 3 and "cannot read the keys file" in broken.stderr


def test_a_key_never_appears_in_outputs_logs_or_backups(tmp_path: Path):
    assert cli("keys", "add", "openai", SECRET).exit_code == 0
    outputs = [
        cli("--trace", "debug", "config", "show"),
        cli("--trace", "debug", "keys", "list"),
        cli("--trace", "debug", "exec", 'State.save("global", "k", 1) return 1'),
        cli("--trace", "debug", "state", "show"),
    ]
    backup = cli_json("backup", "create", "-o", str(tmp_path / "b.tar.gz"))
    for result in outputs:
        assert result.exit_code == 0
        assert SECRET not in result.stdout and SECRET not in result.stderr
    with tarfile.open(backup["path"]) as tar:
        for member in tar:
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            assert SECRET.encode() not in data
    assert SECRET.encode() not in Path(backup["path"]).read_bytes()


@pytest.mark.slow
def test_keys_through_a_running_kernel(isolated_home: Path, monkeypatch: pytest.MonkeyPatch):
    """`--kernel ID`: the kernel stores, lists and removes the keys of the user it runs as;
    the key never shows in any output or in the kernel's log."""
    from tests.processes import free_port_block, llmspell

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLMSPELL_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    port = free_port_block()
    started = llmspell("kernel", "start", "--daemon", "--port", str(port), "--id", "keyk")
    assert started.returncode == 0, started.stderr
    try:
        added = llmspell("keys", "add", "openai", "-", "--kernel", "keyk", stdin=SECRET + "\n")
        assert added.returncode == 0, added.stderr
        assert "stored the openai key" in added.stdout
        assert _mode(keys_path()) == 0o600 and KeyStore().load() == {"openai": SECRET}
        listed = llmspell("keys", "list", "--kernel", "keyk", "--output", "json")
        assert '"key": "' + mask(SECRET) + '"' in listed.stdout
        removed = llmspell("keys", "remove", "openai", "--kernel", "keyk")
        assert removed.returncode == 0 and KeyStore().load() == {}
        missing = llmspell("keys", "remove", "openai", "--kernel", "keyk")
        assert missing.returncode == 1 and "no stored key for 'openai'" in missing.stderr
        outputs = [added, listed, removed, missing]
        assert not any(SECRET in r.stdout + r.stderr for r in outputs)
        logs = list(isolated_home.rglob("keyk.log"))
        assert logs and not any(SECRET in log.read_text() for log in logs)
    finally:
        llmspell("kernel", "stop", "keyk")
