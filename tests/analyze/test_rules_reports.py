"""Every rule passes on good.tar and fails on bad.tar; reports parse and validate."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from ocitool.analysis.analyze import analyze
from ocitool.analysis.report import render_junit, render_markdown, render_sarif
from ocitool.analysis.rules import RULE_KEYS, RuleStatus, evaluate, load_rules, parse_bytes, run_ci
from ocitool.errors import InvalidDocumentError
from tests import peers

HERE = Path(__file__).parent
RULES_ALL = str(peers.FIXTURES / "analyze" / "rules-all.yaml")


@pytest.fixture(scope="module")
def good() -> object:
    return analyze(str(peers.fixture("analyze/good.tar")))


@pytest.fixture(scope="module")
def bad() -> object:
    return analyze(str(peers.fixture("analyze/bad.tar")))


@pytest.mark.parametrize("key", RULE_KEYS)
def test_each_rule_passes_on_good_and_fails_on_bad(key: str, good: object, bad: object) -> None:
    config = load_rules(Path(RULES_ALL).read_text(), path=RULES_ALL)
    only = {k: (v if k == key else "disabled") for k, v in config.items()}
    for analysis, want in ((good, RuleStatus.PASSED), (bad, RuleStatus.FAILED)):
        results = {r.key: r for r in evaluate(analysis, only, path=RULES_ALL)}  # type: ignore[arg-type]
        assert results[key].status is want, results[key]
        assert all(r.status is RuleStatus.SKIPPED for k, r in results.items() if k != key)


def test_findings_name_paths_and_layers(bad: object) -> None:
    config = load_rules(Path(RULES_ALL).read_text(), path=RULES_ALL)
    results = {r.key: r for r in evaluate(bad, config)}  # type: ignore[arg-type]
    forbidden = {(f.path, f.layer) for f in results["forbiddenPaths"].findings}
    assert forbidden == {("/etc/app/.env", 0), ("/root/.ssh/id_rsa", 0)}
    assert [f.path for f in results["noSetuid"].findings] == ["/bin/tool"]
    assert [f.path for f in results["noWorldWritable"].findings] == ["/srv/shared.txt"]


def test_dive_defaults_and_dive_ci_keys() -> None:
    config = load_rules(None)
    assert config == {
        "lowestEfficiency": "0.9",
        "highestWastedBytes": "disabled",
        "highestUserWastedPercent": "0.1",
    }
    config = load_rules("rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n")
    assert config["lowestEfficiency"] == 0.95 and config["highestWastedBytes"] == "20MB"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("rules:\n  lowestEfficiency: 1.5\n", "/rules/lowestEfficiency"),
        ("rules:\n  highestWastedBytes: lots\n", "/rules/highestWastedBytes"),
        ("rules:\n  nosuchRule: 1\n", "/rules/nosuchRule"),
        ("rules: [1, 2]\n", "/rules"),
        ("rules:\n  allowedPlatforms: [notaplatform/x/y/z]\n", "/rules/allowedPlatforms"),
    ],
)
def test_bad_rules_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    f = tmp_path / ".dive-ci"
    f.write_text(text)
    with pytest.raises(InvalidDocumentError) as exc:
        run_ci(str(peers.fixture("analyze/good.tar")), rules_file=str(f))
    assert exc.value.field == field
    assert str(f) in str(exc.value)


def test_parse_bytes_as_go_humanize() -> None:
    assert parse_bytes("20MB") == 20_000_000
    assert parse_bytes("1 KiB") == 1024
    assert parse_bytes("512") == 512
    with pytest.raises(ValueError):
        parse_bytes("12 parsecs")


def test_junit_parses(bad: object) -> None:
    results = evaluate(bad, load_rules(Path(RULES_ALL).read_text()))  # type: ignore[arg-type]
    root = ET.fromstring(render_junit(bad, results))  # type: ignore[arg-type]
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(RULE_KEYS)) and suite.get("failures") == "11"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == list(RULE_KEYS)
    assert all(c.find("failure") is not None for c in cases)


def test_sarif_validates_against_schema(bad: object, good: object) -> None:
    schema = json.loads((HERE / "sarif-2.1.0-reduced.schema.json").read_text())
    for analysis in (bad, good):
        results = evaluate(analysis, load_rules(Path(RULES_ALL).read_text()))  # type: ignore[arg-type]
        doc = json.loads(render_sarif(analysis, results))  # type: ignore[arg-type]
        jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())
    failed_ids = {r["ruleId"] for r in doc["runs"][0]["results"]}
    assert failed_ids == set()  # the last one is good.tar: no results
    bad_doc = json.loads(render_sarif(bad, evaluate(bad, load_rules(Path(RULES_ALL).read_text()))))  # type: ignore[arg-type]
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in bad_doc["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert "root/.ssh/id_rsa" in uris


def test_markdown_summary(bad: object) -> None:
    md = render_markdown(bad, evaluate(bad, load_rules(None)))  # type: ignore[arg-type]
    assert md.startswith("## Image analysis: ❌ FAIL")
    assert "| highestUserWastedPercent | 0.1 | FAIL |" in md
    assert "`/data/big.bin`" in md


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  lowestEfficiency: 0.9\n  maxLayerCount: lots\n",
            ':3: invalid maxLayerCount config value, given "lots"',
        ),
        (
            "rules:\n  lowestEfficiency: [0.9\n  x: 1\n",
            ":3: rules file is not valid YAML: expected ',' or ']'",
        ),
        ("# comment\nrules:\n  nope: 1\n", ':3: unknown rule "nope"'),
        ("rules:\n  allowedPlatforms: [linux/amd64, notaplatform/x/y/z]\n", ":2: invalid allowedPlatforms"),
    ],
)
def test_bad_rules_are_one_line_naming_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text(text)
    with pytest.raises(InvalidDocumentError) as exc:
        run_ci(str(peers.fixture("analyze/good.tar")), rules_file=str(f))
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(str(f) + expected), message


def test_markdown_uses_one_precision(bad: object) -> None:
    md = render_markdown(bad, evaluate(bad, load_rules(None)))  # type: ignore[arg-type]
    figures = md.splitlines()[6]
    percents = re.findall(r"(\d+(?:\.\d+)?) %", figures)
    assert len(percents) == 2 and all(re.fullmatch(r"\d+\.\d\d", p) for p in percents), figures
