"""BuildKit attestations (``ocitool attestations``, ``ocitool.attestations``).

Real data: Docker Hub's alpine 3.23.2 attestations (fixtures/attestations/alpine, from
oci-explorer's test data; see fixtures/attestations/README.md). The values asserted are those
the statements hold. The self-made fixture (fixtures/attestations/buildkit-made, by
fixtures/tools/make_attestation_fixture.py) covers what alpine lacks: SLSA v1, an additional
SPDX, a DSSE envelope, another predicate type, the ``com.docker.reference.digest`` annotation.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

import ocitool
from ocitool.cli import main
from ocitool.errors import DigestMismatchError, InvalidDocumentError, InvalidReferenceError
from tests.peers import fixture

ALPINE_AMD64 = "sha256:1882fa4569e0c591ea092d3766c4893e19b8901a8e649de7067188aba3cc0679"
ALPINE_ARMV6 = "sha256:cd194307b3514d0b3eb229a1f6b0c92be4dd0e714b109a488269837170317944"
SLSA02 = "https://slsa.dev/provenance/v0.2"
SLSA1 = "https://slsa.dev/provenance/v1"
SPDX = "https://spdx.dev/Document"


def alpine() -> str:
    return f"oci:{fixture('attestations/alpine')}"


def made(ref: str = "") -> str:
    return f"oci:{fixture('attestations/buildkit-made')}" + (f":{ref}" if ref else "")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# -- the real alpine attestations ----------------------------------------------------------------


def test_alpine_statements_per_platform() -> None:
    found = ocitool.attestations(alpine())
    assert found.name == "alpine:3.23.2"
    assert found.platforms == ("linux/amd64", "linux/arm/v6")
    assert {p: str(d) for p, d in found.images.items()} == {
        "linux/amd64": ALPINE_AMD64,
        "linux/arm/v6": ALPINE_ARMV6,
    }
    assert [(s.platform, s.predicate_type, s.layer.size) for s in found.statements] == [
        ("linux/amd64", SPDX, 79649),
        ("linux/amd64", SLSA02, 5639),
        ("linux/arm/v6", SLSA02, 5464),
    ]
    # BuildKit's statements name the platform manifest they attest (Docker Hub's digests)
    assert all(s.subject_named for s in found.statements)
    assert found.missing == ()


def test_alpine_provenance_shape_is_buildx_map_by_platform() -> None:
    prov = ocitool.attestations(alpine()).provenance()
    assert list(prov) == ["linux/amd64", "linux/arm/v6"]
    amd64 = prov["linux/amd64"]["SLSA"]
    assert list(prov["linux/amd64"]) == ["SLSA"]
    assert amd64["builder"] == {"id": "https://github.com/docker-library"}
    assert amd64["buildType"] == "https://mobyproject.org/buildkit@v1"
    assert amd64["invocation"]["configSource"]["uri"] == (
        "https://github.com/alpinelinux/docker-alpine.git#13b62f5f47ffa526f9c372e0bd73b33ef2a5f865:x86_64"
    )
    assert amd64["invocation"]["environment"] == {"platform": "linux/amd64"}
    assert amd64["metadata"]["buildFinishedOn"] == "2025-12-18T00:12:31.199924674Z"
    armv6 = prov["linux/arm/v6"]["SLSA"]
    assert armv6["invocation"]["configSource"]["uri"].endswith(":armhf")
    # BuildKit records the builder's platform there: Docker Hub built arm/v6 on an arm64 builder
    assert armv6["invocation"]["environment"] == {"platform": "linux/arm64/v8"}


def test_alpine_sbom_only_where_there_is_one() -> None:
    sbom = ocitool.attestations(alpine()).sbom()
    assert list(sbom) == ["linux/amd64"]  # arm/v6 has provenance only: left out, as buildx does
    assert list(sbom["linux/amd64"]) == ["SPDX"]  # no AdditionalSPDXs: omitted when empty
    spdx = sbom["linux/amd64"]["SPDX"]
    assert spdx["spdxVersion"] == "SPDX-2.3"
    assert spdx["name"] == "sbom"
    assert "Tool: docker-scout-1.18.1" in spdx["creationInfo"]["creators"]
    packages = {p["name"]: p.get("versionInfo") for p in spdx["packages"]}
    assert len(spdx["packages"]) == 21
    assert packages["musl"] == "1.2.5-r21"
    assert packages["busybox"] == "1.37.0-r30"
    assert packages["alpine-base"] == "3.23.2-r0"


def test_alpine_table() -> None:
    code, out, err = run("attestations", alpine())
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["PLATFORM", "PREDICATE", "TYPE", "DIGEST", "SIZE"]
    rows = [line.split() for line in lines[1:]]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("linux/amd64", SPDX, "79.6kB"),
        ("linux/amd64", SLSA02, "5.64kB"),
        ("linux/arm/v6", SLSA02, "5.46kB"),
    ]
    layout = fixture("attestations/alpine")
    for r in rows:  # each digest is the blob's
        data = (layout / "blobs" / "sha256" / r[2].split(":")[1]).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == r[2]


def test_alpine_template_provenance_equals_json_format() -> None:
    code, out, _ = run("attestations", "--format", "{{json .Provenance}}", alpine())
    assert code == 0
    assert out.startswith('{\n  "linux/amd64": {\n    "SLSA": {\n      "buildConfig": {')
    assert json.loads(out) == ocitool.attestations(alpine()).provenance()
    code, whole, _ = run("attestations", "--format", "json", alpine())
    assert json.loads(whole) == {"Provenance": json.loads(out), "SBOM": ocitool.attestations(alpine()).sbom()}


def test_template_fields_and_index() -> None:
    fmt = "{{range $p, $v := .Provenance}}{{$p}}={{$v.SLSA.invocation.environment.platform}};{{end}}"
    code, out, _ = run("attestations", "--format", fmt, alpine())
    assert (code, out) == (0, "linux/amd64=linux/amd64;linux/arm/v6=linux/arm64/v8;\n")
    code, out, _ = run("attestations", "--format", '{{(index .SBOM "linux/amd64").SPDX.name}}', alpine())
    assert (code, out) == (0, "sbom\n")


# -- the self-made fixture -----------------------------------------------------------------------


def test_made_multi_shapes() -> None:
    found = ocitool.attestations(made("multi"))
    # linux/arm64/v8 is keyed as containerd normalises it, as buildx does
    assert found.platforms == ("linux/amd64", "linux/arm64")
    assert [(s.platform, s.predicate_type, s.kind) for s in found.statements] == [
        ("linux/amd64", SPDX, "sbom"),
        ("linux/amd64", SPDX, "sbom"),
        ("linux/amd64", SLSA1, "provenance"),
        ("linux/amd64", "https://example.com/custom/v1", "other"),
        ("linux/arm64", SLSA02, "provenance"),
    ]
    prov = found.provenance()
    assert prov["linux/amd64"]["SLSA"]["runDetails"]["builder"]["id"] == "https://example.com/builder"
    # the DSSE envelope's payload is decoded
    assert prov["linux/arm64"]["SLSA"]["invocation"]["environment"]["platform"] == "linux/arm64/v8"
    sbom = found.sbom()
    assert list(sbom) == ["linux/amd64"]
    assert sbom["linux/amd64"]["SPDX"]["name"] == "image"
    assert [d["name"] for d in sbom["linux/amd64"]["AdditionalSPDXs"]] == ["build-stage"]
    assert found.predicate_types() == [SPDX, SLSA1, "https://example.com/custom/v1", SLSA02]


def test_made_json_is_go_encoded() -> None:
    code, out, _ = run("attestations", "--format", "{{json .Provenance}}", made("multi"))
    assert code == 0
    # HTML characters escaped and float64 numbers written as Go writes them
    assert '"build-arg:A": "x\\u003cy\\u0026z"' in out
    assert '"big": 1.5e+21,\n            "layers": 1,\n            "ratio": 1\n' in out


def test_made_single_platform_is_not_a_map() -> None:
    found = ocitool.attestations(made("single"))  # named by com.docker.reference.digest
    assert found.platforms == ("linux/amd64",)
    assert list(found.provenance()) == ["SLSA"]
    assert found.provenance()["SLSA"]["buildDefinition"]["buildType"] == "https://mobyproject.org/buildkit@v1"
    assert found.sbom() == {}  # buildx's empty sbomStub: {}


def test_plain_manifest_has_none() -> None:
    found = ocitool.attestations(made("plain"))
    assert found.statements == ()
    assert found.to_json() == {"Provenance": {}, "SBOM": {}}
    code, out, err = run("attestations", made("plain"))
    assert code == 0
    assert out == "PLATFORM   PREDICATE TYPE   DIGEST   SIZE\n"
    assert "no attestations found for plain" in err


def test_several_images_need_a_name() -> None:
    with pytest.raises(InvalidReferenceError, match="names 3 images"):
        ocitool.attestations(made())
    code, _, err = run("attestations", made())
    assert code == 1 and "name one with IMAGE" in err


def test_extract_writes_each_statement(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    code, out, _ = run("attestations", "--extract", str(dest), made("multi"))
    assert code == 0
    written = sorted(str(p.relative_to(dest)) for p in dest.rglob("*.json"))
    assert written == sorted(
        [
            "linux_amd64/sbom-fced742fd490.intoto.json",
            "linux_amd64/sbom-7e049f2ea4bd.intoto.json",
            "linux_amd64/provenance-0e47091b7baa.intoto.json",
            "linux_amd64/other-f779dfe4ee72.intoto.json",
            "linux_arm64/provenance-871427f0a706.intoto.json",
        ]
    )
    assert len(out.splitlines()) == 5
    blobs = fixture("attestations/buildkit-made") / "blobs" / "sha256"
    plain = dest / "linux_amd64" / "provenance-0e47091b7baa.intoto.json"
    assert (
        plain.read_bytes()
        == (blobs / "0e47091b7baa27a4a8a4345f6c4f115aa7c04beb5613435cba53d41614a572c6").read_bytes()
    )
    # the DSSE one is the envelope's payload, decoded
    statement = json.loads((dest / "linux_arm64" / "provenance-871427f0a706.intoto.json").read_bytes())
    assert statement["predicateType"] == SLSA02
    assert statement["_type"] == "https://in-toto.io/Statement/v0.1"


def test_extract_refuses_a_full_directory_and_writes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep").write_text("x")
    code, _, err = run("attestations", "--extract", str(dest), made("multi"))
    assert code == 1, err
    assert sorted(p.name for p in dest.iterdir()) == ["keep"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging directory left


# -- other sources -------------------------------------------------------------------------------


def test_oci_archive(tmp_path: Path) -> None:
    archive = tmp_path / "alpine.tar"
    with tarfile.open(archive, "w") as tar:
        layout = fixture("attestations/alpine")
        for path in sorted(layout.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(layout)), recursive=False)
    found = ocitool.attestations(f"oci-archive:{archive}")
    assert found.provenance() == ocitool.attestations(alpine()).provenance()


def test_docker_archive_with_index_json(tmp_path: Path) -> None:
    """A Docker 25+ save keeps index.json; the attestations are read from it."""
    archive = tmp_path / "multi.tar"
    code, _, err = run("convert", "--all-platforms", made("multi"), f"docker-archive:{archive}")
    assert code == 0, err
    with tarfile.open(archive) as tar:
        assert "index.json" in tar.getnames() and "manifest.json" in tar.getnames()
    found = ocitool.attestations(str(archive))
    assert [s.predicate_type for s in found.statements] == [
        s.predicate_type for s in ocitool.attestations(made("multi")).statements
    ]
    assert found.sbom() == ocitool.attestations(made("multi")).sbom()


# -- tampering and hostile input -----------------------------------------------------------------


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _copy_made(tmp_path: Path) -> Path:
    dest = tmp_path / "layout"
    shutil.copytree(fixture("attestations/buildkit-made"), dest)
    return dest


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":", 1)[1]


def _single_attestation(layout: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    index = json.loads((layout / "index.json").read_bytes())
    single = next(
        m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == "single"
    )
    inner = json.loads(_blob(layout, single["digest"]).read_bytes())
    att_desc = next(m for m in inner["manifests"] if m["platform"]["os"] == "unknown")
    return inner, att_desc


def _replace_statement(layout: Path, data: bytes, *, media_type: str | None = None) -> None:
    """Give the ``single`` image's attestation manifest a new statement, re-hashing upward."""
    index = json.loads((layout / "index.json").read_bytes())
    inner, att_desc = _single_attestation(layout)
    att = json.loads(_blob(layout, att_desc["digest"]).read_bytes())
    _blob(layout, _sha(data)).write_bytes(data)
    att["layers"][0].update(digest=_sha(data), size=len(data))
    if media_type:
        att["layers"][0]["mediaType"] = media_type
    raw_att = json.dumps(att).encode()
    _blob(layout, _sha(raw_att)).write_bytes(raw_att)
    att_desc.update(digest=_sha(raw_att), size=len(raw_att))
    raw_inner = json.dumps(inner).encode()
    _blob(layout, _sha(raw_inner)).write_bytes(raw_inner)
    for m in index["manifests"]:
        if m["annotations"]["org.opencontainers.image.ref.name"] == "single":
            m.update(digest=_sha(raw_inner), size=len(raw_inner))
    (layout / "index.json").write_text(json.dumps(index))


