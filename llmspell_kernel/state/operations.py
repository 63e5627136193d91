"""Data operations behind `llmspell state|session|backup`, the same code offline and online.

Offline, the CLI calls `run_operation` on a DataHub of its own; online, the kernel's data request
handler calls it on the kernel's DataHub (the one its Lua State uses). Requests and results are
plain JSON, so both paths give the same answers.

Backups follow tenancy: offline they cover the whole store; a kernel serves one tenant, so
through a kernel (`tenant_only`) they cover that tenant only (see `state.backup`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmspell_kernel.errors import LlmspellError, UsageError
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.scopes import scope_prefix, split_stored_key, stored_key

Operation = Callable[[DataHub, str, dict[str, Any]], Any]
# Set by `run_operation` itself (never taken from a request): the tenant backups are confined to.
_TENANT_ONLY = "_tenant_only"


def _scope(hub: DataHub, tenant: str, params: dict[str, Any]) -> str:
    scope = params.get("scope")
    return "global" if scope is None else _session_scope(hub, tenant, str(scope))


def _session_scope(hub: DataHub, tenant: str, scope: str) -> str:
    """`session:<prefix>` names the session whose id it uniquely starts, as session ids do in
    every command; a scope of no session stays as typed (state can outlive its session)."""
    kind, sep, ident = scope.partition(":")
    if kind != "session" or not sep or not ident:
        return scope
    from llmspell_kernel.sessions.manager import SessionNotFound

    try:
        return "session:" + hub.sessions(tenant).resolve(ident)
    except SessionNotFound:
        return scope


def _entry(full_key: str, value: Any) -> dict[str, Any]:
    scope, key = split_stored_key(full_key)
    return {"key": full_key, "scope": scope, "name": key, "value": value}


def state_show(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    store = hub.state(tenant)
    if p.get("key"):
        full = stored_key(_scope(hub, tenant, p), p["key"])
        value = store.get(full)
        return {"key": full, "found": value is not None, "value": value}
    prefix = scope_prefix(_scope(hub, tenant, p)) if p.get("scope") is not None else ""
    return {"entries": [_entry(k, v) for k, v in store.items(prefix)]}


def state_set(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    full = stored_key(_scope(hub, tenant, p), p["key"])
    from llmspell_kernel.state.store import encode_value

    if p.get("value") is None:
        raise UsageError("a state value cannot be null (use `state clear KEY` to delete)")
    from llmspell_kernel.state.transfer import depth_problem

    problem = depth_problem(p["value"])
    if problem:  # what `state import` and Lua could not read back
        raise UsageError(f"{full}: {problem}")
    hub.state(tenant).put(full, encode_value(p["value"]))
    return {"key": full, "value": p["value"]}


def state_clear(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    store = hub.state(tenant)
    if p.get("key"):
        full = stored_key(_scope(hub, tenant, p), p["key"])
        return {"deleted": int(store.remove(full)), "key": full}
    prefix = scope_prefix(_scope(hub, tenant, p)) if p.get("scope") is not None else ""
    return {"deleted": store.clear(prefix), "scope": p.get("scope") or "*"}


def state_export(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    return {"tenant": tenant, "entries": [[k, v] for k, v in hub.state(tenant).items()]}


def state_import(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    entries = [(str(k), v) for k, v in p.get("entries") or []]
    merge = bool(p.get("merge"))
    store = hub.state(tenant)
    backup = None
    if not merge and store.keys():  # replacing data: keep what is there first
        from llmspell_kernel.state.backup import create_backup

        backup = create_backup(hub, prefix="pre-import", retention=False, tenant=tenant)["path"]
    count = store.replace_all(entries, merge=merge)
    return {"imported": count, "merge": merge, "pre_import_backup": backup}


def session_list(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    tags = p.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        raise UsageError("tags must be a list of strings")
    name = p.get("name")
    found = hub.sessions(tenant).list(
        p.get("status"), tags or None, name=None if name is None else str(name)
    )
    return {"sessions": found}


def session_show(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    manager = hub.sessions(tenant)
    session = manager.require(manager.resolve(p["id"]))
    session["artifacts"] = hub.artifacts(tenant).list(session["id"])
    session["executions"] = manager.executions(session["id"])
    session["usage"] = hub.usage(tenant).totals(session["id"])  # its provider calls
    from llmspell_kernel.workflows.records import recorded_runs

    session["workflow_runs"] = recorded_runs(hub.state(tenant), session_id=session["id"])
    return session


def session_delete(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    manager = hub.sessions(tenant)
    if p.get("all"):
        return {"deleted": manager.delete_all()}
    session_id = manager.resolve(p["id"])
    if not manager.delete(session_id):
        from llmspell_kernel.sessions.manager import SessionNotFound

        raise SessionNotFound(f"Session '{session_id}' not found")  # as `session show` says it
    for owner, current in list(hub.current_sessions.items()):
        if current == session_id:
            del hub.current_sessions[owner]
    return {"deleted": 1, "id": session_id}


def usage_summary(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    """Provider calls grouped `by` model|day|agent|provider|session (llmspell_kernel/usage)."""
    session_id = p.get("session")
    if session_id:
        session_id = hub.sessions(tenant).resolve(session_id)
    by = str(p.get("by") or "model")
    from llmspell_kernel.usage.log import GROUPS

    if by not in GROUPS:
        raise UsageError(f"--by must be one of {', '.join(GROUPS)}, not '{by}'")
    log = hub.usage(tenant)
    since, until = _moment(p.get("since")), _moment(p.get("until"))
    result = log.summary(by, session_id=session_id, since=since, until=until)
    result["session"] = session_id
    if p.get("calls"):
        result["calls"] = log.calls(
            session_id=session_id, since=since, until=until, limit=int(p["calls"])
        )
    return result


def session_gc(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    return hub.sessions(tenant).gc()


def session_executions(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    manager = hub.sessions(tenant)
    session_id = manager.resolve(p["id"])
    return {
        "session": manager.require(session_id),
        "executions": manager.executions(session_id, p.get("from_step"), p.get("to_step")),
    }


ARTIFACT_CHUNK = 4 << 20  # content bytes per reply of `session.artifact`


def session_artifact(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    """One artifact's metadata and a chunk of its content (base64, so any bytes travel):
    `session artifact get`. The first request names the artifact (`artifact`, `version`); the
    next ones pin it by `sequence` and `content_hash` and ask for their `offset`."""
    import base64

    session_id = hub.sessions(tenant).resolve(p["id"])
    store = hub.artifacts(tenant)
    if p.get("sequence") is not None:
        pinned = {"sequence": int(p["sequence"]), "content_hash": str(p.get("content_hash"))}
        found = store.metadata(session_id, pinned)
        if found is None:
            raise LlmspellError(f"the artifact was deleted from session {session_id} while read")
    else:
        found = store.lookup(session_id, str(p.get("artifact") or ""), p.get("version"))
    content = store.blobs.get(found["content_hash"])
    offset = max(0, int(p.get("offset") or 0))
    part = content[offset : offset + ARTIFACT_CHUNK]
    return {
        "session_id": session_id,
        "artifact": found,
        "offset": offset,
        "content_base64": base64.b64encode(part).decode("ascii"),
        "end": offset + len(part) >= len(content),
    }


def _backup_tenant(p: dict[str, Any]) -> str | None:
    """The tenant a backup operation is confined to (None: the whole store)."""
    return p.get(_TENANT_ONLY)


def backup_create(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    from llmspell_kernel.state.backup import create_backup

    return create_backup(hub, p.get("output"), tenant=_backup_tenant(p))


def backup_restore(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    from llmspell_kernel.state.backup import find_backup, restore_backup

    scope = _backup_tenant(p)
    found = find_backup(hub.settings, str(p["path"]), scope)
    return restore_backup(hub, found["path"], tenant=scope)


def backup_list(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    from llmspell_kernel.state.backup import list_backups

    return {
        "backups": list_backups(hub.settings, _backup_tenant(p)),
        "directory": str(hub.settings.backups_dir),
        "tenant": _backup_tenant(p),
    }


def backup_delete(hub: DataHub, tenant: str, p: dict[str, Any]) -> Any:
    from llmspell_kernel.state.backup import delete_backup

    return {"deleted": delete_backup(hub.settings, str(p["id"]), _backup_tenant(p))}


def keys_add(_hub: DataHub, _tenant: str, p: dict[str, Any]) -> Any:
    from llmspell_kernel.keys import KeyStore, provider_name

    name = provider_name(str(p["provider"]))
    key = str(p["key"]).strip()
    if not key:
        raise UsageError("no key given")
    store = KeyStore()
    store.add(name, key)
    return {"provider": name, "stored": True, "path": str(store.path)}


def keys_list(_hub: DataHub, _tenant: str, _p: dict[str, Any]) -> Any:
    from llmspell_kernel.keys import list_keys

    return {"keys": list_keys()}


def keys_remove(_hub: DataHub, _tenant: str, p: dict[str, Any]) -> Any:
    from llmspell_kernel.keys import KeyStore, provider_name

    name = provider_name(str(p["provider"]))
    if not KeyStore().remove(name):
        raise LlmspellError(f"no stored key for '{name}'")
    return {"provider": name, "removed": True}


OPERATIONS: dict[str, Operation] = {
    "state.show": state_show,
    "state.set": state_set,
    "state.clear": state_clear,
    "state.export": state_export,
    "state.import": state_import,
    "session.list": session_list,
    "session.show": session_show,
    "session.delete": session_delete,
    "session.gc": session_gc,
    "session.executions": session_executions,
    "session.artifact": session_artifact,
    "usage.summary": usage_summary,
    "backup.create": backup_create,
    "backup.restore": backup_restore,
    "backup.list": backup_list,
    "backup.delete": backup_delete,
    # the keys of the user the kernel runs as (its machine's keys file and environment)
    "keys.add": keys_add,
    "keys.list": keys_list,
    "keys.remove": keys_remove,
}


def run_operation(
    hub: DataHub, request: dict[str, Any], *, tenant_only: bool = False
) -> dict[str, Any]:
    """Run one request `{op, tenant?, params}`; returns `{status: ok, result}` or an error reply.
    With `tenant_only` (a kernel serving one tenant) backups cover that tenant alone."""
    op = str(request.get("op", ""))
    handler = OPERATIONS.get(op)
    if handler is None and op.startswith("rag."):  # llmspell rag: loaded on its first use
        from llmspell_kernel.rag.operations import OPERATIONS as RAG_OPERATIONS

        handler = RAG_OPERATIONS.get(op)
    if handler is None and op in ("workflow.list", "workflow.show"):  # loaded on first use
        from llmspell_kernel.workflows import records

        handler = records.workflow_list if op == "workflow.list" else records.workflow_show
    if handler is None and op.startswith("events."):  # llmspell events: loaded on first use
        from llmspell_kernel.events.operations import OPERATIONS as EVENT_OPERATIONS

        handler = EVENT_OPERATIONS.get(op)
    if handler is None:
        return {"status": "error", "error": f"unknown data operation '{op}'", "exit_code": 2}
    params = request.get("params") or {}
    tenant = str(request.get("tenant") or hub.tenant)
    if isinstance(params, dict):
        params = {**params, _TENANT_ONLY: tenant if tenant_only else None}
    try:
        return {"status": "ok", "result": handler(hub, tenant, params)}
    except LlmspellError as exc:
        return {
            "status": "error",
            "error": exc.message,
            "hint": exc.hint,
            "exit_code": exc.exit_code,
        }
    except (KeyError, TypeError, ValueError) as exc:
        return {"status": "error", "error": f"bad {op} request: {exc}", "exit_code": 2}
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return {"status": "error", "error": f"{op}: {exc.strerror or exc}{where}", "exit_code": 1}
    except Exception as exc:  # sqlite3 errors and the like: reported, never a dead kernel
        return {"status": "error", "error": f"{op}: {type(exc).__name__}: {exc}", "exit_code": 1}


def _moment(value: Any) -> float | None:
    """A Unix time from a request parameter (a number), or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    raise UsageError(f"expected a Unix time, got {value!r}")
