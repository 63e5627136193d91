"""The public entry points: what the CLI (and any other front end) uses of the kernel package.

Only the embedded kernel and the client are imported here (the `exec` path needs them); every
other entry point imports its module when called, so start-up stays fast.
"""

from __future__ import annotations

from llmspell_kernel.client import (
    DebugStop,
    ErrorOutput,
    InputHandler,
    KernelClient,
    Result,
    Stream,
)
from llmspell_kernel.kernel.server import Kernel, KernelSettings
from llmspell_kernel.lua.engine import EngineSettings
from llmspell_kernel.state.settings import DataSettings
from llmspell_kernel.transport.inprocess import InProcessKernelTransport

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

    from llmspell_kernel.debug.remote import RemoteDebugger

__all__ = [
    "DebugStop",
    "EmbeddedKernel",
    "ErrorOutput",
    "KernelClient",
    "RemoteDebugger",
    "Result",
    "Stream",
    "connect_to_kernel",
    "kernel_settings_from_config",
    "remote_debugger",
    "serve_dap_stdio",
    "serve_dap_tcp",
    "start_embedded_kernel",
    "start_kernel_service",
]


class EmbeddedKernel:
    """A kernel living in this process behind the in-process queue transport."""

    def __init__(self, kernel: Kernel, transport: InProcessKernelTransport) -> None:
        self.kernel = kernel
        self.transport = transport

    def client(self, *, input_handler: InputHandler | None = None, **kwargs: Any) -> KernelClient:
        """A new client of this kernel (several may share it)."""
        return KernelClient(self.transport.connect(), input_handler=input_handler, **kwargs)

    def shutdown(self) -> None:
        """Stop the kernel's threads."""
        self.kernel.stop()

    def __enter__(self) -> EmbeddedKernel:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()


def kernel_settings_from_config(config: Any, *, debug_level: str | None = None) -> KernelSettings:
    """Kernel settings from a loaded `llmspell_kernel.config.Config`."""
    from llmspell_kernel.events.settings import EventSettings
    from llmspell_kernel.providers import configure
    from llmspell_kernel.tools.settings import ToolSettings

    configure(config)
    lua = config.engines.lua
    level = debug_level
    if level is None:
        level = config.debug.level if config.debug.enabled else "warn"
    engine = EngineSettings(
        security_level=lua.security_level,
        max_memory_bytes=lua.max_memory_bytes,
        interrupt_grace_seconds=float(lua.interrupt_grace_seconds),
        allowed_paths=tuple(config.tools.file_operations.allowed_paths),
        debug_level=level,
        data=DataSettings.from_config(config),
        tools=ToolSettings.from_config(config),
        events=EventSettings.from_config(config),
        hook_modules=tuple(config.hooks.python),
        hook_entry_points=bool(config.hooks.entry_points),
    )
    return KernelSettings(
        engine=engine,
        script_timeout=float(config.runtime.script_timeout_seconds or 0),
        history_size=int(config.kernel.history_size),
        max_message_bytes=int(config.kernel.max_message_bytes),
    )


def kernel_events(connection: str, poll_seconds: float = 0.5) -> Iterator[dict[str, Any]]:
    """The events a running kernel publishes on IOPub from now on (every client's executions),
    as event tables; runs until the caller stops iterating (the connection closes then)."""
    from llmspell_kernel.kernel.server import EVENTS_COMM_ID

    client = connect_to_kernel(connection)
    arrived: list[dict[str, Any]] = []

    def collect(_channel: str, msg: Any) -> None:
        content = msg.get("content") or {}
        if msg["header"].get("msg_type") == "comm_msg" and content.get("comm_id") == EVENTS_COMM_ID:
            event = (content.get("data") or {}).get("llmspell_event")
            if isinstance(event, dict):
                arrived.append(event)

    client.on_foreign = collect
    try:
        while True:
            client.poll_events(poll_seconds)
            while arrived:
                yield arrived.pop(0)
    finally:
        client.close()


def start_embedded_kernel(settings: KernelSettings | None = None) -> EmbeddedKernel:
    """Start a kernel in this process; returns once its Lua engine is ready."""
    transport = InProcessKernelTransport()
    kernel = Kernel(transport, settings).start()
    return EmbeddedKernel(kernel, transport)


