"""State: scope/key encoding, persistence across runs, limits, errors, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmspell_kernel.errors import UsageError
from llmspell_kernel.state.database import SCHEMA_VERSION, SqliteDatabase
from llmspell_kernel.state.scopes import normalize_scope, split_stored_key, stored_key
from llmspell_kernel.state.store import StateStore, ValueTooLarge
from tests.data_helpers import cli, run_lua, write_config


def test_scopes_follow_the_contract():
    assert stored_key("global", "k") == "global:k"
    assert stored_key("agent:writer", "k") == "agent:writer:k"
    assert stored_key("workflow", "e1:step") == "workflow:e1:step"
    assert stored_key("myapp", "k") == "custom:myapp:k"
    assert stored_key("custom", ":workflow:e1:agent:w:output") == "workflow:e1:agent:w:output"
    assert stored_key("custom", "plain") == "custom:plain"
    assert normalize_scope("session:abc") == "session:abc"
    assert split_stored_key("agent:writer:k") == ("agent:writer", "k")
    with pytest.raises(UsageError):
        stored_key("", "k")


def test_store_prefix_listing_size_limit_and_schema_version(tmp_path: Path):
    db = SqliteDatabase(tmp_path / "s.db")
    store = StateStore(db, "t1", max_value_bytes=100)
    store.save("agent:a", "x", {"n": 1})
    store.save("agent:ab", "y", 2)
    assert store.list_keys("agent:a") == ["x"]
    assert store.load("agent:a", "x") == {"n": 1}
    store.save("agent:a", "x", None)
    assert store.load("agent:a", "x") is None
    with pytest.raises(ValueTooLarge, match="max_state_size_bytes"):
        store.save("global", "big", "x" * 200)
    assert db.schema_version == SCHEMA_VERSION
    assert db.query("PRAGMA journal_mode")[0][0] == "wal"


@pytest.mark.usefixtures("store_backend")
def test_state_saved_in_one_run_is_loaded_by_the_next(tmp_path: Path):
    (tmp_path / "save.lua").write_text(
        'State.save("global", "last_run", {count = 3, tags = {"a"}})\n'
    )
    (tmp_path / "load.lua").write_text('return State.load("global", "last_run")\n')
    assert cli("run", "save.lua").exit_code == 0
    result = cli("--output", "json", "run", "load.lua")
    assert result.exit_code == 0, result.stderr
    assert '"count": 3' in result.stdout


@pytest.mark.usefixtures("store_backend")
def test_state_functions_from_lua(tmp_path: Path):
    code = """
    State.save("custom", ":workflow:e1:agent:w:output", "text")
    assert(State.load("workflow", "e1:agent:w:output") == "text")
    State.agent_set("bot", "mood", "ok")
    State.tool_set("calc", "n", 5)
    State.save("workflow", "e1:step1", {ok = true})
    local keys = State.workflow_list("e1")
    State.delete("global", "missing")
    return {State.agent_get("bot", "mood"), State.tool_get("calc", "n"),
            State.workflow_get("e1", "step1").ok, keys, State.load("global", "nope") == nil,
            State.list_keys("agent:bot")}
    """
    out, result, error = run_lua(code)
    assert error == ""
    assert result == ["ok", 5, True, ["agent:w:output", "step1"], True, ["mood"]]


@pytest.mark.usefixtures("store_backend")
def test_errors_carry_the_callers_position_and_the_limit(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LLMSPELL_RUNTIME_STATE_PERSISTENCE_MAX_STATE_SIZE_BYTES", "50")
    (tmp_path / "big.lua").write_text(
        'local x = 1\nState.save("global", "k", string.rep("x", 100))\n'
    )
    result = cli("run", "big.lua")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: big.lua:2: State.save: state value for 'global:k'")
    assert "max_state_size_bytes" in result.stderr
    (tmp_path / "fn.lua").write_text('State.save("global", "f", function() end)\n')
    result = cli("run", "fn.lua")
    assert (
        result.stderr
        == "error: fn.lua:1: State.save: value cannot be stored: cannot convert function\n"
    )


def test_memory_backend_forgets_between_runs(monkeypatch):
    monkeypatch.setenv("LLMSPELL_RUNTIME_STATE_PERSISTENCE_BACKEND", "memory")
    assert cli("exec", 'State.save("global", "k", 1)').exit_code == 0
    assert cli("exec", 'return State.load("global", "k") == nil').stdout == "true\n"
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "llmspell" / "state.db").exists()


def test_config_state_path_is_used(tmp_path: Path):
    config = write_config(tmp_path / "prod.toml")
    assert cli("--config", str(config), "exec", 'State.save("global", "k", 7)').exit_code == 0
    assert (tmp_path / "data" / "state.db").is_file()
    assert cli("--config", str(config), "state", "show", "k").stdout == "7\n"


@pytest.mark.usefixtures("store_backend")
def test_tenants_never_see_each_other_from_lua(monkeypatch):
    monkeypatch.setenv("LLMSPELL_STATE_TENANT", "alice")
    assert cli("exec", 'State.save("global", "secret", "a")').exit_code == 0
    monkeypatch.setenv("LLMSPELL_STATE_TENANT", "bob")
    assert (
        cli(
            "exec", 'return State.load("global", "secret") == nil and #State.list_keys("global")'
        ).stdout
        == "0\n"
    )
    monkeypatch.setenv("LLMSPELL_STATE_TENANT", "alice")
    assert cli("exec", 'return State.load("global", "secret")').stdout == "a\n"


def test_unreadable_database_is_a_clear_error(tmp_path: Path):
    config = write_config(tmp_path / "c.toml")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "state.db").write_bytes(b"this is not a database" * 100)
    result = cli("--config", str(config), "state", "show")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "cannot open the state database" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_exec_without_state_imports_no_sqlite_and_opens_no_database(tmp_path: Path):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "llmspell_cli", "exec", "return 1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.stdout == "1\n"
    assert "sqlite3" not in proc.stderr
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "llmspell" / "state.db").exists()


@pytest.mark.slow
def test_kill_9_mid_write_loop_keeps_every_committed_value(tmp_path: Path):
    config = write_config(tmp_path / "c.toml")
    script = tmp_path / "loop.lua"
    script.write_text(
        "local i = 0\n"
        "while true do\n"
        "  i = i + 1\n"
        '  State.save("global", "k" .. i, {i = i, pad = string.rep("x", 200)})\n'
        "  print(i)\n"
        "end\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmspell_cli", "--config", str(config), "run", str(script)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    committed = 0
    deadline = time.monotonic() + 30
    while committed < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip().isdigit():
            committed = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert committed >= 300
    conn = sqlite3.connect(tmp_path / "data" / "state.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    keys = {row[0] for row in conn.execute("SELECT key FROM state")}
    conn.close()
    assert {f"global:k{i}" for i in range(1, committed + 1)} <= keys
    result = cli("--config", str(config), "--output", "json", "state", "show", f"k{committed}")
    assert result.exit_code == 0 and f'"i": {committed}' in result.stdout
