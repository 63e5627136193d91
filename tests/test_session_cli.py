"""`llmspell session` as a user meets it, through the real CLI in subprocesses on a real SQLite
store: `session artifact get`, names in `Artifact.get`, id prefixes, list filters, and the
session a kernel service makes for itself being completed when the kernel stops."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.data_helpers import run_lua, write_config
from tests.processes import daemon_kernel, llmspell

ALL_BYTES = bytes(range(256))


def _run(*args: str) -> subprocess.CompletedProcess[bytes]:
    """The real CLI with its stdout as bytes (artifact content is any bytes)."""
    return subprocess.run(
        [sys.executable, "-m", "llmspell_cli", *args], capture_output=True, timeout=60
    )


def _json(*args: str) -> dict:  # type: ignore[type-arg]
    done = llmspell("--output", "json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture()
def store(tmp_path: Path) -> tuple[str, str]:
    """(`--config`, its path): a store of the test's own, with one session holding a text
    artifact in two versions and a binary one."""
    config = str(write_config(tmp_path / "c.toml"))
    code = (
        'local s = Session.create({name = "report", tags = {"weekly"}}) '
        'Artifact.store(s, "agent_output", "report.md", "first draft\\n") '
        'Artifact.store(s, "agent_output", "report.md", "héllo — final\\n") '
        "local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end "
        'Artifact.store(s, "tool_result", "data.bin", table.concat(t)) '
        "return s"
    )
    made = llmspell("--config", config, "exec", code)
    assert made.returncode == 0, made.stderr
    return "--config", config


def _session_id(store: tuple[str, str]) -> str:
    [session] = _json(*store, "session", "list")["sessions"]
    return str(session["id"])


def test_artifact_get_prints_the_content_or_writes_it_to_a_file(
    store: tuple[str, str], tmp_path: Path
) -> None:
    """No command printed an artifact's content (`session show` lists only hashes)."""
    sid = _session_id(store)
    latest = _run(*store, "session", "artifact", "get", sid, "report.md")
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout == "héllo — final\n".encode() and latest.stderr == b""
    first = _run(*store, "session", "artifact", "get", sid, "report.md", "--version", "1")
    assert first.stdout == b"first draft\n"
    binary = _run(*store, "session", "artifact", "get", sid, "data.bin")  # a pipe: printed
    assert binary.returncode == 0 and binary.stdout == ALL_BYTES
    by_seq = _run(*store, "session", "artifact", "get", sid, "1")  # `seq` in session show
    assert by_seq.stdout == b"first draft\n"
    by_hash = _run(
        *store, "session", "artifact", "get", sid, hashlib.sha256(ALL_BYTES).hexdigest()[:12]
    )
    assert by_hash.stdout == ALL_BYTES

    target = tmp_path / "out" / "data.bin"
    target.parent.mkdir()
    wrote = llmspell(*store, "session", "artifact", "get", sid, "data.bin", "-o", str(target))
    assert wrote.returncode == 0, wrote.stderr
    assert wrote.stdout == f"wrote 256 bytes of artifact 'data.bin' v1 to {target}\n"
    assert target.read_bytes() == ALL_BYTES

    # Failures: one error line, the right exit code, the file as it was and no temporary file.
    target.write_bytes(b"keep me")
    for args, code, message in (
        (("nope",), 1, f"error: session {sid} has no artifact 'nope'\n"),
        (
            ("report.md", "--version", "9"),
            1,
            "error: artifact 'report.md' has no version 9 (versions: 1, 2)\n",
        ),
        (("report.md", "--version", "0"), 2, "error: "),
    ):
        failed = llmspell(*store, "session", "artifact", "get", sid, *args, "-o", str(target))
        assert failed.returncode == code, failed.stderr
        assert failed.stderr.startswith(message) and "Traceback" not in failed.stderr
    missing_dir = llmspell(
        *store, "session", "artifact", "get", sid, "data.bin", "-o", str(tmp_path / "no" / "f")
    )
    assert missing_dir.returncode == 2
    assert (
        missing_dir.stderr
        == f"error: cannot write {tmp_path / 'no' / 'f'}: no such directory: {tmp_path / 'no'}\n"
    )
    assert target.read_bytes() == b"keep me" and sorted(target.parent.iterdir()) == [target]


def test_artifact_get_json_gives_metadata_with_text_or_base64_content(
    store: tuple[str, str], tmp_path: Path
) -> None:
    sid = _session_id(store)
    prefix = sid[:8]
    text = _json(*store, "session", "artifact", "get", prefix, "report.md")
    assert text["session_id"] == sid and text["encoding"] == "utf-8"
    assert text["content"] == "héllo — final\n"
    assert text["artifact"]["version"] == 2 and text["artifact"]["name"] == "report.md"
    binary = _json(*store, "session", "artifact", "get", prefix, "data.bin")
    assert binary["encoding"] == "base64" and base64.b64decode(binary["content"]) == ALL_BYTES
    assert binary["artifact"]["content_hash"] == hashlib.sha256(ALL_BYTES).hexdigest()
    target = tmp_path / "d.bin"
    written = _json(*store, "session", "artifact", "get", prefix, "data.bin", "-o", str(target))
    assert written["path"] == str(target) and "content" not in written
    assert target.read_bytes() == ALL_BYTES


