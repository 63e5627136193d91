"""The public entry points: start an embedded kernel (and later a service, or connect to one)."""

from __future__ import annotations

from llmspell_kernel.client import InputHandler, KernelClient
from llmspell_kernel.kernel.server import Kernel, KernelSettings
from llmspell_kernel.lua.engine import EngineSettings
from llmspell_kernel.state.settings import DataSettings
from llmspell_kernel.transport.inprocess import InProcessKernelTransport

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
    )
    return KernelSettings(
        engine=engine,
        script_timeout=float(config.runtime.script_timeout_seconds or 0),
        history_size=int(config.kernel.history_size),
        max_message_bytes=int(config.kernel.max_message_bytes),
    )


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
