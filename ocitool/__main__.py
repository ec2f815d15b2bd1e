"""``python -m ocitool``."""

from ocitool.cli import run

run()
