"""State store, sessions, artifacts and backups (issue: state, sessions, keys, backups).

Goals: State.save/load from Lua <= 1.5x raw sqlite3 on the same JSON (issue 19: over values of
10 B, 1 KB and 100 KB), median load <= 0.2 ms;
artifact store throughput >= 50% of a plain file write; `backup create` time for a store of
100k keys and 200 MB of artifacts. `--keys` and `--artifact-mb` shrink the backup store for a
quick run (e.g. `--keys 10000 --artifact-mb 20`).

`--postgres` (issue 18): State.save/load through the postgres backend against raw psycopg running
the same statements on the same server (autocommit, loopback), one writer and 16 writers, with
SQLite in the same run; goal <= 2x raw psycopg. The server is a throwaway PostgreSQL 15
(tests/pg.py) unless `--dsn` names one (its tables go to a fresh schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from _common import median, percentile, print_table

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.backup import create_backup
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings

VALUE = {"user": "ada", "count": 42, "tags": ["a", "b", "c"], "nested": {"ok": True, "x": 1.5}}
BATCH = 100


def _settings(root: Path, **overrides: object) -> DataSettings:
    return DataSettings(
        path=str(root / "state.db"), max_sessions=0, max_artifacts_per_session=0, **overrides
    )


def _engine(root: Path) -> LuaEngine:
    engine = LuaEngine(EngineSettings(data=_settings(root), max_memory_bytes=0))
    engine.execute('State.save("global", "warm", 1)')
    return engine


def _lua_batches(engine: LuaEngine, body: str, batches: int) -> list[float]:
    """Per-operation seconds, one sample per batch of BATCH calls made inside Lua."""
    samples = []
    fn_code = (
        "local v = {user='ada', count=42, tags={'a','b','c'}, nested={ok=true, x=1.5}}\n"
        f"for i = 1, {BATCH} do {body} end"
    )
    for _ in range(batches):
        started = time.perf_counter()
        outcome = engine.execute(fn_code)
        samples.append((time.perf_counter() - started) / BATCH)
        assert outcome.status == "ok", outcome.evalue
    return samples


def _raw_batches(root: Path, batches: int) -> tuple[list[float], list[float], list[float]]:
    """Per-call seconds of raw saves of the same value, loads, and saves of changing values."""
    conn = sqlite3.connect(root / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE state (tenant TEXT, key TEXT, value TEXT, PRIMARY KEY (tenant, key))"
    )
    put = "INSERT INTO state VALUES (?, ?, ?) ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value"
    saves, loads, changing = [], [], []
    serial = 0
    for _ in range(batches):
        started = time.perf_counter()
        for i in range(BATCH):
            conn.execute(put, ("default", f"global:k{i}", json.dumps(VALUE, sort_keys=True)))
        saves.append((time.perf_counter() - started) / BATCH)
        started = time.perf_counter()
        for i in range(BATCH):
            serial += 1
            value = dict(VALUE, count=serial)
            conn.execute(put, ("default", f"global:c{i}", json.dumps(value, sort_keys=True)))
        changing.append((time.perf_counter() - started) / BATCH)
        started = time.perf_counter()
        for i in range(BATCH):
            json.loads(
                conn.execute(
                    "SELECT value FROM state WHERE tenant = ? AND key = ?",
                    ("default", f"global:k{i}"),
                ).fetchone()[0]
            )
        loads.append((time.perf_counter() - started) / BATCH)
    conn.close()
    return saves, loads, changing


def _sized_value(size: int, shape: str) -> object:
    """A value whose JSON is about `size` bytes: a string, a list of small records (many
    items: the conversion's worst case) or one record holding a long text (few items)."""
    if shape == "string":
        return "x" * (size - 2)
    if shape == "text":
        return {"title": "notes", "body": "lorem ipsum dolor sit amet " * (size // 27)}
    items: list[object] = []
    while len(json.dumps(items)) < size:
        i = len(items)
        items.append({"id": i, "name": f"item {i}", "tags": ["a", "b"], "ok": True, "x": i * 1.5})
    return items


# Goal 3's sizes, each as a string, as one record holding a text and as a list of records.
SIZED = (
    ("10 B string", 10, "string"),
    ("1 KB string", 1000, "string"),
    ("1 KB text", 1000, "text"),
    ("1 KB records", 1000, "records"),
    ("100 KB string", 100_000, "string"),
    ("100 KB text", 100_000, "text"),
    ("100 KB records", 100_000, "records"),
)


def _sized_rows(engine: LuaEngine, root: Path, rounds: int) -> list[list[str]]:
    """State.save (a new value each call) and State.load of each SIZED value against raw
    sqlite3 with the same schema and durability, interleaved round by round. CPU time of this
    (single-threaded) process, so that other processes' load moves neither side; the ratio is
    the median of the rounds' ratios."""
    conn = sqlite3.connect(root / "raw-sized.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE state (tenant TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
        "updated_at REAL NOT NULL, PRIMARY KEY (tenant, key)) WITHOUT ROWID"
    )
    put = (
        "INSERT INTO state VALUES (?, ?, ?, ?) ON CONFLICT (tenant, key) DO UPDATE SET "
        "value = excluded.value, updated_at = excluded.updated_at WHERE state.value <> excluded.value"
    )
    get = "SELECT value FROM state WHERE tenant = ? AND key = ?"
    rows = []
    for label, size, shape in SIZED:
        value = _sized_value(size, shape)
        calls = max(5, min(200, 20_000 // size))
        engine.env.V = engine.to_lua(value)
        # A new value each call on both sides: the string's last character or the first field.
        change_lua = {
            "string": "local x = V:sub(1, -2) .. (i % 10)",
            "text": "V.title = 'n' .. i local x = V",
            "records": "V[1].id = i local x = V",
        }[shape]
        save_code = f"for i = 1, {calls} do {change_lua} State.save('global', 'sized', x) end"
        load_code = f"for i = 1, {calls} do local x = State.load('global', 'sized') end"
        ours_save, ours_load, raw_save, raw_load = [], [], [], []
        for _ in range(rounds):
            started = time.process_time()
            outcome = engine.execute(save_code)
            ours_save.append((time.process_time() - started) / calls)
            assert outcome.status == "ok", outcome.evalue
            started = time.process_time()
            outcome = engine.execute(load_code)
            ours_load.append((time.process_time() - started) / calls)
            assert outcome.status == "ok", outcome.evalue
            started = time.process_time()
            for i in range(calls):
                if isinstance(value, str):
                    changed: object = value[:-1] + str(i % 10)
                elif isinstance(value, dict):
                    changed = dict(value, title=f"n{i}")
                else:
                    assert isinstance(value, list)
                    changed = [dict(value[0], id=i), *value[1:]]
                text = json.dumps(
                    changed, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                )
                conn.execute(put, ("default", "global:sized", text, time.time()))
            raw_save.append((time.process_time() - started) / calls)
            started = time.process_time()
            for _ in range(calls):
                json.loads(conn.execute(get, ("default", "global:sized")).fetchone()[0])
            raw_load.append((time.process_time() - started) / calls)
        for op, ours, raw in (("save", ours_save, raw_save), ("load", ours_load, raw_load)):
            ratio = median([a / b for a, b in zip(ours, raw, strict=True)])
            rows.append(
                [
                    f"State.{op}, {label}",
                    *_us(ours),
                    *_us(raw),
                    f"{ratio:.2f}x",
                    f"<= 1.5x {'ok' if ratio <= 1.5 else 'MISSED'}",
                ]
            )
    conn.close()
    engine.env.V = None
    return rows


def _us(samples: list[float]) -> tuple[str, str]:
    return f"{median(samples) * 1e6:.1f}", f"{percentile(samples, 0.95) * 1e6:.1f}"


def _artifact_rate(
    engine: LuaEngine, root: Path, size: int, count: int, binary: bool, rep: int = 0
) -> tuple[float, float]:
    """(MB/s through Artifact.store, MB/s of plain file writes) for `count` distinct blobs."""
    payloads = [
        os.urandom(size)
        if binary
        else (f"{rep}:{i:08d}" + "lorem ipsum dolor sit amet " * (size // 27 + 1))[:size].encode()
        for i in range(count)
    ]
    engine.env.BENCH_ITEMS = engine.runtime.table_from(payloads)
    code = (
        "local s = Session.create() for i = 1, #BENCH_ITEMS do "
        "Artifact.store(s, 'bench', 'blob' .. i, BENCH_ITEMS[i]) end"
    )
    started = time.perf_counter()
    outcome = engine.execute(code)
    ours = time.perf_counter() - started
    assert outcome.status == "ok", outcome.evalue
    engine.env.BENCH_ITEMS = None
    plain_dir = root / "plain"
    plain_dir.mkdir(exist_ok=True)
    started = time.perf_counter()
    for i, data in enumerate(payloads):
        with open(plain_dir / f"{size}-{binary}-{rep}-{i}", "wb") as handle:
            handle.write(data)
    plain = time.perf_counter() - started
    total_mb = size * count / 1e6
    return total_mb / ours, total_mb / plain


def _raw_transaction_rate(root: Path, size: int, count: int, rep: int) -> float:
    """MB/s of the floor under Artifact.store: raw sqlite3 (same schema, WAL, synchronous
    NORMAL) committing one transaction per blob with the rows an artifact needs."""
    from llmspell_kernel.state.database import MIGRATIONS

    path = root / f"raw-artifacts-{size}-{rep}.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(MIGRATIONS[0])
    conn.execute(
        "INSERT INTO sessions VALUES ('', 's', 's', '', '[]', 'active', 0, 0, NULL, NULL, '{}', 1)"
    )
    payloads = [
        (f"raw{rep}:{i:08d}" + "lorem ipsum dolor sit amet " * (size // 27 + 1))[:size].encode()
        for i in range(count)
    ]
    started = time.perf_counter()
    for i, data in enumerate(payloads):
        digest = hashlib.sha256(data).hexdigest()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO blobs VALUES (?, ?, ?, 0, ?)", (digest, size, size, data))
        conn.execute(
            "INSERT INTO artifacts VALUES ('', 's', ?, ?, 1, ?, NULL, 'bench', 'text/plain', '', "
            "'[]', '{}', ?, 0, 'lua')",
            (i + 1, f"blob{i}", digest, size),
        )
        conn.execute("UPDATE sessions SET next_sequence = ? WHERE tenant = '' AND id = 's'", (i,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return size * count / 1e6 / elapsed


def _backup_time(root: Path, keys: int, artifact_mb: int) -> tuple[float, int]:
    hub = DataHub(_settings(root / "backup-store"))
    db = hub.database()
    with db.transaction():
        store = hub.state()
        for i in range(keys):
            store.save("global", f"key{i}", {"i": i, "payload": "x" * 64})
    sessions = hub.sessions()
    session = sessions.create({"name": "bench"})
    artifacts = hub.artifacts()
    for i in range(max(1, artifact_mb // 10)):
        artifacts.store(
            session, "bench", f"blob{i}", os.urandom(min(artifact_mb, 10) * 1024 * 1024)
        )
    started = time.perf_counter()
    made = create_backup(hub, root / "bench-backup.tar.gz")
    elapsed = time.perf_counter() - started
    hub.close()
    return elapsed, made["size"]


PG_WRITERS = 16


def _pg_schema(dsn: str) -> tuple[str, str]:
    """(a DSN whose tables live in a fresh schema, that schema's name)."""
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in dsn else "?"
    if dsn.lower().startswith(("postgresql://", "postgres://")):
        return f"{dsn}{joiner}options=-csearch_path%3D{schema}", schema
    return f"{dsn} options='-csearch_path={schema}'", schema


def _threads(count: int, work: Callable[[int], None]) -> float:
    """Wall seconds for `count` threads each running work(thread index)."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def _postgres_rows(root: Path, dsn: str, rounds: int, calls: int) -> list[list[str]]:
    """Our store on PostgreSQL (from Lua, and StateStore from 16 threads) against raw psycopg
    doing the same statements, and SQLite from Lua, rounds interleaved (wall time: the server
    is another process)."""
    import psycopg

    from llmspell_kernel.state.postgres import translate
    from llmspell_kernel.state.store import _GET, _PUT, encode_value

    ours_dsn, ours_schema = _pg_schema(dsn)
    raw_dsn, raw_schema = _pg_schema(dsn)
    data = DataSettings(
        backend="postgres", dsn=ours_dsn, path=str(root / "pg-rag.db"), pool_max_size=PG_WRITERS
    )  # type: ignore[arg-type]
    engine = LuaEngine(EngineSettings(data=data, max_memory_bytes=0))
    sqlite_engine = _engine(root / "pg-sqlite")
    for e in (engine, sqlite_engine):
        assert e.execute('State.save("global", "warm", 1)').status == "ok"
    hub = engine.data
    raw = psycopg.connect(raw_dsn, autocommit=True)
    from llmspell_kernel.state.postgres import PostgresDatabase

    PostgresDatabase(raw_dsn).close()  # the same schema on the raw side
    put, get = translate(_PUT), translate(_GET)
    save_lua = (
        "local v = {user='ada', count=0, tags={'a','b','c'}, nested={ok=true, x=1.5}}\n"
        f"for i = 1, {calls} do SERIAL = (SERIAL or 0) + 1 v.count = SERIAL "
        "State.save('global', 'k' .. i, v) end"
    )
    load_lua = f"for i = 1, {calls} do local x = State.load('global', 'k' .. i) end"
    serial = [0]

    def raw_save(conn: psycopg.Connection, key: str) -> None:
        serial[0] += 1
        text = encode_value(dict(VALUE, count=serial[0]))
        conn.execute(put, ("default", key, text, time.time()))

    def raw_load(conn: psycopg.Connection, key: str) -> None:
        row = conn.execute(get, ("default", key)).fetchone()
        assert row is not None
        json.loads(row[0])

    samples: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[[], object], count: int) -> None:
        started = time.perf_counter()
        fn()
        samples.setdefault(name, []).append((time.perf_counter() - started) / count)

    def lua(e: LuaEngine, code: str) -> None:
        outcome = e.execute(code)
        assert outcome.status == "ok", outcome.evalue

    raw_many = [psycopg.connect(raw_dsn, autocommit=True) for _ in range(PG_WRITERS)]
    per_writer = max(10, calls // 4)
    for _ in range(rounds):
        timed("save ours", lambda: lua(engine, save_lua), calls)
        timed("save raw", lambda: [raw_save(raw, f"global:k{i}") for i in range(calls)], calls)
        timed("save sqlite", lambda: lua(sqlite_engine, save_lua), calls)
        timed("load ours", lambda: lua(engine, load_lua), calls)
        timed("load raw", lambda: [raw_load(raw, f"global:k{i}") for i in range(calls)], calls)
        timed("load sqlite", lambda: lua(sqlite_engine, load_lua), calls)

        def ours_writer(n: int) -> None:
            store = hub.state()
            for i in range(per_writer):
                store.save("global", f"w{n}:{i}", dict(VALUE, count=i))

        def raw_writer(n: int) -> None:
            for i in range(per_writer):
                text = encode_value(dict(VALUE, count=i))
                raw_many[n].execute(put, ("default", f"global:w{n}:{i}", text, time.time()))

        def ours_reader(n: int) -> None:
            store = hub.state()
            for i in range(per_writer):
                store.load("global", f"w{n}:{i}")

        def raw_reader(n: int) -> None:
            for i in range(per_writer):
                raw_load(raw_many[n], f"global:w{n}:{i}")

        total = PG_WRITERS * per_writer
        for name, work in (
            ("save16 ours", ours_writer),
            ("save16 raw", raw_writer),
            ("load16 ours", ours_reader),
            ("load16 raw", raw_reader),
        ):
            samples.setdefault(name, []).append(_threads(PG_WRITERS, work) / total)
    for conn in (raw, *raw_many):
        conn.close()
    hub.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in (ours_schema, raw_schema):
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    rows = []
    for op, label in (
        ("save", "State.save from Lua, 1 writer"),
        ("load", "State.load from Lua, 1 writer"),
        ("save16", f"StateStore.save, {PG_WRITERS} writer threads"),
        ("load16", f"StateStore.load, {PG_WRITERS} reader threads"),
    ):
        ours, raw_s = samples[f"{op} ours"], samples[f"{op} raw"]
        ratio = median([a / b for a, b in zip(ours, raw_s, strict=True)])
        sqlite_s = samples.get(f"{op} sqlite")
        many = op.endswith("16")
        rows.append(
            [
                label,
                f"{1 / median(ours):.0f}/s" if many else f"{median(ours) * 1e6:.0f}",
                f"{1 / median(raw_s):.0f}/s" if many else f"{median(raw_s) * 1e6:.0f}",
                f"{median(sqlite_s) * 1e6:.0f}" if sqlite_s else "-",
                f"{ratio:.2f}x",
                f"<= 2x raw {'ok' if ratio <= 2 else 'MISSED'}",
            ]
        )
    return rows


def _event_latency(root: Path, dsn: str, count: int) -> list[float]:
    """Seconds from Event.publish in one hub to its receipt by a subscription of another hub
    on the same database (each with its own connections: the path between two kernels)."""
    from llmspell_kernel.events.hub import EventHub

    events_dsn, schema = _pg_schema(dsn)
    hubs = [
        EventHub(
            None,
            DataHub(DataSettings(backend="postgres", dsn=events_dsn, path=str(root / "ev.db"))),  # type: ignore[arg-type]
            lambda: "bench",
        )
        for _ in range(2)
    ]
    publisher, receiver = hubs
    subscription = receiver.subscribe("bench.*")
    samples = []
    for i in range(count):
        started = time.perf_counter()
        publisher.publish("bench.ping", {"i": i})
        got = receiver.bus.receive(subscription.id, 5)
        samples.append(time.perf_counter() - started)
        assert got is not None and got.data == {"i": i}
    for hub in hubs:
        hub.close()
        hub.data.close()
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return samples


def _postgres_table(root: Path, dsn: str | None, rounds: int, calls: int) -> None:
    server = None
    if dsn is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pg import PostgresServer, missing

        reason = missing()
        if reason:
            raise SystemExit(f"--postgres: {reason}")
        server = PostgresServer()
        server.start()
        dsn = server.url()
    try:
        rows = _postgres_rows(root, dsn, rounds, calls)
        latency = _event_latency(root, dsn, 200)
    finally:
        if server is not None:
            server.close()
    print_table(
        f"State on PostgreSQL vs raw psycopg, same statements, loopback (median of {rounds} "
        f"rounds of {calls} calls; us per call, or calls/s for {PG_WRITERS} threads)",
        ["operation", "ours", "raw psycopg", "SQLite (ours)", "ratio", "goal"],
        rows,
    )
    middle = median(latency) * 1e3
    print_table(
        "Event.publish in one hub to Event.receive in another on the same database "
        "(LISTEN/NOTIFY, 200 events one at a time, ms)",
        ["median ms", "p95 ms", "max ms", "goal"],
        [
            [
                f"{middle:.2f}",
                f"{percentile(latency, 0.95) * 1e3:.2f}",
                f"{max(latency) * 1e3:.2f}",
                f"< 10 ms median {'ok' if middle < 10 else 'MISSED'}",
            ]
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=50, help="batches of 100 State calls")
    parser.add_argument("--keys", type=int, default=100_000, help="state keys in the backup store")
    parser.add_argument(
        "--artifact-mb", type=int, default=200, help="MB of artifacts in the backup store"
    )
    parser.add_argument("--sized-rounds", type=int, default=15, help="rounds of the sized table")
    parser.add_argument(
        "--state-only", action="store_true", help="only the State tables (no artifacts, backups)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="only the PostgreSQL table (issue 18)"
    )
    parser.add_argument("--dsn", help="--postgres on this server instead of a throwaway one")
    parser.add_argument("--pg-rounds", type=int, default=7, help="rounds of the PostgreSQL table")
    parser.add_argument("--pg-calls", type=int, default=200, help="calls per round and operation")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="llmspell-bench-state-"))
    if args.postgres:
        _postgres_table(root, args.dsn, args.pg_rounds, args.pg_calls)
        return
    engine = _engine(root)
    lua_save = _lua_batches(engine, 'State.save("global", "k" .. i, v)', args.batches)
    lua_load = _lua_batches(engine, 'local x = State.load("global", "k" .. i)', args.batches)
    # Rewriting an unchanged row dirties no page in SQLite (nor in our store), so the rows
    # above never reach the disk after the first batch; these save a new value every call.
    lua_changing = _lua_batches(
        engine,
        'SERIAL = (SERIAL or 0) + 1 v.count = SERIAL State.save("global", "c" .. i, v)',
        args.batches,
    )
    raw_save, raw_load, raw_changing = _raw_batches(root, args.batches)
    rows = []
    for name, ours, raw in (
        ("State.save (Lua)", lua_save, raw_save),
        ("State.load (Lua)", lua_load, raw_load),
        ("State.save, new value each call", lua_changing, raw_changing),
    ):
        ratio = median(ours) / median(raw)
        goal = f"<= 1.5x raw {'ok' if ratio <= 1.5 else 'MISSED'}"
        if name.startswith("State.load"):
            goal += f"; <= 200 us {'ok' if median(ours) <= 200e-6 else 'MISSED'}"
        rows.append([name, *_us(ours), *_us(raw), f"{ratio:.2f}x", goal])
    print_table(
        f"State from Lua vs raw sqlite3 (per call, median of {args.batches} batches of {BATCH}, us)",
        ["operation", "median us", "p95 us", "raw median us", "raw p95 us", "ratio", "goal"],
        rows,
    )
    print_table(
        f"State by value size vs raw sqlite3 (CPU per call, median of {args.sized_rounds} rounds, us)",
        ["operation", "CPU us", "p95", "raw CPU us", "raw p95", "ratio", "goal"],
        _sized_rows(engine, root, args.sized_rounds),
    )
    if args.state_only:
        return
    count = 500
    started = time.perf_counter()
    engine.execute(f"for i = 1, {count} do Session.create({{name = 's' .. i}}) end")
    per_second = count / (time.perf_counter() - started)
    artifact_rows = []
    for label, size, n, binary in (
        ("1 KB text", 1024, 2000, False),
        ("10 MB text", 10 * 1024 * 1024, 5, False),
        ("10 MB random bytes", 10 * 1024 * 1024, 5, True),
    ):
        # Creating small files takes 25..60 us each on the same machine from one run to the
        # next, so each side is the median of three rounds (fresh content every round).
        rates = [_artifact_rate(engine, root, size, n, binary, rep) for rep in range(3)]
        ours = median([r[0] for r in rates])
        plain = median([r[1] for r in rates])
        share = ours / plain
        floor = "n/a"
        if size <= 64 * 1024:  # inline blobs: the transaction is the cost
            floor = f"{median([_raw_transaction_rate(root, size, n, rep) for rep in range(3)]):.1f}"
        artifact_rows.append(
            [
                label,
                f"{ours:.1f}",
                f"{plain:.1f}",
                floor,
                f"{share:.0%}",
                f">= 50% {'ok' if share >= 0.5 else 'MISSED'}",
            ]
        )
    print_table(
        "Artifact.store from Lua vs plain file writes (MB/s, median of 3 rounds)",
        [
            "blobs",
            "Artifact.store MB/s",
            "file write MB/s",
            "raw sqlite3, one transaction each, MB/s",
            "share of file write",
            "goal",
        ],
        artifact_rows,
    )
    elapsed, size = _backup_time(root, args.keys, args.artifact_mb)
    print_table(
        "Sessions and backups",
        ["measure", "value"],
        [
            ["Session.create from Lua", f"{per_second:.0f} sessions/s"],
            [
                f"backup create, {args.keys} keys + {args.artifact_mb} MB artifacts",
                f"{elapsed:.2f} s ({size / 1e6:.0f} MB archive)",
            ],
        ],
    )


if __name__ == "__main__":
    main()
