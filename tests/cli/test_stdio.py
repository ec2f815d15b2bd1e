"""docker's habits with pipes and redirections (issue 10 §2): ``load < x.tar``, ``cat x.tar |
ocitool load``, ``gunzip -c x.tar.gz | ocitool load``, ``save IMG > x.tar``, ``-`` for stdout,
global options after the command. Run as real processes, with real pipes."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ocitool.cli import _build_parser
from ocitool.model.digest import digest_bytes
from tests import peers

TWO = peers.FIXTURES / "docker" / "two-images.tar"
TWO_LINES = [
    "Loaded image: ocitool-fixture/base:1.0",
    "Loaded image: ocitool-fixture/child:latest",
    "Loaded image: ocitool-fixture/child:extra",
]
OCITOOL = [sys.executable, "-m", "ocitool"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private default store and temp dir for the child processes."""
    (tmp_path / "tmp").mkdir()
    return {**os.environ, "OCITOOL_ROOT": str(tmp_path / "root"), "TMPDIR": str(tmp_path / "tmp")}


def ocitool(*args: str, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*OCITOOL, *args], env=env, capture_output=True, timeout=120, check=False, **kw)  # type: ignore[call-overload, no-any-return]


def tags(env: dict[str, str], *root: str) -> list[str]:
    p = ocitool("images", *root, "--format", "{{.Repository}}:{{.Tag}}", env=env)
    assert p.returncode == 0, p.stderr
    return sorted(p.stdout.decode().split())


def test_load_reads_stdin_redirected_from_a_file(env: dict[str, str], tmp_path: Path) -> None:
    with open(TWO, "rb") as stdin:
        p = ocitool("load", env=env, stdin=stdin)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines() == TWO_LINES
    # images without a SOURCE lists the store load filled by default, as docker images does
    assert tags(env) == sorted(line.split(": ")[1] for line in TWO_LINES)
    assert list((tmp_path / "tmp").iterdir()) == []  # the spooled copy is gone


@pytest.mark.parametrize("producer", ["cat", "gunzip"])
def test_load_reads_a_pipe(producer: str, env: dict[str, str], tmp_path: Path) -> None:
    """``cat x.tar | ocitool load`` and ``gunzip -c x.tar.gz | ocitool load``."""
    if producer == "cat":
        argv = ["cat", str(TWO)]
    else:
        gz = tmp_path / "two.tar.gz"
        gz.write_bytes(gzip.compress(TWO.read_bytes()))
        argv = [shutil.which("gunzip") or "gunzip", "-c", str(gz)]
    upstream = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert upstream.stdout is not None
    p = ocitool("load", env=env, stdin=upstream.stdout)
    upstream.stdout.close()
    assert upstream.wait() == 0 and p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines() == TWO_LINES