def test_tampered_statement_is_a_digest_mismatch(tmp_path: Path) -> None:
    layout = _copy_made(tmp_path)
    _, att_desc = _single_attestation(layout)
    att = json.loads(_blob(layout, att_desc["digest"]).read_bytes())
    path = _blob(layout, att["layers"][0]["digest"])
    data = path.read_bytes()
    path.write_bytes(data.replace(b"example.com/builder", b"evil.example/builde"))  # same size
    with pytest.raises(DigestMismatchError) as info:
        ocitool.attestations(f"oci:{layout}:single")
    assert info.value.expected == att["layers"][0]["digest"]
    assert info.value.actual == _sha(path.read_bytes())
    code, out, err = run("attestations", f"oci:{layout}:single")
    assert code == 1 and out == ""
    assert "in-toto statement, layer 0" in err and "(for linux/amd64)" in err
    assert f"expected {att['layers'][0]['digest']}" in err
    assert str(path.relative_to(layout)) in err  # names the blob
    assert "Traceback" not in err


def test_predicate_type_differing_from_annotation(tmp_path: Path) -> None:
    layout = _copy_made(tmp_path)
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SPDX,
        "subject": [],
        "predicate": {},
    }
    _replace_statement(layout, json.dumps(statement).encode())
    with pytest.raises(InvalidDocumentError) as info:
        ocitool.attestations(f"oci:{layout}:single")
    assert info.value.field == "/predicateType"
    assert SLSA1 in str(info.value) and SPDX in str(info.value)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b'{"predicateType": 1}', "/_type"),
        (b'{"_type": "https://in-toto.io/Statement/v1", "predicateType": 7}', "/predicateType"),
        (
            b'{"_type": "https://in-toto.io/Statement/v1", "predicateType": "%s", "subject": {}}'
            % SLSA1.encode(),
            "/subject",
        ),
        (
            b'{"_type": "https://in-toto.io/Statement/v1", "predicateType": "%s", "subject": [{"name": "x"}]}'
            % SLSA1.encode(),
            "/subject/0/digest",
        ),
        (b"[1, 2]", "/"),
    ],
)
def test_not_a_statement(tmp_path: Path, data: bytes, field: str) -> None:
    layout = _copy_made(tmp_path)
    _replace_statement(layout, data)
    with pytest.raises(InvalidDocumentError) as info:
        ocitool.attestations(f"oci:{layout}:single")
    assert info.value.field == field
    code, _, err = run("attestations", f"oci:{layout}:single")
    assert code == 1 and "Traceback" not in err and "blobs/sha256/" in err


