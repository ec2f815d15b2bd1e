"""The real Docker daemon is the oracle: ``docker load`` each archive, then compare
``docker image inspect`` and ``docker history`` with ours, field by field.

The daemon is Debian's 20.10 (Engine API 1.41); our shapes are Engine v28's. The mapping:

- ``Id``, ``RepoTags``, ``RepoDigests`` (empty after a load), ``Parent``, ``Comment``,
  ``Created``, ``DockerVersion``, ``Author``, ``Architecture``, ``Variant``, ``Os``,
  ``OsVersion``, ``Size``, ``RootFS``: the same in both.
- ``Config``: API 1.41 returns moby's ``container.Config`` (Hostname, AttachStdin, ... with
  nulls); v28 returns ``DockerOCIImageConfig`` (User, ExposedPorts, Env, Entrypoint, Cmd,
  Volumes, WorkingDir, Labels, StopSignal, ArgsEscaped, Healthcheck, OnBuild, Shell) with
  ``omitempty``. We compare those keys, null and absent being the same.
- ``VirtualSize`` (dropped in API 1.44), ``Container`` and ``ContainerConfig`` (dropped in
  1.45): not in v28 output, not compared.
- ``GraphDriver``: the daemon's storage; meaningless for an archive (ours is empty).
- ``Metadata.LastTagTime``: zero after ``docker load`` in both.
- ``Descriptor``, ``Manifests`` (and ``ManifestSummary``): only a containerd-store daemon has
  them; 20.10 has no such store, so they have no oracle here.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from ocitool.cli import main
from ocitool.ops import query
from tests import oracles, peers

pytestmark = pytest.mark.oracle("docker-cli")

SUMMARY = json.loads((peers.EXPECTED / "summary.json").read_text())

OURS = [
    rel
    for rel, info in SUMMARY.items()
    if info["transport"] == "docker-archive" and info.get("docker_load_ok")
]
# legacy-bundle-two-images.tar is left out: Docker refuses it (invalid tag "test_image_2").
REAL = [
    "docker25-hello-world.tar",
    "legacy-pre110-no-manifest.tar",
    "legacy-whiteout.tar",
    "docker1809-dive-14-layers.tar",
    "foreign-layer.tar",  # no os in its config (docker shows the host's), zero created times
]


def _archives() -> list[Any]:
    """Every case, always: a missing ../shared is a skipped (or, in CI, failed) case by name."""
    cases = [pytest.param(rel, id=rel) for rel in OURS]
    cases += [pytest.param(f"real/{name}", id=f"real/{name}", marks=pytest.mark.real) for name in REAL]
    return cases


@pytest.mark.parametrize("case", _archives())
def test_inspect_and_history_match_docker(case: str, docker_cli: peers.DockerDaemon) -> None:
    docker = docker_cli
    archive = peers.real_fixture(case[5:]) if case.startswith("real/") else peers.fixture(case)
    ours = query.inspect(str(archive))
    with docker.loaded(archive) as loaded:
        # every image the load named is one we report, and every one we report was loaded
        assert set(loaded.image_ids) <= {r.id for r in ours}
        for resp in ours:
            mine = resp.to_json()
            theirs = docker.inspect(resp.id)
            oracles.assert_inspect_equal(mine, theirs)

            # history: same rows, sizes, IDs and tags as the daemon's (JSON lines of the CLI)
            out = io.StringIO()
            assert main(["history", "--no-trunc", "--format", "json", str(archive), resp.id], stdout=out) == 0
            rows = [json.loads(line) for line in out.getvalue().splitlines()]
            expected = docker.history(resp.id)
            drop = ("CreatedSince",)  # relative to "now": compared through CreatedAt instead
            assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == [
                {k: v for k, v in r.items() if k not in drop} for r in expected
            ]
