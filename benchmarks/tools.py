"""Tools (issue 14, Measure): the first call of each built-in tool in a fresh process (its module
and library loading) and the per-call overhead of Tool.invoke over calling the same Python
function directly, in the same run.

    python benchmarks/tools.py [--runs N]
    python benchmarks/tools.py --baseline DIR [--tools a,b] [--runs N]

--baseline DIR: the first calls of this checkout against another copy of the package (e.g.
`git archive <commit> llmspell_kernel | tar -x -C DIR`), in paired fresh processes whose order
alternates, both with compiled bytecode; medians of the first - second call differences.
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
    # The NET tools below are refused by their gate (this machine) or their parameters before
    # any request, after their modules loaded; the others read small files made by main().
    "web_search": {"input": "lua", "search_type": "news"},
    "web-scraper": {"html": "<html><body><p class='a'>hi</p></body></html>", "selector": "p"},
    "url-analyzer": {"input": "https://example.org/a/b.html?x=1"},
    "webpage-monitor": {"html": "<p>hi</p>", "previous_content": "ho"},
    "sitemap-crawler": {"input": "http://127.0.0.1:9/sitemap.xml"},
    "api-tester": {"input": "http://127.0.0.1:9/"},
    "graphql_query": {"input": "http://127.0.0.1:9/", "query": "{ a }"},
    "email-sender": {"to": "a@example.org", "subject": "s", "body": "b"},
    "pdf-processor": {"operation": "info", "path": "{dir}/bench.pdf"},
    "file_watcher": {"path": "{dir}", "timeout_seconds": 0},
    "graph-builder": {"operation": "analyze", "graph": {"edges": [["a", "b"], ["b", "c"]]}},
    "image_processor": {"operation": "info", "path": "{dir}/bench.png"},  # llmspell[media]
    "audio_processor": {"path": "{dir}/bench.wav"},  # llmspell[media]
    "video_processor": {"file_path": "{dir}/bench.mp4"},  # llmspell[media]
}

# The library of each tool whose own loading is more than a few ms, as the tool's first call
# loads it: timed alone in a fresh process under the same conditions (after the shared first
# call), in the same run, so a table shows the library's own cost next to the tool's first
# call (what is left is the tool's share). Image.preinit() is what Image.open runs first: it
# imports Pillow's five common format plugins.
LIBRARIES = {
    "template_engine": "import jinja2.sandbox",
    "date_time_handler": "import dateutil.parser",
    "process_executor": "import subprocess",
    "data_validation": "import jsonschema",
    "citation-formatter": "import citeproc",
    "system_monitor": "import psutil",
    "web-scraper": "import selectolax.lexbor",
    "webpage-monitor": "import selectolax.lexbor",
    "pdf-processor": "import pypdf",
    "image_processor": "from PIL import Image; Image.preinit()",
    "audio_processor": "import mutagen.wave",
    "video_processor": "import av",
}


def _files(directory: str) -> None:
    """A one-page PDF, a 2x2 PNG, a short WAV and (with PyAV) a one-second MP4 for the file
    tools' first calls."""
    import struct
    import wave
    import zlib

    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    pdf, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(pdf)
    pdf += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    pdf += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    pdf += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    with open(os.path.join(directory, "bench.pdf"), "wb") as out:
        out.write(pdf)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    pixels = zlib.compress(b"\x00\xff\x00\x00\xff\x00\x00" * 2)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    with open(os.path.join(directory, "bench.png"), "wb") as out:
        out.write(png)
    with wave.open(os.path.join(directory, "bench.wav"), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\x00\x00" * 800)
    try:
        import av
    except ImportError:
        return
    video = av.open(os.path.join(directory, "bench.mp4"), "w")
    stream = video.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
    for index in range(10):
        frame = av.VideoFrame(32, 24, "rgb24")
        frame.planes[0].update(bytes([index * 20, 0, 0]) * (32 * 24))
        frame.pts = index
        for packet in stream.encode(frame):
            video.mux(packet)
    for packet in stream.encode():
        video.mux(packet)
    video.close()


_SHARED = r"""
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
"""

# The library alone (the statement argv[3]), loaded where the tool's first call would be.
_LIBRARY_IMPORT = (
    _SHARED
    + r"""
library = compile(sys.argv[3], "<library>", "exec")
started, cpu = time.perf_counter(), time.process_time(); exec(library)
print(json.dumps([time.perf_counter() - started, time.process_time() - cpu]))
"""
)

_FIRST_CALL = (
    _SHARED
    + r"""
code = "local ok = pcall(Tool.invoke, '%s', params)" % sys.argv[1]
started, cpu = time.perf_counter(), time.process_time(); engine.execute(code)
first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
started, cpu = time.perf_counter(), time.process_time(); engine.execute(code)
second, second_cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps([shared, first, second, first_cpu, second_cpu]))
"""
)


def library_import(name: str, params: str, cwd: str | None = None) -> float:
    """CPU ms of loading the tool's library alone (LIBRARIES) in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _LIBRARY_IMPORT, name, params, LIBRARIES[name]],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    ).stdout
    return json.loads(out)[1] * 1000


def _filled(value: object, directory: str) -> object:
    if isinstance(value, str):
        return value.replace("{dir}", directory)
    if isinstance(value, dict):
        return {k: _filled(v, directory) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, directory) for v in value]
    return value


def lua_table(value: object) -> str:
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"[{json.dumps(k)}] = {lua_table(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "{" + ", ".join(lua_table(v) for v in value) + "}"
    return json.dumps(value)


def first_calls(runs: int, directory: str, names: list[str]) -> None:
    print(f"First call of each tool in a fresh process (median of {runs}; ms)")
    print(
        f"{'tool':<20}{'first call':>12}{'second call':>13}{'first - second':>16}"
        f"{'CPU first - second':>20}{'library CPU':>13}  library"
    )
    shared_all: list[float] = []
    for name in names:
        params = lua_table(_filled(CALLS[name], directory))
        firsts, seconds, cpu, library = [], [], [], []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL, name, params],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            shared, first, second, first_cpu, second_cpu = json.loads(out)
            shared_all.append(shared * 1000)
            firsts.append(first * 1000)
            seconds.append(second * 1000)
            cpu.append((first_cpu - second_cpu) * 1000)
            if name in LIBRARIES:
                library.append(library_import(name, params))
        f, s = median(firsts), median(seconds)
        reference = f"{median(library):>13.2f}  {LIBRARIES[name]}" if library else ""
        print(f"{name:<20}{f:>12.2f}{s:>13.3f}{f - s:>16.2f}{median(cpu):>20.2f}{reference}")
    print(
        f"(before these: the first tool call of a process, loading what all tools share, "
        f"{median(shared_all):.2f} ms median; library CPU: that library alone, loaded where "
        "the first call would be, in a fresh process of its own each time)"
    )


def _first_minus_second(name: str, params: str, cwd: str) -> tuple[float, float, float]:
    """(first - second call wall ms, the same in CPU ms, the process's shared first call ms)."""
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL, name, params],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,  # `python -c` imports the package from its working directory
    ).stdout
    shared, first, second, first_cpu, second_cpu = json.loads(out)
    return (first - second) * 1000, (first_cpu - second_cpu) * 1000, shared * 1000


