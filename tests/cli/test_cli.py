"""The CLI contract: outputs, IMAGE selection, exit codes, and one-line errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocitool.cli import COMMAND_OWNERS, main
from tests import peers

F = peers.FIXTURES
TWO = str(F / "docker" / "two-images.tar")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def expected_ids(rel: str) -> list[str]:
    return [
        img["image_id"] for img in json.loads((peers.EXPECTED / "summary.json").read_text())[rel]["images"]
    ]


@pytest.mark.oracle("skopeo", recorded=True)
def test_inspect_all_images_of_a_multi_image_archive() -> None:
    code, out, err = run("inspect", TWO)
    assert code == 0, err
    docs = json.loads(out)
    assert sorted(d["Id"] for d in docs) == sorted(set(expected_ids("docker/two-images.tar")))
    assert out.startswith('[\n    {\n        "Id": "sha256:')
    assert list(docs[0])[:6] == ["Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created"]


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", TWO, "ocitool-fixture/child:extra"],
        ["inspect", TWO, "docker.io/ocitool-fixture/child:latest"],
        ["inspect", TWO, "ocitool-fixture/child"],  # default tag latest
        ["inspect", f"docker-archive:{TWO}:ocitool-fixture/child:extra"],
    ],
)
def test_names_are_normalised_as_docker_does(argv: list[str]) -> None:
    code, out, err = run(*argv)
    assert code == 0, err
    [doc] = json.loads(out)
    assert "ocitool-fixture/child:extra" in doc["RepoTags"]


def test_positions_ids_and_prefixes_choose_images() -> None:
    _, out, _ = run("inspect", "--format", "{{.Id}}", TWO)
    ids = out.split()
    for n, image_id in enumerate(ids):
        assert run("inspect", "--format", "{{.Id}}", TWO, f"@{n}")[1].strip() == image_id
        assert run("inspect", "--format", "{{.Id}}", f"docker-archive:{TWO}:@{n}")[1].strip() == image_id
        assert run("inspect", "--format", "{{.Id}}", TWO, image_id[7:19])[1].strip() == image_id
        assert run("inspect", "--format", "{{.Id}}", TWO, image_id)[1].strip() == image_id


def test_oci_ref_names_are_matched_as_written() -> None:
    code, out, err = run("inspect", "--format", "{{.Os}}/{{.Architecture}}", str(F / "oci" / "zstd"), "zstd")
    assert (code, out) == (0, "linux/amd64\n"), err
    code, out, err = run("inspect", "--format", "{{.Architecture}}", f"oci:{F / 'oci' / 'zstd'}:zstd")
    assert (code, out) == (0, "amd64\n"), err


def test_multi_platform_index() -> None:
    src = str(F / "oci" / "multiplatform")
    code, out, _ = run(
        "inspect", "--all-platforms", "--format", "{{.Os}}/{{.Architecture}}/{{.Variant}}", src
    )
    assert code == 0
    assert sorted(out.split()) == ["linux/amd64/", "linux/arm/v7", "linux/arm64/"]
    code, out, _ = run("inspect", "--platform", "linux/arm64/v8", "--format", "{{.Architecture}}", src)
    assert (code, out) == (0, "arm64\n")
    code, out, _ = run("inspect", "--platform", "linux/arm", "--format", "{{.Variant}}", src)
    assert (code, out) == (0, "v7\n")
    code, _, err = run("inspect", "--platform", "linux/s390x", src)
    assert code == 1 and "s390x" in err and err.count("\n") == 1


def test_manifests_lists_every_platform() -> None:
    code, out, err = run("manifests", str(F / "oci" / "multiplatform"))
    assert code == 0, err
    docs = json.loads(out)
    assert [d["Kind"] for d in docs] == ["image"] * 3
    assert all(d["Available"] for d in docs)
    assert {d["ImageData"]["Platform"]["architecture"] for d in docs} == {"amd64", "arm64", "arm"}
    for d in docs:
        assert d["Size"]["Total"] == d["Size"]["Content"] + d["ImageData"]["Size"]["Unpacked"]
        assert list(d) == ["ID", "Descriptor", "Available", "Size", "Kind", "ImageData"]


def test_config_and_manifest_are_raw_bytes(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    src = str(F / "oci" / "gzip")
    proc = subprocess.run([sys.executable, "-m", "ocitool", "config", src], capture_output=True, check=True)
    index = json.loads((F / "oci" / "gzip" / "index.json").read_bytes())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = (F / "oci" / "gzip" / "blobs" / "sha256" / manifest_digest).read_bytes()
    config_digest = json.loads(manifest)["config"]["digest"].split(":")[1]
    assert proc.stdout == (F / "oci" / "gzip" / "blobs" / "sha256" / config_digest).read_bytes()
    proc = subprocess.run([sys.executable, "-m", "ocitool", "manifest", src], capture_output=True, check=True)
    assert proc.stdout == manifest


def test_history_quiet_and_no_trunc() -> None:
    code, out, _ = run("history", "-q", TWO, "ocitool-fixture/base:1.0")
    lines = out.split()
    assert code == 0 and len(lines[0]) == 12 and all(x == "<missing>" for x in lines[1:])
    code, out, _ = run("history", "--no-trunc", "--format", "{{.ID}}", TWO, "ocitool-fixture/base:1.0")
    assert out.split()[0].startswith("sha256:") and len(out.split()[0]) == 71


@pytest.mark.oracle("skopeo", recorded=True)
def test_images_filters() -> None:
    code, out, _ = run("images", "--format", "{{.Repository}}:{{.Tag}}", TWO)
    assert sorted(out.split()) == [
        "ocitool-fixture/base:1.0",
        "ocitool-fixture/child:extra",
        "ocitool-fixture/child:latest",
    ]
    _, out, _ = run("images", "--filter", "reference=*/child:extra", "--format", "{{.Tag}}", TWO)
    assert out.split() == ["extra"]
    _, out, _ = run(
        "images",
        "--filter",
        "label=org.opencontainers.image.title=ocitool fixture base",
        "--format",
        "{{.Repository}}",
        TWO,
    )
    assert out.split() == ["ocitool-fixture/base"]
    untagged = str(F / "docker" / "untagged.tar")
    _, out, _ = run("images", "--filter", "dangling=true", "--format", "{{.ID}}", untagged)
    assert out.split() == [expected_ids("docker/untagged.tar")[0][7:19]]
    # the same image tagged in another source is not dangling: sources are merged by ID
    _, out, _ = run("images", "--filter", "dangling=true", "--format", "{{.ID}}", TWO, untagged)
    assert out.split() == []
    code, _, err = run("images", "--filter", "bogus=1", TWO)
    assert code == 1 and "bogus" in err


@pytest.mark.oracle("skopeo", recorded=True)
def test_whole_file_compressed_archives_are_detected_by_content(tmp_path: Path) -> None:
    # a misleading name: the content decides
    misnamed = tmp_path / "archive.tar"
    misnamed.write_bytes((F / "compressed" / "two-images.tar.xz").read_bytes())
    code, out, err = run("inspect", "--format", "{{.Id}}", str(misnamed))
    assert code == 0, err
    assert sorted(out.split()) == sorted(set(expected_ids("docker/two-images.tar")))


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["inspect"], 125),
        (["nosuchcommand"], 125),
        (["inspect", "--platform", "linux/amd64", "--all-platforms", TWO], 125),
        (["inspect", "/nonexistent/archive.tar"], 1),
        (["inspect", TWO, "no/such:image"], 1),
        (["inspect", TWO, "sha256:ffffffffffff"], 1),
        (["inspect", "--platform", "not a platform!", TWO], 1),
        (["config", __file__], 1),
        (["history", "oci:/nonexistent"], 1),
    ],
)
def test_exit_codes_and_one_line_errors(argv: list[str], code: int) -> None:
    got, _, err = run(*argv)
    assert got == code
    assert "Traceback" not in err
    if code == 1:
        assert err.startswith("Error: ") and err.count("\n") == 1


def test_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.oci"
    bad.mkdir()
    (bad / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + "a" * 64,
        "size": 10,
    }
    (bad / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [desc]}))
    code, _, err = run("inspect", str(bad))
    assert code == 1
    assert "index.json" in err or "sha256:" + "a" * 64 in err


@pytest.mark.real
def test_ambiguous_prefix_is_its_own_error() -> None:
    real = peers.real_fixture("regclient-testrepo")
    code, out, _ = run("inspect", "--format", "{{.Id}}", str(real))
    ids = sorted({i[7:] for i in out.split()})
    shared = next(a[0] for a in ids for b in ids if a != b and a[0] == b[0])
    code, _, err = run("inspect", str(real), shared)
    assert code == 1 and "ambiguous" in err


def test_python_dash_m_and_console_script() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ocitool", "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.startswith("ocitool ")


def test_images_before_and_since() -> None:
    fmt = ["--format", "{{.Repository}}:{{.Tag}}"]
    _, out, _ = run("images", "--filter", "before=ocitool-fixture/child:latest", *fmt, TWO)
    assert out.split() == ["ocitool-fixture/base:1.0"]
    _, out, _ = run("images", "--filter", "since=ocitool-fixture/base:1.0", *fmt, TWO)
    assert sorted(out.split()) == ["ocitool-fixture/child:extra", "ocitool-fixture/child:latest"]
    code, _, err = run("images", "--filter", "since=nosuch:image", TWO)
    assert code == 1 and "nosuch" in err


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = run("inspect", str(fifo))
    assert code == 1 and "not a regular file" in err


def test_command_owners_match_what_modules_register() -> None:
    import argparse

    from ocitool import cli

    registered: dict[str, str] = {}
    for name in cli._COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        __import__(f"ocitool.cli.{name}", fromlist=["register"]).register(sub)
        registered.update(dict.fromkeys(sub.choices, name))
    assert registered == cli.COMMAND_OWNERS


@pytest.mark.slow  # a fresh interpreter per command
def test_each_command_loads_only_its_owner_and_help_lists_every_command() -> None:
    """What COMMAND_OWNERS promises, observed in fresh processes: ``ocitool --help`` lists
    exactly its commands, and ``ocitool CMD --help`` imports one command module, CMD's owner."""
    import re

    from ocitool import cli

    listed = subprocess.run(
        [sys.executable, "-m", "ocitool", "--help"], capture_output=True, text=True, check=True
    ).stdout
    [choices] = re.findall(r"^\s+\{([a-z,-]+)\}", listed, re.M) or [
        ",".join(re.findall(r"^    ([a-z-]+)\s", listed, re.M))
    ]
    assert set(choices.split(",")) == set(cli.COMMAND_OWNERS)
    probe = (
        "import sys, io, contextlib\n"
        "before = set(sys.modules)  # what the interpreter's site hooks loaded is not ours\n"
        "from ocitool.cli import main\n"
        "sink = io.StringIO()\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(sink):\n"
        "    main([sys.argv[1], '--help'], stdout=sink, stderr=sink)\n"
        "assert sink.getvalue().startswith('usage: ocitool ' + sys.argv[1]), sink.getvalue()\n"
        "mods = [m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('ocitool.cli.')]\n"
        f"print(' '.join(sorted(m for m in mods if m in {cli._COMMAND_MODULES!r})))\n"
    )
    procs = {
        cmd: subprocess.Popen([sys.executable, "-c", probe, cmd], stdout=subprocess.PIPE, text=True)
        for cmd in cli.COMMAND_OWNERS
    }
    loaded = {cmd: p.communicate(timeout=60)[0].split() for cmd, p in procs.items()}
    assert loaded == {cmd: [owner] for cmd, owner in cli.COMMAND_OWNERS.items()}


