"""database-connector on a real PostgreSQL 15 started for these tests (initdb and pg_ctl as the
postgres user, in a temporary directory, on 127.0.0.1 and a free port; skipped with the reason
when psycopg or the server is missing or it does not start in time)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

psycopg = pytest.importorskip("psycopg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    initdb = shutil.which("initdb")
    if initdb is None or shutil.which("pg_ctl") is None or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl (or runuser) are not installed")
    if os.geteuid() != 0:
        pytest.skip("starting PostgreSQL as the postgres user needs root")
    # The postgres user cannot reach pytest's tmp_path (root's 0700 directory): a temporary
    # directory of its own, removed afterwards.
    home = tempfile.mkdtemp(prefix="llmspell-pg-test-")
    data = os.path.join(home, "data")
    shutil.chown(home, "postgres", "postgres")
    port = _free_port()
    try:
        made = _as_postgres(initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        if made.returncode != 0:
            pytest.skip(f"initdb failed: {made.stderr.strip()[:200]}")
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={home} -c fsync=off"
        started = _as_postgres(
            "pg_ctl", "-D", data, "-o", options, "-l", f"{home}/log", "-w", "-t", "60", "start"
        )
        if started.returncode != 0:
            pytest.skip(f"PostgreSQL did not start: {started.stdout.strip()[-200:]}")
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                "CREATE TABLE books (id serial PRIMARY KEY, title text NOT NULL, year int, price numeric(6,2))"
            )
            db.execute(
                "INSERT INTO books (title, year, price) VALUES (%s, %s, %s), (%s, %s, %s), (%s, %s, %s)",
                ("Dune", 1965, 9.5, "Neuromancer", 1984, 12, "Hyperion", 1989, 8.25),
            )
            db.execute("CREATE SCHEMA archive")
            db.execute("CREATE VIEW archive.old_books AS SELECT title FROM books WHERE year < 1980")
        yield url
    finally:
        _as_postgres("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def _db(url: str, params: str) -> str:
    return f'return Tool.invoke("database-connector", {{database = "{url}", {params}}})'


def test_parameterised_reads_tables_and_schema(allowed: Path, postgres: str):
    engine, _ = make_engine(allowed, allow_localhost=True)
    found = run(engine, _db(postgres, 'query = "SELECT title, year, price FROM books WHERE year > ? ORDER BY year", params = {1970}'))  # fmt: skip
    assert found["result"]["rows"] == [
        {"title": "Neuromancer", "year": 1984, "price": 12.0},
        {"title": "Hyperion", "year": 1989, "price": 8.25},
    ]
    named = run(engine, _db(postgres, 'query = "SELECT id::text AS id, year % 100 AS yy FROM books WHERE title = :t", params = {t = "Dune"}'))  # fmt: skip
    assert named["result"]["rows"] == [{"id": "1", "yy": 65}]
    limited = run(engine, _db(postgres, 'query = "SELECT * FROM books", limit = 2'))["result"]
    assert limited["count"] == 2 and limited["truncated"] is True
    tables = run(engine, _db(postgres, 'operation = "tables"'))["result"]
    assert tables == [
        {"name": "archive.old_books", "type": "view"},
        {"name": "books", "type": "table"},
    ]
    schema = run(engine, _db(postgres, 'operation = "schema", table = "books"'))["result"][
        "columns"
    ]
    assert schema[0] == {"name": "id", "type": "integer", "not_null": True, "primary_key": True}
    assert schema[1]["type"] == "text" and schema[1]["not_null"] is True


def test_read_only_unless_configured_and_literals_refused(allowed: Path, postgres: str):
    engine, _ = make_engine(allowed, allow_localhost=True)
    for sql in (
        "DELETE FROM books",
        "CREATE TABLE t (x int)",
        "SET TRANSACTION READ WRITE",  # accepted, but its transaction is rolled back
    ):
        outcome = engine.execute(_db(postgres, f'query = "{sql}"'), chunk_name="@main.lua")
        if sql.startswith("SET"):
            assert outcome.status == "ok"
        else:
            assert "read-only (tools.database_connector.allow_write = true" in outcome.evalue
    assert "string literal" in failure(
        engine, _db(postgres, "query = \"SELECT * FROM books WHERE title = 'Dune'\"")
    )
    assert "dollar-quoted" in failure(engine, _db(postgres, 'query = "SELECT $$Dune$$"'))
    assert "one statement per call" in failure(
        engine, _db(postgres, 'query = "SELECT 1; DELETE FROM books"')
    )
    count = run(engine, _db(postgres, 'query = "SELECT count(*) AS n FROM books"'))
    assert count["result"]["rows"] == [{"n": 3}]
    writer, _ = make_engine(allowed, allow_localhost=True, database_allow_write=True)
    added = run(writer, _db(postgres, 'query = "INSERT INTO books (title, year) VALUES (?, ?)", params = {"Solaris", 1961}'))  # fmt: skip
    assert added["result"]["rows_affected"] == 1
    titles = run(engine, _db(postgres, 'query = "SELECT title FROM books WHERE year < ? ORDER BY year", params = {1970}'))  # fmt: skip
    assert [r["title"] for r in titles["result"]["rows"]] == ["Solaris", "Dune"]


def test_net_gate_timeout_and_bad_connections(allowed: Path, postgres: str):
    engine, _ = make_engine(allowed)
    assert "tools.http_request.allow_localhost = true" in failure(
        engine, _db(postgres, 'query = "SELECT 1"')
    )
    sneaky = "postgresql://postgres@db.example.org/postgres?host=127.0.0.1"
    assert "host '127.0.0.1' is this machine" in failure(engine, _db(sneaky, 'query = "SELECT 1"'))
    assert "must name a host" in failure(
        engine, _db("postgresql:///postgres", 'query = "SELECT 1"')
    )
    slow, _ = make_engine(allowed, allow_localhost=True, database_timeout_seconds=0.5)
    stopped = run(slow, _db(postgres, 'query = "SELECT pg_sleep(?)", params = {20}'))
    assert stopped["success"] is False and "ran past 0.5 s" in stopped["error"]
    closed = postgres.rsplit(":", 1)[0] + f":{_free_port()}/postgres"
    local, _ = make_engine(allowed, allow_localhost=True)
    refused = run(local, _db(closed, 'query = "SELECT 1"'))
    assert refused["success"] is False and refused["error"].startswith(
        "cannot connect to 127.0.0.1:"
    )