def paired(baseline: str, names: list[str], runs: int, directory: str) -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(
        f"First call, baseline {baseline} against this checkout: {runs} interleaved pairs of "
        "fresh processes (medians; first - second call, ms; library CPU: the tool's library "
        "alone, loaded where the first call would be, in a third process each time)"
    )
    print(
        f"{'tool':<20}{'before wall':>12}{'after wall':>12}{'before CPU':>12}{'after CPU':>12}"
        f"{'library CPU':>13}  library"
    )
    shared_before: list[float] = []
    shared_after: list[float] = []
    for name in names:
        params = lua_table(_filled(CALLS[name], directory))
        before: list[tuple[float, float, float]] = []
        after: list[tuple[float, float, float]] = []
        library: list[float] = []
        for index in range(runs):
            order = ((baseline, before), (here, after))
            for cwd, into in order if index % 2 == 0 else order[::-1]:
                into.append(_first_minus_second(name, params, cwd))
            if name in LIBRARIES:
                library.append(library_import(name, params, here))
        reference = f"{median(library):>13.2f}  {LIBRARIES[name]}" if library else ""
        print(
            f"{name:<20}{median([w for w, _, _ in before]):>12.2f}"
            f"{median([w for w, _, _ in after]):>12.2f}{median([c for _, c, _ in before]):>12.2f}"
            f"{median([c for _, c, _ in after]):>12.2f}{reference}"
        )
        shared_before.extend(s for _, _, s in before)
        shared_after.extend(s for _, _, s in after)
    print(
        f"(before these, in the same processes: the first tool call of a process, loading what "
        f"all tools share: {median(shared_before):.2f} ms before, {median(shared_after):.2f} ms "
        "after, median wall)"
    )


