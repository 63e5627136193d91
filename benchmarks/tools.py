"""Tools (issue 14, Measure): the first call of each built-in tool in a fresh process (its module
and library loading) and the per-call overhead of Tool.invoke over calling the same Python
function directly, in the same run.

    python benchmarks/tools.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import median, percentile  # noqa: E402

# One ordinary call per tool (no network: the NET tools are refused by their gate before I/O,
# which still loads their modules; service_checker probes a closed local port).
CALLS = {
    "file_operations": {"operation": "exists", "path": "/tmp"},
    "hash_calculator": {"operation": "hash", "input": "abc"},
    "uuid_generator": {"operation": "generate"},
    "base64_encoder": {"operation": "encode", "input": "abc"},
    "text_manipulator": {"operation": "uppercase", "input": "abc"},
    "template_engine": {"input": "{{ a }}", "context": {"a": 1}},
    "date_time_handler": {"operation": "parse", "input": "March 5, 2024"},
    "calculator": {"input": "2 + 2 * 3"},
    "environment_reader": {"operation": "get", "variable_name": "HOME"},
    "process_executor": {"executable": "true"},
    "service_checker": {"target": "127.0.0.1:9", "timeout_ms": 200},
    "json_processor": {"input": {"a": [1, 2]}, "query": ".a[]"},
    "data_validation": {"input": {"a": 1}, "schema": {"type": "object"}},
    "diff_calculator": {"old_text": "a\n", "new_text": "b\n"},
    "http_request": {"input": "http://127.0.0.1:9/"},
    "webhook-caller": {"input": "http://127.0.0.1:9/"},
    "archive_handler": {"operation": "list", "path": "/tmp/llmspell-bench-absent.zip"},
    "file_search": {"path": "/tmp", "pattern": "llmspell-bench-absent-*", "max_depth": 1},
    "file_converter": {"operation": "detect", "path": "/tmp/llmspell-bench-absent.txt"},
    "csv_analyzer": {"input": "a,b\n1,2\n"},
    "database-connector": {"database": ":memory:", "query": "SELECT 1"},
    "citation-formatter": {
        "input": [{"title": "Dune", "author": "Herbert, Frank", "issued": 1965}]
    },
    "system_monitor": {"operation": "memory"},  # only where psutil is installed
}

_FIRST_CALL = r"""
import json, sys, time
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.tools.settings import ToolSettings
spawn = sys.argv[1] == "process_executor"
engine = LuaEngine(EngineSettings(tools=ToolSettings(allow_process_spawn=spawn)))
engine.execute("params = " + sys.argv[2])
# What every tool shares (registry, catalogue, invocation, gates), loaded by another tool's call.
other = "text_manipulator" if sys.argv[1] == "environment_reader" else "environment_reader"
warm = "Tool.invoke('%s', {operation = 'get', variable_name = 'HOME', input = 'x'})" % other
started = time.perf_counter(); engine.execute(warm); shared = time.perf_counter() - started
code = "local ok = pcall(Tool.invoke, '%s', params)" % sys.argv[1]
started = time.perf_counter(); engine.execute(code); first = time.perf_counter() - started
started = time.perf_counter(); engine.execute(code); second = time.perf_counter() - started
print(json.dumps([shared, first, second]))
"""


def lua_table(value: object) -> str:
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"[{json.dumps(k)}] = {lua_table(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "{" + ", ".join(lua_table(v) for v in value) + "}"
    return json.dumps(value)


def first_calls(runs: int) -> None:
    print(f"First call of each tool in a fresh process (median of {runs}; ms)")
    print(f"{'tool':<20}{'first call':>12}{'second call':>13}{'first - second':>16}")
    shared_all: list[float] = []
    for name, params in CALLS.items():
        firsts, seconds = [], []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL, name, lua_table(params)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            shared, first, second = json.loads(out)
            shared_all.append(shared * 1000)
            firsts.append(first * 1000)
            seconds.append(second * 1000)
        f, s = median(firsts), median(seconds)
        print(f"{name:<20}{f:>12.2f}{s:>13.3f}{f - s:>16.2f}")
    print(
        f"(before these: the first tool call of a process, loading what all tools share, "
        f"{median(shared_all):.2f} ms median)"
    )


def overhead(calls: int) -> None:
    from llmspell_kernel.lua.engine import LuaEngine
    from llmspell_kernel.tools.base import Params

    engine = LuaEngine()
    engine.execute("Tool.invoke('hash_calculator', {input = 'x'})")
    tools = engine.tools
    print(f"\nTool.invoke overhead over the direct Python call ({calls} calls, µs per call)")
    print(f"{'tool':<20}{'direct':>10}{'Tool.invoke':>13}{'overhead':>10}{'p95 invoke':>12}")
    for name, params in (
        ("hash_calculator", {"operation": "hash", "input": "abc"}),
        ("uuid_generator", {"operation": "generate"}),
        ("text_manipulator", {"operation": "uppercase", "input": "abc"}),
    ):
        entry = tools.registry.entry(name)
        fn, context = entry.function(), tools.context
        direct, invoked = [], []
        engine.execute("params = " + lua_table(params))
        loop = engine.compile_only(
            f"local I, p = Tool.invoke, params for _ = 1, 100 do I('{name}', p) end"
        )[0]
        for _ in range(calls // 100):
            started = time.perf_counter()
            for _ in range(100):
                fn(Params(dict(params)), context)
            direct.append((time.perf_counter() - started) / 100 * 1e6)
            started = time.perf_counter()
            engine.api.run(loop)
            invoked.append((time.perf_counter() - started) / 100 * 1e6)
        d, i = median(direct), median(invoked)
        print(f"{name:<20}{d:>10.2f}{i:>13.2f}{i - d:>10.2f}{percentile(invoked, 0.95):>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    os.environ.setdefault("HOME", tempfile.mkdtemp(prefix="llmspell-bench-"))
    first_calls(args.runs)
    overhead(args.calls)


if __name__ == "__main__":
    main()
