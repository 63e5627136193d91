"""The public entry points: what the CLI (and any other front end) uses of the kernel package.

The CLI imports only this module, `errors` and `config` (tests/test_cli_imports.py). Nothing
heavy is imported here: functions import their modules when called, and the classes and
functions named in `_LAZY` are fetched from their modules on first use (PEP 562), so every
command, not only `exec`, starts without loading the kernel it does not need.
"""

from __future__ import annotations

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

    from llmspell_kernel.attach import AttachedKernel, attach_kernel
    from llmspell_kernel.client import (
        DebugStop,
        ErrorOutput,
        ExecutionOutputs,
        InputHandler,
        KernelClient,
        Result,
        Stream,
        exit_code,
        reply_pages,
    )
    from llmspell_kernel.config import Config
    from llmspell_kernel.data_client import DataClient
    from llmspell_kernel.debug.console import DebugConsole
    from llmspell_kernel.debug.remote import RemoteDebugger
    from llmspell_kernel.debug.session import ResumeAction
    from llmspell_kernel.files import (
        make_private_file,
        make_temporary,
        write_chunks_atomically,
        write_text_atomically,
    )
    from llmspell_kernel.kernel.server import Kernel, KernelSettings
    from llmspell_kernel.keys import KeyStore, provider_name
    from llmspell_kernel.keys import list_keys as list_keys
    from llmspell_kernel.logs import configure as configure_logging
    from llmspell_kernel.logs import enabled_for as logging_enabled_for
    from llmspell_kernel.lua.docs import documented_names as lua_documented_names
    from llmspell_kernel.lua.docs import entries as lua_doc_entries
    from llmspell_kernel.lua.docs import overview as lua_overview
    from llmspell_kernel.lua.docs import reference_of as lua_reference_of
    from llmspell_kernel.lua.literal import lua_literal
    from llmspell_kernel.lua.transcript import transcript_script
    from llmspell_kernel.manager import (
        check_start,
        interrupt_kernel,
        kernel_overview,
        list_running,
        only_kernel_connection_file,
        reachable_warning,
        select_kernels,
        serve_until_stopped,
        service_settings,
        start_daemon,
        start_service,
        stop_kernel,
    )
    from llmspell_kernel.protocol.kernelspec import install_kernelspec
    from llmspell_kernel.sessions.replay import replay_executions
    from llmspell_kernel.state.database import make_private_dirs
    from llmspell_kernel.state.migrate import migrate_store
    from llmspell_kernel.state.transfer import dump as dump_state
    from llmspell_kernel.state.transfer import format_for as state_format_for
    from llmspell_kernel.state.transfer import parse as parse_state
    from llmspell_kernel.stdin_input import StdinInput
    from llmspell_kernel.tools.catalogue import CATALOGUE as TOOL_CATALOGUE
    from llmspell_kernel.tools.catalogue import available as tool_available
    from llmspell_kernel.transport.inprocess import InProcessKernelTransport
    from llmspell_kernel.usage.price_update import DEFAULT_URL as PRICES_URL
    from llmspell_kernel.usage.price_update import update as update_prices
    from llmspell_kernel.usage.prices import find_price
    from llmspell_kernel.usage.prices import layers_info as price_layers
    from llmspell_kernel.usage.prices import listing as price_listing

