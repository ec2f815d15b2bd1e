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


def test_a_recompressed_copy_keeps_its_attestations(registry: servers.Registry) -> None:
    """``copy`` recompresses the uncompressed layers by default, which rewrites the platform
    manifests; the attestation entries' reference annotations follow them to the new digests, so
    the copy's attestations still attest its images (no orphans)."""
    layout = f"oci:{fixture('attestations/buildkit-made')}:multi"
    ref = f"docker://{registry.host}/attest/gzipped:v1"
    code, _, err = cli("copy", "--all", layout, ref)
    assert code == 0, err
    found, local = ocitool.attestations(ref), ocitool.attestations(layout)
    assert found.orphans == ()
    assert [(s.platform, s.predicate_type, s.layer.digest) for s in found.statements] == [
        (s.platform, s.predicate_type, s.layer.digest) for s in local.statements
    ]
    # each entry now names a platform manifest of the pushed index, none of the source's
    index = json.loads(cli("manifest", ref)[1])
    listed = index["manifests"]
    images = {m["digest"] for m in listed if "vnd.docker.reference.type" not in m.get("annotations", {})}
    attested = [
        m["annotations"]["vnd.docker.reference.digest"]
        for m in index["manifests"]
        if m.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"
    ]
    assert attested and set(attested) <= images
    code, _, err = cli("attestations", ref)
    assert code == 0, err
    assert "which the index does not list" not in err