def test_bad_json_and_deep_nesting(tmp_path: Path) -> None:
    layout = _copy_made(tmp_path)
    _replace_statement(layout, b"{" * 10 + b"not json")
    with pytest.raises(InvalidDocumentError, match="not valid JSON"):
        ocitool.attestations(f"oci:{layout}:single")
    layout2 = _copy_made(tmp_path / "2")
    _replace_statement(layout2, b'{"a":' * 100 + b"1" + b"}" * 100)
    with pytest.raises(InvalidDocumentError, match="nested deeper"):
        ocitool.attestations(f"oci:{layout2}:single")


def test_dsse_payload_garbage(tmp_path: Path) -> None:
    layout = _copy_made(tmp_path)
    envelope = {"payloadType": "application/vnd.in-toto+json", "payload": "not base64!!", "signatures": []}
    _replace_statement(
        layout, json.dumps(envelope).encode(), media_type="application/vnd.in-toto.provenance+dsse"
    )
    with pytest.raises(InvalidDocumentError) as info:
        ocitool.attestations(f"oci:{layout}:single")
    assert info.value.field == "/payload"
    good = base64.b64encode(b"[]").decode()
    layout2 = _copy_made(tmp_path / "2")
    envelope["payload"] = good
    _replace_statement(
        layout2, json.dumps(envelope).encode(), media_type="application/vnd.in-toto.provenance+dsse"
    )
    with pytest.raises(InvalidDocumentError) as info:
        ocitool.attestations(f"oci:{layout2}:single")
    assert info.value.field == "/"


