"""The hostile suite: fixtures/hostile/ (made by make_hostile.py) through unpack, verify, validate.

Nothing may appear outside the target, no command may print a traceback, and ``verify`` must
fail every corrupt archive naming the bad digest.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ocitool.cli import main
from tests import peers

HOSTILE = peers.FIXTURES / "hostile"
CASES: dict[str, dict[str, Any]] = json.loads((HOSTILE / "cases.json").read_text())


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), stdout=out, stderr=err)
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue(), err.getvalue()
    return rc, out.getvalue(), err.getvalue()


def all_paths(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, n), root) for d, ds, fs in os.walk(root) for n in ds + fs}


def test_generator_reproduces_the_committed_archives() -> None:
    spec = importlib.util.spec_from_file_location("make_hostile", HOSTILE / "make_hostile.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    made = mod.cases()
    assert set(made) == set(CASES)
    for name, (data, expect) in made.items():
        assert (HOSTILE / name).read_bytes() == data, name
        assert expect == CASES[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_unpack_stays_inside(name: str, tmp_path: Path) -> None:
    expect = CASES[name]
    sandbox = tmp_path / "a" / "b"
    sandbox.mkdir(parents=True)
    target = sandbox / "rootfs"
    planted_before = os.path.lexists("/tmp/planted")  # where symlink-escape-across-layers aims
    rc, _, err = cli("unpack", str(HOSTILE / name), str(target))
    # Whatever happened, nothing exists outside the target.
    outside = {p for p in all_paths(tmp_path) if not p.startswith("a/b/rootfs")} - {"a", "a/b"}
    assert outside == set(), outside
    assert os.path.lexists("/tmp/planted") == planted_before
    assert expect["unpack"] in ("ok", "error"), "every case pins its outcome"
    if expect["unpack"] == "error":
        assert rc == 1 and err.startswith("Error: ") and err.count("\n") == 1, err
        assert str(expect["unpack_error"]) in err, err
        assert name in err  # the message names the archive
        assert not target.exists()
    elif expect["unpack"] == "ok":
        assert rc == 0, err
        assert err == (f"{expect['unpack_warning']}\n" if "unpack_warning" in expect else ""), err
        for rel in expect.get("inside", []):
            assert os.path.lexists(target / rel), rel
        for rel in expect.get("absent", []):
            assert not os.path.lexists(target / rel), rel
        for rel, text in expect.get("content", {}).items():
            assert (target / rel).read_text() == text
        assert not any(".wh." in p for p in all_paths(target))


@pytest.mark.parametrize("name", sorted(CASES))
def test_verify_names_the_bad_digest(name: str) -> None:
    expect = CASES[name]
    rc, out, _err = cli("verify", "--format", "json", str(HOSTILE / name))
    report = json.loads(out)
    if expect["verify"] == "ok":
        assert rc == 0 and report["OK"] is True, out
        assert report["Problems"] == [] and "verify_problems" not in expect
    else:
        assert rc == 2 and report["OK"] is False and report["Problems"], out
        if "bad_digest" in expect:
            assert any(p["Digest"] == expect["bad_digest"] for p in report["Problems"]), out
        assert all(p["Digest"] and p["ReferencedBy"] for p in report["Problems"]), out
        assert sorted({p["Kind"] for p in report["Problems"]}) == expect["verify_problems"], out


def test_a_symlink_planted_by_an_earlier_layer_never_leads_outside(tmp_path: Path) -> None:
    """symlink-escape-across-layers.tar aims at the fixed /tmp/planted; this one aims at a
    directory of the test's own, which exists: a write through the link must land inside."""
    import tarfile

    outside = tmp_path / "outside"
    outside.mkdir()

    def layer(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for info, data in members:
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    link = tarfile.TarInfo("tmp/planted")
    link.type, link.linkname = tarfile.SYMTYPE, str(outside)
    tmpdir = tarfile.TarInfo("tmp")
    tmpdir.type, tmpdir.mode = tarfile.DIRTYPE, 0o755
    escaped = tarfile.TarInfo("tmp/planted/escaped.txt")
    escaped.size = 8
    layers = [layer([(tmpdir, b""), (link, b"")]), layer([(escaped, b"escaped\n")])]
    archive = tmp_path / "across.tar"
    with tarfile.open(archive, "w") as tar:
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {
                    "type": "layers",
                    "diff_ids": ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers],
                },
            }
        ).encode()
        members = [
            ("c.json", config),
            ("manifest.json", json.dumps([{"Config": "c.json", "Layers": ["0.tar", "1.tar"]}]).encode()),
        ]
        members += [(f"{i}.tar", data) for i, data in enumerate(layers)]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = tmp_path / "rootfs"
    rc, _, err = cli("unpack", str(archive), str(target))
    assert rc == 0, err
    assert list(outside.iterdir()) == []
    assert (target / str(outside).lstrip("/") / "escaped.txt").read_text() == "escaped\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_never_crashes(name: str) -> None:
    expect = CASES[name]
    rc, out, _err = cli("validate", str(HOSTILE / name))
    assert rc in (0, 1, 2)
    if name in ("deep-json-config.tar", "not-json-config.tar"):
        assert rc == 2 and ".json: /" in out, out
    if expect["validate"] == "ok":
        assert rc == 0 and out.rstrip().endswith("validated: OK"), out
    else:
        assert expect["validate"] == "fail"
        assert rc == 2 and str(expect["validate_error"]) in out, out


