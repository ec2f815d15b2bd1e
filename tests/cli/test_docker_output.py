"""ocitool's tables, JSON lines and template messages against the docker v28 CLI printing the
same Engine API data (issue 10, section 4).

The data are the Engine API documents ocitool's library computes for a small layout (images
with a zero and an epoch creation time, a healthcheck); :mod:`tests.cli.engine_stub` serves
them to the real ``docker`` client, whose output, stderr and exit code ocitool's CLI must
reproduce byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ocitool._go.values import GoDuration
from ocitool.ops import query
from tests import peers
from tests.cli.engine_stub import EngineData, serving

pytestmark = pytest.mark.oracle("docker-cli")

_TAGS = ("zero", "epoch", "dated")


def _blob(root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return "sha256:" + digest


def _image(root: Path, tag: str, created: str, *, health: bool) -> dict[str, Any]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello")
        payload = f"{tag}\n".encode()
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    layer = buf.getvalue()
    layer_digest = _blob(root, layer)
    run: dict[str, Any] = {"Cmd": ["/bin/hello"]}
    if tag == "dated":
        # control characters as the v28 client's Go (1.22+) writes them: \b and \f short, the
        # rest as \u00XX; <, > and & escaped by {{json}}'s encoder only when HTML escaping is on
        run["Labels"] = {"ctl": "a\bb\fc\x01d\te<f>&g\u2028h"}
    if health:
        run["Healthcheck"] = {
            "Test": ["CMD", "/bin/hello", "--health"],
            "Interval": 30_000_000_000,
            "Timeout": 5_000_000_000,
            "StartPeriod": 10_000_000_000,
            "Retries": 3,
        }
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": created,
            "config": run,
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            "history": [
                {"created": created, "created_by": "/bin/sh -c #(nop) ADD file:abc in /"},
                {"created": created, "created_by": "/bin/sh -c #(nop) CMD /bin/hello", "empty_layer": True},
            ],
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _blob(root, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": _blob(root, manifest),
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("times") / "layout"
    root.mkdir()
    manifests = [
        _image(root, "zero", "0001-01-01T00:00:00Z", health=True),
        _image(root, "epoch", "1970-01-01T00:00:00Z", health=False),
        _image(root, "dated", "2021-03-04T05:06:07Z", health=True),
    ]
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return root


@pytest.fixture(scope="module")
def engine(layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment that points the docker CLI at a stub serving ``layout``'s Engine API."""
    peers.require_tool("docker")
    data = EngineData(images=[s.to_json() for s in query.images(str(layout))])
    for tag in _TAGS:
        data.inspect[tag] = query.inspect(str(layout), [tag])[0].to_json()
        data.history[tag] = [h.to_json() for h in query.history(str(layout), tag)]
    work = tmp_path_factory.mktemp("engine")
    (work / "config").mkdir()
    with serving(data, work) as host:
        yield {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": str(work / "config"), "TZ": "UTC"}


def _docker(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    peers.note_tool("docker")
    p = subprocess.run(["docker", *args], capture_output=True, env=env, timeout=60, check=False)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def _ocitool(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    argv = [sys.executable, "-m", "ocitool", *args]
    p = subprocess.run(argv, capture_output=True, env=env, timeout=60, check=False)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


# (command, options, image): docker runs ``[image] COMMAND OPTIONS [IMAGE]`` against the
# stub; ocitool runs ``COMMAND OPTIONS LAYOUT [IMAGE]``.
_FORMATS = (
    "{{json .Config.Labels}}",
    "{{.Config.Labels}}",
    "{{.Config.Healthcheck}}",
    "{{json .Config.Healthcheck}}",
    "{{.GraphDriver}}",
    "{{.Created}} {{.Metadata}}",
)
CASES: list[tuple[str, list[str], str]] = [
    ("images", [], ""),
    ("images", ["--format", "json"], ""),
    ("images", ["--format", "{{.ID}} [{{.CreatedSince}}] {{.CreatedAt}}"], ""),
    ("images", ["--digests"], ""),
    ("images", ["--format", "{{.X"], ""),
    ("images", ["--format", "{{.Nope}}"], ""),
    *[("history", options, tag) for options in ([], ["--format", "json"], ["-H=false"]) for tag in _TAGS],
    ("history", ["--format", "{{.X"], "zero"),
    ("history", ["--format", "{{.Nope}}"], "zero"),
    *[("inspect", ["--format", fmt], tag) for fmt in _FORMATS for tag in ("zero", "dated")],
    ("inspect", ["--format", "{{.Config"], "zero"),
    ("inspect", ["--format", "{{.Nope}}"], "zero"),
]


@pytest.mark.parametrize(
    ("command", "options", "image"), CASES, ids=[" ".join([c[0], *c[1], c[2]]) for c in CASES]
)
def test_output_matches_the_docker_cli(
    engine: dict[str, str], layout: Path, command: str, options: list[str], image: str
) -> None:
    tail = [image] if image else []
    expected = _docker(engine, *(["image"] if command == "inspect" else []), command, *options, *tail)
    got = _ocitool(engine, command, *options, str(layout), *tail)
    assert got == expected


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5\u00b5s"),
        (2_000_000, "2ms"),
        (30_000_000_000, "30s"),
        (90_500_000_000, "1m30.5s"),
        (3_600_000_000_000, "1h0m0s"),
        (-5_000_000_000, "-5s"),
    ],
)
def test_go_duration_prints_as_go(ns: int, text: str) -> None:
    # Go's time.Duration.String(), as {{.Config.Healthcheck}} prints its intervals.
    assert str(GoDuration(ns)) == text
