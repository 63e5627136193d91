"""Interrupting running Lua from another thread without making normal execution slower.

Lua's own interpreter stops a script on SIGINT by calling `lua_sethook` from the signal handler:
the function only stores a few fields, so it may run while Lua executes. We do the same from the
kernel's control thread through ctypes: a count hook with count 1 is armed on the main Lua thread
and the hook (a Lua function installed once, see bootstrap.lua) raises the interrupt sentinel.
While no interrupt is pending the main thread has no hook at all, so pure-Lua code runs at full
speed. If the symbols are not available we fall back to a permanent count hook.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from llmspell_kernel.logs import get_logger

log = get_logger("llmspell.lua")

LUA_MASKCOUNT = 8


class AsyncHook:
    """Arms and disarms the interrupt hook of one Lua main thread from any Python thread."""

    def __init__(self, module_file: str, api: Any) -> None:
        self._lock = threading.Lock()
        self._so: Any = None
        self._state = 0
        self._hook = 0
        try:
            so = ctypes.CDLL(module_file)
            so.lua_sethook.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
            so.lua_sethook.restype = None
            so.lua_gethook.argtypes = [ctypes.c_void_p]
            so.lua_gethook.restype = ctypes.c_void_p
            address = str(api.main_thread_address())
            state = int(address.rsplit(" ", 1)[-1], 16)
            api.arm_interrupt_hook_once()
            hook = so.lua_gethook(state)
            api.store_interrupt_hook()
            if not hook:
                raise OSError("lua_gethook returned NULL")
            self._so, self._state, self._hook = so, state, hook
        except (OSError, AttributeError, ValueError) as exc:
            log.debug("asynchronous hooks unavailable (%s); using a permanent count hook", exc)
            api.enable_main_count_hook()

    @property
    def available(self) -> bool:
        """True when interrupts are armed asynchronously (no cost while none is pending)."""
        return self._so is not None

    def arm(self) -> None:
        """Make the main Lua thread raise the interrupt sentinel at its next instruction."""
        if self._so is not None:
            with self._lock:
                self._so.lua_sethook(self._state, self._hook, LUA_MASKCOUNT, 1)

    def disarm(self) -> None:
        """Remove the hook again (call from the executor thread once the run has ended)."""
        if self._so is not None:
            with self._lock:
                self._so.lua_sethook(self._state, None, 0, 0)
