"""``validate``: documents against the OCI and Docker JSON Schemas, errors with file + pointer."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ocitool._io.schemas import schema_dir
from ocitool.cli import main
from ocitool.ops.validate import SCHEMAS, validate, validate_document
from tests import peers


@pytest.mark.parametrize(
    "rel",
    [
        "docker/two-images.tar",
        "buildah/whiteouts.tar",
        "oci/multiplatform",
        "oci/gzip",
        "dir/base",
        "oci-archive/base.tar",
    ],
)
def test_real_fixtures_are_valid(rel: str) -> None:
    report = validate(str(peers.FIXTURES / rel))
    assert report.ok, report.errors
    assert report.documents >= 2


def test_every_schema_loads_and_is_used() -> None:
    names = {p.name for p in schema_dir().glob("*.json")}
    assert set(SCHEMAS.values()) <= names
    for name in names:
        json.loads((schema_dir() / name).read_text())


def test_error_names_file_and_pointer(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    shutil.copytree(peers.FIXTURES / "oci" / "gzip", layout)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["size"] = "big"
    index["manifests"][0]["digest"] = "sha256"
    (layout / "index.json").write_text(json.dumps(index))
    report = validate(str(layout))
    pointers = {(e.file.rsplit(":", 1)[-1], e.pointer) for e in report.errors}
    assert ("index.json", "/manifests/0/size") in pointers
    assert ("index.json", "/manifests/0/digest") in pointers


def test_docker_documents() -> None:
    ok = validate_document(
        b'[{"config":"c.json","repotags":null,"layers":["a/layer.tar"]}]',
        SCHEMAS["docker-save-manifest"],
        file="m",
    )
    assert ok == []  # Jib writes lowercase keys; Go reads them
    bad = validate_document(b'[{"Config":"c.json","Layers":"x"}]', SCHEMAS["docker-save-manifest"], file="m")
    assert [e.pointer for e in bad] == ["/0/Layers"]
    bad = validate_document(b'{"repo":{"latest":"nothex"}}', SCHEMAS["docker-repositories"], file="r")
    assert [e.pointer for e in bad] == ["/repo/latest"]
    cfg = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["bad"]}}
    )
    bad = validate_document(cfg.encode(), SCHEMAS["application/vnd.docker.container.image.v1+json"], file="c")
    assert [e.pointer for e in bad] == ["/rootfs/diff_ids/0"]


def test_limits_at_their_edge() -> None:
    schema = SCHEMAS["docker-repositories"]
    deep_ok = b'{"a":' * 63 + b"{}" + b"}" * 63  # depth 64
    assert all("nested" not in e.message for e in validate_document(deep_ok, schema, file="d"))
    deep_bad = b'{"a":' * 64 + b"{}" + b"}" * 64  # depth 65
    assert "nested deeper than 64" in validate_document(deep_bad, schema, file="d")[0].message
    big = b'{"a":{"t":"' + b"x" * ((4 << 20) - 20) + b'"}}'
    assert len(big) <= 4 << 20
    assert all("limit" not in e.message for e in validate_document(big, schema, file="b"))
    too_big = b'{"a":{"t":"' + b"x" * (4 << 20) + b'"}}'
    assert "limit" in validate_document(too_big, schema, file="b")[0].message


def test_cli_exit_codes(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["validate", str(peers.FIXTURES / "oci" / "gzip")], stdout=out, stderr=io.StringIO()) == 0
    out = io.StringIO()
    rc = main(
        ["validate", "--format", "json", str(peers.FIXTURES / "hostile" / "not-json-config.tar")],
        stdout=out,
        stderr=io.StringIO(),
    )
    assert rc == 2
    assert json.loads(out.getvalue())["Errors"][0]["File"].endswith(".json")


@pytest.mark.real
def test_docker25_null_manifests_is_the_one_error() -> None:
    """Docker 25's save writes ``"manifests": null`` in index.json, which the image-spec schema
    refuses (an array is required): validate reports exactly that, naming the file and the
    pointer, and finds the archive's other documents valid; verify and inspect still read it."""
    archive = str(peers.real_fixture("docker25-hello-world.tar"))
    report = validate(archive)
    assert not report.ok
    assert [(e.file, e.pointer, e.schema) for e in report.errors] == [
        (f"{archive}:index.json", "/manifests", "image-index-schema.json")
    ]
    assert report.documents == 5  # oci-layout, index.json, manifest.json, the manifest, the config
    out = io.StringIO()
    assert main(["validate", "--format", "json", archive], stdout=out, stderr=io.StringIO()) == 2
    [error] = json.loads(out.getvalue())["Errors"]
    assert error["Pointer"] == "/manifests" and "array" in error["Message"]
    assert main(["verify", archive], stdout=io.StringIO(), stderr=io.StringIO()) == 0


@pytest.mark.parametrize(
    ("doc", "pointer", "message"),
    [
        ({"schemaVersion": 2, "manifests": None}, "/manifests", "null is not of type array"),
        ({"schemaVersion": 2}, "", 'missing required property "manifests"'),
        ({"schemaVersion": "2", "manifests": []}, "/schemaVersion", '"2" is not of type integer'),
        (
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": "sha256:" + "0" * 64,
                        "size": {},
                    }
                ],
            },
            "/manifests/0/size",
            "an empty object is not of type integer",
        ),
    ],
)
def test_schema_errors_are_in_json_words(doc: dict[str, Any], pointer: str, message: str) -> None:
    """Messages name JSON's types and values (null, array, "2"), never Python's reprs."""
    issues = validate_document(json.dumps(doc).encode(), "image-index-schema.json", file="index.json")
    assert (issues[0].pointer, issues[0].message) == (pointer, message)
    for issue in issues:
        assert "None" not in issue.message and "'" not in issue.message, issue.message