# Fetched from their modules on first use: name here -> (module, name there).
_LAZY: dict[str, tuple[str, str]] = {
    # where a command's code runs: a running kernel or an embedded one
    "AttachedKernel": ("llmspell_kernel.attach", "AttachedKernel"),
    "attach_kernel": ("llmspell_kernel.attach", "attach_kernel"),
    "DebugStop": ("llmspell_kernel.client", "DebugStop"),
    "ErrorOutput": ("llmspell_kernel.client", "ErrorOutput"),
    "ExecutionOutputs": ("llmspell_kernel.client", "ExecutionOutputs"),
    "InputHandler": ("llmspell_kernel.client", "InputHandler"),
    "KernelClient": ("llmspell_kernel.client", "KernelClient"),
    "Result": ("llmspell_kernel.client", "Result"),
    "Stream": ("llmspell_kernel.client", "Stream"),
    "exit_code": ("llmspell_kernel.client", "exit_code"),
    "reply_pages": ("llmspell_kernel.client", "reply_pages"),
    "StdinInput": ("llmspell_kernel.stdin_input", "StdinInput"),
    # files commands write: atomically, one-line errors
    "make_private_file": ("llmspell_kernel.files", "make_private_file"),
    "make_temporary": ("llmspell_kernel.files", "make_temporary"),
    "write_chunks_atomically": ("llmspell_kernel.files", "write_chunks_atomically"),
    "write_text_atomically": ("llmspell_kernel.files", "write_text_atomically"),
    "DataClient": ("llmspell_kernel.data_client", "DataClient"),
    "DebugConsole": ("llmspell_kernel.debug.console", "DebugConsole"),
    "RemoteDebugger": ("llmspell_kernel.debug.remote", "RemoteDebugger"),
    "ResumeAction": ("llmspell_kernel.debug.session", "ResumeAction"),
    # keys of providers (`llmspell keys`)
    "KeyStore": ("llmspell_kernel.keys", "KeyStore"),
    "provider_name": ("llmspell_kernel.keys", "provider_name"),
    "list_keys": ("llmspell_kernel.keys", "list_keys"),
    # logging (`--trace`)
    "configure_logging": ("llmspell_kernel.logs", "configure"),
    "logging_enabled_for": ("llmspell_kernel.logs", "enabled_for"),
    # the Lua reference (`llmspell help lua`) and values shown as Lua literals
    "lua_documented_names": ("llmspell_kernel.lua.docs", "documented_names"),
    "lua_doc_entries": ("llmspell_kernel.lua.docs", "entries"),
    "lua_overview": ("llmspell_kernel.lua.docs", "overview"),
    "lua_reference_of": ("llmspell_kernel.lua.docs", "reference_of"),
    "lua_literal": ("llmspell_kernel.lua.literal", "lua_literal"),
    "transcript_script": ("llmspell_kernel.lua.transcript", "transcript_script"),
    # kernel services: start, readiness, status, stop (`llmspell kernel`)
    "check_start": ("llmspell_kernel.manager", "check_start"),
    "interrupt_kernel": ("llmspell_kernel.manager", "interrupt_kernel"),
    "kernel_overview": ("llmspell_kernel.manager", "kernel_overview"),
    "list_running": ("llmspell_kernel.manager", "list_running"),
    "only_kernel_connection_file": ("llmspell_kernel.manager", "only_kernel_connection_file"),
    "reachable_warning": ("llmspell_kernel.manager", "reachable_warning"),
    "select_kernels": ("llmspell_kernel.manager", "select_kernels"),
    "serve_until_stopped": ("llmspell_kernel.manager", "serve_until_stopped"),
    "service_settings": ("llmspell_kernel.manager", "service_settings"),
    "start_daemon": ("llmspell_kernel.manager", "start_daemon"),
    "start_service": ("llmspell_kernel.manager", "start_service"),
    "stop_kernel": ("llmspell_kernel.manager", "stop_kernel"),
    "install_kernelspec": ("llmspell_kernel.protocol.kernelspec", "install_kernelspec"),
    # sessions and state on the store (`llmspell session`, `llmspell state`)
    "replay_executions": ("llmspell_kernel.sessions.replay", "replay_executions"),
    "make_private_dirs": ("llmspell_kernel.state.database", "make_private_dirs"),
    "migrate_store": ("llmspell_kernel.state.migrate", "migrate_store"),
    "dump_state": ("llmspell_kernel.state.transfer", "dump"),
    "state_format_for": ("llmspell_kernel.state.transfer", "format_for"),
    "parse_state": ("llmspell_kernel.state.transfer", "parse"),
    # the tool catalogue (`llmspell tools`)
    "TOOL_CATALOGUE": ("llmspell_kernel.tools.catalogue", "CATALOGUE"),
    "tool_available": ("llmspell_kernel.tools.catalogue", "available"),
    # prices: the tables in force and `prices update`
    "PRICES_URL": ("llmspell_kernel.usage.price_update", "DEFAULT_URL"),
    "update_prices": ("llmspell_kernel.usage.price_update", "update"),
    "find_price": ("llmspell_kernel.usage.prices", "find_price"),
    "price_layers": ("llmspell_kernel.usage.prices", "layers_info"),
    "price_listing": ("llmspell_kernel.usage.prices", "listing"),
}