def test_bad_reference_annotation(tmp_path: Path) -> None:
    layout = _copy_made(tmp_path)
    index = json.loads((layout / "index.json").read_bytes())
    inner, att_desc = _single_attestation(layout)
    att_desc["annotations"]["com.docker.reference.digest"] = "sha256:nothex"
    raw = json.dumps(inner).encode()
    _blob(layout, _sha(raw)).write_bytes(raw)
    for m in index["manifests"]:
        if m["annotations"]["org.opencontainers.image.ref.name"] == "single":
            m.update(digest=_sha(raw), size=len(raw))
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(InvalidDocumentError) as info:
        ocitool.attestations(f"oci:{layout}:single")
    assert info.value.field == "/manifests/1/annotations/com.docker.reference.digest"


def test_absent_attestation_manifest_is_reported_not_read(tmp_path: Path) -> None:
    layout = _copy_made(tmp_path)
    _, att_desc = _single_attestation(layout)
    _blob(layout, att_desc["digest"]).unlink()
    found = ocitool.attestations(f"oci:{layout}:single")
    assert found.statements == ()
    assert [str(d.digest) for d in found.missing] == [att_desc["digest"]]
    code, _, err = run("attestations", f"oci:{layout}:single")
    assert code == 0 and f"warning: {att_desc['digest']} is listed by the index but not in the source" in err


