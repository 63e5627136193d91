"""LLM agents: configuration, conversation memory, one turn at a time (the Lua side drives the
tool-calling loop so tool functions and stream callbacks run on the script's own thread)."""