def start_kernel_service(*args: Any, **kwargs: Any) -> Any:
    """Start a kernel on ZeroMQ (see `llmspell_kernel.service.start_kernel_service`)."""
    from llmspell_kernel.service import start_kernel_service as start

    return start(*args, **kwargs)


def connect_to_kernel(*args: Any, **kwargs: Any) -> KernelClient:
    """Connect to a running kernel (see `llmspell_kernel.service.connect_to_kernel`)."""
    from llmspell_kernel.service import connect_to_kernel as connect

    return connect(*args, **kwargs)


# -- debugging -------------------------------------------------------------------------------------
def remote_debugger(client: KernelClient) -> RemoteDebugger:
    """The debugger of the kernel `client` talks to (embedded or running elsewhere)."""
    from llmspell_kernel.debug.remote import RemoteDebugger

    return RemoteDebugger(client)


def serve_dap_stdio(
    settings: KernelSettings | None, program: str | None, args: Sequence[str], max_message: int
) -> int:
    """The Debug Adapter Protocol on stdin/stdout until the editor disconnects; the exit code."""
    from llmspell_kernel.debug.server import serve_stdio

    return serve_stdio(settings, program, args, max_message)


def serve_dap_tcp(
    port: int,
    settings: KernelSettings | None,
    program: str | None,
    args: Sequence[str],
    *,
    on_listening: Callable[[int, str, str], None] | None = None,
    max_message: int,
) -> None:
    """The Debug Adapter Protocol on 127.0.0.1:`port` (each connection its own session) until
    interrupted; `on_listening(port, token, token_file)` once editors can connect."""
    from llmspell_kernel.debug.server import serve_tcp

    def listening(bound: int, token: str, token_file: object) -> None:
        if on_listening is not None:
            on_listening(bound, token, str(token_file))

    serve_tcp(port, settings, program, args, on_listening=listening, max_message=max_message)


# -- applications (`llmspell app`) -----------------------------------------------------------------
def list_apps() -> list[Any]:
    """The shipped applications (`llmspell_kernel.apps.catalogue.AppInfo`), by layer and name."""
    from llmspell_kernel.apps.catalogue import shipped_apps

    return shipped_apps()


def find_app(name_or_path: str) -> Any:
    """A shipped application by name, or the application directory at a path."""
    from llmspell_kernel.apps.catalogue import find_app as find

    return find(name_or_path)


def fresh_app_output_dir(app: Any) -> Any:
    """A new directory for one run of `app` under the user's data dir."""
    from llmspell_kernel.apps.catalogue import fresh_output_dir

    return fresh_output_dir(app)


def app_model_fallback(app: Any) -> str | None:
    """The bundled local model when a provider the app uses has no API key, else None."""
    from llmspell_kernel.apps.catalogue import model_fallback

    return model_fallback(app)


def app_script_args(app: Any, output_dir: Any, extra: list[str]) -> list[str]:
    """The arguments every app is run with (its directory and output directory first)."""
    from llmspell_kernel.apps.runner import script_args

    return script_args(app, output_dir, extra)


def validate_apps(apps: list[Any], **options: Any) -> Any:
    """Run the validation suite (see `llmspell_kernel.apps.validation.validate_apps`)."""
    from llmspell_kernel.apps.validation import validate_apps as validate

    return validate(apps, **options)


def compare_app_reports(report: Any, previous_path: Any) -> list[Any]:
    """Regressions of `report` against the JSON report at `previous_path`."""
    from llmspell_kernel.apps.report import load_report
    from llmspell_kernel.apps.validation import compare_reports

    return compare_reports(report, load_report(previous_path))


def write_app_report(report: Any, fmt: str, path: Any) -> None:
    """Write a validation report as json or html."""
    from llmspell_kernel.apps.report import write_report

    write_report(report, fmt, path)


def use_config(config: Any) -> None:
    """Make `config` the configuration of this process's providers and RAG layer (what an
    offline command on the store needs, as a kernel does at start-up)."""
    from llmspell_kernel.providers import configure

    configure(config)


def read_rag_document(path: str) -> dict[str, Any]:
    """The document `llmspell rag ingest` takes from a file (text, markdown or PDF)."""
    from llmspell_kernel.rag.documents import read_document

    return read_document(path)


def rag_document_files(paths: Sequence[str]) -> list[str]:
    """The readable files under `paths` (directories recursively), in order."""
    from llmspell_kernel.rag.documents import expand_paths

    return expand_paths(paths)
