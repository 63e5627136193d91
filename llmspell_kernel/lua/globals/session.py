"""The Python side of the `Session` and `Artifact` globals (lua-api.md 2.4)."""

from __future__ import annotations

import os
from collections.abc import Callable

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.globals.state import guarded, text_arg

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def content_bytes(carrier: Any, size: int) -> bytes:
    """The exact bytes of a Lua string handed over in a carrier (see session.lua).

    `str()` of a Lua object with __tostring decodes the string as UTF-8 or, when that fails, as
    Latin-1. Either way `size` characters mean one character per byte (ASCII or Latin-1), so
    Latin-1 gives the bytes back; fewer characters mean valid UTF-8 text.
    """
    text = str(carrier)
    if len(text) == size:
        return text.encode("latin-1")
    data = text.encode("utf-8")
    if len(data) != size:
        raise LlmspellError(f"content arrived as {len(data)} bytes instead of {size}")
    return data


def install_session_globals(engine: Any) -> None:
    """Define `Session` and `Artifact` in the engine's script environment."""
    runtime = engine.runtime
    hub = engine.data

    def plain(value: Any) -> Any:
        return None if value is None else engine.to_python(value, strict=True)

    def session_id(value: Any) -> str:
        """An explicit id, or the current session for nil and ""."""
        if value is None or value == "":
            current = hub.current_session()
            if current is None:
                raise LlmspellError(
                    "no current session: pass a session id or call Session.set_current(id)"
                )
            return current
        return text_arg(value, "session id")

    # -- Session ------------------------------------------------------------------------------------
    def create(options: Any = None) -> str:
        opts = plain(options) or {}
        if not isinstance(opts, dict):
            raise LlmspellError("options must be a table")
        new_id = hub.sessions().create(opts)
        hub.current_sessions.setdefault(hub.tenant, new_id)
        return new_id

    def get(ident: Any = None) -> Any:
        return engine.to_lua(hub.sessions().get(text_arg(ident, "session id")))

    def list_sessions(query: Any = None) -> Any:
        q = plain(query) or {}
        if not isinstance(q, dict):
            raise LlmspellError("query must be a table")
        tags = q.get("tags")
        if isinstance(tags, str):
            tags = [tags]
        name = q.get("name")
        if name is not None and not isinstance(name, str):
            raise LlmspellError("query.name must be a string (a name or a pattern like 'report*')")
        found = hub.sessions().list(q.get("status"), tags or None, q.get("limit"), name=name)
        return engine.to_lua(found)

    def save(ident: Any = None) -> None:
        hub.sessions().touch(text_arg(ident, "session id"))

    def load(ident: Any = None) -> str:
        return str(hub.sessions().require(text_arg(ident, "session id"))["id"])

    def transition(action: str) -> Any:
        def apply(ident: Any = None) -> None:
            hub.sessions().transition(text_arg(ident, "session id"), action)

        return apply

    def delete(ident: Any = None) -> None:
        target = text_arg(ident, "session id")
        if not hub.sessions().delete(target):
            raise LlmspellError(f"Session '{target}' not found")
        if hub.current_session() == target:
            hub.current_sessions.pop(hub.tenant, None)

    def get_current() -> str | None:
        return hub.current_session()

    def set_current(ident: Any = None) -> None:
        if ident is None:
            hub.current_sessions.pop(hub.tenant, None)
            return
        target = text_arg(ident, "session id")
        hub.sessions().require(target)
        hub.current_sessions[hub.tenant] = target

    # -- Artifact -----------------------------------------------------------------------------------
    def store(
        sid: Any = None,
        kind: Any = None,
        name: Any = None,
        carrier: Any = None,
        size: int = 0,
        metadata: Any = None,
    ) -> Any:
        meta = plain(metadata) or {}
        if not isinstance(meta, dict):
            raise LlmspellError("metadata must be a table")
        found = hub.artifacts().store(
            session_id(sid),
            text_arg(kind, "artifact type"),
            text_arg(name, "artifact name"),
            content_bytes(carrier, size),
            meta,
        )
        return engine.to_lua(found["id"])

    def store_file(
        sid: Any = None, path: Any = None, kind: Any = None, metadata: Any = None
    ) -> Any:
        meta = plain(metadata) or {}
        if not isinstance(meta, dict):
            raise LlmspellError("metadata must be a table")
        raw = text_arg(path, "path")
        resolved = engine._inside_roots(raw)
        if resolved is None:
            raise LlmspellError(
                f"'{raw}' is outside the readable paths (the script's directory and "
                "tools.file_operations.allowed_paths)"
            )
        try:
            data = resolved.read_bytes()
        except OSError as exc:
            raise LlmspellError(f"cannot read '{raw}': {exc.strerror}") from exc
        found = hub.artifacts().store(
            session_id(sid), text_arg(kind, "artifact type"), os.path.basename(resolved), data, meta
        )
        return engine.to_lua(found["id"])

    def artifact_get(sid: Any = None, ident: Any = None, version: Any = None) -> Any:
        """An artifact by id table, sequence number, content hash or name (its latest
        version, or `version`); nil when there is none."""
        target = plain(ident)
        if version is not None:
            if not isinstance(target, str):
                raise LlmspellError("a version goes with an artifact name: get(session, name, n)")
            target = {"name": target, "version": plain(version)}
        found = hub.artifacts().get(session_id(sid), target)
        if found is None:
            return None
        content, metadata = found
        return engine.to_lua({"content": content, "metadata": metadata})

    def artifact_list(sid: Any = None) -> Any:
        return engine.to_lua(hub.artifacts().list(session_id(sid)))

    def artifact_delete(sid: Any = None, ident: Any = None) -> bool:
        return hub.artifacts().delete(session_id(sid), plain(ident))

    def artifact_query(criteria: Any = None) -> Any:
        c = plain(criteria) or {}
        if not isinstance(c, dict):
            raise LlmspellError("filter must be a table")
        return engine.to_lua(hub.artifacts().query(c))

    session_functions: dict[str, Callable[..., Any]] = {
        "create": create,
        "get": get,
        "list": list_sessions,
        "save": save,
        "load": load,
        "suspend": transition("suspend"),
        "resume": transition("resume"),
        "complete": transition("complete"),
        "fail": transition("fail"),
        "archive": transition("archive"),
        "delete": delete,
        "get_current": get_current,
        "set_current": set_current,
    }
    artifact_functions: dict[str, Callable[..., Any]] = {
        "store": store,
        "store_file": store_file,
        "get": artifact_get,
        "list": artifact_list,
        "delete": artifact_delete,
        "query": artifact_query,
    }
    py_session = engine.bridge.table(
        {name: guarded(f"Session.{name}", fn) for name, fn in session_functions.items()},
        "Session.",
    )
    py_artifact = engine.bridge.table(
        {name: guarded(f"Artifact.{name}", fn) for name, fn in artifact_functions.items()},
        "Artifact.",
    )
    with open(os.path.join(os.path.dirname(__file__), "session.lua"), encoding="utf-8") as handle:
        runtime.execute(handle.read(), engine.env, py_session, py_artifact)
