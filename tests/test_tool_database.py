"""database-connector on real SQLite files in tmp_path: read-only by default, writes when
configured, parameterised queries only, ATTACH refused, rows bounded, a runaway query stopped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]


@pytest.fixture
def books(allowed: Path) -> Path:
    path = allowed / "books.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER)")
        db.executemany(
            "INSERT INTO books (title, year) VALUES (?, ?)",
            [("Dune", 1965), ("Neuromancer", 1984), ("Hyperion", 1989)],
        )
    db.close()
    return path


def _db(params: str) -> str:
    return f'return Tool.invoke("database-connector", {{{params}}})'


def test_parameterised_queries_tables_and_schema(allowed: Path, books: Path):
    engine, _ = make_engine(allowed)
    found = run(
        engine,
        _db(
            f'database="{books}", query="SELECT title, year FROM books WHERE year > ? ORDER BY year", params={{1970}}'
        ),
    )
    assert found["result"]["rows"] == [
        {"title": "Neuromancer", "year": 1984},
        {"title": "Hyperion", "year": 1989},
    ]
    assert found["text"].splitlines() == ["title\tyear", "Neuromancer\t1984", "Hyperion\t1989"]
    named = run(
        engine,
        _db(
            f'database="{books}", query="SELECT id FROM books WHERE title = :t", params={{t="Dune"}}'
        ),
    )
    assert named["result"]["rows"] == [{"id": 1}]
    limited = run(engine, _db(f'database="{books}", query="SELECT * FROM books", limit=2'))[
        "result"
    ]
    assert limited["count"] == 2 and limited["truncated"] is True
    tables = run(engine, _db(f'operation="tables", database="{books}"'))
    assert tables["result"] == [{"name": "books", "type": "table"}]
    schema = run(engine, _db(f'operation="schema", database="{books}", table="books"'))["result"]
    assert schema["columns"][1] == {
        "name": "title",
        "type": "TEXT",
        "not_null": True,
        "primary_key": False,
    }
    bad = run(engine, _db(f'database="{books}", query="SELECT * FROM nope"'))
    assert bad["success"] is False and bad["error"] == "no such table: nope"


def test_read_only_by_default_and_literals_and_attach_refused(
    allowed: Path, books: Path, tmp_path: Path
):
    engine, _ = make_engine(allowed)
    for sql in ("DELETE FROM books", "INSERT INTO books (title) VALUES (?)", "DROP TABLE books",
                "PRAGMA user_version = 3"):  # fmt: skip
        message = failure(engine, _db(f'database="{books}", query="{sql}", params={{}}'))
        assert (
            "is refused: the database is read-only (tools.database_connector.allow_write" in message
        ), sql
    literal = failure(
        engine, _db(f'''database="{books}", query="SELECT * FROM books WHERE title = 'x' OR 1=1"''')
    )
    assert "holds a string literal; put values in 'params'" in literal
    quoted = run(
        engine,
        _db(f'database="{books}", query=\'SELECT "title" FROM books -- it\\\'s fine\', limit=1'),
    )
    assert quoted["result"]["rows"] == [{"title": "Dune"}]
    assert "You can only execute one statement at a time" in failure(
        engine, _db(f'database="{books}", query="SELECT 1; SELECT 2"')
    )
    other = tmp_path / "other.db"
    attach = failure(
        engine, _db(f'database="{books}", query="ATTACH DATABASE ? AS o", params={{"{other}"}}')
    )
    assert "ATTACH is never allowed" in attach and not other.exists()
    with sqlite3.connect(books) as db:
        assert db.execute("SELECT count(*) FROM books").fetchone() == (3,)
    db.close()
    outside = failure(engine, _db(f'database="{tmp_path}/x.db", operation="tables"'))
    assert "is outside tools.file_operations.allowed_paths" in outside
    missing = run(engine, _db(f'database="{allowed}/new.db", operation="tables"'))
    assert (
        missing["success"] is False
        and "needs tools.database_connector.allow_write = true" in missing["error"]
    )
    assert not (allowed / "new.db").exists()


def test_writes_when_configured_and_runaway_queries_stop(allowed: Path, books: Path):
    engine, _ = make_engine(allowed, database_allow_write=True, database_timeout_seconds=0.2)
    added = run(
        engine,
        _db(
            f'database="{books}", operation="execute", query="INSERT INTO books (title, year) VALUES (?, ?)", params={{"Solaris", 1961}}'
        ),
    )
    assert added["result"] == {"rows_affected": 1, "last_row_id": 4}
    created = run(engine, _db(f'database="{allowed}/new.db", query="CREATE TABLE t (x)"'))
    assert created["success"] and (allowed / "new.db").is_file()
    with sqlite3.connect(books) as db:
        assert db.execute("SELECT title FROM books WHERE id = 4").fetchone() == ("Solaris",)
    db.close()
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    stopped = run(engine, _db(f'database=":memory:", query="{endless}"'))
    assert (
        stopped["success"] is False
        and "ran past 0.2 s (tools.database_connector.timeout_seconds)" in stopped["error"]
    )
