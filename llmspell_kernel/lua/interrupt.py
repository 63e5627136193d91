"""Interrupting running Lua from another thread without making normal execution slower.

Lua's own interpreter stops a script on SIGINT by calling `lua_sethook` from the signal handler:
the function only stores a few fields, so it may run while Lua executes. We do the same from the
kernel's control thread through ctypes: a count hook with count 1 is armed on the main Lua thread
and the hook (a Lua function installed once, see bootstrap.lua) raises the interrupt sentinel.
While no interrupt is pending the main thread has no hook at all, so pure-Lua code runs at full
speed. ctypes (a few milliseconds to import, a tenth of a short `llmspell exec`) is loaded when the
first interrupt is armed: the Lua side keeps the hook installed on a coroutine that never runs, so
its C address can be read then from any thread. If the symbols are not available, that interrupt
is left to the engine's watchdog and later runs use a permanent count hook.
"""

from __future__ import annotations

import threading

from llmspell_kernel.logs import get_logger

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

log = get_logger("llmspell.lua")

LUA_MASKCOUNT = 8


class AsyncHook:
    """Arms and disarms the interrupt hook of one Lua main thread from any Python thread."""

    def __init__(self, module_file: str, api: Any) -> None:
        self._lock = threading.Lock()
        self._module_file = module_file
        self._so: Any = None
        self._failed = False
        main, donor = api.prepare_interrupt_hook()
        self._state = _address(main)
        self._donor = _address(donor)
        self._hook = 0

    def _resolve(self) -> bool:
        """Load the C functions and the hook's address once (under the lock)."""
        if self._so is None and not self._failed:
            try:
                import ctypes

                so = ctypes.CDLL(self._module_file)
                so.lua_sethook.argtypes = [
                    ctypes.c_void_p,
                    ctypes.c_void_p,
                    ctypes.c_int,
                    ctypes.c_int,
                ]
                so.lua_sethook.restype = None
                so.lua_gethook.argtypes = [ctypes.c_void_p]
                so.lua_gethook.restype = ctypes.c_void_p
                hook = so.lua_gethook(self._donor)
                if not hook:
                    raise OSError("lua_gethook returned NULL")
                self._so, self._hook = so, hook
            except (OSError, AttributeError, ValueError) as exc:
                log.debug("asynchronous hooks unavailable (%s); using a permanent count hook", exc)
                self._failed = True
        return self._so is not None

    @property
    def available(self) -> bool:
        """True when interrupts are armed asynchronously (no cost while none is pending)."""
        with self._lock:
            return self._resolve()

    @property
    def needs_count_hook(self) -> bool:
        """True once asynchronous hooks proved unavailable: the main thread needs a count hook."""
        return self._failed

    def arm(self) -> None:
        """Make the main Lua thread raise the interrupt sentinel at its next instruction."""
        with self._lock:
            if self._resolve():
                self._so.lua_sethook(self._state, self._hook, LUA_MASKCOUNT, 1)

    def disarm(self) -> None:
        """Remove the hook again (call from the executor thread once the run has ended)."""
        if self._so is not None:
            with self._lock:
                self._so.lua_sethook(self._state, None, 0, 0)


def _address(thread: Any) -> int:
    """The lua_State address in Lua's `tostring` of a thread ("thread: 0x...")."""
    return int(str(thread).rsplit(" ", 1)[-1], 16)