def test_devices_flag_creates_nodes_as_root(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    rc, _, err = cli("unpack", "--devices", str(HOSTILE / "device-node.tar"), str(tmp_path / "r"))
    assert rc == 0, err
    assert (tmp_path / "r/dev/null").is_char_device()


def test_member_limit_is_enforced_at_its_edge(tmp_path: Path) -> None:
    archive = str(HOSTILE / "whiteouts.tar")  # its layers hold 4 members each
    rc, _, err = cli("unpack", "--max-members", "4", archive, str(tmp_path / "ok"))
    assert rc == 0, err
    rc, _, err = cli("unpack", "--max-members", "3", archive, str(tmp_path / "no"))
    assert rc == 1 and "more than 3 members" in err
    assert not (tmp_path / "no").exists()


def _bomb(path: Path, size: int) -> None:
    """A docker archive whose one gzip layer inflates to ``size`` bytes of zeros (streamed)."""
    import gzip
    import hashlib
    import tarfile

    layer = path.with_suffix(".layer")
    diff = hashlib.sha256()

    class Tee(io.RawIOBase):
        def __init__(self, gz: gzip.GzipFile) -> None:
            self.gz = gz

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            diff.update(data)
            self.gz.write(data)
            return len(data)

    with open(layer, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
        sink = Tee(gz)
        with tarfile.open(fileobj=sink, mode="w|") as tar:  # type: ignore[call-overload]
            info = tarfile.TarInfo("zeros.bin")
            info.size = size

            class Zeros(io.RawIOBase):
                left = size

                def readable(self) -> bool:
                    return True

                def readinto(self, b: Any) -> int:
                    n = min(len(b), self.left)
                    b[:n] = bytes(n)
                    self.left -= n
                    return n

            tar.addfile(info, io.BufferedReader(Zeros(), 1 << 20))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff.hexdigest()]},
        }
    ).encode()
    with tarfile.open(path, "w") as out:
        for name, data in (
            ("c.json", config),
            ("manifest.json", json.dumps([{"Config": "c.json", "Layers": ["l.tar"]}]).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
        out.add(layer, "l.tar")
    layer.unlink()


@pytest.mark.slow
def test_gzip_bomb_is_streamed_under_a_memory_limit(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.tar"
    _bomb(archive, 384 << 20)
    limit = 256 << 20  # less than the inflated layer: buffering it would fail

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    for argv in (
        [sys.executable, "-m", "ocitool", "verify", str(archive)],
        [
            sys.executable,
            "-c",
            "import sys,io; from ocitool.formats.detect import open_source; "
            "from ocitool.ops.rootfs import merged_tar; from tests.hostile._worker import _Null\n"
            "with open_source(sys.argv[1]) as s: merged_tar(s.entries[0].images()[0].layers, _Null())",
            str(archive),
        ],
    ):
        res = subprocess.run(argv, preexec_fn=cap, capture_output=True, timeout=120, cwd=peers.REPO)
        assert res.returncode == 0, res.stderr.decode()[-2000:]


def test_archive_member_limit_at_its_edge() -> None:
    from ocitool._io.tarindex import TarView
    from ocitool.errors import InvalidArchiveError

    path = str(HOSTILE / "oci-good.tar")
    count = sum(1 for _ in TarView(path).member_names())
    TarView(path, max_members=count).close()
    with pytest.raises(InvalidArchiveError, match=f"more than {count - 1} members") as info:
        TarView(path, max_members=count - 1)
    assert info.value.member and info.value.path == path


@pytest.mark.parametrize("name", sorted(CASES))
def test_export_to_a_pipe_writes_all_or_nothing(name: str, tmp_path: Path) -> None:
    """The new stream outputs (``-``) under hostile input: a refused image puts not one byte
    into the pipe (every layer is verified before the first byte is written); an accepted one
    streams a whole tar holding what unpack would have made."""
    import tarfile

    expect = CASES[name]
    proc = subprocess.run(
        [sys.executable, "-m", "ocitool", "export", str(HOSTILE / name), "-"],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    err = proc.stderr.decode(errors="replace")
    assert "Traceback" not in err and "internal error" not in err, err
    assert os.listdir(tmp_path) == [], "nothing is written beside the pipe"
    if expect["unpack"] == "error":
        assert proc.returncode == 1, err
        assert proc.stdout == b"", f"{len(proc.stdout)} bytes reached the pipe of a refused image"
        assert str(expect["unpack_error"]) in err, err
    else:
        assert proc.returncode == 0, err
        with tarfile.open(fileobj=io.BytesIO(proc.stdout), mode="r:") as tar:
            names = {m.name.rstrip("/") for m in tar.getmembers()}
        for rel in expect.get("inside", []):
            assert rel.rstrip("/") in names, rel
        # unpack skips device nodes without --devices; export keeps them, as docker export does
        kept_devices = "device" in str(expect.get("unpack_warning", ""))
        for rel in [] if kept_devices else expect.get("absent", []):
            assert rel.rstrip("/") not in names, rel
        assert not any(".wh." in n for n in names)
