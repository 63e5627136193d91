"""Sessions and artifacts from Lua: lifecycle, versions, hashes, policies, TTL, tenancy."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest

from tests.data_helpers import cli, cli_json, run_lua, write_config


@pytest.mark.usefixtures("store_backend")
def test_three_artifacts_two_versions_listed_with_hashes_and_versions():
    code = """
    local s = Session.create({name = "demo", tags = {"t1"}})
    local a1 = Artifact.store(s, "agent_output", "report.md", "v1", {description = "first", tags = {"x"}, extra = 5})
    local a2 = Artifact.store(s, "agent_output", "report.md", "v2")
    local a3 = Artifact.store(s, "tool_result", "data.bin", "\\255\\0\\1\\2")
    local list = Artifact.list(s)
    local got = Artifact.get(s, a3)
    return {list = list, seq = {a1.sequence, a2.sequence, a3.sequence}, session = a1.session_id == s,
            binary = got.content == "\\255\\0\\1\\2", current = Session.get_current() == s,
            count = Session.get(s).artifact_count, missing = Artifact.get(s, {sequence = 99}) == nil}
    """
    out, result, error = run_lua(code)
    assert error == ""
    listing = result["list"]
    assert [(a["name"], a["version"]) for a in listing] == [
        ("report.md", 1),
        ("report.md", 2),
        ("data.bin", 1),
    ]
    assert listing[0]["content_hash"] == hashlib.sha256(b"v1").hexdigest()
    assert listing[1]["previous_hash"] == listing[0]["content_hash"]
    assert listing[2]["content_hash"] == hashlib.sha256(b"\xff\x00\x01\x02").hexdigest()
    assert listing[0]["id"]["sequence"] == 1 and listing[0]["description"] == "first"
    assert listing[0]["tags"] == ["x"] and listing[0]["custom"] == {"extra": 5}
    assert listing[0]["mime_type"] == "text/markdown"
    assert result["seq"] == [1, 2, 3] and result["session"] and result["binary"]
    assert result["current"] and result["count"] == 3 and result["missing"]


def test_large_artifacts_are_compressed_deduplicated_and_kept_in_files(tmp_path: Path):
    config = write_config(tmp_path / "c.toml", "blob_inline_max_bytes = 1000\n")
    code = """
    local s = Session.create()
    local text = string.rep("hello world ", 20000)
    local a = Artifact.store(s, "t", "a.txt", text)
    local b = Artifact.store(s, "t", "b.txt", text)
    local m = Artifact.list(s)[1]
    return {same = Artifact.get(s, b).content == text, compressed = m.is_compressed,
            size = m.size, stored = m.stored_size}
    """
    _out, result, error = run_lua(code, config)
    assert error == ""
    assert result["same"] and result["compressed"] and result["size"] == 240000
    assert result["stored"] < 10000
    conn = sqlite3.connect(tmp_path / "data" / "state.db")
    assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 1
    digest = conn.execute("SELECT hash FROM blobs").fetchone()[0]
    conn.close()
    assert (tmp_path / "data" / "blobs" / digest[:2] / digest).is_file()


def test_multi_megabyte_artifacts_hashed_beside_the_write_round_trip(tmp_path: Path):
    """Blobs of 1 MB and more are hashed in a second thread while they are compressed and
    written to a temporary file; a duplicate's temporary file is removed, none is left."""
    config = write_config(tmp_path / "c.toml", "blob_inline_max_bytes = 1000\n")
    code = """
    local s = Session.create()
    local parts = {}
    for i = 1, 150000 do parts[i] = string.char(i % 251, (i * 7) % 256) .. i end
    local big = table.concat(parts)
    local a = Artifact.store(s, "t", "big.bin", big)
    local b = Artifact.store(s, "t", "copy.bin", big)
    local text = string.rep("lorem ipsum ", 200000)
    local c = Artifact.store(s, "t", "text.txt", text)
    Session.complete(s)
    local refused = pcall(Artifact.store, s, "t", "late.bin", big .. "late")
    return {same = Artifact.get(s, b).content == big, text = Artifact.get(s, c).content == text,
            hash = a.content_hash, copy = b.content_hash, size = #big, refused = not refused,
            compressed = Artifact.list(s)[3].is_compressed}
    """
    _out, result, error = run_lua(code, config)
    assert error == ""
    assert result["size"] > 1 << 20 and result["same"] and result["text"] and result["compressed"]
    assert result["hash"] == result["copy"] and result["refused"]
    blobs = tmp_path / "data" / "blobs"
    stored = sorted(p.name for p in blobs.rglob("*") if p.is_file())
    assert len(stored) == 2 and not any(name.startswith(".") for name in stored), stored
    assert result["hash"] in stored


