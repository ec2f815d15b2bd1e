"""The README's testing section reports the current oracle counts (tests/oracle_counts.py)."""

from __future__ import annotations

import pytest

from tests import oracle_counts, peers


@pytest.mark.slow  # collects the whole suite in a subprocess
def test_readme_oracle_counts_are_current() -> None:
    readme = (peers.REPO / "README.md").read_text(encoding="utf-8")
    block = oracle_counts.table(oracle_counts.counts())
    assert oracle_counts.readme_with(readme, block) == readme, "run: python tests/oracle_counts.py --write"
