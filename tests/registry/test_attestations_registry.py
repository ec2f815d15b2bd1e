"""``ocitool attestations docker://...``: the attestations read through a real registry
(distribution 2.8) after ``ocitool copy --all`` pushed the self-made fixture's index."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import ocitool
from ocitool.cli import main
from tests.peers import fixture
from tests.registry import servers

pytestmark = pytest.mark.peers


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCITOOL_CACHE_DIR", str(tmp_path / "cache"))


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def test_attestations_from_a_registry(registry: servers.Registry) -> None:
    layout = f"oci:{fixture('attestations/buildkit-made')}:multi"
    ref = f"docker://{registry.host}/attest/multi:v1"
    # --compress none: the manifests are pushed as they are (recompressing would rewrite the
    # platform manifests, and copy does not rewrite the attestations' reference annotations)
    code, _, err = cli("copy", "--all", "--compress", "none", layout, ref)
    assert code == 0, err
    remote = ocitool.attestations(ref)
    local = ocitool.attestations(layout)
    assert remote.platforms == ("linux/amd64", "linux/arm64")
    assert [(s.platform, s.predicate_type, s.layer.digest) for s in remote.statements] == [
        (s.platform, s.predicate_type, s.layer.digest) for s in local.statements
    ]
    assert remote.to_json() == local.to_json()
    code, out, err = cli("attestations", "--format", "{{json .SBOM}}", ref)
    assert code == 0, err
    assert [d["name"] for d in json.loads(out)["linux/amd64"]["AdditionalSPDXs"]] == ["build-stage"]


def test_recompressed_copy_orphans_the_attestations(registry: servers.Registry) -> None:
    """``copy`` recompresses the uncompressed layers by default, which rewrites the platform
    manifests; the attestation manifests still name the old digests, so nothing is attested
    (buildx shows nothing either) and the orphans are reported."""
    ref = f"docker://{registry.host}/attest/gzipped:v1"
    code, _, err = cli("copy", "--all", f"oci:{fixture('attestations/buildkit-made')}:multi", ref)
    assert code == 0, err
    found = ocitool.attestations(ref)
    assert found.statements == ()
    assert len(found.orphans) == 2
    code, _, err = cli("attestations", ref)
    assert code == 0
    assert err.count("which the index does not list") == 2
