"""Reports of an analysis and its rule results: JUnit XML, SARIF 2.1.0, Markdown, HTML, text.

Every function returns text; nothing here writes files (the CLI writes them through
:func:`ocitool._io.output.output_file`). The HTML report is self-contained: inline CSS and SVG, no script, no
external resource, so it renders offline and in a CI artefact viewer.
"""

from __future__ import annotations

import html
import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ocitool._go import json as _gojson
from ocitool.analysis.analyze import Analysis
from ocitool.analysis.diff import ImageDiff
from ocitool.analysis.rules import RuleResult, RuleStatus

__all__ = [
    "SARIF_SCHEMA_URI",
    "ci_text",
    "diff_text",
    "human_size",
    "render_html",
    "render_junit",
    "render_markdown",
    "render_sarif",
    "table_text",
]

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_RULE_HELP = {
    "lowestEfficiency": "Lowest allowable image efficiency (0-1), as dive computes it.",
    "highestWastedBytes": "Highest allowable bytes wasted (files duplicated or removed across layers).",
    "highestUserWastedPercent": (
        "Highest allowable wasted bytes over the bytes added above the base layer (0-1)."
    ),
    "maxImageSize": "Largest allowed image size (sum of layer sizes).",
    "maxLayerCount": "Largest allowed number of layers.",
    "forbiddenPaths": "Paths that must not be in any layer (private keys, .env files, package caches).",
    "requiredLabels": "Labels the image config must carry.",
    "nonRootUser": "The image must not run as root.",
    "noSetuid": "No setuid or setgid files in the root filesystem.",
    "noWorldWritable": "No world-writable files or non-sticky directories in the root filesystem.",
    "allowedPlatforms": "Platforms the image may be built for.",
}


def human_size(n: float) -> str:
    """go-humanize's ``Bytes`` (SI units: ``32 kB``, ``1.2 MB``) as dive prints sizes."""
    if n < 10:
        return f"{int(n)} B"
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
    e = min(math.floor(math.log(n, 1000)), len(units) - 1)
    val = math.floor(n / 1000**e * 10 + 0.5) / 10
    return f"{val:.0f} {units[e]}" if val >= 10 else f"{val:.1f} {units[e]}"


def _percent(p: float) -> str:
    return f"{p * 100:.4f} %" if math.isfinite(p) else ("NaN %" if math.isnan(p) else "+Inf %")