@pytest.mark.usefixtures("store_backend")
def test_lifecycle_transitions_and_invalid_ones_raise_with_position():
    code = """
    local s = Session.builder():name("b"):description("d"):tag("x"):tags({"y"}):build()
    Session.suspend(s)
    Session.resume(s)
    Session.complete(s)
    local ok, err = pcall(function() Session.resume(s) end)
    Session.archive(s)
    local meta = Session.get(s)
    local ok2, err2 = pcall(function() Session.builder().name("x") end)
    return {meta.status, meta.name, meta.tags, err, err2, Session.get("nope") == nil,
            #Session.list({status = "archived"}), Session.load(s) == s}
    """
    _out, result, error = run_lua(code)
    assert error == ""
    assert result[0] == "archived" and result[1] == "b" and result[2] == ["x", "y"]
    assert result[3].startswith("cell[1]:6: Session.resume: cannot resume session")
    assert result[4].endswith("name: call with ':' not '.'")
    assert result[5] is True and result[6] == 1 and result[7] is True


@pytest.mark.usefixtures("store_backend")
def test_policies_refuse_with_clear_errors(monkeypatch):
    monkeypatch.setenv("LLMSPELL_SESSIONS_MAX_SESSIONS", "2")
    monkeypatch.setenv("LLMSPELL_SESSIONS_MAX_ARTIFACTS_PER_SESSION", "1")
    monkeypatch.setenv("LLMSPELL_SESSIONS_MAX_ARTIFACT_SIZE_BYTES", "10")
    code = """
    local s = Session.create()
    Session.create()
    local r = {}
    r[1] = select(2, pcall(Session.create))
    r[2] = select(2, pcall(Artifact.store, s, "t", "big", string.rep("x", 11)))
    Artifact.store(s, "t", "ok", "x")
    r[3] = select(2, pcall(Artifact.store, s, "t", "two", "y"))
    Session.complete(s)
    return r
    """
    _out, result, error = run_lua(code)
    assert error == ""
    assert "session limit reached: 2 sessions (sessions.max_sessions)" in result[0]
    assert "over the limit of 10 (sessions.max_artifact_size_bytes)" in result[1]
    assert "already holds 1 artifacts (sessions.max_artifacts_per_session)" in result[2]


