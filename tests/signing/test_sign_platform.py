"""``--platform`` on ``sign`` and ``verify-signature``: on a real multi-platform index (Docker
Hub's alpine 3.23.2, ``fixtures/attestations/alpine``: linux/amd64 and linux/arm/v6 with their
BuildKit attestations), the platform's manifest is signed and checked instead of the index,
chosen by the same matcher as every ``--platform``; an unknown platform is a typed error naming
the platform and the source (exit 1), and nothing is written."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import ocitool
from ocitool.errors import InvalidReferenceError, PlatformNotFoundError
from ocitool.model.platform import Platform
from tests import peers
from tests.signing.test_sign_verify import check_sig_image, index_entries, pkcs8_key, run_cli

__all__ = ["pkcs8_key"]  # the fixture, used by name

AMD64 = "sha256:1882fa4569e0c591ea092d3766c4893e19b8901a8e649de7067188aba3cc0679"
ARMV6 = "sha256:cd194307b3514d0b3eb229a1f6b0c92be4dd0e714b109a488269837170317944"
INDEX = "sha256:c593fc59eb533f3729fc237b454ce247d959befb2baabf638a21581a4bc6a1c7"


@pytest.fixture
def alpine(tmp_path: Path) -> Path:
    layout = tmp_path / "alpine"
    shutil.copytree(peers.fixture("attestations/alpine"), layout)
    return layout


def _sig_tags(layout: Path) -> set[str]:
    return {
        e["annotations"]["org.opencontainers.image.ref.name"]
        for e in index_entries(layout)
        if e.get("annotations", {}).get("org.opencontainers.image.ref.name", "").endswith(".sig")
    }


def test_cli_signs_and_verifies_one_platform_of_an_index(
    alpine: Path, pkcs8_key: tuple[Path, Path, Any]
) -> None:
    priv, pub, _ = pkcs8_key
    code, out, err = run_cli("sign", "--key", str(priv), "--platform", "linux/arm/v6", f"oci:{alpine}:3.23.2")
    assert code == 0, err
    assert out.startswith(f"Signed {ARMV6} as index.docker.io/library/alpine (simplesigning-v1): ")
    assert _sig_tags(alpine) == {ARMV6.replace(":", "-") + ".sig"}
    # the payload names the platform's manifest; checked with cryptography alone
    [payload] = check_sig_image(alpine, pub.read_bytes(), ARMV6)
    assert payload["critical"]["identity"]["docker-reference"] == "index.docker.io/library/alpine"

    code, out, err = run_cli("verify-signature", "--key", str(pub), "--platform", "linux/arm/v6", str(alpine))
    assert code == 0, err
    assert out.splitlines()[0] == f"alpine:3.23.2 {ARMV6}"
    # the index itself and the other platform are not signed
    code, _, err = run_cli("verify-signature", "--key", str(pub), str(alpine))
    assert (code, err) == (2, f"Error: no signatures found for {INDEX}\n")
    code, _, err = run_cli("verify-signature", "--key", str(pub), "--platform", "linux/amd64", str(alpine))
    assert (code, err) == (2, f"Error: no signatures found for {AMD64}\n")
    # Docker's fallback: linux/arm/v7 runs arm/v6 images, as `inspect --platform` chooses
    code, out, err = run_cli("verify-signature", "--key", str(pub), "--platform", "linux/arm/v7", str(alpine))
    assert code == 0 and ARMV6 in out, err


def test_unknown_platform_names_platform_and_source_and_writes_nothing(
    alpine: Path, pkcs8_key: tuple[Path, Path, Any]
) -> None:
    priv, pub, key = pkcs8_key
    before = (alpine / "index.json").read_bytes()
    for command, flag in (("sign", str(priv)), ("verify-signature", str(pub))):
        code, out, err = run_cli(command, "--key", flag, "--platform", "linux/s390x", f"oci:{alpine}")
        assert (code, out) == (1, ""), err
        assert err.startswith(f"Error: oci:{alpine}: no image for platform linux/s390x "), err
        assert "(available: linux/amd64, linux/arm/v6)" in err
    assert (alpine / "index.json").read_bytes() == before
    with pytest.raises(PlatformNotFoundError) as caught:
        ocitool.sign(f"oci:{alpine}", key=key, platform=Platform.parse("windows/amd64"))
    assert caught.value.platform == "windows/amd64" and str(alpine) in str(caught.value)
    assert caught.value.available == ["linux/amd64", "linux/arm/v6"]
    assert (alpine / "index.json").read_bytes() == before


def test_library_platform_with_recursive_bundle_and_single_images(
    alpine: Path, pkcs8_key: tuple[Path, Path, Any]
) -> None:
    _, _, key = pkcs8_key
    amd64 = Platform.parse("linux/amd64")
    # --recursive with --platform: that manifest alone
    done = ocitool.sign(f"oci:{alpine}", key=key, platform=amd64, recursive=True, fmt="bundle")
    assert [(str(s.digest), s.form) for s in done] == [(AMD64, "bundle-v0.3")]
    report = ocitool.verify_signature(f"oci:{alpine}", key=key.public_key(), platform=amd64)
    assert report.ok and str(report.digest) == AMD64 and len(report.checks) == 1
    other = ocitool.verify_signature(
        f"oci:{alpine}", key=key.public_key(), platform=Platform.parse("linux/arm/v6")
    )
    assert not other.checks


def test_a_single_image_must_match_the_platform(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    _, _, key = pkcs8_key
    layout = tmp_path / "gzip"
    shutil.copytree(peers.fixture("oci/gzip"), layout)
    digest = index_entries(layout)[0]["digest"]
    arch = ocitool.inspect(f"oci:{layout}")[0].architecture
    signed = ocitool.sign(
        f"oci:{layout}", key=key, platform=Platform.parse(f"linux/{arch}"), reference="x.io/a"
    )
    assert [str(s.digest) for s in signed] == [digest]
    other = "arm64" if arch != "arm64" else "amd64"
    with pytest.raises(PlatformNotFoundError) as caught:
        ocitool.sign(f"oci:{layout}", key=key, platform=Platform.parse(f"linux/{other}"), reference="x.io/a")
    assert caught.value.available == [f"linux/{arch}"]


def test_platform_on_a_dir_copy_is_refused(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    priv, _, key = pkcs8_key
    copy = tmp_path / "copy"
    shutil.copytree(peers.fixture("dir/base"), copy)
    with pytest.raises(InvalidReferenceError, match="--platform linux/amd64"):
        ocitool.verify_signature(f"dir:{copy}", key=key.public_key(), platform=Platform.parse("linux/amd64"))
    code, _, err = run_cli(
        "sign", "--key", str(priv), "--reference", "x.io/a", "--platform", "linux/amd64", f"dir:{copy}"
    )
    assert code == 1 and "a dir: copy's signatures sign its manifest.json alone" in err
    assert not list(copy.glob("signature-*"))
