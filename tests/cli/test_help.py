"""Every command's --help teaches: what SOURCE and IMAGE accept, then 2-4 examples; a command
group without a subcommand prints its help on stdout and exits 0 (issue 10, section 5)."""

from __future__ import annotations

import io
import re

import pytest

from ocitool.cli import COMMAND_OWNERS, main
from ocitool.cli.render import SOURCE_IMAGE, STORE_IMAGE

_SUBCOMMANDS = [[name] for name in COMMAND_OWNERS] + [["image", "prune"], ["system", "df"]]


def _help_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:  # argparse prints --help to sys.stdout and exits
        main([*argv, "--help"], stdout=io.StringIO(), stderr=io.StringIO())
    assert exc.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", _SUBCOMMANDS, ids=" ".join)
def test_help_ends_with_examples(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    text = _help_text(argv, capsys)
    head, sep, tail = text.rpartition("\nexamples:\n")
    assert sep, text
    examples = tail.rstrip("\n").split("\n")
    assert 2 <= len(examples) <= 4 and all(e.startswith("  ocitool ") for e in examples), examples
    # each example names this command (a group's, its subcommand)
    assert all(argv[0] in e.split() for e in examples), examples
    usage = text.split("\n\n", 1)[0]
    if re.search(r"\bSOURCE\b", usage):
        assert SOURCE_IMAGE in head
    elif re.search(r"\bIMAGE\b", usage):
        assert STORE_IMAGE in head


@pytest.mark.parametrize("group", ["image", "system"])
def test_a_group_alone_prints_its_help_on_stdout(group: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main([group], stdout=out, stderr=err) == 0
    assert out.getvalue().startswith(f"usage: ocitool {group} ")
    assert "examples:" in out.getvalue() and err.getvalue() == ""