def table_text(a: Analysis, *, top: int = 20) -> str:
    """The human table of ``analyze``: layers, then the image figures and inefficient files."""
    rows = [("#", "DIGEST", "SIZE", "COMPRESSED", "FILES", "ADDED", "MODIFIED", "REMOVED", "COMMAND")]
    for layer in a.layers:
        rows.append(
            (
                str(layer.index),
                layer.digest.split(":", 1)[-1][:12],
                human_size(layer.size),
                human_size(layer.compressed_size),
                str(layer.files),
                human_size(layer.added_bytes),
                human_size(layer.modified_bytes),
                human_size(layer.removed_bytes),
                layer.command.replace("\n", " ")[:80],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "   " + r[-1] for r in rows]
    lines.append("")
    lines.append(f"Image:              {a.source} ({a.image_id[:19]}, {a.platform})")
    lines.append(f"Total size:         {human_size(a.size_bytes)} ({a.size_bytes} bytes)")
    lines.append(f"Efficiency:         {a.efficiency * 100:.4f} %")
    lines.append(f"Wasted bytes:       {a.wasted_bytes} bytes ({human_size(a.wasted_bytes)})")
    lines.append(f"User wasted:        {_percent(a.user_wasted_percent)}")
    if a.inefficient:
        lines.append("")
        lines.append("Count  Wasted Space  File Path")
        for e in a.inefficient[:top]:
            lines.append(f"{e.count:5d}  {human_size(e.cumulative_size):>12}  {e.path}")
    return "\n".join(lines) + "\n"


def ci_text(a: Analysis, results: Sequence[RuleResult]) -> str:
    """dive's ``--ci`` summary: figures, inefficient files, one line per rule, the totals."""
    lines = [
        f"  efficiency: {a.efficiency * 100:.4f} %",
        f"  wastedBytes: {a.wasted_bytes} bytes ({human_size(a.wasted_bytes)})",
        f"  userWastedPercent: {_percent(a.user_wasted_percent)}",
        "Results:",
    ]
    for r in results:
        line = f"  {r.status.value}: {r.key}"
        if r.message:
            line += f": {r.message}"
        lines.append(line)
        for f in r.findings[:50]:
            where = f" (layer {f.layer})" if f.layer is not None else ""
            lines.append(f"      - {f.message}{where}")
    passed = sum(r.status is RuleStatus.PASSED for r in results)
    failed = sum(r.status is RuleStatus.FAILED for r in results)
    skipped = sum(r.status is RuleStatus.SKIPPED for r in results)
    verdict = "FAIL" if failed else "PASS"
    lines.append(
        f"Result:{verdict} [Total:{len(results)}] [Passed:{passed}] [Failed:{failed}] [Warn:0]"
        f" [Skipped:{skipped}]"
    )
    return "\n".join(lines) + "\n"


def render_junit(a: Analysis, results: Sequence[RuleResult]) -> str:
    """JUnit XML: one ``testsuite`` (the image), one ``testcase`` per rule."""
    failed = sum(r.status is RuleStatus.FAILED for r in results)
    skipped = sum(r.status is RuleStatus.SKIPPED for r in results)
    suite = ET.Element(
        "testsuite",
        name=f"ocitool analyze {a.source}",
        tests=str(len(results)),
        failures=str(failed),
        errors="0",
        skipped=str(skipped),
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="ocitool.analysis.rules", name=r.key)
        if r.status is RuleStatus.FAILED:
            fail = ET.SubElement(case, "failure", message=r.message, type=r.key)
            fail.text = "\n".join([r.message, *(f.message for f in r.findings)])
        elif r.status is RuleStatus.SKIPPED:
            ET.SubElement(case, "skipped", message=r.message)
    root = ET.Element("testsuites", name="ocitool", tests=str(len(results)), failures=str(failed))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_sarif(a: Analysis, results: Sequence[RuleResult]) -> str:
    """SARIF 2.1.0: one run, the rules as ``reportingDescriptor``s, a result per failure
    (per finding when a rule names files; the in-image path is the artifact location)."""
    rules = [
        {
            "id": r.key,
            "name": r.key,
            "shortDescription": {"text": _RULE_HELP.get(r.key, r.key)},
            "properties": {"configuration": r.configuration},
        }
        for r in results
    ]
    out: list[dict[str, object]] = []
    for idx, r in enumerate(results):
        if r.status is not RuleStatus.FAILED:
            continue
        findings = r.findings or []
        if not findings or not any(f.path for f in findings):
            out.append(
                {
                    "ruleId": r.key,
                    "ruleIndex": idx,
                    "level": "error",
                    "message": {"text": r.message},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(a.source)}}}],
                }
            )
            continue
        for f in findings:
            props: dict[str, object] = {"image": a.source}
            if f.layer is not None:
                props["layer"] = f.layer
            out.append(
                {
                    "ruleId": r.key,
                    "ruleIndex": idx,
                    "level": "error",
                    "message": {"text": f.message},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": f.path.lstrip("/") or _uri(a.source)}
                            }
                        }
                    ],
                    "properties": props,
                }
            )
    doc = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ocitool",
                        "informationUri": "https://github.com/opencontainers/image-spec",
                        "rules": rules,
                    }
                },
                "results": out,
                "properties": {
                    "efficiency": a.efficiency,
                    "wastedBytes": a.wasted_bytes,
                    "sizeBytes": a.size_bytes,
                },
            }
        ],
    }
    return _gojson.dumps(doc, indent="  ", escape_html=False) + "\n"


def _uri(path: str) -> str:
    from urllib.parse import quote

    return quote(path.replace(os.sep, "/"))


def _md_percent(p: float) -> str:
    # The Markdown summary shows every percentage with two decimals (the text report keeps
    # dive's four for user wasted percent).
    return f"{p * 100:.2f} %" if math.isfinite(p) else ("NaN %" if math.isnan(p) else "+Inf %")


