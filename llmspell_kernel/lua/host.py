"""The one door between Python and script space: host functions that leak no Python object.

Every Python function the engine hands to Lua goes through `HostBridge`. Lua only ever sees a Lua
closure around it (the Python callable stays an upvalue of host code), and the closure returns
only Lua values and raises only string errors: a Python exception never reaches a script as a
lupa userdata, so a script never holds a Python object and never sees lupa's shared metatable
(which the bootstrap also locks with `__metatable`).

Memory: a host function that builds Lua values (a parsed JSON document, a loaded state value, an
artifact's content) must never hit the Lua allocator's limit from Python, because the resulting
Lua error would unwind through Cython frames and leave the interpreter locked (a deadlock at 0 %
CPU). So the limit is lifted while the function runs and restored before its results are pushed;
results that do not fit under the limit are dropped and reported as Lua's own "not enough memory".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lupa import lua54

from llmspell_kernel.errors import LlmspellError

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

lua_type = lua54.lua_type

# Room kept for what lupa allocates while pushing results (stack growth, small strings).
PUSH_SLACK = 64 * 1024

MEMORY = "memory"  # first value of a result that did not fit under the memory limit

_SHIM = """
local pcall, pack, unpack, error, type, tostring = pcall, table.pack, table.unpack, error, type, tostring
local MEMORY = ...
return function(fn, name)
  local function finish(ok, first, ...)
    if ok then
      if first == true then
        return ...
      end
      if first == MEMORY then
        error("not enough memory", 0)
      end
      error(first, 0)
    end
    -- lupa failed before or after the guarded call (an argument it could not convert)
    if type(first) ~= "string" then
      first = name .. ": " .. tostring(first)
    end
    error(first, 0)
  end
  return function(...)
    return finish(pcall(fn, ...))
  end
end
"""

_PLAIN = (str, bytes, bool, int, float, type(None))


def error_text(name: str, exc: BaseException) -> str:
    """One line naming the API and the cause of a host failure (what Lua is told)."""
    if isinstance(exc, LlmspellError):
        return f"{name}: {exc.message}"
    if isinstance(exc, RecursionError):
        return f"{name}: value nested too deeply"
    if isinstance(exc, UnicodeError):
        return f"{name}: strings must be valid UTF-8"
    return f"{name}: {type(exc).__name__}: {exc}"


class HostBridge:
    """Wraps Python callables for one Lua runtime (see the module docstring)."""

    def __init__(self, runtime: Any, max_memory: int) -> None:
        self.runtime = runtime
        self.max_memory = max_memory  # the configured limit; 0: none
        # The limit in force now: the engine applies it only while script code runs, so that
        # the host's own allocations (arguments, compiled chunks) can never fail (a Lua panic).
        self.active_limit = 0
        if max_memory:
            runtime.set_max_memory(0)
        self._make = runtime.execute(_SHIM, MEMORY)

    def apply_limit(self, on: bool) -> None:
        """Enforce the configured memory limit (script code runs) or lift it (host code runs)."""
        limit = self.max_memory if on else 0
        if self.max_memory and limit != self.active_limit:
            self.runtime.set_max_memory(limit)
        self.active_limit = limit

    def over_limit(self) -> bool:
        """True when the Lua heap holds more than the configured limit."""
        return bool(self.max_memory) and self.runtime.get_memory_used() > self.max_memory

    def function(self, fn: Callable[..., Any], name: str, *, builds: bool = True) -> Any:
        """A Lua function calling `fn`; `builds=False` for functions that allocate no Lua values
        (the memory limit then stays in force while they run, e.g. debugger callbacks that may
        evaluate script code while paused)."""
        return self._make(self._guard(fn, name, builds), name)

    def table(
        self, functions: Mapping[str, Callable[..., Any]], prefix: str = "", **kw: Any
    ) -> Any:
        """A Lua table of wrapped functions, named `prefix + key` in error messages."""
        return self.runtime.table_from(
            {key: self.function(fn, prefix + key, **kw) for key, fn in functions.items()}
        )

    def _guard(self, fn: Callable[..., Any], name: str, lift: bool) -> Callable[..., Any]:
        runtime = self.runtime
        bridge = self

        def call(*args: Any) -> tuple[Any, ...]:
            limit = bridge.active_limit
            if lift and limit:
                runtime.set_max_memory(0)
            try:
                result = fn(*args)
            except (MemoryError, lua54.LuaMemoryError):
                return (MEMORY,)
            except Exception as exc:  # everything: no Python exception may reach Lua
                return (error_text(name, exc),)
            finally:
                if lift and limit:
                    runtime.set_max_memory(limit)
            values = result if type(result) is tuple else (result,)
            pushed = 0
            safe: list[Any] = [True]
            for value in values:
                if type(value) is str:
                    try:
                        data = value.encode("utf-8")
                    except UnicodeEncodeError:  # lone surrogates (JSON "\ud800"): U+FFFD
                        import re

                        data = re.sub("[\ud800-\udfff]", "\ufffd", value).encode("utf-8")
                    pushed += len(data)
                    safe.append(data)  # pushed as is: no second encoding by lupa
                elif isinstance(value, _PLAIN) or lua_type(value) is not None:
                    if type(value) is bytes:
                        pushed += len(value)
                    safe.append(value)
                else:  # a bug in host code; never hand the object over
                    return (f"{name}: host returned a {type(value).__name__}",)
            if limit and runtime.get_memory_used() + pushed + PUSH_SLACK > limit:
                return (MEMORY,)
            return tuple(safe)

        return call


def answer(fn: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """`fn` answering `(true, value)` or `(false, one-line message)`, never raising: for host
    functions whose Lua side raises the message with the script's position itself."""

    def call(*args: Any) -> tuple[Any, ...]:
        try:
            return True, fn(*args)
        except LlmspellError as exc:
            return False, exc.message
        except Exception as exc:  # a bug or an OS failure must not escape into lupa
            return False, f"{type(exc).__name__}: {exc}"

    return call
