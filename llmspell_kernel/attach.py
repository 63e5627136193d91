"""Where a front end's code runs: a kernel already running (named by any connection string) or
one embedded in this process, made from the effective configuration. Either way the front end
gets one KernelClient and one close(); the commands never care which."""

from __future__ import annotations

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from llmspell_kernel.api import EmbeddedKernel
    from llmspell_kernel.client import InputHandler, KernelClient
    from llmspell_kernel.config import Config


class AttachedKernel:
    """A connected KernelClient (`mode` "connected" or "embedded") plus what must be cleaned
    up afterwards."""

    def __init__(
        self, client: KernelClient, mode: str, embedded: EmbeddedKernel | None = None
    ) -> None:
        self.client = client
        self.mode = mode
        self._embedded = embedded

    def close(self) -> None:
        """Disconnect; an embedded kernel is shut down."""
        self.client.close()
        if self._embedded is not None:
            self._embedded.shutdown()

    def __enter__(self) -> AttachedKernel:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def attach_kernel(
    connect: str | None,
    load_config: Callable[[], Config],
    *,
    model_override: str | None = None,
    input_handler: InputHandler | None = None,
    script_timeout: float | None = None,
    debug_level: str | None = None,
    on_stuck: Callable[[str], None] | None = None,
) -> AttachedKernel:
    """The running kernel `connect` names (fails within a few seconds), else an embedded kernel
    configured by `load_config()`: with `script_timeout` instead of the configured one if given,
    the Lua `Debug` level `debug_level`, and `on_stuck(reason)` called when a script ignores an
    interrupt. A running kernel has its own configuration: `model_override` travels with each
    execution instead."""
    if connect is not None:
        from llmspell_kernel.service import connect_to_kernel

        client = connect_to_kernel(connect, input_handler=input_handler)
        client.model_override = model_override
        return AttachedKernel(client, "connected")
    from llmspell_kernel.api import kernel_settings_from_config, start_embedded_kernel

    settings = kernel_settings_from_config(load_config(), debug_level=debug_level)
    settings.engine.on_stuck = on_stuck
    if script_timeout is not None:
        settings.script_timeout = script_timeout
    kernel = start_embedded_kernel(settings)
    return AttachedKernel(kernel.client(input_handler=input_handler), "embedded", kernel)