def __getattr__(name: str) -> object:
    """A `_LAZY` name: imported from its module now, then kept here."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = __import__(where[0], fromlist=[where[1]])
    value = getattr(module, where[1])
    globals()[name] = value
    return value


__all__ = [
    "AttachedKernel",
    "attach_kernel",
    "DataClient",
    "DebugConsole",
    "DebugStop",
    "EmbeddedKernel",
    "ErrorOutput",
    "ExecutionOutputs",
    "InputHandler",
    "KernelClient",
    "KeyStore",
    "RemoteDebugger",
    "ResumeAction",
    "Result",
    "StdinInput",
    "Stream",
    "PRICES_URL",
    "TOOL_CATALOGUE",
    "check_model_override",
    "check_start",
    "configure_logging",
    "connect_to_kernel",
    "exit_code",
    "dump_state",
    "find_price",
    "install_kernelspec",
    "interrupt_kernel",
    "kernel_overview",
    "kernel_settings_from_config",
    "list_keys",
    "list_running",
    "logging_enabled_for",
    "lua_doc_entries",
    "lua_documented_names",
    "lua_literal",
    "lua_overview",
    "lua_reference_of",
    "make_private_dirs",
    "make_private_file",
    "make_temporary",
    "migrate_store",
    "only_kernel_connection_file",
    "parse_state",
    "price_layers",
    "price_listing",
    "provider_name",
    "reachable_warning",
    "remote_debugger",
    "replay_executions",
    "reply_pages",
    "select_kernels",
    "serve_dap_stdio",
    "serve_dap_tcp",
    "serve_until_stopped",
    "service_settings",
    "start_daemon",
    "start_embedded_kernel",
    "start_kernel_service",
    "start_service",
    "state_format_for",
    "stop_kernel",
    "tool_available",
    "transcript_script",
    "update_prices",
    "write_chunks_atomically",
    "write_text_atomically",
]


class EmbeddedKernel:
    """A kernel living in this process behind the in-process queue transport."""

    def __init__(self, kernel: Kernel, transport: InProcessKernelTransport) -> None:
        self.kernel = kernel
        self.transport = transport

    def client(self, *, input_handler: InputHandler | None = None, **kwargs: Any) -> KernelClient:
        """A new client of this kernel (several may share it)."""
        from llmspell_kernel.client import KernelClient

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
    from llmspell_kernel.config import configure
    from llmspell_kernel.events.settings import EventSettings
    from llmspell_kernel.kernel.server import KernelSettings
    from llmspell_kernel.lua.engine import EngineSettings
    from llmspell_kernel.state.settings import DataSettings
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


def kernel_events(
    connection: str,
    poll_seconds: float = 0.5,
    *,
    event_type: str | None = None,
    correlation: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The events a running kernel publishes on IOPub from now on (every client's executions),
    as event tables, those of type glob `event_type` and correlation id `correlation` if given;
    runs until the caller stops iterating (the connection closes then)."""
    from fnmatch import fnmatchcase

    from llmspell_kernel.kernel.server import EVENTS_COMM_ID

    client = connect_to_kernel(connection)
    arrived: list[dict[str, Any]] = []

    def collect(_channel: str, msg: Any) -> None:
        content = msg.get("content") or {}
        if msg["header"].get("msg_type") == "comm_msg" and content.get("comm_id") == EVENTS_COMM_ID:
            event = (content.get("data") or {}).get("llmspell_event")
            if not isinstance(event, dict):
                return
            if event_type and not fnmatchcase(str(event.get("event_type")), event_type):
                return
            if correlation and event.get("correlation_id") != correlation:
                return
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
    from llmspell_kernel.kernel.server import Kernel
    from llmspell_kernel.transport.inprocess import InProcessKernelTransport

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


def check_model_override(config: Config) -> None:
    """A model override (`--model-override`, providers.model_override) that names no provider
    is a usage error before anything runs."""
    from llmspell_kernel.errors import LlmspellError, UsageError
    from llmspell_kernel.providers.resolve import ProviderSettings, resolve_endpoint

    spec = config.providers.model_override
    try:
        resolve_endpoint(None, settings=ProviderSettings.from_config(config))
    except LlmspellError as exc:
        raise UsageError(f"model override '{spec}': {exc.message}") from exc


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


def fresh_app_output_dir(name: str) -> Any:
    """A new directory for one run of the app `name` (or of "validation") under the user's
    data dir."""
    from llmspell_kernel.apps.catalogue import fresh_output_dir

    return fresh_output_dir(name)


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
    from llmspell_kernel.config import configure

    configure(config)


def read_rag_document(path: str) -> dict[str, Any]:
    """The document `llmspell rag ingest` takes from a file (text, markdown or PDF)."""
    from llmspell_kernel.rag.documents import read_document

    return read_document(path)


def rag_document_files(paths: Sequence[str]) -> list[str]:
    """The readable files under `paths` (directories recursively), in order."""
    from llmspell_kernel.rag.documents import expand_paths

    return expand_paths(paths)