def test_load_of_empty_or_bad_stdin_names_stdin(env: dict[str, str], tmp_path: Path) -> None:
    p = ocitool("load", env=env, stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and p.stderr == b"Error: requested load from stdin, but stdin is empty\n"
    p = ocitool("load", env=env, input=b"not an archive\n")
    assert p.returncode == 1 and p.stderr.startswith(b"Error: stdin: "), p.stderr
    assert b"/tmp/" not in p.stderr and list((tmp_path / "tmp").iterdir()) == []


def _loaded(env: dict[str, str]) -> None:
    p = ocitool("load", "-i", str(TWO), env=env)
    assert p.returncode == 0, p.stderr


@pytest.mark.oracle("skopeo")
def test_save_to_a_redirected_stdout_is_a_docker_archive(env: dict[str, str], tmp_path: Path) -> None:
    _loaded(env)
    out = tmp_path / "x.tar"
    with open(out, "wb") as stdout:
        p = subprocess.run(
            [*OCITOOL, "save", "ocitool-fixture/child:extra"], env=env, stdout=stdout, timeout=120
        )
    assert p.returncode == 0 and out.stat().st_size > 0
    # skopeo reads it as a docker archive: the config is the image's, every layer is listed
    root = env["OCITOOL_ROOT"]
    image_id = ocitool("inspect", "--root", root, "-f", "{{.Id}}", "ocitool-fixture/child:extra", env=env)
    assert (
        str(digest_bytes(peers.skopeo_raw(f"docker-archive:{out}", config=True)))
        == image_id.stdout.decode().strip()
    )
    layers = ocitool(
        "inspect", "--root", root, "-f", "{{len .RootFS.Layers}}", "ocitool-fixture/child:extra", env=env
    )
    assert len(peers.skopeo_inspect(f"docker-archive:{out}")["Layers"]) == int(layers.stdout)
    # the same bytes as -o FILE
    p = ocitool("save", "-o", str(tmp_path / "o.tar"), "ocitool-fixture/child:extra", env=env)
    assert p.returncode == 0 and (tmp_path / "o.tar").read_bytes() == out.read_bytes()


@pytest.mark.oracle("docker")
def test_docker_loads_what_save_wrote_to_stdout(
    docker: peers.DockerDaemon, env: dict[str, str], tmp_path: Path
) -> None:
    _loaded(env)
    out = tmp_path / "x.tar"
    with open(out, "wb") as stdout:
        p = subprocess.run(
            [*OCITOOL, "save", "ocitool-fixture/base:1.0"], env=env, stdout=stdout, timeout=120
        )
    assert p.returncode == 0
    image_id = ocitool(
        "inspect", "--root", env["OCITOOL_ROOT"], "-f", "{{.Id}}", "ocitool-fixture/base:1.0", env=env
    )
    docker.rmi("ocitool-fixture/base:1.0")
    with docker.loaded(out) as res:
        assert res.exit_code == 0, res.stderr
        assert "Loaded image: ocitool-fixture/base:1.0" in res.output
        assert docker.inspect("ocitool-fixture/base:1.0")["Id"] in image_id.stdout.decode()


def test_save_refuses_a_terminal_with_docker_s_words(env: dict[str, str]) -> None:
    _loaded(env)
    controller, terminal = os.openpty()
    try:
        p = subprocess.run(
            [*OCITOOL, "save", "ocitool-fixture/base:1.0"],
            env=env,
            stdout=terminal,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert p.returncode == 1
    assert p.stderr == b"Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n"


def members(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return tar.getnames()


def test_dash_and_dev_stdout_stream_the_archive_and_nothing_else(env: dict[str, str], tmp_path: Path) -> None:
    p = ocitool("export", "--image", "ocitool-fixture/base:1.0", str(TWO), "-", env=env)
    # the tar alone on stdout (a pipe): the note about it goes to stderr
    assert p.returncode == 0 and p.stderr.endswith(b": exported to -\n"), p.stderr
    exported = p.stdout
    assert len(exported) % 10240 == 0 and members(exported)
    p = ocitool("export", "--image", "ocitool-fixture/base:1.0", str(TWO), "/dev/stdout", env=env)
    assert p.returncode == 0 and p.stdout == exported
    assert os.path.islink("/dev/stdout") or not os.path.isfile("/dev/stdout")
    for transport in ("docker-archive", "oci-archive"):
        p = ocitool("convert", str(TWO), f"{transport}:-", env=env)
        assert p.returncode == 0, p.stderr
        assert "manifest.json" in members(p.stdout) or "index.json" in members(p.stdout)
        assert p.stderr.count(b"sha256:") == 2  # the per-image lines, on stderr
        written = tmp_path / f"{transport}.tar"
        written.write_bytes(p.stdout)
        assert tags(env, f"{transport}:{written}") == tags(env, str(TWO))
    assert list((tmp_path / "tmp").iterdir()) == []  # the archive's scratch space is gone


def test_a_report_on_stdout_is_the_report_alone(env: dict[str, str]) -> None:
    p = ocitool("analyze", str(TWO), "ocitool-fixture/base:1.0", "--junit", "-", env=env)
    assert p.returncode in (0, 2), p.stderr
    assert ET.fromstring(p.stdout).tag == "testsuites" and p.stderr


def test_a_fifo_output_is_written_in_place(env: dict[str, str], tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    p = ocitool("export", "--image", "ocitool-fixture/base:1.0", str(TWO), str(fifo), env=env)
    data, _ = reader.communicate(timeout=120)
    assert p.returncode == 0, p.stderr
    assert members(data) and fifo.is_fifo()


def test_errors_name_the_path_never_a_temporary(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "no" / "out.tar"
    for argv in (
        ["export", "--image", "ocitool-fixture/base:1.0", str(TWO), str(missing)],
        ["convert", str(TWO), f"docker-archive:{missing}"],
        ["convert", str(TWO), f"oci:{missing}"],
    ):
        p = ocitool(*argv, env=env)
        assert p.returncode == 1
        assert p.stderr == f"Error: cannot write {missing}: No such file or directory\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


def test_global_options_work_after_the_command(env: dict[str, str], tmp_path: Path) -> None:
    root = str(tmp_path / "elsewhere")
    p = ocitool("load", "--root", root, "-i", str(TWO), env=env)
    assert p.returncode == 0, p.stderr
    assert tags(env, "--root", root) == tags(env, str(TWO))
    p = ocitool("--root", root, "images", "-q", env=env)
    assert p.returncode == 0 and p.stdout == ocitool("images", "-q", "--root", root, env=env).stdout
    assert tags(env) == []  # the default store was left alone
    for argv in (
        ["history", "--docker-root", "/d", "x"],
        ["image", "prune", "--root", "/r"],
        ["system", "df", "--docker-root", "/d"],
    ):
        args = _build_parser().parse_args(argv)
        assert getattr(args, "root", None) == ("/r" if "--root" in argv else None)
        assert getattr(args, "docker_root", None) == ("/d" if "--docker-root" in argv else None)
    args = _build_parser().parse_args(["--root", "/before", "images"])
    assert args.root == "/before"  # not reset by the command's own (absent) option
