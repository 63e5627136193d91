"""The postgres backend: the store API on both backends, the PostgreSQL schema against SQLite's,
transactions across processes, masked DSNs, clear errors, a server restart during a write loop,
two kernels on one database, and backups between the backends (real PostgreSQL 15: tests/pg.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.events.model import Event
from llmspell_kernel.events.store import EventStore
from llmspell_kernel.state.database import SCHEMA_VERSION, SqliteDatabase
from llmspell_kernel.state.dsn import mask_dsn
from llmspell_kernel.state.store import StateStore, ValueTooLarge
from llmspell_kernel.usage.log import ProviderCall, UsageLog
from tests.conftest import isolated_environment
from tests.data_helpers import cli, cli_json, write_config
from tests.pg import PostgresServer

if TYPE_CHECKING:
    from llmspell_kernel.state.database import Database
from tests.processes import free_port_block, llmspell


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    db: Database
    if request.param == "sqlite":
        db = SqliteDatabase(tmp_path / "s.db")
    else:
        from llmspell_kernel.state.postgres import PostgresDatabase

        db = PostgresDatabase(request.getfixturevalue("pg_dsn"), rag_path=tmp_path / "rag.db")
    yield db
    db.close()


def test_store_api_and_atomicity_on_both_backends(database: Database):
    store = StateStore(database, "t1", max_value_bytes=100)
    store.save("agent:a", "x", {"n": 1, "s": "50% ü?"})
    store.save("agent:ab", "y", 2)
    assert store.list_keys("agent:a") == ["x"]
    assert store.load("agent:a", "x") == {"n": 1, "s": "50% ü?"}
    assert StateStore(database, "t2", 100).load("agent:a", "x") is None  # tenants apart
    with pytest.raises(ValueTooLarge, match="max_state_size_bytes"):
        store.save("global", "big", "x" * 200)
    assert database.schema_version == SCHEMA_VERSION  # type: ignore[attr-defined]
    # A failing import changes nothing; a transaction that raises leaves nothing behind.
    with pytest.raises(UsageError):
        store.replace_all([("global:ok", 1), ("global:bad", None)], merge=False)
    assert store.count() == 2
    with pytest.raises(RuntimeError), database.transaction():
        store.save("global", "inside", 1)
        with database.transaction():  # nested: joins the outer one
            store.save("global", "nested", 2)
        raise RuntimeError("abort")
    assert store.load("global", "inside") is None and store.load("global", "nested") is None
    assert store.replace_all([("global:a", 1), ("global:b", [1, 2])], merge=True) == 2
    assert store.items("global:") == [("global:a", 1), ("global:b", [1, 2])]
    assert store.clear("global:") == 2 and store.remove("agent:ab:y") and store.count() == 1


def test_usage_totals_and_event_order_on_both_backends(database: Database):
    usage = UsageLog(database, "t")
    usage.record(ProviderCall("c1", "local", "m", input_tokens=10, output_tokens=3, cost_pico_usd=5 * 10**12))  # fmt: skip
    usage.record(ProviderCall("c2", "local", "m", input_tokens=7, status="error"))
    totals = usage.totals()
    assert totals == {
        "calls": 2,
        "errors": 1,
        "input_tokens": 17,
        "cached_input_tokens": 0,
        "output_tokens": 3,
        "cost_usd": 5.0,
        "unpriced_calls": 0,
    }
    assert all(type(v) in (int, float) for v in totals.values())  # never Decimal
    assert [c["correlation_id"] for c in usage.calls(limit=1)] in (["c1"], ["c2"])
    events = EventStore(database, "t")
    events.add([Event(f"e.{i}", {"i": i}, "corr", sequence=i) for i in range(5)])
    rows = events.query()
    assert [r["data"]["i"] for r in rows] == [0, 1, 2, 3, 4]
    later = events.query(after=rows[2]["cursor"], event_type="e.*")
    assert [r["event_type"] for r in later] == ["e.3", "e.4"]


def test_compare_and_set_on_both_backends(database: Database):
    store = StateStore(database, "t", max_value_bytes=50)
    assert store.version("global", "c") == (None, None)
    assert store.compare_and_set("global", "c", None, {"n": 1}) == (True, 1)
    assert store.compare_and_set("global", "c", 0, {"n": 9}) == (False, 1)  # exists already
    assert store.compare_and_set("global", "c", 1, {"n": 2}) == (True, 2)
    assert store.compare_and_set("global", "c", 1, {"n": 3}) == (False, 2)  # stale
    store.save("global", "c", {"n": 3})  # last-writer-wins, and a new version
    store.save("global", "c", {"n": 3})  # an unchanged value is no change
    assert store.version("global", "c") == (3, {"n": 3})
    with pytest.raises(ValueTooLarge):
        store.compare_and_set("global", "c", 3, "x" * 100)
    assert store.compare_and_set("global", "c", 2, None) == (False, 3)
    assert store.compare_and_set("global", "c", 3, None) == (True, None)
    assert store.load("global", "c") is None
    assert store.compare_and_set("global", "c", None, None) == (True, None)


def test_compare_and_set_counts_without_losing_increments(pg_dsn: str):
    """Optimistic increments from two pools and six threads, no transactions: each retries on
    a stale version until it wins, and every increment lands."""
    from llmspell_kernel.state.postgres import PostgresDatabase

    dbs = [PostgresDatabase(pg_dsn), PostgresDatabase(pg_dsn)]
    conflicts = [0]

    def worker(db: Database) -> None:
        store = StateStore(db, "t", 0)
        for _ in range(20):
            while True:
                version, current = store.version("global", "n")
                ok, _ = store.compare_and_set("global", "n", version, (current or 0) + 1)
                if ok:
                    break
                conflicts[0] += 1

    threads = [threading.Thread(target=worker, args=(db,)) for db in dbs * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert StateStore(dbs[0], "t", 0).load("global", "n") == 120
    assert StateStore(dbs[1], "t", 0).version("global", "n") == (120, 120)
    for db in dbs:
        db.close()


@pytest.mark.usefixtures("store_backend")
def test_compare_and_set_from_lua():
    code = """
    local ok, v = State.compare_and_set("global", "c", nil, {n = 1})
    local stale, current = State.compare_and_set("global", "c", 5, {n = 2})
    local again, v2 = State.compare_and_set("global", "c", v, {n = 2})
    State.save("session:x", "k", 1)
    return {ok, v, stale, current, again, v2, State.load("global", "c").n,
            State.version("global", "c"), select(2, State.version("global", "c")).n,
            State.version("global", "none") == nil}
    """
    result = cli("--output", "json", "exec", code)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"] == [True, 1, False, 1, True, 2, 2, 2, 2, True]
    bad = cli("exec", 'State.compare_and_set("global", "c", "one", 1)')
    assert bad.exit_code == 1
    assert "State.compare_and_set: expected_version must be a whole number" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_postgres_schema_has_sqlite_columns(pg_dsn: str, tmp_path: Path):
    import psycopg

    from llmspell_kernel.state.postgres import TABLES, PostgresDatabase

    PostgresDatabase(pg_dsn).close()
    sqlite = SqliteDatabase(tmp_path / "s.db")
    with psycopg.connect(pg_dsn) as conn:
        for table in TABLES:
            ours = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema() ORDER BY ordinal_position", (table,),
            )]  # fmt: skip
            theirs = [r[1] for r in sqlite.query(f'PRAGMA table_info("{table}")')]
            assert [c for c in ours if c != "rowid"] == theirs, table
            assert ("rowid" in ours) == (table == "events")
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (
            SCHEMA_VERSION,
        )
    sqlite.close()


def test_transactions_of_two_processes_follow_each_other(pg_dsn: str):
    """Read-increment-write in transactions from two pools and eight threads: with SQLite's
    serialised writers (the advisory lock), no increment is lost."""
    from llmspell_kernel.state.postgres import PostgresDatabase

    first, second = PostgresDatabase(pg_dsn), PostgresDatabase(pg_dsn)
    StateStore(first, "t", 0).save("global", "n", 0)
    failures: list[BaseException] = []

    def worker(db: Database) -> None:
        store = StateStore(db, "t", 0)
        try:
            for _ in range(25):
                with db.transaction():
                    store.save("global", "n", store.load("global", "n") + 1)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(db,)) for db in (first, second) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures
    assert StateStore(second, "t", 0).load("global", "n") == 200
    first.close()
    second.close()


def test_dsn_passwords_are_masked():
    assert mask_dsn("postgresql://bob:s3cr%40t@db:5432/x?sslmode=require") == (
        "postgresql://bob:***@db:5432/x?sslmode=require"
    )
    assert mask_dsn("postgres://db/x?user=bob&password=hunter2&x=1") == (
        "postgres://db/x?user=bob&password=***&x=1"
    )
    assert mask_dsn("host=db password='a b\\' c' dbname=x") == "host=db password=*** dbname=x"
    assert mask_dsn("host=db password = hunter2 dbname=x") == "host=db password = *** dbname=x"
    assert mask_dsn("postgresql://bob@db/x") == "postgresql://bob@db/x"


def test_config_show_and_errors_never_print_the_password(monkeypatch: pytest.MonkeyPatch):
    port = free_port_block(1)  # nothing listens there
    monkeypatch.setenv("LLMSPELL_STATE_BACKEND", "postgres")
    monkeypatch.setenv("LLMSPELL_STATE_DSN", f"postgresql://bob:hunter2@127.0.0.1:{port}/x")
    shown = cli("config", "show", "state")
    assert shown.exit_code == 0 and "bob:***@" in shown.stdout and "hunter2" not in shown.stdout
    down = cli("state", "show")
    assert down.exit_code == 1, down.output
    assert down.stderr.startswith(
        f"error: cannot connect to PostgreSQL at postgresql://bob:***@127.0.0.1:{port}/x: "
    )
    assert "hunter2" not in down.output and "Traceback" not in down.output
    monkeypatch.setenv("LLMSPELL_STATE_DSN", "host=127.0.0.1 password=hunter2 nonsense")
    bad = cli("state", "show")
    assert bad.exit_code == 3, bad.output
    assert bad.stderr.startswith("error: state.dsn is not a valid PostgreSQL connection string")
    assert "hunter2" not in bad.output and len(bad.stderr.strip().splitlines()) <= 2
    monkeypatch.setenv("LLMSPELL_STATE_DSN", "")
    empty = cli("exec", 'return State.load("global", "k")')
    assert empty.exit_code == 1 and "needs state.dsn" in empty.stderr


def test_restart_during_store_writes_loses_nothing(postgres_server: PostgresServer, pg_dsn: str):
    from llmspell_kernel.state.postgres import PostgresDatabase

    db = PostgresDatabase(pg_dsn, reconnect_timeout_seconds=60)
    store = StateStore(db, "t", 0)
    written, restarted = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    done = [0]

    def writer() -> None:
        try:
            i = 0
            while not restarted.is_set() or i < done[0] + 20:  # some writes after the restart
                i += 1
                store.save("global", f"k{i}", {"i": i})
                if i == 100:
                    written.set()
                if not restarted.is_set():
                    done[0] = i
                if i > 1_000_000:
                    break
            done[0] = i
        except BaseException as exc:
            failures.append(exc)
            written.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(60)
    postgres_server.restart()
    restarted.set()
    thread.join(120)
    assert not failures
    last = done[0]
    assert last > 120
    assert store.keys("global:") == sorted(f"global:k{i}" for i in range(1, last + 1))
    assert all(store.get(f"global:k{i}") == {"i": i} for i in (1, 100, last - 1, last))
    db.close()


def test_a_server_that_stays_down_fails_after_the_bounded_retry(tmp_path: Path):
    """A lost server is retried for reconnect_timeout_seconds, then one clear error."""
    from llmspell_kernel.state.postgres import PostgresDatabase, StoreUnavailable

    server = PostgresServer()
    try:
        server.start()
        db = PostgresDatabase(server.url(), reconnect_timeout_seconds=1.5)
        StateStore(db, "t", 0).save("global", "k", 1)
        server.stop()
        with pytest.raises(StoreUnavailable, match=r"unreachable \(retried for 1.5 s\)"):
            StateStore(db, "t", 0).save("global", "k", 2)
        server.start()
        # the port changed with the restart: a new store on the new port finds the value
        db.close()
        again = PostgresDatabase(server.url())
        assert StateStore(again, "t", 0).load("global", "k") == 1
        again.close()
    finally:
        server.close()


def _env(home: Path, dsn: str) -> dict[str, str]:
    """A process of its own home (as on another host) on the shared DSN."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMSPELL_")}
    for name, value in isolated_environment(home).items():
        Path(value).mkdir(parents=True, exist_ok=True)
        env[name] = value
    os.chmod(env["XDG_RUNTIME_DIR"], 0o700)
    env.update(LLMSPELL_STATE_BACKEND="postgres", LLMSPELL_STATE_DSN=dsn)
    return env


