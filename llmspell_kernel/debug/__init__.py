"""The Lua debugger: one engine (session.py + hooks.lua) and its front ends (DAP, Jupyter)."""

from llmspell_kernel.debug.session import DebugError, Debugger

__all__ = ["DebugError", "Debugger"]
