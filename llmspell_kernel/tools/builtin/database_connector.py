"""database-connector: SQLite (the standard library's sqlite3) on a file inside the allowed paths;
PostgreSQL for a postgresql:// connection string (database_postgres.py, when psycopg is installed).

Read-only unless tools.database_connector.allow_write: the file is opened with mode=ro and an
authorizer refuses every statement that is not a read, so a script learns why. ATTACH and DETACH
are refused always (another file would bypass the FILE gate). Queries are parameterised: values
go in `params` (`?` or `:name` placeholders) and a query holding a string literal is refused, so a
value a script splices into the SQL text cannot change the statement. One statement per call;
rows bounded by `limit` (up to max_rows); a statement running past timeout_seconds is stopped."""

from __future__ import annotations

import sqlite3
import time

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = ("query", "execute", "tables", "schema")
_READS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
_READ_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "foreign_key_list"}
_ALLOW_KEY = "tools.database_connector.allow_write"


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", OPERATIONS, "query")
    raw = params.text("database", required=True, aliases=("path", "connection_string"))
    if raw.startswith(("postgresql://", "postgres://")):
        from llmspell_kernel.tools.builtin import database_postgres

        return database_postgres.run(params, context, operation, raw)
    settings = context.settings
    writable = bool(settings.database_allow_write)
    connection = _connect(raw, context, writable)
    try:
        if operation == "tables":
            rows = _all(
                connection,
                "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name",
                (),
            )
            names = [row[0] for row in rows]
            return ToolResponse(
                result=[{"name": n, "type": t} for n, t in rows],
                text="\n".join(names),
                operation="tables",
            )
        if operation == "schema":
            table = params.text("table", required=True)
            columns = _all(connection, "SELECT * FROM pragma_table_info(?)", (table,))
            if not columns:
                raise ToolFailure(f"no table '{table}' in '{raw}'")
            result = [
                {"name": c[1], "type": c[2], "not_null": bool(c[3]), "primary_key": bool(c[5])}
                for c in columns
            ]
            return ToolResponse(
                result={"table": table, "columns": result},
                text="\n".join(f"{c['name']} {c['type']}" for c in result),
                operation="schema",
            )
        sql = params.text("query", required=True, aliases=("sql", "input"))
        _refuse_literals(sql)
        bound = _bindings(params)
        limit = params.integer("limit", min(1000, settings.database_max_rows))
        if not 0 <= limit <= settings.database_max_rows:
            raise ToolError(
                f"parameter 'limit' must be between 0 and {settings.database_max_rows} "
                "(tools.database_connector.max_rows)"
            )
        connection.set_authorizer(_authorizer(writable))  # the script's SQL, not ours above
        return _run(connection, sql, bound, limit, operation, settings.database_timeout_seconds)
    finally:
        connection.close()


def _connect(raw: str, context: Any, writable: bool) -> sqlite3.Connection:
    if raw == ":memory:":
        connection = sqlite3.connect(":memory:")
    else:
        path = context.path(raw)
        if not path.exists() and not writable:
            raise ToolFailure(
                f"database not found: '{raw}' (a new database needs {_ALLOW_KEY} = true)"
            )
        mode = "rwc" if writable else "ro"
        from urllib.parse import quote

        try:
            connection = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True)
        except sqlite3.Error as exc:
            raise ToolFailure(f"cannot open '{raw}': {exc}") from None
    return connection


def _authorizer(writable: bool) -> Any:
    def authorize(action: int, arg1: Any, arg2: Any, _db: Any, _trigger: Any) -> int:
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return sqlite3.SQLITE_DENY
        if writable or action in _READS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or arg1 in _READ_PRAGMAS):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_TRANSACTION:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize


def _refuse_literals(sql: str) -> None:
    """ToolError when the SQL holds a string or blob literal (values belong in params)."""
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char == "'":
            raise ToolError(
                "the query holds a string literal; put values in 'params' with ? or :name "
                "placeholders (parameterised queries only)"
            )
        if char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif char == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif char in '"`[':
            close = "]" if char == "[" else char
            end = sql.find(close, i + 1)
            i = n if end < 0 else end
        i += 1


def _bindings(params: Params) -> Any:
    value = params.value("params", aliases=("parameters", "values"))
    if value is None:
        return ()
    items: list[tuple[Any, Any]]
    if isinstance(value, list):
        items = list(enumerate(value, 1))
    elif isinstance(value, dict):
        items = list(value.items())
    else:
        raise ToolError("parameter 'params' must be an array (for ?) or a table (for :name)")
    for key, item in items:
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ToolError(f"params[{key}] must be a string, number, boolean or nil")
    return value


def _all(connection: sqlite3.Connection, sql: str, bound: Any) -> list[Any]:
    try:
        return connection.execute(sql, bound).fetchall()
    except sqlite3.Error as exc:
        raise ToolFailure(str(exc)) from None


def _run(
    connection: sqlite3.Connection,
    sql: str,
    bound: Any,
    limit: int,
    operation: str,
    timeout: float,
) -> ToolResponse:
    deadline = time.monotonic() + timeout
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        cursor = connection.execute(sql, bound)
        columns = [d[0] for d in cursor.description or ()]
        fetched = cursor.fetchmany(limit + 1) if columns else []
        connection.commit()
    except sqlite3.ProgrammingError as exc:  # several statements, a wrong number of bindings
        raise ToolError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        message = str(exc)
        if "not authorized" in message or "readonly database" in message:
            raise ToolError(
                f"'{sql.split(None, 1)[0] if sql.split() else sql}' is refused: the database is "
                f"read-only ({_ALLOW_KEY} = true allows writes; ATTACH is never allowed)"
            ) from None
        if "interrupted" in message:
            raise ToolFailure(
                f"the statement ran past {timeout:g} s (tools.database_connector.timeout_seconds)"
            ) from None
        raise ToolFailure(message) from None
    if not columns:
        changed = cursor.rowcount
        return ToolResponse(
            result={"rows_affected": changed, "last_row_id": cursor.lastrowid},
            message=f"{changed} rows affected",
            operation=operation,
        )
    rows = [dict(zip(columns, row, strict=True)) for row in fetched[:limit]]
    for row in rows:
        for key, item in row.items():
            if isinstance(item, bytes):
                row[key] = item.hex()
    lines = ["\t".join(columns)] + ["\t".join(str(row[c]) for c in columns) for row in rows]
    return ToolResponse(
        result={
            "columns": columns,
            "rows": rows,
            "count": len(rows),
            "truncated": len(fetched) > limit,
        },
        text="\n".join(lines),
        operation=operation,
    )
