"""One call for data operations (state, sessions, backups, keys), wherever the data is:
through a running kernel (online) or directly on the configured store (offline). Both run the
same operations (`llmspell_kernel.state.operations`), so they give the same answers."""

from __future__ import annotations

from collections.abc import Callable
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
