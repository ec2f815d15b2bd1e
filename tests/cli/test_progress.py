"""Progress bars: drawn on stderr when it is a terminal (a pty here), one line per layer with
the phase, a bar and the bytes; never on stdout, and never through pipes, with -q or under CI
(issue 10, section 5)."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from ocitool.cli.progress import ProgressRenderer, progress_for
from ocitool.ops.progress import Progress, Tracker
from tests import peers

ARCHIVE = "docker/two-images.tar"


def _run(argv: list[str], *, tty: bool, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ocitool with stdout a pipe and stderr a pty (``tty``) or a pipe."""
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PYTHONPATH=str(peers.REPO), **extra)
    if not tty:
        p = subprocess.run(
            [sys.executable, "-m", "ocitool", *argv], capture_output=True, env=env, timeout=120
        )
        return p.returncode, p.stdout.decode(), p.stderr.decode()
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocitool", *argv], stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read() if proc.stdout else b""
    code = proc.wait(timeout=60)
    os.close(master)
    return code, out.decode(), b"".join(chunks).decode()


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


@pytest.mark.parametrize(
    ("command", "phase", "items"),
    [
        ("unpack", "Extracting", 3),
        ("export", "Extracting", 3),
        ("analyze", "Analyzing", 3),
        ("verify", "Verifying", 8),
    ],
)
def test_a_terminal_gets_a_bar_per_layer(
    command: str, phase: str, items: int, tmp_path: Path, no_ci: None
) -> None:
    archive = str(peers.fixture(ARCHIVE))
    if command == "verify":  # every blob of the archive (its layers and configs)
        argv = [command, archive]
    elif command == "analyze":
        argv = [command, archive, "ocitool-fixture/base:1.0"]
    else:
        target = str(tmp_path / ("rootfs" if command == "unpack" else "rootfs.tar"))
        argv = [command, "--image", "ocitool-fixture/base:1.0", archive, target]
    code, out, err = _run(argv, tty=True)
    assert code == 0, err
    assert "\x1b" not in out and phase not in out  # progress never goes to stdout
    lines = [line for line in err.replace("\r\n", "\n").split("\n") if phase in line]
    assert lines, err
    # one line per layer: the layer's short digest, the phase, a full bar, bytes done/total
    assert any("[" + "=" * 50 + ">]" in line for line in lines), lines
    layers = {line.split("\r")[-1].split(":")[0] for line in lines}
    assert len(layers) == items and all(len(name) == 12 for name in layers), layers


@pytest.mark.parametrize(
    ("tty", "extra", "env"),
    [(False, [], {}), (True, ["-q"], {}), (True, [], {"CI": "true"})],
    ids=["pipe", "quiet", "ci"],
)
def test_no_progress_through_pipes_with_q_or_under_ci(
    tty: bool, extra: list[str], env: dict[str, str], tmp_path: Path, no_ci: None
) -> None:
    archive = str(peers.fixture(ARCHIVE))
    code, out, err = _run(
        ["unpack", *extra, "--image", "ocitool-fixture/base:1.0", archive, str(tmp_path / "r")],
        tty=tty,
        env=env,
    )
    assert code == 0, err
    assert "\x1b" not in err and "Extracting" not in err and "Reading" not in err
    assert out.endswith(f"entries unpacked to {tmp_path / 'r'}\n")


def test_renderer_lines_and_redraw() -> None:
    err = io.StringIO()
    r = ProgressRenderer(err)
    r(Progress("Extracting", 0, 2000, "aaaaaaaaaaaa"))
    r(Progress("Extracting", 2000, 2000, "aaaaaaaaaaaa"))
    r(Progress("Reading", 5000, 0, "bbbbbbbbbbbb"))
    r.close()
    text = err.getvalue()
    assert "aaaaaaaaaaaa: Extracting [" + "=" * 50 + ">] 2kB/2kB" in text
    assert "bbbbbbbbbbbb: Reading 5kB" in text
    assert "\x1b[1A" in text or "\x1b[2A" in text  # earlier lines are redrawn in place


def test_progress_for_a_stream_that_is_not_a_terminal(no_ci: None) -> None:
    assert progress_for(io.StringIO()) is None


def test_tracker_reports_first_and_last() -> None:
    events: list[Progress] = []
    t = Tracker(events.append, "Reading", 10, "x", step=4)
    for _ in range(5):
        t.add(2)
    t.finish()
    assert [e.done for e in events] == [0, 4, 8, 10]
    assert events[-1] == Progress("Reading", 10, 10, "x")


def test_load_and_save_draw_bars_on_a_terminal(tmp_path: Path, no_ci: None) -> None:
    archive = str(peers.fixture(ARCHIVE))
    env = {"OCITOOL_ROOT": str(tmp_path / "root")}
    code, out, err = _run(["load", "-i", archive], tty=True, env=env)
    assert code == 0, err
    assert out.splitlines()[-1].startswith("Loaded image: ") and "\x1b" not in out
    loading = [line for line in err.replace("\r\n", "\n").split("\n") if "Loading layer" in line]
    assert loading and any("[" + "=" * 50 + ">]" in line for line in loading), err
    code, out, err = _run(
        ["save", "-o", str(tmp_path / "saved.tar"), "ocitool-fixture/base:1.0"], tty=True, env=env
    )
    assert code == 0, err
    assert out == "" and "layers" in err and "\x1b[K" in err
    code, out, err = _run(["load", "-q", "-i", str(tmp_path / "saved.tar")], tty=True, env=env)
    assert code == 0 and "Loading layer" not in err and "\x1b" not in err
