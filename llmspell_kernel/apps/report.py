"""Validation reports: the JSON document (also what `--compare` reads back) and one
self-contained HTML page with the per-app table and an SVG bar chart of durations."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from llmspell_kernel.apps.validation import SuiteReport
from llmspell_kernel.errors import UsageError

MB = 1024 * 1024


def load_report(path: Path) -> dict[str, Any]:
    """A report written by `--report json` (for `--compare`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not a validation report: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("apps"), list):
        raise UsageError(f"{path} is not a validation report (no 'apps' list)")
    return data


def write_report(report: SuiteReport, fmt: str, path: Path) -> None:
    """Write the report as `json` or `html`."""
    if fmt == "json":
        text = json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n"
    elif fmt == "html":
        text = render_html(report.as_dict())
    else:
        raise UsageError(f"--report must be json or html, got '{fmt}'")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:72rem;
color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:2rem 0 .6rem}
.meta{color:#5b6475;margin:0 0 1.2rem}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:1rem;font-weight:600;color:#fff}
.ok{background:#1f8a4c}.bad{background:#c0392b}
table{border-collapse:collapse;width:100%}th,td{padding:.45rem .6rem;text-align:left;
border-bottom:1px solid #e3e6ec;vertical-align:top}th{background:#f4f6f9;font-weight:600}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1f8a4c;font-weight:600}.fail{color:#c0392b;font-weight:600}
.checks{color:#5b6475;font-size:.85rem}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}
"""


def render_html(data: dict[str, Any]) -> str:
    """One page, no external resources, from a report's JSON document."""
    verdict = "all layers meet their targets" if data["passed"] else "targets missed"
    badge = "ok" if data["passed"] else "bad"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>llmspell application validation</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>llmspell application validation</h1>",
        f"<p class='meta'>{escape(data['started_at'])} &middot; model "
        f"{escape(data['model_override'] or 'as configured by each app')} &middot; "
        f"{len(data['rounds'])} round(s) &middot; wall time {data['wall_time_s']:.1f} s</p>",
        f"<p><span class='badge {badge}'>{escape(verdict)}</span></p>",
        "<h2>Layers</h2><table><tr><th>Layer</th><th class='num'>Runs</th>"
        "<th class='num'>Passed</th><th class='num'>Pass rate</th><th class='num'>Target</th>"
        "<th></th></tr>",
    ]
    for layer in data["layers"]:
        mark = (
            "<span class='pass'>met</span>" if layer["met"] else "<span class='fail'>missed</span>"
        )
        parts.append(
            f"<tr><td>{layer['layer']} &middot; {escape(layer['name'])}</td>"
            f"<td class='num'>{layer['runs']}</td><td class='num'>{layer['passed']}</td>"
            f"<td class='num'>{layer['rate']:.0%}</td><td class='num'>{layer['target']:.0%}</td>"
            f"<td>{mark}</td></tr>"
        )
    parts.append("</table><h2>Applications</h2>")
    parts.append(_apps_table(data["apps"]))
    parts.append("<h2>Duration per application</h2>")
    parts.append(_duration_chart(data["apps"]))
    if data["rounds"]:
        parts.append(
            "<h2>Memory per round</h2><table><tr><th>Round</th><th class='num'>RSS before</th>"
            "<th class='num'>RSS after</th><th class='num'>Growth</th></tr>"
        )
        for entry in data["rounds"]:
            parts.append(
                f"<tr><td>{entry['round']}</td>"
                f"<td class='num'>{entry['rss_before_bytes'] / MB:.1f} MB</td>"
                f"<td class='num'>{entry['rss_after_bytes'] / MB:.1f} MB</td>"
                f"<td class='num'>{entry['growth_bytes'] / MB:+.1f} MB</td></tr>"
            )
        parts.append("</table>")
    if data["regressions"]:
        parts.append("<h2>Regressions</h2><ul>")
        for entry in data["regressions"]:
            parts.append(
                f"<li><b>{escape(entry['app'])}</b> ({escape(entry['what'])}): "
                f"{escape(entry['detail'])}</li>"
            )
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _apps_table(apps: list[dict[str, Any]]) -> str:
    rows = [
        "<table><tr><th>Application</th><th>Layer</th><th>Round</th><th>Result</th>"
        "<th class='num'>Duration</th><th class='num'>Agent calls</th>"
        "<th class='num'>Tokens in / out</th><th class='num'>Cost</th>"
        "<th class='num'>Peak RSS</th></tr>"
    ]
    for app in apps:
        result = (
            "<span class='pass'>pass</span>" if app["passed"] else "<span class='fail'>fail</span>"
        )
        failed = [c for c in app["checks"] if not c["passed"]]
        shown = failed or app["checks"]
        notes = "; ".join(
            f"{c['name']}: {c['detail']}" + (" (skipped)" if c["skipped"] else "")
            for c in shown[:4]
        )
        more = f" (+{len(shown) - 4} more)" if len(shown) > 4 else ""
        checks = f"{sum(c['passed'] for c in app['checks'])}/{len(app['checks'])} checks"
        cost = "unknown" if app["cost_usd"] is None else f"${app['cost_usd']:.4f}"
        rows.append(
            f"<tr><td><b>{escape(app['name'])}</b><div class='checks'>{checks}: "
            f"{escape(notes)}{more}</div></td><td>{app['layer']}</td><td>{app['round']}</td>"
            f"<td>{result}</td><td class='num'>{app['duration_s']:.1f} s</td>"
            f"<td class='num'>{app['agent_calls']}</td>"
            f"<td class='num'>{app['input_tokens']} / {app['output_tokens']}</td>"
            f"<td class='num'>{cost}</td>"
            f"<td class='num'>{app['peak_rss_bytes'] / MB:.0f} MB</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _duration_chart(apps: list[dict[str, Any]]) -> str:
    """Horizontal bars, one per app run, green for a pass and red for a failure."""
    if not apps:
        return "<p>No runs.</p>"
    longest = max(float(a["duration_s"]) for a in apps) or 1.0
    label_width, bar_width, row = 230, 560, 26
    height = row * len(apps) + 10
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{label_width + bar_width + 90}' "
        f"height='{height}' role='img' aria-label='durations'>"
    ]
    for index, app in enumerate(apps):
        y = 5 + index * row
        width = max(2.0, bar_width * float(app["duration_s"]) / longest)
        colour = "#1f8a4c" if app["passed"] else "#c0392b"
        label = app["name"] + (f" (round {app['round']})" if app["round"] > 1 else "")
        parts.append(
            f"<text x='{label_width - 8}' y='{y + 16}' text-anchor='end'>{escape(label)}</text>"
            f"<rect x='{label_width}' y='{y + 3}' width='{width:.1f}' height='{row - 8}' "
            f"rx='3' fill='{colour}'/>"
            f"<text x='{label_width + width + 6:.1f}' y='{y + 16}'>"
            f"{float(app['duration_s']):.1f} s</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