def test_inspect_loads_only_its_own_command_module() -> None:
    code = (
        "import sys, io; from ocitool.cli import main; "
        f"main(['inspect', '--format', '{{{{.Id}}}}', {TWO!r}], stdout=io.StringIO()); "
        "print(sorted(m for m in sys.modules if m.startswith(('ocitool.cli.', 'jsonschema', 'sqlite3'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # a --format runs a template: docker's template layer and the inspect context load, no other command
    assert proc.stdout.strip() == (
        "['ocitool.cli.commands', 'ocitool.cli.contexts', 'ocitool.cli.render', 'ocitool.cli.template']"
    )


# What start-up must not load (issue 11): the template engine, the read path, the HTTP client and
# the codecs are loaded by the command that uses them, never by --version or --help.
_HEAVY = (
    "ocitool._go.template",
    "ocitool.ops.",
    "ocitool.analysis",
    "ocitool.engineapi",
    "ocitool.formats.registry.client",
    "ocitool.service",
    "ocitool.store",
    "oras",
    "requests",
    "zstandard",
    "isal",
    "tarfile",
    "jsonschema",
    "cryptography",
)


@pytest.mark.parametrize("argv", [["--version"], ["--help"], *([cmd, "--help"] for cmd in COMMAND_OWNERS)])
def test_start_up_loads_nothing_heavy(argv: list[str]) -> None:
    code = (
        "import sys, io, contextlib\n"
        "before = set(sys.modules)  # what the interpreter's site hooks loaded is not ours\n"
        "from ocitool.cli import main\n"
        "sink = io.StringIO()\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(sink):\n"
        "    main(sys.argv[1:], stdout=sink, stderr=sink)\n"
        "assert sink.getvalue(), 'no output'\n"
        f"heavy = {_HEAVY!r}\n"
        "print(' '.join(sorted(m for m in set(sys.modules) - before if m.startswith(heavy))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    loaded = proc.stdout.split()
    # --version names the gzip implementation, so it may import isal; progress events are light
    version = argv == ["--version"]
    allowed = {"ocitool.ops.progress"}
    assert [m for m in loaded if m not in allowed and not (version and m.split(".")[0] == "isal")] == []


def test_images_of_an_uncompressed_archive_loads_no_codec_nor_template() -> None:
    code = (
        "import sys, io; before = set(sys.modules); from ocitool.cli import main; "
        f"main(['images', {TWO!r}], stdout=io.StringIO()); "
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(('ocitool._go.template', "
        "'zstandard', 'isal', 'lzma', 'bz2', 'tarfile', 'ocitool.formats.registry.client', 'oras'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_typed_config_has_a_zero_for_every_field_in_order() -> None:
    from ocitool.cli.contexts import _CONFIG_ZERO
    from ocitool.model.config import OCI_CONFIG_FIELDS

    assert tuple(_CONFIG_ZERO) == OCI_CONFIG_FIELDS
    # the order itself is checked against the docker v28 CLI's ``{{json .Config}}`` (which
    # marshals its typed DockerOCIImageConfig) in tests/interop/test_docker_cli.py


@pytest.mark.oracle("docker", "skopeo", recorded=True)
def test_an_archive_compressed_whole_with_bzip2(tmp_path: Path) -> None:
    """bzip2 (the real tool, ``bzip2 -9``) of docker/two-images.tar, under a misleading name:
    every command reads it as the plain archive, whose image IDs and tags skopeo and docker
    recorded."""
    import shutil

    bzip2 = shutil.which("bzip2")
    if bzip2 is None:
        pytest.skip("bzip2 not installed")
    packed = tmp_path / "two-images.tar"  # the content decides, not the name
    with open(packed, "wb") as out:
        subprocess.run([bzip2, "-9", "-c", TWO], stdout=out, check=True)
    assert packed.read_bytes()[:3] == b"BZh"
    facts = json.loads((peers.EXPECTED / "docker" / "two-images.tar.json").read_text())
    code, out, err = run("inspect", "--format", "{{.Id}} {{json .RepoTags}}", str(packed))
    assert code == 0, err
    got = sorted(
        (line.split(" ", 1)[0], sorted(json.loads(line.split(" ", 1)[1]))) for line in out.splitlines()
    )
    assert got == sorted(
        (im["image_id"], sorted(im["manifest_json_entry"]["RepoTags"])) for im in facts["images"]
    )
    for argv in (
        ["images", "--no-trunc", "--format", "json"],
        ["history", "--no-trunc", "--format", "json", "@0"],
        ["manifests"],
        ["config", "@1"],
    ):
        if argv[0] in ("config", "history"):
            argv, image = argv[:-1], argv[-1:]
        else:
            image = []
        ours = run(*argv, str(packed), *image)
        assert ours[0] == 0 and ours == run(*argv, TWO, *image), argv
    code, out, _ = run("verify", str(packed))
    assert code == 0 and out.rstrip().endswith("OK")


@pytest.mark.parametrize("debug", ["", "1"])
def test_an_internal_error_is_one_line_unless_ocitool_debug(debug: str, tmp_path: Path) -> None:
    """A bug (any exception that is not an OcitoolError) is one line naming OCITOOL_DEBUG; with
    OCITOOL_DEBUG=1 the traceback comes first. Exit code 1 either way. In a fresh process, with a
    reader broken on purpose."""
    probe = (
        "import sys\n"
        "import ocitool.ops.query as q\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('boom: a bug')\n"
        "q.inspect = boom\n"
        "from ocitool.cli import main\n"
        "sys.exit(main(['inspect', sys.argv[1]]))\n"
    )
    env = (
        {**os.environ, "OCITOOL_DEBUG": debug}
        if debug
        else {k: v for k, v in os.environ.items() if k != "OCITOOL_DEBUG"}
    )
    p = subprocess.run([sys.executable, "-c", probe, TWO], capture_output=True, text=True, env=env)
    assert p.returncode == 1 and p.stdout == ""
    last = "Error: internal error: RuntimeError: boom: a bug (set OCITOOL_DEBUG=1 for details)\n"
    if debug:
        assert p.stderr.startswith("Traceback (most recent call last):\n"), p.stderr
        assert ", in boom\n" in p.stderr and p.stderr.endswith("RuntimeError: boom: a bug\n" + last)
    else:
        assert p.stderr == last
