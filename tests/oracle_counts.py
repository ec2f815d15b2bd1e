"""How many tests compare ocitool with each peer tool, for the README's testing section.

    python tests/oracle_counts.py            # print the table
    python tests/oracle_counts.py --write    # and rewrite it in README.md

Counts come from the ``oracle`` markers of the collected tests (``pytest --collect-only
--oracle-counts=FILE``, see tests/conftest.py): a test case is counted once per tool it
compares with, "live" when it runs the tool, "recorded" when it compares with what the tool
printed when fixtures/make_fixtures.sh recorded it (fixtures/expected/). Nothing is typed by
hand; tests/test_readme.py checks that the README holds the current table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN ORACLE COUNTS (python tests/oracle_counts.py --write) -->"
END = "<!-- END ORACLE COUNTS -->"
TOOLS = {
    "docker": "Docker 20.10 daemon (`docker load`, `inspect`, `history`, Engine API)",
    "docker-cli": "docker 28 CLI (templates, tables, JSON lines)",
    "skopeo": "skopeo 1.9 (`inspect --raw`/`--config`, `copy`)",
    "umoci": "umoci 0.4 (`unpack`, `stat`)",
    "dive": "dive 0.13 (`--json`, `--ci`)",
}


def counts() -> dict[str, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "counts.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--collect-only",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--oracle-counts={out}",
            ],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        data: dict[str, dict[str, int]] = json.loads(out.read_text())
        return data


def table(data: dict[str, dict[str, int]]) -> str:
    unknown = set(data) - set(TOOLS)
    if unknown:
        raise SystemExit(f"oracle_counts.py: describe these tools in TOOLS: {sorted(unknown)}")
    lines = ["| peer tool | live comparisons | against its recorded output |", "|---|---:|---:|"]
    for tool, label in TOOLS.items():
        c = data.get(tool, {"live": 0, "recorded": 0})
        lines.append(f"| {label} | {c['live']} | {c['recorded']} |")
    return "\n".join(lines) + "\n\n(A test case that compares with two tools counts for each.)"


def readme_with(text: str, block: str) -> str:
    head, rest = text.split(BEGIN, 1)
    return head + BEGIN + "\n" + block + "\n" + END + rest.split(END, 1)[1]


def main(argv: list[str]) -> int:
    block = table(counts())
    print(block)
    if "--write" in argv:
        readme = REPO / "README.md"
        readme.write_text(readme_with(readme.read_text(encoding="utf-8"), block), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
