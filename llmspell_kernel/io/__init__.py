"""The process's one I/O loop: an asyncio event loop thread that owns every network client."""

from llmspell_kernel.io.runtime import (
    Interruptible,
    IOInterrupted,
    IORuntime,
    IOTimeout,
    io_runtime,
)

__all__ = ["IOInterrupted", "IORuntime", "IOTimeout", "Interruptible", "io_runtime"]
