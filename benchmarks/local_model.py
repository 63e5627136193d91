"""The bundled local model's server settings: context size and llama.cpp's host prompt cache.

`python benchmarks/local_model.py` starts llama.cpp's server on SmolLM2-135M three times, each in
a fresh process, and measures the process's RSS and the time of chat requests:

- the reference: `n_ctx` 4096 with llama.cpp's default prompt cache (`cache_ram_mib` 8192), what
  llmspell used before;
- `n_ctx` 8192 with the default cache;
- `n_ctx` 8192 with `cache_ram_mib` 256, what llmspell uses now.

In each: RSS before the server starts and after; a short prompt (the first call); a ~3,900-token
prompt (fits 4096) and a ~6,000-token one (only fits 8192); then distinct ~800-token prompts,
after which RSS shows how much the prompt cache kept. One llama.cpp thread, as llmspell runs it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import print_table  # noqa: E402

CONFIGS = [(4096, 8192, "reference (before)"), (8192, 8192, ""), (8192, 256, "now")]
SENTENCE = "The committee reviewed item {n} of the plan and noted its cost, owner and date. "


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def prompt(seed: int, sentences: int) -> str:
    body = "".join(SENTENCE.format(n=seed * 1000 + i) for i in range(sentences))
    return f"Document {seed}.\n{body}\nSummarise the document in one sentence."


def child(n_ctx: int, cache_mib: int, distinct: int) -> dict[str, object]:
    import httpx

    from llmspell_kernel.providers import local

    before = rss_mb()
    _server, url = local._start(local.model_file("smollm2"), n_ctx=n_ctx, cache_ram_mib=cache_mib)
    started = rss_mb()

    def ask(text: str) -> tuple[float, int | None, str]:
        t0 = time.perf_counter()
        reply = httpx.post(
            url + "/v1/chat/completions",
            json={
                "messages": [{"role": "user", "content": text}],
                "max_tokens": 16,
                "temperature": 0,
            },
            timeout=900,
        )
        elapsed = time.perf_counter() - t0
        if reply.status_code != 200:
            message = reply.json().get("error", {}).get("message", reply.text)
            return elapsed, None, message[:100]
        return elapsed, int(reply.json()["usage"]["prompt_tokens"]), "ok"

    short = ask("Say hello.")
    long4 = ask(prompt(1, 183))
    long6 = ask(prompt(2, 282))
    for seed in range(distinct):
        ask(prompt(10 + seed, 38))
    return {
        "rss_before": before,
        "rss_started": started,
        "short": short,
        "long4": long4,
        "long6": long6,
        "rss_after": rss_mb(),
    }


def run_child(n_ctx: int, cache_mib: int, distinct: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n_ctx), str(cache_mib), str(distinct)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cell(call: object) -> str:
    assert isinstance(call, list)  # [seconds, prompt tokens or None, status], from JSON
    elapsed, tokens, status = float(call[0]), call[1], str(call[2])
    if tokens is None:
        return f"refused: {status}"
    return f"{elapsed:.1f} s ({tokens} tokens)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--distinct", type=int, default=4, help="distinct ~800-token prompts")
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    rows = []
    for n_ctx, cache_mib, label in CONFIGS:
        r = run_child(n_ctx, cache_mib, args.distinct)
        base = float(r["rss_before"])  # type: ignore[arg-type]
        rows.append(
            [
                n_ctx,
                cache_mib,
                label,
                f"+{float(r['rss_started']) - base:.0f}",  # type: ignore[arg-type]
                cell(r["short"]),
                cell(r["long4"]),
                cell(r["long6"]),
                f"+{float(r['rss_after']) - base:.0f}",  # type: ignore[arg-type]
            ]
        )
    print_table(
        "SmolLM2-135M on llama.cpp's server, one thread",
        [
            "n_ctx",
            "cache_ram_mib",
            "",
            "RSS after start MB",
            "first call",
            "~3,900-token prompt",
            "~6,000-token prompt",
            f"RSS after {args.distinct} more prompts MB",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