def overhead(calls: int) -> None:
    """Tool.invoke against the tool's function called directly, with the [events] system
    events of each call (tool.started/completed: the default) and without them. Wall time,
    and this thread's CPU time (what a loaded machine inflates least)."""
    from llmspell_kernel.events.settings import EventSettings
    from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
    from llmspell_kernel.tools.base import Params

    print(f"\nTool.invoke overhead over the direct Python call ({calls} calls, µs per call)")
    print(
        f"{'tool':<20}{'events':>8}{'direct':>10}{'Tool.invoke':>13}{'overhead':>10}"
        f"{'p95 invoke':>12}{'CPU overhead':>14}"
    )
    for events in (False, True):
        engine = LuaEngine(EngineSettings(events=EventSettings(enabled=events)))
        engine.execute("Tool.invoke('hash_calculator', {input = 'x'})")
        tools = engine.tools
        for name, params in (
            ("hash_calculator", {"operation": "hash", "input": "abc"}),
            ("uuid_generator", {"operation": "generate"}),
            ("text_manipulator", {"operation": "uppercase", "input": "abc"}),
        ):
            entry = tools.registry.entry(name)
            fn, context = entry.function(), tools.context
            direct, invoked, direct_cpu, invoked_cpu = [], [], [], []
            engine.execute("params = " + lua_table(params))
            loop = engine.compile_only(
                f"local I, p = Tool.invoke, params for _ = 1, 100 do I('{name}', p) end"
            )[0]
            for _ in range(calls // 100):
                started, cpu = time.perf_counter(), time.thread_time()
                for _ in range(100):
                    fn(Params(dict(params)), context)
                direct.append((time.perf_counter() - started) / 100 * 1e6)
                direct_cpu.append((time.thread_time() - cpu) / 100 * 1e6)
                started, cpu = time.perf_counter(), time.thread_time()
                engine.api.run(loop)
                invoked.append((time.perf_counter() - started) / 100 * 1e6)
                invoked_cpu.append((time.thread_time() - cpu) / 100 * 1e6)
            d, i = median(direct), median(invoked)
            cpu_overhead = median(invoked_cpu) - median(direct_cpu)
            print(
                f"{name:<20}{'on' if events else 'off':>8}{d:>10.2f}{i:>13.2f}{i - d:>10.2f}"
                f"{percentile(invoked, 0.95):>12.2f}{cpu_overhead:>14.2f}"
            )


def embedded(calls: int, runs: int) -> None:
    """Tool.invoke in a loop through the kernel embedded in the CLI (what `llmspell run` runs),
    process CPU per call (every thread: the kernel's, the events' writer, the client's): with
    one client, as the CLI has; with a second client transport that asks for other clients'
    traffic (then the kernel publishes each event on IOPub, as it did for every embedded run
    before, and the CLI's client reads them; the second's copies are drained untimed); and
    with the events off. Interleaved runs, medians."""
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.events.settings import EventSettings
    from llmspell_kernel.kernel.server import KernelSettings
    from llmspell_kernel.lua.engine import EngineSettings
    from llmspell_kernel.state.settings import DataSettings

    loop = (
        "local p = {operation = 'encode', input = 'x'} "
        f"for _ = 1, {calls} do Tool.invoke('base64_encoder', p) end"
    )
    rows = [
        ("events on, one client (llmspell run)", True, False),
        ("events on, a second client showing others' traffic", True, True),
        ("events off", False, False),
    ]
    with tempfile.TemporaryDirectory(prefix="llmspell-bench-embedded-") as directory:
        kernels = []
        for index, (_label, events, watcher) in enumerate(rows):
            data = DataSettings(path=os.path.join(directory, f"{index}.db"))
            settings = EngineSettings(data=data, events=EventSettings(enabled=events))
            kernel = start_embedded_kernel(KernelSettings(engine=settings))
            client = kernel.client()
            second = None
            if watcher:  # a transport that asks for others' traffic, drained after each run
                second = kernel.transport.connect()
                second.wants_foreign = True
            client.execute(loop).wait()  # warm: the tool, the store
            kernels.append((kernel, client, second, []))
        for _ in range(runs):
            for _kernel, client, second, samples in kernels:
                started = time.process_time()
                client.execute(loop).wait()  # the client reads (and drops) the event messages
                samples.append((time.process_time() - started) / calls * 1e6)
                while second is not None and second.recv(0) is not None:
                    pass
        print(f"\nTool.invoke through the embedded kernel ({calls} calls a run, {runs} runs)")
        print(f"{'configuration':<54}{'process CPU µs/call':>20}")
        for (label, _events, _watcher), (kernel, client, second, samples) in zip(
            rows, kernels, strict=True
        ):
            print(f"{label:<54}{median(samples):>20.1f}")
            client.close()
            if second is not None:
                second.close()
            kernel.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--overhead-only", action="store_true", help="skip the first calls")
    parser.add_argument("--baseline", help="another copy of llmspell_kernel's parent directory")
    parser.add_argument("--tools", help="comma-separated tools (default: all)")
    args = parser.parse_args()
    os.environ.setdefault("HOME", tempfile.mkdtemp(prefix="llmspell-bench-"))
    for key in [k for k in os.environ if k.startswith(("WEBSEARCH_", "BRAVE_", "SERP"))]:
        del os.environ[key]  # web_search's first call must not reach a provider
    if not args.overhead_only:
        # As after a wheel install, which ships compiled bytecode: in an editable checkout under
        # PYTHONDONTWRITEBYTECODE=1 every fresh process would compile each tool's module from
        # source (~1-2 ms of its first call). Compiled once, as benchmarks/startup.py does.
        import compileall

        import llmspell_kernel

        compileall.compile_dir(os.path.dirname(llmspell_kernel.__file__), quiet=1)
        names = args.tools.split(",") if args.tools else list(CALLS)
        with tempfile.TemporaryDirectory(prefix="llmspell-bench-files-") as directory:
            _files(directory)
            if args.baseline:
                compileall.compile_dir(os.path.join(args.baseline, "llmspell_kernel"), quiet=1)
                paired(args.baseline, names, args.runs, directory)
                return
            first_calls(args.runs, directory, names)
    overhead(args.calls)
    embedded(10000, args.runs)


if __name__ == "__main__":
    main()
