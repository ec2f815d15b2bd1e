from __future__ import annotations

import pytest

from ocitool.errors import InvalidReferenceError
from ocitool.model.reference import parse_normalized


@pytest.mark.parametrize(
    ("value", "full", "familiar"),
    [
        ("alpine", "docker.io/library/alpine:latest", "alpine:latest"),
        ("alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19"),
        ("library/alpine", "docker.io/library/alpine:latest", "alpine:latest"),
        ("docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest"),
        ("index.docker.io/user/app:1", "docker.io/user/app:1", "user/app:1"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/a/b:c", "localhost:5000/a/b:c", "localhost:5000/a/b:c"),
        ("ghcr.io/org/img:v1", "ghcr.io/org/img:v1", "ghcr.io/org/img:v1"),
    ],
)
def test_normalisation(value: str, full: str, familiar: str) -> None:
    ref = parse_normalized(value).with_default_tag()
    assert str(ref) == full
    assert ref.familiar() == familiar


def test_digest_reference_gets_no_default_tag() -> None:
    ref = parse_normalized("alpine@sha256:" + "a" * 64).with_default_tag()
    assert ref.tag == ""
    assert ref.familiar() == "alpine@sha256:" + "a" * 64


@pytest.mark.parametrize("value", ["Alpine", "a" * 64, "alpine:bad tag", "", "alpine::1", "-x"])
def test_invalid(value: str) -> None:
    with pytest.raises(InvalidReferenceError):
        parse_normalized(value)
