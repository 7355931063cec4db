# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""benchmark.md and benchmark.svg from benchmark.json's document (benchmark_compare.build_report)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

GIB = 1024**3
STATUS_COLOURS = {"ok": "#59a14f", "flagged": "#e15759", "unpredicted": "#9c755f", "failed": "#79706e"}
PREDICTED_COLOUR = "#bab0ac"
ROW_HEIGHT = 44
BAR_HEIGHT = 14
LABEL_WIDTH = 300
BAR_WIDTH = 520
# Average advance of a 12 px sans-serif character, to widen the label column for long names.
CHAR_WIDTH = 7


def _cell(value: object) -> str:
    """Text as one Markdown table cell: no line breaks, no cell breaks, no tags."""
    text = " ".join(str(value).split())
    for raw, escaped in (("\\", "\\\\"), ("|", "\\|"), ("`", "\\`"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(raw, escaped)
    return text


def _number(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def label(row: Mapping[str, Any]) -> str:
    """'host chat' or 'host chat #1' for replicas after the first, as plan.md names them."""
    return f"{row['host']} {row['name']}" + (f" #{row['replica']}" if row["replica"] else "")


def _memory_cell(memory: Mapping[str, Any]) -> str:
    planned = memory.get("planned_bytes")
    reported = memory.get("engine_bytes", memory.get("service_bytes"))
    if planned is None and reported is None:
        return "-"
    return f"{_number(planned and planned / GIB, 2)} / {_number(reported and reported / GIB, 2)}"


def benchmark_markdown(report: Mapping[str, Any]) -> str:
    """benchmark.md: the table of figures, the flagged and failed deployments, the calibration."""
    used = report.get("calibration_used") or {}
    lines = [
        "# Fleet benchmark",
        "",
        f"Measured {report['measured_at']} against {_cell(report['plan'])}. A deployment is flagged when "
        f"its measured decode is more than {report['tolerance']:.0%} below the plan's prediction "
        "(median ratio over its depths).",
        "",
        "Predictions calibrated by " + _cell(used.get("benchmark")) + f" ({used.get('measured_at')})."
        if used
        else "The plan used no calibration.",
        "",
        "## Deployments",
        "",
        "| Deployment | Engine | Device | Depth (prompt tokens) | Predicted tok/s | Measured tok/s | Ratio "
        "| TTFT s | Prefill tok/s | Memory GiB (planned / reported) | Status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["deployments"]:
        head = f"| {_cell(label(row))} | {_cell(row['engine'])} | {_cell(row['device'] or 'unknown')} "
        status = f"{row['status']}: {row['reason']}"
        if not row["depths"]:
            lines.append(
                f"{head}| - | {_number(row['predicted_decode_tps'])} | - | - | - | - | - | {_cell(status)} |"
            )
            continue
        for index, depth in enumerate(row["depths"]):
            memory = _memory_cell(row["memory"]) if index == 0 else ""
            if "error" in depth:
                figures = f"| {_number(depth.get('predicted_decode_tps'))} | error | - | - | - "
                shown = f"error: {depth['error']}"
            else:
                figures = (
                    f"| {_number(depth.get('predicted_decode_tps'))} | {_number(depth['decode_tps'])} "
                    f"| {_number(depth.get('ratio'), 2)} | {_number(depth['ttft_s'], 3)} "
                    f"| {_number(depth.get('prefill_tps'))} "
                )
                shown = status if index == 0 else ""
            lines.append(
                f"{head}| {depth['depth']} ({depth.get('prompt_tokens', '-')}) {figures}| {memory} "
                f"| {_cell(shown)} |"
            )
    lines += ["", "![predicted and measured decode](benchmark.svg)", "", "## Flagged", ""]
    flagged = [row for row in report["deployments"] if row["status"] == "flagged"]
    lines += [f"- {_cell(label(row))}: {_cell(row['reason'])}" for row in flagged] or ["None."]
    lines += ["", "## Not measured", ""]
    failed = [row for row in report["deployments"] if row["status"] == "failed"]
    lines += [f"- {_cell(label(row))}: {_cell(row['error'])}" for row in failed] or ["None."]
    lines += ["", "## Calibration", ""]
    written = report.get("calibration")
    if written:
        lines += [
            f"Written to {_cell(written['file'])}; the next plan multiplies each raw prediction by the "
            "factor of its device and engine."
            if written["written"]
            else "Not written (sovereign_benchmark_calibrate is false); the factors it would hold:",
            "",
            "| Device | Engine | Factor (measured / raw prediction) | Samples |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(entry['device'])} | {_cell(entry['engine'])} | {entry['factor']} "
            f"| {entry.get('samples', 'kept')} |"
            for entry in written["decode"]
        ]
    else:
        lines.append("No calibration written: no deployment gave a new factor (notes below say why).")
    lines += ["", *[f"- {_cell(note)}" for note in report.get("calibration_notes") or []], ""]
    return "\n".join(lines)


def benchmark_svg(report: Mapping[str, Any]) -> str:
    """benchmark.svg: per deployment and depth, the predicted decode (grey) over the measured one
    (coloured by status), on one scale."""
    rows = [
        (row, depth)
        for row in report["deployments"]
        for depth in row["depths"] or [{"predicted_decode_tps": row["predicted_decode_tps"]}]
    ]
    labels = [
        f"{label(row)}, depth {depth['depth']}" if row["depths"] else f"{label(row)}, not measured"
        for row, depth in rows
    ]
    label_width = max([LABEL_WIDTH] + [len(text) * CHAR_WIDTH + 20 for text in labels])
    values = [
        value
        for _row, depth in rows
        for value in (depth.get("predicted_decode_tps"), depth.get("decode_tps"))
        if value
    ]
    scale = BAR_WIDTH / max(values) if values else 0.0
    height = 50 + ROW_HEIGHT * max(len(rows), 1)
    width = label_width + BAR_WIDTH + 170
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        "<title>Decode tokens/s: predicted and measured</title>",
        f'<rect x="10" y="10" width="12" height="12" fill="{PREDICTED_COLOUR}"/>'
        '<text x="28" y="20">predicted</text>',
    ]
    legend_x = 110
    # A deployment that failed has no measured bar: the legend names the colours that appear.
    for status, colour in list(STATUS_COLOURS.items())[:3]:
        parts.append(
            f'<rect x="{legend_x}" y="10" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 18}" y="20">measured, {status}</text>'
        )
        legend_x += 150
    for index, ((row, depth), text) in enumerate(zip(rows, labels, strict=True)):
        top = 40 + index * ROW_HEIGHT
        parts.append(f'<text x="10" y="{top + BAR_HEIGHT + 4}">{escape(text)}</text>')
        for offset, value, colour, what in (
            (0, depth.get("predicted_decode_tps"), PREDICTED_COLOUR, "predicted"),
            (BAR_HEIGHT + 2, depth.get("decode_tps"), STATUS_COLOURS[row["status"]], "measured"),
        ):
            y = top + offset
            if not value:
                parts.append(
                    f'<text x="{label_width}" y="{y + BAR_HEIGHT - 3}" fill="#666">no {what} figure</text>'
                )
                continue
            length = max(value * scale, 1.0)
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{colour}">'
                f"<title>{escape(text)}: {what} {value:.1f} tok/s</title></rect>"
                f'<text x="{label_width + length + 6:.1f}" y="{y + BAR_HEIGHT - 3}">{value:.1f}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