def _llmspell(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return llmspell(*args, timeout=120, env=env)


@pytest.mark.slow
def test_pg_ctl_restart_while_a_script_writes_state(
    postgres_server: PostgresServer, pg_dsn: str, tmp_path: Path
):
    """`llmspell run` writing State in a loop across a server restart (the loop runs until the
    test, after the restart, sets global:stop): every value is there, the script finishes, and
    nothing but its own output is printed."""
    import psycopg

    script = tmp_path / "loop.lua"
    script.write_text(
        "local i = 0\n"
        'while not State.load("global", "stop") and i < 200000 do\n'
        "  i = i + 1\n"
        '  State.save("global", "k" .. i, {i = i})\n'
        "  if i == 50 then print(i) end\n"
        "end\n"
        "return i\n"
    )
    env = _env(tmp_path / "home", pg_dsn)
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmspell_cli", "run", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "50"
        postgres_server.restart()
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO state VALUES ('default', 'global:stop', 'true', 0)")
        out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert err == ""
    last = int(out.splitlines()[-1])
    assert 50 < last < 200000
    with psycopg.connect(pg_dsn) as conn:
        rows = dict(
            conn.execute("SELECT key, value FROM state WHERE key <> 'global:stop'").fetchall()
        )
    assert rows == {f"global:k{i}": f'{{"i":{i}}}' for i in range(1, last + 1)}


@pytest.mark.slow
def test_two_kernels_on_one_dsn_share_state_and_sessions(pg_dsn: str, tmp_path: Path):
    envs = {name: _env(tmp_path / name, pg_dsn) for name in ("a", "b")}
    ports = {}
    try:
        for name, env in envs.items():
            ports[name] = free_port_block()
            started = _llmspell(env, "kernel", "start", "--daemon", "--port", str(ports[name]), "--id", name)  # fmt: skip
            assert started.returncode == 0, started.stderr

        def run(name: str, code: str) -> str:
            done = _llmspell(envs[name], "exec", code, "--connect", f"localhost:{ports[name]}")
            assert done.returncode == 0, done.stderr
            return done.stdout.strip()

        run("a", 'State.save("global", "shared", {from = "a"}); return Session.create({name = "made-in-a"})')  # fmt: skip
        assert run("b", 'return State.load("global", "shared")["from"]') == "a"
        run("b", 'State.save("global", "reply", 42)')
        assert run("a", 'return State.load("global", "reply")') == "42"
        listed = {}
        for name in envs:
            shown = _llmspell(envs[name], "--output", "json", "session", "list", "--kernel", name)
            assert shown.returncode == 0, shown.stderr
            listed[name] = [s["name"] for s in json.loads(shown.stdout)["sessions"]]
        # each kernel's own session (named after it) and the script's, through either kernel
        assert sorted(listed["a"]) == ["kernel a", "kernel b", "made-in-a"]
        assert listed["b"] == listed["a"]
    finally:
        for env in envs.values():
            _llmspell(env, "kernel", "stop", "--all", "--force")


def test_backups_move_a_store_between_the_backends(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    seed = (
        'for i = 1, 20 do State.save("global", "k" .. i, i) end\n'
        'local s = Session.create({name = "moved"})\n'
        'Artifact.store(s, "t", "big", string.rep("0123456789", 30000))\n'
    )
    sqlite_config = write_config(tmp_path / "s.toml", "blob_inline_max_bytes = 1000\n")
    assert cli("--config", str(sqlite_config), "exec", seed).exit_code == 0
    archive = tmp_path / "from-sqlite.tar.gz"
    cli_json("--config", str(sqlite_config), "backup", "create", "-o", str(archive))

    monkeypatch.setenv("LLMSPELL_STATE_BACKEND", "postgres")
    monkeypatch.setenv("LLMSPELL_STATE_DSN", postgres_server.new_schema())
    restored = cli_json("backup", "restore", str(archive))
    assert restored["counts"]["state_keys"] == 20 and restored["counts"]["artifacts"] == 1
    check = 'return State.load("global", "k20") .. "/" .. #Artifact.get(Session.list()[1].id, {sequence = 1}).content'  # fmt: skip
    assert cli("exec", check).stdout == "20/300000\n"
    assert cli("exec", 'State.save("global", "k1", "changed")').exit_code == 0
    back = tmp_path / "from-postgres.tar.gz"
    made = cli_json("backup", "create", "-o", str(back))
    assert made["manifest"]["counts"]["state_keys"] == 20
    pre = cli_json("backup", "restore", str(archive))["pre_restore_backup"]
    assert cli("exec", 'return State.load("global", "k1")').stdout == "1\n"
    cli_json("backup", "restore", pre)
    assert cli("exec", 'return State.load("global", "k1")').stdout == "changed\n"

    monkeypatch.delenv("LLMSPELL_STATE_BACKEND")
    (tmp_path / "fresh").mkdir()
    fresh = write_config(tmp_path / "fresh" / "f.toml")
    cli_json("--config", str(fresh), "backup", "restore", str(back))
    assert cli("--config", str(fresh), "exec", check).stdout == "20/300000\n"


def test_errors_inside_a_transaction_are_ours(pg_dsn: str):
    """A statement error inside a transaction rolls it back and is raised as it is."""
    import psycopg

    from llmspell_kernel.state.postgres import PostgresDatabase

    db = PostgresDatabase(pg_dsn)
    store = StateStore(db, "t", 0)
    with pytest.raises(psycopg.errors.UndefinedTable), db.transaction():
        store.save("global", "a", 1)
        db.write("INSERT INTO no_such_table VALUES (?)", (1,))
    assert store.load("global", "a") is None
    store.save("global", "a", 2)  # the connection went back to the pool usable
    assert store.load("global", "a") == 2
    assert not isinstance(psycopg.errors.UndefinedTable(), LlmspellError)
    db.close()


def _everything(*config: str) -> dict:
    """What a user sees of a store: state, sessions with their artifacts, events."""
    state = cli_json(*config, "state", "show")
    sessions = cli_json(*config, "session", "list")["sessions"]
    shown = [cli_json(*config, "session", "show", s["id"]) for s in sessions]
    events = [(e["event_type"], e["data"]) for e in cli_json(*config, "events")]
    return {"state": state, "sessions": shown, "events": events}


def test_state_migrate_copies_a_sqlite_store_and_verifies_it(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LLMSPELL_STATE_BLOB_INLINE_MAX_BYTES", "1000")  # blobs in files too
    seed = (
        'for i = 1, 30 do State.save("global", "k" .. i, {i = i, f = i / 3}) end\n'
        'local s = Session.create({name = "moved", tags = {"a"}})\n'
        'Artifact.store(s, "t", "small", "tiny")\n'
        'Artifact.store(s, "t", "big", string.rep("0123456789", 30000))\n'
        'Artifact.store(s, "t", "bytes", string.rep(string.char(0, 255, 7), 1000))\n'
        'Event.publish("app.done", {ok = true})\n'
    )
    assert cli("exec", seed).exit_code == 0
    before = _everything()
    dsn = postgres_server.new_schema()
    moved = cli("state", "migrate", "--to", "postgres", "--dsn", dsn)
    assert moved.exit_code == 0, moved.output
    assert "counts and hashes verified" in moved.stdout
    report = cli_json("state", "migrate", "--to", "postgres", "--dsn", postgres_server.new_schema())  # fmt: skip
    assert report["verified"] and report["tables"]["state"]["rows"] == 30
    assert report["tables"]["artifacts"]["rows"] == 3 and report["tables"]["blobs"]["rows"] == 3
    assert report["tables"]["events"]["rows"] == len(before["events"]) > 0
    # no [state] path: RAG's tables go to rag.db beside state.db (verified the same way)
    assert report["rag"]["path"].endswith("rag.db")
    assert report["rag"]["tables"]["rag_chunks"]["rows"] == 0
    monkeypatch.setenv("LLMSPELL_STATE_BACKEND", "postgres")
    monkeypatch.setenv("LLMSPELL_STATE_DSN", dsn)
    assert _everything() == before
    check = 'return #Artifact.get(Session.list()[1].id, "big").content'
    assert cli("exec", check).stdout == "300000\n"
    # Refused: a PostgreSQL store as the source, a target that holds data, another backend.
    again = cli("state", "migrate", "--to", "postgres", "--dsn", dsn)
    assert again.exit_code == 2 and "migrate copies a SQLite store" in again.stderr
    monkeypatch.setenv("LLMSPELL_STATE_BACKEND", "sqlite")
    full = cli("state", "migrate", "--to", "postgres", "--dsn", dsn)
    assert full.exit_code == 2, full.output
    assert "already holds data (30 in state" in full.stderr and "Traceback" not in full.output
    wrong = cli("state", "migrate", "--to", "mysql", "--dsn", dsn)
    assert wrong.exit_code == 2 and "only postgres" in wrong.stderr


def test_a_copy_that_does_not_verify_is_rolled_back(pg_dsn: str, tmp_path: Path):
    """_verify compares what the transaction wrote with the source: a row changed on the way
    is found, and the transaction that wrote it leaves nothing."""
    from llmspell_kernel.state import migrate
    from llmspell_kernel.state.postgres import PostgresDatabase

    source_db = SqliteDatabase(tmp_path / "s.db")
    StateStore(source_db, "t", 0).save("global", "k", 1)
    source_db.close()
    source = sqlite3.connect(tmp_path / "s.db")
    target = PostgresDatabase(pg_dsn)
    with (
        pytest.raises(LlmspellError, match="verification failed for table state"),
        target.transaction(),
    ):
        copied = migrate._copy(source, target, "state", lambda row: (*row[:2], "2", *row[3:]))
        copied.add(("extra",))  # the source's digest no longer matches the rows written
        migrate._verify(source, target, "state", copied)
    assert target.query("SELECT count(*) FROM state") == [(0,)]
    source.close()
    target.close()


def test_a_busy_pool_fails_after_the_bounded_wait_with_the_reason(pg_dsn: str):
    from llmspell_kernel.state.postgres import PostgresDatabase, StoreUnavailable

    db = PostgresDatabase(pg_dsn, max_connections=1, reconnect_timeout_seconds=1)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.transaction():  # keeps the pool's one connection
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        with pytest.raises(StoreUnavailable, match="all 1 connections of .state. pool_max_size"):
            StateStore(db, "t", 0).save("global", "k", 1)
    finally:
        release.set()
        holder.join(30)
    StateStore(db, "t", 0).save("global", "k", 2)  # free again
    assert StateStore(db, "t", 0).load("global", "k") == 2
    db.close()


@pytest.mark.slow
def test_exec_without_state_imports_no_psycopg(tmp_path: Path):
    """The postgres backend costs `llmspell exec 'return 1'` nothing: no connection, and
    neither psycopg nor the pool is imported (the DSN points nowhere)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "LLMSPELL_STATE_BACKEND": "postgres"}
    env["LLMSPELL_STATE_DSN"] = f"postgresql://nobody:pw@127.0.0.1:{free_port_block(1)}/x"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "llmspell_cli", "exec", "return 1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.stdout == "1\n", proc.stderr[-500:]
    assert "psycopg" not in proc.stderr
