"""Script-facing globals that every script sees (lua-api.md section 2)."""
