"""The built-in tools, one module each; loaded on a tool's first call (catalogue.py lists them)."""
