"""Offline: ocitool against what the Docker 20.10 daemon and the docker CLI printed when
fixtures/make_fixtures.sh loaded each fixture into an empty daemon (fixtures/expected/*.json,
recorded by fixtures/tools/record.py): ``docker load``'s lines, ``docker images`` and
``docker history`` (CLI JSON lines), ``GET /images/json`` and ``GET /images/{id}/history``, and
``docker image inspect``. No daemon is needed; the fields relative to "now" (``CreatedSince``)
are left out, and the local time zone is UTC as it was when they were recorded.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ocitool
from ocitool.cli import main
from tests import oracles, peers

pytestmark = pytest.mark.oracle("docker", "docker-cli", recorded=True)

SUMMARY: dict[str, Any] = json.loads((peers.EXPECTED / "summary.json").read_text())
LOADED = sorted(
    rel
    for rel, info in SUMMARY.items()
    if info["transport"] == "docker-archive" and info.get("docker_load_ok")
)
# the fixtures recorded in full (the compressed ones keep the load and the image list only)
FULL = [rel for rel in LOADED if "same_as" not in peers.expected(rel)]
RELATIVE = ("CreatedSince",)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _cli(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(list(argv), stdout=out, stderr=err) == 0, err.getvalue()
    return out.getvalue()


def _rows(text: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in json.loads(line).items() if k not in RELATIVE} for line in text.splitlines()]


def _without_relative(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in RELATIVE} for r in rows]


@pytest.mark.parametrize("rel", LOADED)
def test_load_lines_equal_dockers(rel: str, tmp_path: Path) -> None:
    recorded = peers.expected(rel)["docker"]["docker_load"]
    assert recorded["exit_code"] == 0
    out = _cli("--root", str(tmp_path / "root"), "load", "-i", str(peers.fixture(rel)))
    assert sorted(out.splitlines()) == sorted(recorded["stdout"])


@pytest.mark.parametrize("rel", LOADED)
def test_images_rows_equal_dockers(rel: str) -> None:
    recorded = peers.expected(rel)["docker"]["docker_images_cli"]
    ours = _rows(_cli("images", "--no-trunc", "--format", "json", str(peers.fixture(rel))))
    key = json.dumps
    assert sorted(ours, key=key) == sorted(_without_relative(recorded), key=key)


@pytest.mark.parametrize("rel", LOADED)
def test_api_images_json_equals_the_daemons(rel: str) -> None:
    """v28's ImageSummary against API 1.41's: VirtualSize is gone in v28 (API 1.44); RepoDigests
    is ``[]`` where 1.41 sent null, and an untagged image has ``[]`` where API < 1.43 put the
    placeholders ``<none>:<none>`` and ``<none>@<none>``."""
    recorded = peers.expected(rel)["docker"]["api_images_json"]
    ours = [s.to_json() for s in ocitool.images([str(peers.fixture(rel))])]
    theirs = []
    for row in recorded:
        row = {k: v for k, v in row.items() if k != "VirtualSize"}
        row["RepoDigests"] = [d for d in row["RepoDigests"] or [] if d != "<none>@<none>"]
        row["RepoTags"] = [t for t in row["RepoTags"] or [] if t != "<none>:<none>"]
        theirs.append(row)
    key = json.dumps
    assert sorted(({k: r.get(k) for k in theirs[0]} for r in ours), key=key) == sorted(theirs, key=key)


def _images(rel: str) -> list[tuple[str, dict[str, Any]]]:
    return [(rel, image) for image in peers.expected(rel)["docker"]["images"]]


IMAGES = [
    pytest.param(rel, image, id=f"{rel}@{image['id'][7:19]}") for rel in FULL for rel, image in _images(rel)
]


@pytest.mark.parametrize(("rel", "image"), IMAGES)
def test_history_equals_dockers(rel: str, image: dict[str, Any]) -> None:
    src = str(peers.fixture(rel))
    cli = _rows(_cli("history", "--no-trunc", "--format", "json", src, image["id"]))
    assert cli == _without_relative(image["docker_history_cli"])
    api = [h.to_json() for h in ocitool.history(src, image["id"])]
    assert api == image["api_image_history"]


@pytest.mark.parametrize(("rel", "image"), IMAGES)
def test_inspect_equals_dockers(rel: str, image: dict[str, Any]) -> None:
    [theirs] = image["docker_image_inspect"]
    [mine] = json.loads(_cli("inspect", str(peers.fixture(rel)), image["id"]))
    oracles.assert_inspect_equal(mine, theirs)