def render_markdown(a: Analysis, results: Sequence[RuleResult]) -> str:
    """A Markdown summary for a CI job page (``$GITHUB_STEP_SUMMARY`` and the like)."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    failed = any(r.status is RuleStatus.FAILED for r in results)
    lines = [
        f"## Image analysis: {'❌ FAIL' if failed else '✅ PASS'}",
        "",
        f"`{cell(a.source)}` · `{a.image_id[:19]}` · {a.platform}",
        "",
        "| Size | Efficiency | Wasted | User wasted |",
        "| ---: | ---: | ---: | ---: |",
        f"| {human_size(a.size_bytes)} | {_md_percent(a.efficiency)} | {human_size(a.wasted_bytes)} "
        f"| {_md_percent(a.user_wasted_percent)} |",
        "",
        "| Rule | Configured | Result | Detail |",
        "| --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(f"| {r.key} | {cell(r.configuration)} | {r.status.value} | {cell(r.message)} |")
    lines += ["", "| # | Size | Files | Command |", "| ---: | ---: | ---: | --- |"]
    for layer in a.layers:
        lines.append(
            f"| {layer.index} | {human_size(layer.size)} | {layer.files} | `{cell(layer.command[:100])}` |"
        )
    if a.inefficient:
        lines += ["", "| Count | Wasted | Path |", "| ---: | ---: | --- |"]
        for e in a.inefficient[:20]:
            lines.append(f"| {e.count} | {human_size(e.cumulative_size)} | `{cell(e.path)}` |")
    return "\n".join(lines) + "\n"


def _bar_chart(a: Analysis) -> str:
    width, bar_h, gap, label_w = 720, 18, 6, 60
    height = max(1, len(a.layers)) * (bar_h + gap) + gap
    biggest = max((layer.size for layer in a.layers), default=0) or 1
    parts = [
        f'<svg id="layer-chart" role="img" aria-label="layer sizes" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, layer in enumerate(a.layers):
        y = gap + i * (bar_h + gap)
        w = max(1, int((width - label_w - 120) * layer.size / biggest)) if layer.size else 0
        parts.append(
            f'<g class="bar"><text x="0" y="{y + 13}" font-size="12">#{layer.index}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="#3b82f6">'
            f"<title>{html.escape(layer.command)}</title></rect>"
            f'<text x="{label_w + w + 6}" y="{y + 13}" font-size="12">{human_size(layer.size)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(a: Analysis, results: Sequence[RuleResult] = (), *, top: int = 25) -> str:
    """A self-contained HTML report: figures, rule results, a layer size chart (inline SVG), the
    largest entries of the final file tree and the inefficient files. No script, no network."""
    esc = html.escape
    rule_rows = "".join(
        f'<tr class="rule {r.status.name.lower()}"><td>{esc(r.key)}</td><td>{esc(r.configuration)}</td>'
        f"<td>{r.status.value}</td><td>{esc(r.message)}</td></tr>"
        for r in results
    )
    layer_rows = "".join(
        f"<tr><td>{layer.index}</td><td><code>{esc(layer.digest[:19])}</code></td>"
        f"<td>{human_size(layer.size)}</td><td>{human_size(layer.compressed_size)}</td><td>{layer.files}</td>"
        f"<td>{human_size(layer.added_bytes)}</td><td>{human_size(layer.modified_bytes)}</td>"
        f"<td>{human_size(layer.removed_bytes)}</td><td><code>{esc(layer.command[:160])}</code></td></tr>"
        for layer in a.layers
    )
    largest_rows = "".join(
        f"<tr><td>{human_size(f.size)}</td><td><code>/{esc(f.path.lstrip('/'))}</code></td></tr>"
        for f in a.largest(top)
    )
    ineff_rows = "".join(
        f"<tr><td>{e.count}</td><td>{human_size(e.cumulative_size)}</td><td><code>{esc(e.path)}</code></td></tr>"
        for e in a.inefficient[:top]
    )
    failed = any(r.status is RuleStatus.FAILED for r in results)
    attestations = _attestations_html(a) + _signatures_html(a)
    verdict = ("FAIL" if failed else "PASS") if results else "analysis"
    rules_table = (
        "<h2>Rules</h2><table id='rules'><tr><th>Rule</th><th>Configured</th><th>Result</th>"
        f"<th>Detail</th></tr>{rule_rows}</table>"
        if results
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>ocitool analyze: {esc(a.source)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#111;background:#fff}}
h1{{font-size:20px}} h2{{font-size:16px;margin-top:28px}}
table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ddd;padding:3px 8px;text-align:left}}
th{{background:#f3f4f6}} .failed td{{background:#fee2e2}} .passed td{{background:#ecfdf5}}
.stats span{{display:inline-block;margin-right:24px;font-size:15px}}
code{{font-size:12px;word-break:break-all}}
td:first-child{{white-space:nowrap}}
</style></head><body>
<h1 id="verdict">ocitool analyze — {verdict}</h1>
<p><code>{esc(a.source)}</code> · <code>{esc(a.image_id)}</code> · {esc(a.platform)}</p>
<div class="stats">
<span>Size: <b id="size">{human_size(a.size_bytes)}</b></span>
<span>Efficiency: <b id="efficiency">{a.efficiency * 100:.4f} %</b></span>
<span>Wasted: <b id="wasted" data-bytes="{a.wasted_bytes}">{human_size(a.wasted_bytes)}</b></span>
<span>User wasted: <b id="user-wasted">{_percent(a.user_wasted_percent)}</b></span>
</div>
{rules_table}
{attestations}
<h2>Layer sizes</h2>
{_bar_chart(a)}
<h2>Layers</h2>
<table id="layers"><tr><th>#</th><th>Digest</th><th>Size</th><th>Compressed</th><th>Files</th><th>Added</th>
<th>Modified</th><th>Removed</th><th>Command</th></tr>{layer_rows}</table>
<h2>Largest files</h2>
<table id="largest"><tr><th>Size</th><th>Path</th></tr>{largest_rows}</table>
<h2>Inefficient files</h2>
<table id="inefficient"><tr><th>Count</th><th>Wasted</th><th>Path</th></tr>{ineff_rows}</table>
</body></html>
"""


