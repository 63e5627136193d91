"""Hook points and hook chains (lua-api.md 2.6): the 23 script-facing points, the kernel's
PreExecute/PostExecute/PreDebug/StateChange points for Python extensions, and the registry
both Lua and Python hooks are listed in."""
