"""The HTML report in a real headless browser (Debian's chromium): DOM and a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ocitool.analysis.analyze import analyze
from ocitool.analysis.report import render_html
from ocitool.analysis.rules import evaluate, load_rules
from tests import peers

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return name
    return peers.require_tool("chromium")


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, list[tuple[str, str | None]]] = {}
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        d = dict(attrs)
        if d.get("id"):
            self.ids[d["id"] or ""] = attrs
        for key in ("src", "href"):
            if d.get(key):
                self.external.append(d[key] or "")


def test_report_is_self_contained() -> None:
    a = analyze(str(peers.fixture("analyze/bad.tar")))
    page = render_html(a, evaluate(a, load_rules(None)))
    p = _Ids()
    p.feed(page)
    assert p.external == [] and "script" not in p.tags
    assert {"layer-chart", "layers", "largest", "inefficient", "rules", "efficiency"} <= set(p.ids)


@pytest.mark.peers
@pytest.mark.real
def test_report_renders_in_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    a = analyze(str(peers.real_fixture("docker1809-dive-14-layers.tar")))
    page = tmp_path / "report.html"
    page.write_text(render_html(a, evaluate(a, load_rules(None))), encoding="utf-8")
    profile = tmp_path / "profile"
    common = [browser, *_FLAGS, f"--user-data-dir={profile}"]
    env = {**os.environ, "HOME": str(tmp_path)}
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, env=env
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "ocitool analyze — FAIL" in html
    assert 'id="efficiency">98.4421 %' in html
    assert 'data-bytes="32025"' in html
    assert html.count('class="bar"') == 14  # one bar per layer in the SVG chart
    assert "/root/saved.txt" in html and "<code>/bin/[</code>" in html
    shot = tmp_path / "report.png"
    res = subprocess.run(
        [*common, "--window-size=1100,1400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    keep = os.environ.get("OCITOOL_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
