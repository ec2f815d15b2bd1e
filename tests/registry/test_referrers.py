"""Referrers: the tag-schema fallback against distribution 2.8 (which 404s the API), and the
API path (filters, pages) against a test double that speaks it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from ocitool.formats.registry.client import RegistryClient
from ocitool.formats.registry.referrers import fallback_tag
from ocitool.model import mediatypes as mt
from tests.registry import content, servers

SBOM = "application/vnd.example.sbom.v1"
SIG = "application/vnd.example.signature.v1"


def _subject_and_artifacts(client: RegistryClient, repo: str) -> tuple[bytes, list[bytes]]:
    """An image, then two artifacts whose subject it is (an SBOM and a signature)."""
    config = content.Blob(b"{}", mt.OCI_CONFIG)
    subject = content.push_image(client, repo, "v1", config, [content.Blob(os.urandom(100))])
    empty = content.Blob(b"{}", mt.OCI_EMPTY)
    ref = (mt.OCI_MANIFEST, content.sha256(subject), len(subject))
    artifacts = []
    for kind, note in ((SBOM, "sbom"), (SIG, "sig")):
        layer = content.Blob(note.encode() * 10, "application/octet-stream")
        for blob in (empty, layer):
            client.push_blob(repo, blob.digest, len(blob.data), blob.data)
        raw = content.manifest(empty, [layer], subject=ref, artifact_type=kind, annotations={"note": note})
        artifacts.append(raw)
    return subject, artifacts


@pytest.mark.peers
def test_fallback_tag_against_distribution(registry: servers.Registry) -> None:
    repo = "refs/fallback"
    with RegistryClient(registry.host) as client:
        subject, artifacts = _subject_and_artifacts(client, repo)
        subject_digest = content.sha256(subject)
        assert client.referrers(repo, subject_digest).descriptors == []  # no tag yet: empty
        results = [client.put_manifest(repo, content.sha256(raw), raw, mt.OCI_MANIFEST) for raw in artifacts]
        assert [r.referrers for r in results] == ["tag", "tag"]
        # pushing again finds itself listed and leaves the list alone
        again = client.put_manifest(repo, content.sha256(artifacts[0]), artifacts[0], mt.OCI_MANIFEST)
        assert again.referrers == "present"
        listed = client.referrers(repo, subject_digest)
        assert not listed.via_api
        assert [str(d.digest) for d in listed.descriptors] == [content.sha256(a) for a in artifacts]
        assert [d.artifact_type for d in listed.descriptors] == [SBOM, SIG]
        assert listed.descriptors[0].annotations == {"note": "sbom"}
        assert listed.descriptors[0].size == len(artifacts[0])
        only = client.referrers(repo, subject_digest, artifact_type=SIG)
        assert [d.artifact_type for d in only.descriptors] == [SIG]
        index = client.get_manifest(repo, fallback_tag(subject_digest))
    assert index.media_type == mt.OCI_INDEX
    assert [m["digest"] for m in json.loads(index.raw)["manifests"]] == [content.sha256(a) for a in artifacts]


@pytest.fixture
def double_client(referrers_double: servers.ReferrersDouble) -> Iterator[RegistryClient]:
    with RegistryClient(referrers_double.host) as c:
        yield c


def _push_to_double(client: RegistryClient, repo: str, count: int) -> tuple[str, list[bytes]]:
    config = content.Blob(b"{}", mt.OCI_CONFIG)
    subject = content.manifest(config, [])
    client.put_manifest(repo, "v1", subject, mt.OCI_MANIFEST)
    ref = (mt.OCI_MANIFEST, content.sha256(subject), len(subject))
    empty = content.Blob(b"{}", mt.OCI_EMPTY)
    raws = []
    for i in range(count):
        kind = SBOM if i % 2 == 0 else SIG
        raw = content.manifest(empty, [], subject=ref, artifact_type=kind, annotations={"i": str(i)})
        pushed = client.put_manifest(repo, content.sha256(raw), raw, mt.OCI_MANIFEST)
        assert pushed.referrers == "api"  # OCI-Subject came back: no fallback tag written
        raws.append(raw)
    return content.sha256(subject), raws


def test_referrers_api_pages_and_server_side_filter(
    double_client: RegistryClient, referrers_double: servers.ReferrersDouble
) -> None:
    subject, raws = _push_to_double(double_client, "refs/api", 5)
    assert fallback_tag(subject) not in referrers_double.repos["refs/api"].tags
    listed = double_client.referrers("refs/api", subject)
    assert listed.via_api
    assert sorted(str(d.digest) for d in listed.descriptors) == sorted(content.sha256(r) for r in raws)
    assert len(referrers_double.referrer_requests) == 3  # pages of 2 followed by Link
    sboms = double_client.referrers("refs/api", subject, artifact_type=SBOM)
    assert len(sboms.descriptors) == 3 and {d.artifact_type for d in sboms.descriptors} == {SBOM}
    assert all("artifactType=" in path for path in referrers_double.referrer_requests[3:])


def test_client_filters_when_the_registry_does_not(
    double_client: RegistryClient, referrers_double: servers.ReferrersDouble
) -> None:
    referrers_double.filtering = False
    subject, _ = _push_to_double(double_client, "refs/nofilter", 4)
    sigs = double_client.referrers("refs/nofilter", subject, artifact_type=SIG)
    assert (
        sigs.via_api and len(sigs.descriptors) == 2 and {d.artifact_type for d in sigs.descriptors} == {SIG}
    )


def test_tag_listing_follows_link_pages(double_client: RegistryClient) -> None:
    config = content.Blob(b"{}", mt.OCI_CONFIG)
    raw = content.manifest(config, [])
    names = [f"t{i:02d}" for i in range(7)]
    for name in names:
        double_client.put_manifest("refs/tags", name, raw, mt.OCI_MANIFEST)
    assert double_client.list_tags("refs/tags", page_size=3) == names