# -- analyze -------------------------------------------------------------------------------------


def test_analyze_json_and_html_report_the_images_attestations(tmp_path: Path) -> None:
    html_path = tmp_path / "report.html"
    code, out, err = run(
        "analyze", "--format", "json", "--html", str(html_path), "--platform", "linux/amd64", made("multi")
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["attestations"] == {
        "count": 4,
        "predicateTypes": [SPDX, SLSA1, "https://example.com/custom/v1"],
        "manifests": [str(ocitool.attestations(made("multi")).statements[0].manifest)],
        "verified": True,
    }
    page = html_path.read_text()
    assert '<p id="attestations" data-count="4">4 in-toto statement(s), digests verified</p>' in page
    assert f"<li><code>{SLSA1}</code></li>" in page


def test_analyze_without_an_index_has_none() -> None:
    a = ocitool.analyze(made("plain"))
    assert a.to_json()["attestations"] == {
        "count": 0,
        "predicateTypes": [],
        "manifests": [],
        "verified": True,
    }


def test_analyze_reports_a_tampered_statement_and_still_analyses(tmp_path: Path) -> None:
    layout = _copy_made(tmp_path)
    _, att_desc = _single_attestation(layout)
    att = json.loads(_blob(layout, att_desc["digest"]).read_bytes())
    path = _blob(layout, att["layers"][0]["digest"])
    path.write_bytes(path.read_bytes().replace(b"example.com", b"evil.exampl"))
    a = ocitool.analyze(f"oci:{layout}:single")
    assert a.attestations is not None
    assert a.attestations.verified is False and a.attestations.count == 0
    assert "digest mismatch" in a.attestations.error
    assert a.size_bytes > 0


def test_notation_signatures_are_referrers_not_attestations() -> None:
    """Real data signed by notation: two signatures of v1, found as referrers; none of them
    is an attestation, and an image without an index has no attestations."""
    layout = f"oci:{fixture('attestations/notation/e2e-valid-multiple-signatures')}"
    code, out, err = run("referrers", "--format", "json", f"{layout}:v1")
    assert code == 0, err
    found = json.loads(out)
    assert [(d["digest"][:19], d["artifactType"]) for d in found] == [
        ("sha256:90ceaff260d6", "application/vnd.cncf.notary.signature"),
        ("sha256:c3ebe4a20b68", "application/vnd.cncf.notary.signature"),
    ]
    assert [d["annotations"]["org.opencontainers.image.created"] for d in found] == [
        "2023-06-27T05:30:33Z",
        "2025-02-17T08:17:09Z",
    ]
    assert ocitool.attestations(f"{layout}:v1").statements == ()
    # the referrers fallback index holds manifests but attests nothing
    fallback = ocitool.attestations(
        layout, "sha256-b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9"
    )
    assert fallback.statements == () and fallback.orphans == ()
