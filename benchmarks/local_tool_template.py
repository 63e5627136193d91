"""The bundled local model's chat template with tools against the one in SmolLM2's GGUF.

`python benchmarks/local_tool_template.py [--pairs N]` starts llama.cpp's server on SmolLM2-135M
in a fresh process per run, alternating the reference (the GGUF's own template, what llmspell
used before: a request's tools were left out of the prompt) and the bundled Hermes-style
template (`llmspell_kernel/data/smollm2-tools.jinja`, what `local/smollm2` uses now), N pairs
interleaved so machine load hits both alike; medians. Per run: the server's start (model load
to listening), a chat request without tools and the same request with one tool (its prompt
tokens show whether the tool reached the model), 16 tokens each at temperature 0, one thread.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import median, print_table  # noqa: E402

ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather of a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def child(bundled: bool) -> dict[str, object]:
    import httpx

    from llmspell_kernel.providers import local

    if not bundled:
        local.TEMPLATES = {}  # the GGUF's own template
    t0 = time.perf_counter()
    server, url = local._start(local.model_file("smollm2"))
    started = time.perf_counter() - t0

    def ask(**extra: object) -> tuple[float, int, int]:
        t = time.perf_counter()
        reply = httpx.post(
            url + "/v1/chat/completions",
            json={"messages": ASK, "temperature": 0, "max_tokens": 16, **extra},
            timeout=600,
        )
        reply.raise_for_status()
        usage = reply.json()["usage"]
        return time.perf_counter() - t, usage["prompt_tokens"], reply.status_code

    plain = ask()
    tooled = ask(tools=TOOLS)
    del server
    return {"start": started, "plain": plain, "tooled": tooled}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--child", choices=["gguf", "bundled"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child == "bundled")))
        return
    runs: dict[str, list[dict]] = {"gguf": [], "bundled": []}
    for i in range(args.pairs):
        order = ("gguf", "bundled") if i % 2 == 0 else ("bundled", "gguf")
        for kind in order:
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = []
    for kind, label in (
        ("gguf", "GGUF's template (reference, before)"),
        ("bundled", "bundled (now)"),
    ):
        r = runs[kind]
        rows.append(
            [
                label,
                f"{median([x['start'] for x in r]):.2f}",
                f"{median([x['plain'][0] for x in r]):.2f} ({r[0]['plain'][1]})",
                f"{median([x['tooled'][0] for x in r]):.2f} ({r[0]['tooled'][1]})",
                f"HTTP {r[0]['tooled'][2]}",
            ]
        )
    print_table(
        f"SmolLM2-135M server, one thread: medians of {args.pairs} interleaved pairs",
        [
            "chat template",
            "server start s",
            "request without tools s (prompt tokens)",
            "same with 1 tool s (prompt tokens)",
            "tools request",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
