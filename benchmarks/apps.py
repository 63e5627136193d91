"""The nine applications on the bundled local model: per-app duration against the time spent in
the model's own calls (the reference: the rest is llmspell, the workflows and the app's Lua),
agent calls, tokens and peak RSS; the suite's wall time and RSS growth per round.

    python benchmarks/apps.py                  # one round (about 6-10 minutes)
    python benchmarks/apps.py --repeat 5       # five rounds in one process
    python benchmarks/apps.py --from report.json   # the tables of an `app validate --report json`
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table  # noqa: E402

MB = 1024 * 1024


def run_suite(repeat: int) -> dict[str, Any]:
    from llmspell_kernel import api

    with tempfile.TemporaryDirectory(prefix="llmspell-apps-bench-") as work:
        report = api.validate_apps(
            api.list_apps(), work_dir=Path(work), model_override="local/smollm2", repeat=repeat
        )
        return report.as_dict()


def print_report(data: dict[str, Any]) -> None:
    by_app: dict[str, list[dict[str, Any]]] = {}
    for entry in data["apps"]:
        by_app.setdefault(entry["name"], []).append(entry)
    rows = []
    for name, every in by_app.items():
        passed = sum(1 for r in every if r["passed"])
        runs = [r for r in every if r["passed"]] or every  # a failed run's times say nothing
        duration = statistics.median(r["duration_s"] for r in runs)
        provider = statistics.median(r.get("provider_time_s", 0.0) for r in runs)
        rows.append(
            [
                name,
                runs[0]["layer"],
                f"{passed}/{len(every)}",
                f"{duration:.1f}",
                f"{provider:.1f}",
                f"{duration - provider:.1f}",
                runs[0]["agent_calls"],
                f"{runs[0]['input_tokens']} / {runs[0]['output_tokens']}",
                f"{max(r['peak_rss_bytes'] for r in runs) / MB:.0f}",
            ]
        )
    print_table(
        "Applications on local/smollm2 (median over the passing rounds)",
        [
            "app",
            "layer",
            "passed",
            "duration s",
            "model calls s (summed)",
            "rest s",
            "agent calls",
            "tokens in / out",
            "peak RSS MB",
        ],
        rows,
    )
    layers = [
        [f"{layer['layer']} {layer['name']}", f"{layer['passed']}/{layer['runs']}",
         f"{layer['rate']:.0%}", f"{layer['target']:.0%}", "met" if layer["met"] else "MISSED"]
        for layer in data["layers"]
    ]  # fmt: skip
    print_table("Pass rate per layer", ["layer", "passed", "rate", "target", ""], layers)
    rounds = [
        [m["round"], f"{m['rss_before_bytes'] / MB:.1f}", f"{m['rss_after_bytes'] / MB:.1f}",
         f"{m['growth_bytes'] / MB:+.1f}"]
        for m in data["rounds"]
    ]  # fmt: skip
    print_table(
        "RSS of the process per round", ["round", "before MB", "after MB", "growth MB"], rounds
    )
    per_round = data["wall_time_s"] / max(1, len(data["rounds"]))
    print(f"\nsuite wall time {data['wall_time_s']:.0f} s ({per_round:.0f} s per round)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--from", dest="source", type=Path, help="an app validate JSON report")
    parser.add_argument("--html", type=Path, help="also write the report as an HTML page")
    options = parser.parse_args()
    data = json.loads(options.source.read_text()) if options.source else run_suite(options.repeat)
    print_report(data)
    if options.html:
        from llmspell_kernel.apps.report import render_html

        options.html.write_text(render_html(data), encoding="utf-8")


if __name__ == "__main__":
    main()