def _signatures_html(a: Analysis) -> str:
    """The image's cosign signatures (count, forms; not verified here), when it has any."""
    sig = a.signatures
    if sig is None or (sig.count == 0 and not sig.error):
        return ""
    esc = html.escape
    state = f"lookup failed: {esc(sig.error)}" if sig.error else "not verified (use verify-signature --key)"
    forms = "".join(f"<li><code>{esc(f)}</code></li>" for f in sig.forms)
    return (
        f'<h2>Signatures</h2><p id="signatures" data-count="{sig.count}">{sig.count} signature(s), '
        f"{state}</p><ul>{forms}</ul>"
    )


def _attestations_html(a: Analysis) -> str:
    """The image's BuildKit attestations (count, predicate types, verified), when it has any."""
    att = a.attestations
    if att is None or (att.count == 0 and not att.error):
        return ""
    esc = html.escape
    state = "digests verified" if att.verified else f"not verified: {esc(att.error)}"
    types = "".join(f"<li><code>{esc(t)}</code></li>" for t in att.predicate_types)
    return (
        f'<h2>Attestations</h2><p id="attestations" data-count="{att.count}">{att.count} in-toto '
        f"statement(s), {state}</p><ul>{types}</ul>"
    )


def _compact(value: object) -> str:
    """A config value as compact JSON (``["--serve"]``, ``"root"``, ``null``), as users write
    it in a Dockerfile or read it in ``docker inspect``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def diff_text(d: ImageDiff) -> str:
    """The human table of ``diff``."""
    c = d.counts()
    lines = [f"--- {d.left}", f"+++ {d.right}", ""]
    lines.append("CHANGE    SIZE        PATH")
    mark = {"added": "A", "removed": "D", "changed": "M"}
    for f in d.files:
        side = f.new or f.old
        size = side.size if side is not None else 0
        lines.append(f"{mark[f.kind]:<9} {human_size(size):>10}  {f.path}")
    lines.append("")
    lines.append(f"Files: {c['added']} added, {c['removed']} removed, {c['changed']} changed")
    if d.config:
        lines.append("")
        lines.append("Config:")
        for ch in d.config:
            lines.append(f"  {ch.field}: {_compact(ch.old)} -> {_compact(ch.new)}")
    lines.append("")
    lines.append(f"Shared layers: {len(d.shared_layers)}")
    for layer in d.shared_layers:
        lines.append(f"  {layer}")
    return "\n".join(lines) + "\n"
