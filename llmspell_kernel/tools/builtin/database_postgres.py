"""database-connector's PostgreSQL side (a postgresql:// connection string), through psycopg
when it is installed (extra llmspell[postgres]).

The same rules as SQLite: every host the connection string names (query parameters included)
passes the NET gate; read-only unless tools.database_connector.allow_write (each call's one
transaction is READ ONLY and rolled back, so not even SET survives it); parameterised queries
only (string literals, E'' and dollar quoting refused; ? and :name placeholders as for SQLite);
one statement per call (psycopg sends it as one extended-protocol query); statement_timeout and
rows bounded as configured."""

from __future__ import annotations

import time

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse
from llmspell_kernel.tools.builtin.database_connector import (
    _ALLOW_KEY,
    _bindings,
    _refuse_literals,
)

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

SCHEMES = ("postgresql://", "postgres://")


def is_postgres(raw: str) -> bool:
    return raw.startswith(SCHEMES)


def run(params: Params, context: Any, operation: str, raw: str) -> ToolResponse:
    try:
        import psycopg
    except ImportError:
        raise ToolError(
            "PostgreSQL needs psycopg: pip install 'llmspell[postgres]' (SQLite needs nothing)"
        ) from None
    settings = context.settings
    writable = bool(settings.database_allow_write)
    target = _checked(raw, context)
    timeout_ms = int(settings.database_timeout_seconds * 1000)
    started = time.monotonic()
    try:
        connection = psycopg.connect(
            raw,
            connect_timeout=max(1, min(10, int(settings.database_timeout_seconds))),
            options=f"-c statement_timeout={timeout_ms}",
            autocommit=False,
        )
    except psycopg.Error as exc:
        raise ToolFailure(f"cannot connect to {target}: {_first_line(exc)}") from None
    connection.read_only = not writable
    try:
        return _operate(params, connection, operation, raw, writable, settings, started)
    finally:
        connection.close()


def _checked(raw: str, context: Any) -> str:
    """host:port/db for messages, after every host passed the NET gate."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(raw)
    except Exception as exc:  # psycopg.ProgrammingError for a malformed string
        raise ToolError(f"invalid PostgreSQL connection string: {_first_line(exc)}") from None
    hosts = [h for h in str(info.get("host") or "").split(",") if h]
    hosts += [h for h in str(info.get("hostaddr") or "").split(",") if h]
    if not hosts:
        raise ToolError("the PostgreSQL connection string must name a host (postgresql://HOST/db)")
    for host in hosts:
        if host.startswith("/"):
            raise ToolError(f"'{host}' is a Unix socket directory; name a host")
        context.host(host)
    return f"{hosts[0]}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


def _operate(
    params: Params,
    connection: Any,
    operation: str,
    raw: str,
    writable: bool,
    settings: Any,
    started: float,
) -> ToolResponse:
    import psycopg

    if operation == "tables":
        rows = connection.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY table_schema, table_name"
        ).fetchall()
        found = [
            {"name": _qualified(s, n), "type": "view" if "VIEW" in t else "table"}
            for s, n, t in rows
        ]
        return ToolResponse(
            result=found, text="\n".join(f["name"] for f in found), operation="tables"
        )
    if operation == "schema":
        table = params.text("table", required=True)
        schema, _, name = table.rpartition(".")
        columns = connection.execute(
            "SELECT c.column_name, c.data_type, c.is_nullable = 'NO', "
            "EXISTS (SELECT 1 FROM information_schema.key_column_usage k "
            "JOIN information_schema.table_constraints t USING (constraint_schema, "
            "constraint_name) WHERE t.constraint_type = 'PRIMARY KEY' AND "
            "k.table_schema = c.table_schema AND k.table_name = c.table_name AND "
            "k.column_name = c.column_name) "
            "FROM information_schema.columns c WHERE c.table_schema = %s "
            "AND c.table_name = %s ORDER BY c.ordinal_position",
            (schema or "public", name),
        ).fetchall()
        if not columns:
            raise ToolFailure(f"no table '{table}' in {raw.split('@')[-1]}")
        result = [
            {"name": c[0], "type": c[1], "not_null": bool(c[2]), "primary_key": bool(c[3])}
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
    statement = placeholders(sql, isinstance(bound, dict))
    try:
        # binary: psycopg then always uses the extended protocol, one statement per query
        cursor = connection.execute(statement, bound or [], binary=True)
        columns = [d.name for d in cursor.description or ()]
        fetched = cursor.fetchmany(limit + 1) if columns else []
        changed = cursor.rowcount
        if writable:
            connection.commit()
        else:
            connection.rollback()  # read-only: nothing of the call survives it, SET included
    except psycopg.errors.ReadOnlySqlTransaction:
        raise ToolError(
            f"'{sql.split(None, 1)[0]}' is refused: the database is read-only "
            f"({_ALLOW_KEY} = true allows writes)"
        ) from None
    except psycopg.errors.QueryCanceled:
        raise ToolFailure(
            f"the statement ran past {settings.database_timeout_seconds:g} s "
            "(tools.database_connector.timeout_seconds)"
        ) from None
    except psycopg.errors.SyntaxError as exc:  # several statements are one too
        message = _first_line(exc)
        if "multiple commands" in message:
            message = f"one statement per call ({message})"
        raise ToolError(message) from None
    except psycopg.Error as exc:
        raise ToolFailure(_first_line(exc)) from None
    if not columns:
        return ToolResponse(
            result={"rows_affected": changed},
            message=f"{changed} rows affected",
            operation=operation,
        )
    rows = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in fetched[:limit]]
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


def placeholders(sql: str, named: bool) -> str:
    """`?` -> %s and `:name` -> %(name)s outside quoted identifiers and comments, `%` -> %%,
    `::type` casts kept; dollar quoting refused (a literal by another name)."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char == '"':
            end = sql.find('"', i + 1)
            end = n if end < 0 else end + 1
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        if sql.startswith("--", i) or sql.startswith("/*", i):
            end = sql.find("\n", i) if char == "-" else sql.find("*/", i + 2) + 2
            end = n if end <= i else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        if char == "$" and i + 1 < n and (sql[i + 1] == "$" or sql[i + 1].isalpha()):
            raise ToolError("the query holds a dollar-quoted string; put values in 'params'")
        if char == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
            continue
        if char == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            if not named:
                raise ToolError(f"':{sql[i + 1 : j]}' needs 'params' as a table of names")
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
            continue
        if char == "?":
            if named:
                raise ToolError("'?' placeholders need 'params' as an array")
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _qualified(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def _plain(value: Any) -> Any:
    """A column value Lua can hold: numbers, text, booleans, nil; the rest as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if isoformat is not None else str(value)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
