"""One call for data operations (state, sessions, backups, keys), wherever the data is:
through a running kernel (online) or directly on the configured store (offline). Both run the
same operations (`llmspell_kernel.state.operations`), so they give the same answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from llmspell_kernel.errors import (
    ConfigError,
    KernelConnectionError,
    LlmspellError,
    UsageError,
)

SLOW_OPERATIONS = ("backup.create", "backup.restore")
_ERRORS: dict[int, type[LlmspellError]] = {
    2: UsageError,
    3: ConfigError,
    4: KernelConnectionError,
}


class DataClient:
    """Runs data operations online (a kernel) or offline (a DataHub of our own).

    `kernel` names the kernel (id, HOST:PORT, connection file); without it the only running
    kernel is used unless `offline_by_default` (the user named a configuration file).
    `load_config` gives the effective configuration, read only when working offline.
    """

    def __init__(
        self,
        load_config: Callable[[], Any],
        *,
        kernel: str | None = None,
        tenant: str | None = None,
        offline_by_default: bool = False,
    ) -> None:
        self._load_config = load_config
        self.tenant = tenant
        self.client: Any = None
        self.hub: Any = None
        self.config: Any = None
        address = kernel or (None if offline_by_default else self._only_kernel())
        if address:
            from llmspell_kernel.api import connect_to_kernel

            self.client = connect_to_kernel(address)
            self.mode = "online"
        else:
            self.mode = "offline"

    @staticmethod
    def _only_kernel() -> str | None:
        """The connection file of the single running kernel, if exactly one runs."""
        from llmspell_kernel.registry import list_kernels

        kernels = list_kernels()
        return str(kernels[0].connection_file) if len(kernels) == 1 else None

    def _offline_hub(self) -> Any:
        if self.hub is None:
            from llmspell_kernel.state.hub import DataHub
            from llmspell_kernel.state.settings import DataSettings

            self.config = self._load_config()
            settings = DataSettings.from_config(self.config, tenant=self.tenant)
            if settings.backend == "memory":
                raise UsageError(
                    'the configured store is in memory (state.backend = "memory"): it lives '
                    "only inside a kernel, so there is nothing to work on offline",
                    hint="run the command against that kernel with --kernel ID",
                )
            self.hub = DataHub(settings)
        return self.hub

    def call(self, op: str, **params: Any) -> Any:
        """Run one operation; its result, or the matching LlmspellError."""
        request: dict[str, Any] = {"op": op, "params": params}
        if self.tenant:
            request["tenant"] = self.tenant
        if self.client is not None:
            from llmspell_kernel.transport.base import CONTROL

            timeout = 3600.0 if op in SLOW_OPERATIONS else 30.0
            reply = self.client.request(CONTROL, "llmspell_data_request", request, timeout)[
                "content"
            ]
        else:
            from llmspell_kernel.state.operations import run_operation

            reply = run_operation(self._offline_hub(), request)
        if reply.get("status") != "ok":
            if "error" not in reply:
                detail = reply.get("evalue") or "unknown error"
                raise LlmspellError(f"the kernel could not serve the request: {detail}")
            kind = _ERRORS.get(int(reply.get("exit_code") or 1), LlmspellError)
            raise kind(str(reply["error"]), reply.get("hint"))
        return reply["result"]

    def recorded_executions(
        self, session_id: str, from_step: int | None = None, to_step: int | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """(the whole session id, its recorded executions from_step..to_step) for a replay; a
        range that selects none of a session's executions is a usage error."""
        recorded = self.call(
            "session.executions", id=session_id, from_step=from_step, to_step=to_step
        )
        session_id = recorded["session"]["id"]  # the whole id, when a prefix was typed
        if not recorded["executions"] and (from_step or to_step):
            total = len(self.call("session.executions", id=session_id)["executions"])
            raise UsageError(
                f"session {session_id} has {total} recorded execution(s); "
                f"steps {from_step or 1}..{to_step or total} select none"
            )
        return session_id, recorded["executions"]

    def follow_events(self, poll_seconds: float, **params: Any) -> Iterator[dict[str, Any]]:
        """Stored events as they are stored from now on (or from params' `since`): polls
        `events.list` past the last cursor every `poll_seconds` until the caller stops."""
        import time

        params = {**params, "limit": None}
        cursor = self.call("events.list", **params)["cursor"] if not params.get("since") else 0
        while True:
            answer = self.call("events.list", after=cursor, **params)
            yield from answer["events"]
            cursor = answer["cursor"]
            time.sleep(poll_seconds)

    def effective_config(self) -> Any:
        """The configuration (the one the offline store was opened with, else loaded now)."""
        return self.config if self.config is not None else self._load_config()

    def artifact(self, session_id: str, artifact: str, version: int | None) -> ArtifactReader:
        """The content of one artifact of a session, in chunks (see ArtifactReader)."""
        return ArtifactReader(self, session_id, artifact, version)

    def close(self) -> None:
        """Disconnect, or close the offline store."""
        if self.client is not None:
            self.client.close()
        if self.hub is not None:
            self.hub.close()

    def __enter__(self) -> DataClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class ArtifactReader:
    """The content of one artifact in chunks (`session.artifact` requests): the first request
    finds the artifact (name and version, sequence or hash prefix), the next ones pin it by
    sequence and hash, so a version stored meanwhile cannot mix in."""

    def __init__(
        self, access: DataClient, session_id: str, artifact: str, version: int | None
    ) -> None:
        self.access = access
        first = access.call("session.artifact", id=session_id, artifact=artifact, version=version)
        self.session_id: str = first["session_id"]
        self.metadata: dict[str, Any] = first["artifact"]
        self._pending: dict[str, Any] | None = first

    def __iter__(self) -> ArtifactReader:
        return self

    def __next__(self) -> bytes:
        import base64

        reply = self._pending
        if reply is None:
            raise StopIteration
        data = base64.b64decode(reply["content_base64"])
        if reply["end"]:
            self._pending = None
        else:
            self._pending = self.access.call(
                "session.artifact",
                id=self.session_id,
                sequence=self.metadata["sequence"],
                content_hash=self.metadata["content_hash"],
                offset=reply["offset"] + len(data),
            )
        return data
