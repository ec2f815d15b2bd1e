"""The README's testing section reports the current oracle counts (tests/oracle_counts.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import oracle_counts, peers


@pytest.mark.slow  # collects the whole suite in a subprocess
def test_readme_oracle_counts_are_current() -> None:
    readme = (peers.REPO / "README.md").read_text(encoding="utf-8")
    block = oracle_counts.table(oracle_counts.counts())
    assert oracle_counts.readme_with(readme, block) == readme, "run: python tests/oracle_counts.py --write"


def _quick_start() -> list[tuple[str, list[str]]]:
    """The README's quick start: (command line, the output shown after it) pairs."""
    readme = (peers.REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Use\n", 1)[1].split("```console\n", 1)[1].split("```\n", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line and steps:
            steps[-1][1].append(line)
    return steps


def _normalised(lines: list[str]) -> list[str]:
    # Ages ("6 days ago") move with the clock, and the table's columns with them.
    ages = re.compile(r"\b(?:\d+|About an?|Less than a) \w+ ago\b")
    return [" ".join(ages.sub("AGE", line).split()) for line in lines]


def test_quick_start_runs_as_written(tmp_path: Path) -> None:
    """Every command of the README's quick start runs in a fresh directory holding only the
    repository's fixtures, exits 0, and prints what the README shows (a "..." line ends what
    is compared)."""
    (tmp_path / "fixtures").symlink_to(peers.FIXTURES)
    shell = f'ocitool() {{ "{sys.executable}" -m ocitool "$@"; }}\n'
    env = {**os.environ, "PYTHONPATH": str(peers.REPO), "OCITOOL_HOST_PLATFORM": "linux/amd64"}
    steps = _quick_start()
    assert len(steps) >= 8 and all(cmd.startswith("ocitool ") for cmd, _ in steps)
    for command, shown in steps:
        p = subprocess.run(
            ["bash", "-c", shell + command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert p.returncode == 0, (command, p.stderr.decode())
        if not shown:
            continue
        printed = p.stdout.decode().splitlines()
        if shown[-1] == "...":
            shown = shown[:-1]
            printed = printed[: len(shown)]
        assert _normalised(printed) == _normalised(shown), command