def test_binary_content_is_not_printed_to_a_terminal(store: tuple[str, str]) -> None:
    import os
    import pty

    sid = _session_id(store)
    for args, code in ((("data.bin",), 2), (("data.bin", "-o", "-"), 0), (("report.md",), 0)):
        terminal, child_side = pty.openpty()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "llmspell_cli", *store, "session", "artifact", "get"]
                + [sid, *args],
                stdout=child_side,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
            )
        finally:
            os.close(child_side)
            os.close(terminal)
        assert done.returncode == code, done.stderr
        if code == 2:
            assert done.stderr == (
                "error: artifact 'data.bin' is binary (application/octet-stream, 256 bytes); "
                "it is not printed to a terminal\n"
                "hint: write it with -o FILE, or print it anyway with -o -\n"
            )


def test_lua_artifact_get_accepts_a_name_for_the_latest_version() -> None:
    """`Artifact.get(s, "report.md")` returned nil: only ids and hashes were understood."""
    code = """
    local s = Session.create()
    Artifact.store(s, "t", "report.md", "v1")
    local id2 = Artifact.store(s, "t", "report.md", "v2")
    local latest = Artifact.get(s, "report.md")
    return {latest = latest.content, version = latest.metadata.version,
            same = Artifact.get(s, id2).content == latest.content,
            first = Artifact.get(s, "report.md", 1).content,
            by_table = Artifact.get(s, {name = "report.md", version = 1}).content,
            missing = Artifact.get(s, "nope") == nil, no_v3 = Artifact.get(s, "report.md", 3) == nil,
            deleted = Artifact.delete(s, "report.md"), after = Artifact.get(s, "report.md").content}
    """
    _out, result, error = run_lua(code)
    assert error == ""
    assert result == {
        "latest": "v2",
        "version": 2,
        "same": True,
        "first": "v1",
        "by_table": "v1",
        "missing": True,
        "no_v3": True,
        "deleted": True,
        "after": "v1",  # deleting by name removed the latest version
    }


def test_lua_session_list_filters_by_name_or_pattern() -> None:
    code = """
    Session.create({name = "weekly report"}) Session.create({name = "daily report"})
    Session.create({name = "scratch", tags = {"t"}})
    local function names(q) local r = {} for _, s in ipairs(Session.list(q)) do r[#r + 1] = s.name end
      table.sort(r) return table.concat(r, ",") end
    return {names({name = "*report"}), names({name = "scratch"}), names({name = "x", tags = "t"})}
    """
    _out, result, error = run_lua(code)
    assert error == ""
    assert result == ["daily report,weekly report", "scratch", ""]


def _rename_sessions(config: str, ids: list[str]) -> None:
    """Give the sessions of a store the ids `ids` (newest first), to make prefixes collide."""
    db = Path(config).parent / "data" / "state.db"
    with sqlite3.connect(db) as conn:
        old = [r[0] for r in conn.execute("SELECT id FROM sessions ORDER BY created_at DESC")]
        for before, after in zip(old, ids, strict=True):
            for table, column in (
                ("sessions", "id"),
                ("executions", "session_id"),
                ("artifacts", "session_id"),
            ):
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (after, before))
    conn.close()