@pytest.mark.usefixtures("store_backend")
def test_executions_per_minute_rate_limit_refuses_the_execution(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("LLMSPELL_SESSIONS_EXECUTIONS_PER_MINUTE", "2")
    from llmspell_kernel.api import kernel_settings_from_config, start_embedded_kernel
    from llmspell_kernel.config import load_config

    with start_embedded_kernel(kernel_settings_from_config(load_config().config)) as kernel:
        client = kernel.client()
        assert client.execute("Session.create();").wait() == []
        assert client.execute("return 1").wait()[-1].text == "1"
        refused = client.execute("return 2")
        outputs = refused.wait()
        assert refused.status == "error"
        assert "sessions.executions_per_minute = 2" in outputs[-1].evalue
        client.close()


@pytest.mark.usefixtures("store_backend")
def test_expired_session_disappears_after_session_gc():
    code = """
    local keep = Session.create({name = "keep"})
    local gone = Session.create({name = "gone", ttl_seconds = 0.05})
    Artifact.store(gone, "t", "a", "content only here")
    State.save("session:" .. gone, "k", 1)
    return gone
    """
    assert cli("exec", code).exit_code == 0
    time.sleep(0.1)
    assert len(cli_json("session", "list")["sessions"]) == 2
    result = cli_json("session", "gc")
    assert len(result["expired"]) == 1
    sessions = cli_json("session", "list")["sessions"]
    assert [s["name"] for s in sessions] == ["keep"]
    assert cli_json("state", "show")["entries"] == []


@pytest.mark.usefixtures("store_backend")
def test_idle_sessions_are_suspended_by_gc(monkeypatch):
    monkeypatch.setenv("LLMSPELL_SESSIONS_IDLE_TIMEOUT_SECONDS", "1")
    cli("exec", "Session.create({name = 'idle'})")
    time.sleep(1.1)
    assert len(cli_json("session", "gc")["suspended"]) == 1
    assert cli_json("session", "list", "--status", "suspended")["sessions"][0]["name"] == "idle"


@pytest.mark.usefixtures("store_backend")
def test_tenants_never_see_each_others_sessions(monkeypatch):
    monkeypatch.setenv("LLMSPELL_STATE_TENANT", "alice")
    sid = cli(
        "exec", "local s = Session.create({name='a'}) Artifact.store(s, 't', 'n', 'x') return s"
    ).stdout.strip()
    monkeypatch.setenv("LLMSPELL_STATE_TENANT", "bob")
    code = f"""
    return {{Session.get("{sid}") == nil, #Session.list(), #Artifact.query({{}}),
             select(2, pcall(Artifact.list, "{sid}")), select(2, pcall(Session.delete, "{sid}"))}}
    """
    result = cli("--output", "json", "exec", code)
    assert '"Artifact.list: Session' in result.stdout and "not found" in result.stdout
    assert "true,\n    0,\n    0" in result.stdout
    assert cli_json("session", "list")["sessions"] == []
    assert cli("session", "show", sid).exit_code == 1
    assert cli("session", "delete", sid).exit_code == 1  # not found, as `session show`
    assert len(cli_json("session", "list", "--tenant", "alice")["sessions"]) == 1


def test_store_file_only_within_readable_paths(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("file content")
    (tmp_path / "s.lua").write_text(
        "local s = Session.create()\n"
        'local id = Artifact.store_file(s, "notes.txt", "user_input")\n'
        "local got = Artifact.get(s, id)\n"
        'local ok, err = pcall(Artifact.store_file, s, "/etc/hostname", "user_input")\n'
        "return {got.content, got.metadata.name, got.metadata.mime_type, err}\n"
    )
    result = cli("--output", "json", "run", str(tmp_path / "s.lua"))
    assert result.exit_code == 0, result.stderr
    assert '"file content"' in result.stdout and '"notes.txt"' in result.stdout
    assert "outside the readable paths" in result.stdout


@pytest.mark.usefixtures("store_backend")
def test_artifact_query_and_delete():
    code = """
    local s = Session.create()
    Artifact.store(s, "a", "one.txt", "1", {tags = {"keep"}})
    local two = Artifact.store(s, "b", "two.md", "22")
    local r = {#Artifact.query({type = "a"}), #Artifact.query({name_pattern = "*.md"}),
               #Artifact.query({tags = {"keep"}}), #Artifact.query({min_size = 2}),
               #Artifact.query({created_after = "2000-01-01T00:00:00Z", limit = 1})}
    r[6] = Artifact.delete(s, two)
    r[7] = Artifact.delete(s, two)
    r[8] = #Artifact.list("")
    return r
    """
    _out, result, error = run_lua(code)
    assert error == ""
    assert result == [1, 1, 1, 1, 1, True, False, 1]


@pytest.mark.usefixtures("store_backend")
def test_session_show_lists_artifacts_and_recorded_executions(tmp_path: Path):
    (tmp_path / "work.lua").write_text(
        'local s = Session.create({name = "w"})\nArtifact.store(s, "t", "out", "x")\nprint("did " .. ARGS.n)\nreturn 7\n'
    )
    assert cli("run", str(tmp_path / "work.lua"), "--", "--n", "3").exit_code == 0
    sid = cli_json("session", "list")["sessions"][0]["id"]
    shown = cli_json("session", "show", sid)
    assert shown["artifacts"][0]["name"] == "out"
    step = shown["executions"][0]
    assert step["script_path"] == str(tmp_path / "work.lua") and step["args"] == ["--n", "3"]
    assert step["outputs"] == [{"name": "stdout", "text": "did 3\n"}] and step["result"] == 7
    text = cli("session", "show", sid)
    assert text.exit_code == 0 and sid in text.stdout and "work.lua" in text.stdout


@pytest.mark.usefixtures("store_backend")
def test_replay_compares_every_step(tmp_path: Path):
    (tmp_path / "r.lua").write_text(
        'local s = Session.create({name = "r"})\nprint("hello " .. ARGS[1])\nreturn {n = 1}\n'
    )
    assert cli("run", str(tmp_path / "r.lua"), "--", "x").exit_code == 0
    sid = cli_json("session", "list")["sessions"][0]["id"]
    report = cli_json("session", "replay", sid)
    assert report["differences"] == 0
    assert report["steps"][0]["replayed"] == {
        "status": "ok",
        "stdout": "hello x\n",
        "result": {"n": 1},
        "error": None,
    }
    text = cli("session", "replay", sid, "--from-step", "1", "--to-step", "1")
    assert text.exit_code == 0 and "1 of 1 steps reproduced" in text.stdout
    (tmp_path / "r.lua").write_text("changed on disk")  # replay uses the recorded code
    assert cli_json("session", "replay", sid)["differences"] == 0


def test_replay_reports_differences_with_exit_1():
    cli("exec", "Session.create({name = 'clock'})")
    sid = cli_json("session", "list")["sessions"][0]["id"]
    from llmspell_kernel.state.hub import DataHub

    hub = DataHub()
    hub.sessions().record_execution(sid, {"code": "return 1 + 1", "status": "ok", "result": 3})
    hub.close()
    result = cli("session", "replay", sid)
    assert result.exit_code == 1
    assert "DIFFERS: result" in result.stdout


@pytest.mark.usefixtures("store_backend")
def test_session_delete_and_delete_all():
    cli("exec", "Session.create() Session.create()")
    sid = cli_json("session", "list")["sessions"][0]["id"]
    assert cli("session", "delete", sid).stdout == f"deleted session {sid}\n"
    assert cli("session", "delete").exit_code == 2
    assert cli_json("session", "delete", "--all", "--yes")["deleted"] == 1
    assert cli_json("session", "list")["sessions"] == []


def test_delete_all_without_a_terminal_needs_yes(tmp_path: Path):
    """`session delete --all </dev/null` deleted every session without asking."""
    import subprocess
    import sys

    config = write_config(tmp_path / "c.toml")
    base = ("--config", str(config))
    assert cli(*base, "exec", "Session.create() Session.create()").exit_code == 0
    refused = subprocess.run(
        [sys.executable, "-m", "llmspell_cli", *base, "session", "delete", "--all"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and "use --yes to confirm" in refused.stderr
    assert len(cli_json(*base, "session", "list")["sessions"]) == 2
    assert cli(*base, "session", "delete", "--all", input="y\n").exit_code == 2  # a pipe
    assert cli_json(*base, "session", "delete", "--all", "--yes")["deleted"] == 2


def test_blob_files_and_repl_history_are_owner_only(tmp_path: Path):
    """Artifact blob files and the REPL history were created 0644 (the database is 0600)."""
    import os

    umask = os.umask(0o022)  # the usual umask, whatever the test runner's
    try:
        _check_owner_only_files(tmp_path)
    finally:
        os.umask(umask)


def _check_owner_only_files(tmp_path: Path) -> None:
    import io
    import stat

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from llmspell_cli.repl.prompt import run_repl
    from llmspell_cli.repl.session import ReplSession
    from llmspell_kernel.api import start_embedded_kernel

    config = write_config(tmp_path / "c.toml", "blob_inline_max_bytes = 1000\n")
    small = 'Artifact.store(s, "t", "small", string.rep("x", 5000))'
    big = 'Artifact.store(s, "t", "big", string.rep(string.char(1, 200, 7), 500000))'
    _out, _result, error = run_lua(f"local s = Session.create() {small} {big}", config)
    assert error == ""
    blobs = tmp_path / "data" / "blobs"
    files = [p for p in blobs.rglob("*") if p.is_file()]
    dirs = [blobs, *(p for p in blobs.rglob("*") if p.is_dir())]
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in dirs:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert stat.S_IMODE((tmp_path / "data" / "state.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700

    history = tmp_path / "made" / "history"
    with start_embedded_kernel() as kernel, create_pipe_input() as pipe:
        session = ReplSession(kernel.client(), out=io.StringIO(), err=io.StringIO())
        pipe.send_text("x = 1\r\x04")
        run_repl(session, input=pipe, output=DummyOutput(), history_path=history)
    assert "x = 1" in history.read_text()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert stat.S_IMODE(history.parent.stat().st_mode) == 0o700
    loose = tmp_path / "loose-history"
    loose.write_text("")
    loose.chmod(0o644)
    with start_embedded_kernel() as kernel, create_pipe_input() as pipe:
        session = ReplSession(kernel.client(), out=io.StringIO(), err=io.StringIO())
        pipe.send_text("\x04")
        run_repl(session, input=pipe, output=DummyOutput(), history_path=loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600


def test_an_idle_kernel_expires_sessions_on_its_timer(tmp_path: Path):
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.kernel.server import KernelSettings
    from llmspell_kernel.lua.engine import EngineSettings
    from llmspell_kernel.state.settings import DataSettings

    db = tmp_path / "state.db"
    data = DataSettings(path=str(db), gc_interval_seconds=0.2)  # type: ignore[arg-type]
    settings = KernelSettings(engine=EngineSettings(data=data))
    with start_embedded_kernel(settings) as kernel:
        client = kernel.client()
        code = "Session.create({name = 'gone', ttl_seconds = 0.1}) Session.create({name = 'keep'})"
        assert client.execute(code).wait() == []
        names: list[str] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # no request arrives: only the timer can expire it
            with sqlite3.connect(db) as conn:
                names = [r[0] for r in conn.execute("SELECT name FROM sessions")]
            if names == ["keep"]:
                break
            time.sleep(0.05)
        assert names == ["keep"]
        # The expired session was the current one; it is current no more.
        assert client.execute("return Session.get_current() == nil").wait()[-1].text == "true"
        client.close()


def test_the_timer_opens_an_existing_store_but_never_creates_one(tmp_path: Path):
    from llmspell_kernel.state.hub import DataHub
    from llmspell_kernel.state.settings import DataSettings

    settings = DataSettings(path=str(tmp_path / "state.db"), gc_interval_seconds=0.01)  # type: ignore[arg-type]
    hub = DataHub(settings)
    assert hub.periodic_gc() is None  # not due yet: never at start-up
    time.sleep(0.02)
    assert hub.periodic_gc() is None and not hub.is_open
    assert not (tmp_path / "state.db").exists()
    maker = DataHub(settings)
    maker.sessions().create({"name": "old", "ttl_seconds": 0.01})
    maker.close()
    time.sleep(0.02)
    assert hub.periodic_gc() == {"default": {"expired": [ANY_ID], "suspended": []}}
    hub.close()


class _AnyId:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and len(other) == 36


ANY_ID = _AnyId()


def test_run_and_exec_record_into_a_named_session(tmp_path: Path):
    session = cli("exec", "return Session.create({name = 'named'})").stdout.strip()
    script = tmp_path / "s.lua"
    script.write_text("return 40 + 2\n")
    assert cli("run", "--session", session, str(script), "--", "a").stdout == "42\n"
    assert cli("exec", "--session", session, "print('hi')").stdout == "hi\n"
    shown = cli_json("session", "show", session)
    steps = [(e["code"], e["script_path"], e["args"]) for e in shown["executions"]]
    assert steps[-2:] == [
        ("return 40 + 2\n", str(script.resolve()), ["a"]),
        ("print('hi')", None, []),
    ]
    refused = cli("exec", "--session", "nope", "return 1")
    assert refused.exit_code == 1 and refused.stderr == "error: Session 'nope' not found\n"


def test_a_busy_kernel_records_every_execution_in_order(tmp_path: Path):
    # Requests sent at once queue up: the kernel keeps their records and writes them in one
    # transaction (Kernel.flush_records); every one lands, in order, and a data request through
    # the kernel on either channel sees them all.
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.kernel.server import KernelSettings
    from llmspell_kernel.lua.engine import EngineSettings
    from llmspell_kernel.state.settings import DataSettings

    data = DataSettings(path=str(tmp_path / "state.db"))  # type: ignore[arg-type]
    settings = KernelSettings(engine=EngineSettings(data=data), kernel_session=True)
    with start_embedded_kernel(settings) as kernel:
        client = kernel.client()
        executions = [client.execute(f"return {n}") for n in range(40)]
        for execution in executions:
            execution.wait()
        sid = kernel.kernel.kernel_session_id
        for channel in ("control", "shell"):
            reply = client.request(
                channel,
                "llmspell_data_request",
                {"op": "session.executions", "params": {"id": sid}},
            )["content"]
            steps = [(e["step"], e["code"]) for e in reply["result"]["executions"]]
            assert steps == [(n + 1, f"return {n}") for n in range(40)], channel
        client.close()


def test_a_kernel_session_deleted_through_the_kernel_is_made_again(tmp_path: Path):
    # The kernel trusts its own session's status for a second between executions, and forgets
    # that trust on any other request: a delete through the kernel is seen at once.
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.kernel.server import KernelSettings
    from llmspell_kernel.lua.engine import EngineSettings
    from llmspell_kernel.state.settings import DataSettings

    data = DataSettings(path=str(tmp_path / "state.db"))  # type: ignore[arg-type]
    settings = KernelSettings(engine=EngineSettings(data=data), kernel_session=True)
    with start_embedded_kernel(settings) as kernel:
        client = kernel.client()
        client.execute("return 1").wait()
        first = kernel.kernel.kernel_session_id
        reply = client.request(
            "control",
            "llmspell_data_request",
            {"op": "session.delete", "params": {"id": first}},
        )["content"]
        assert reply["status"] == "ok", reply
        client.execute("return 2").wait()
        second = kernel.kernel.kernel_session_id
        assert second not in (None, first)
        shown = client.request(
            "shell",
            "llmspell_data_request",
            {"op": "session.executions", "params": {"id": second}},
        )["content"]["result"]
        assert [e["code"] for e in shown["executions"]] == ["return 2"]
        client.close()
