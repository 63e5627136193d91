"""llmspell kernel: a Jupyter-protocol kernel that runs Lua scripts (Lua 5.4 through lupa)."""

__version__ = "0.9.0"