def test_session_ids_accept_unique_prefixes_and_ambiguous_ones_list_the_matches(
    store: tuple[str, str],
) -> None:
    """Session ids had to be typed whole (36 characters) in every command."""
    config = store[1]
    assert llmspell(*store, "exec", "local _ = Session.create({name = 'twin'})").returncode == 0
    assert llmspell(*store, "exec", "local _ = Session.create({name = 'other'})").returncode == 0
    one, twin, other = (
        "abcd1111-0000-4000-8000-000000000001",
        "abcd2222-0000-4000-8000-000000000002",
        "ef015555-0000-4000-8000-000000000003",
    )
    _rename_sessions(config, [other, twin, one])

    shown = _json(*store, "session", "show", "abcd1")
    assert shown["id"] == one and shown["name"] == "report"
    ambiguous = llmspell(*store, "session", "show", "abcd")
    assert ambiguous.returncode == 2
    assert ambiguous.stderr == (
        f"error: session id 'abcd' is ambiguous (2 sessions match: {twin} (twin), {one} (report))\n"
        "hint: type more of the id\n"
    )
    short = llmspell(*store, "session", "show", "abc")
    assert short.returncode == 1
    assert short.stderr == (
        "error: Session 'abc' not found\nhint: an id prefix needs at least 4 characters\n"
    )
    # the same resolver behind every command that names a session
    got = _run(*store, "session", "artifact", "get", "abcd1", "report.md", "--version", "1")
    assert got.stdout == b"first draft\n"
    assert llmspell(*store, "session", "artifact", "get", "abcd", "x").returncode == 2
    assert llmspell(*store, "exec", "--session", "ef01", "return 7").stdout == "7\n"
    refused = llmspell(*store, "exec", "--session", "abcd", "return 7")
    assert refused.returncode == 2 and refused.stderr.startswith(
        "error: session id 'abcd' is ambiguous"
    )
    replayed = llmspell(*store, "session", "replay", "ef01")
    assert replayed.returncode == 0, replayed.stderr
    assert f"replay of session {other}" in replayed.stdout
    assert llmspell(*store, "state", "set", "--scope", "session:ef01", "k", "5").returncode == 0
    assert _json(*store, "state", "show", "k", "--scope", f"session:{other}")["value"] == 5
    assert llmspell(*store, "state", "show", "--scope", "session:abcd").returncode == 2
    deleted = llmspell(*store, "session", "delete", "abcd2")
    assert deleted.returncode == 0 and deleted.stdout == f"deleted session {twin}\n"
    assert _json(*store, "session", "show", "abcd")["id"] == one  # unique again


def test_session_list_filters_by_name_tag_and_status(tmp_path: Path) -> None:
    config = str(write_config(tmp_path / "c.toml"))
    code = (
        "Session.create({name = 'weekly report', tags = {'report', 'weekly'}}) "
        "Session.create({name = 'daily report', tags = {'report'}}) "
        "local done = Session.create({name = 'scratch'}) Session.complete(done)"
    )
    assert llmspell("--config", config, "exec", code).returncode == 0

    def names(*filters: str) -> list[str]:
        listed = _json("--config", config, "session", "list", *filters)["sessions"]
        return sorted(s["name"] for s in listed)

    assert names() == ["daily report", "scratch", "weekly report"]
    assert names("--tag", "report") == ["daily report", "weekly report"]
    assert names("--tag", "report", "--tag", "weekly") == ["weekly report"]
    assert names("--name", "scratch") == ["scratch"]
    assert names("--name", "*report") == ["daily report", "weekly report"]
    assert names("--status", "completed") == ["scratch"]
    assert names("--status", "active", "--name", "daily*") == ["daily report"]
    none = llmspell("--config", config, "session", "list", "--tag", "nope")
    assert none.returncode == 0 and none.stdout == "no sessions match\n"
    bad = llmspell("--config", config, "session", "list", "--status", "bogus")
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown session status 'bogus'")


@pytest.fixture()
def kernel(isolated_home: Path) -> Iterator[str]:
    with daemon_kernel("sk"):
        yield "sk"


@pytest.mark.slow
def test_a_kernel_completes_its_own_session_when_it_stops(kernel: str) -> None:
    """Every kernel launch left a `kernel <id>` session active for 7 days (its TTL)."""
    assert llmspell("exec", "--connect", kernel, "x = 1").returncode == 0
    listed = _json("session", "list", "--kernel", kernel)["sessions"]
    assert [(s["name"], s["status"]) for s in listed] == [("kernel sk", "active")]
    stopped = llmspell("kernel", "stop", kernel)
    assert stopped.returncode == 0, stopped.stderr
    after = _json("session", "list")["sessions"]  # offline now
    assert [(s["name"], s["status"], s["execution_count"]) for s in after] == [
        ("kernel sk", "completed", 1)
    ]


@pytest.mark.slow
def test_through_a_kernel_session_prefixes_and_big_artifacts_work(kernel: str) -> None:
    code = (
        "local s = Session.create({name = 'big'}) "
        "local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end "
        "Artifact.store(s, 't', 'big.bin', string.rep(table.concat(t), 40000) .. 'end') return s"
    )
    made = llmspell("exec", "--connect", kernel, code)
    assert made.returncode == 0, made.stderr
    sid = made.stdout.strip()
    big = ALL_BYTES * 40000 + b"end"  # more than two replies' worth (4 MB each)
    got = _run("session", "artifact", "get", "--kernel", kernel, sid[:6], "big.bin")
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256(got.stdout).hexdigest() == hashlib.sha256(big).hexdigest()
    assert llmspell("exec", "--connect", kernel, "--session", sid[:6], "return 1").stdout == "1\n"
    shown = _json("session", "show", sid[:6], "--kernel", kernel)
    assert shown["id"] == sid and len(shown["executions"]) == 1
    ambiguous = llmspell("session", "show", "--kernel", kernel, "zzzz")
    assert ambiguous.returncode == 1 and ambiguous.stderr == "error: Session 'zzzz' not found\n"
