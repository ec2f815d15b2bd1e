"""moby's ``Identity.Pull`` in ``inspect`` of a store image: the repository ``pull`` brought the
image from, and each repository a ``push`` sent it to afterwards (moby: "After successful push
this images also contains the pushed repository location"), once each, oldest first; ``rmi``
removes the record with the image."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import pytest

from ocitool.cli import main
from tests.registry import servers

pytestmark = pytest.mark.peers


def _ok(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def _identity(store: Path, name: str) -> object:
    return json.loads(_ok("--root", str(store), "inspect", name))[0].get("Identity")


def _seed(store: Path, tmp_path: Path, ref: str) -> None:
    member = tmp_path / f"{uuid.uuid4().hex}.tar"
    with tarfile.open(member, "w") as tar:
        data = uuid.uuid4().hex.encode()
        info = tarfile.TarInfo("f")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    _ok("--root", str(store), "import", str(member), ref)


def test_pull_records_the_repository_push_adds_and_rmi_forgets(
    registry: servers.Registry, tmp_path: Path
) -> None:
    name = f"{registry.host}/identity/{uuid.uuid4().hex[:10]}"
    seed, store = tmp_path / "seed", tmp_path / "store"
    _seed(seed, tmp_path, f"{name}:1")
    # an imported image has no identity at all: the field is omitted
    assert _identity(seed, f"{name}:1") is None
    _ok("--root", str(seed), "push", f"{name}:1")
    # the push is recorded on the pushing side too
    assert _identity(seed, f"{name}:1") == {"Pull": [{"Repository": name}]}

    _ok("--root", str(store), "pull", f"{name}:1")
    assert _identity(store, f"{name}:1") == {"Pull": [{"Repository": name}]}
    # pulled again, by digest: still once
    image_id = json.loads(_ok("--root", str(store), "inspect", f"{name}:1"))[0]["Id"]
    digest = json.loads(_ok("--root", str(store), "inspect", f"{name}:1"))[0]["RepoDigests"][0]
    _ok("--root", str(store), "pull", digest)
    assert _identity(store, image_id) == {"Pull": [{"Repository": name}]}

    # pushed elsewhere: added after the pulled one, once however often it is pushed
    _ok("--root", str(store), "tag", f"{name}:1", f"{name}-copy:2")
    _ok("--root", str(store), "push", f"{name}-copy:2")
    _ok("--root", str(store), "push", f"{name}-copy:2")
    want = {"Pull": [{"Repository": name}, {"Repository": f"{name}-copy"}]}
    assert _identity(store, image_id) == want
    # the record is per image, whatever name inspects it
    assert _identity(store, f"{name}-copy:2") == want
    hexid = image_id.split(":")[1]
    record = store / "image" / "overlay2" / "imagedb" / "metadata" / "sha256" / hexid / "ocitoolPullIdentity"
    assert json.loads(record.read_text()) == want["Pull"]

    # the library shows the same
    import ocitool

    [resp] = ocitool.ImageService(str(store)).inspect([image_id])
    assert resp.identity == want

    # rmi removes the image and its record
    _ok("--root", str(store), "rmi", "-f", image_id)
    assert not record.exists() and not record.parent.exists()
    # pulled again: a fresh record, the pull alone
    _ok("--root", str(store), "pull", f"{name}-copy:2")
    assert _identity(store, f"{name}-copy:2") == {"Pull": [{"Repository": f"{name}-copy"}]}
