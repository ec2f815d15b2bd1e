"""``ocitool sign``, ``verify-signature`` and ``generate-key-pair``: cosign-compatible signatures.

Keys as cosign reads them: ``--key`` is a PEM private key (PKCS#8, SEC 1, PKCS#1) or cosign's
encrypted key, opened with ``COSIGN_PASSWORD`` (asked on the terminal when unset). With
``--root DIR`` the SOURCE argument is an image of the store. The cryptography modules are
imported only when a command runs.

``verify-signature`` exits 0 when at least one signature verifies, 2 when none does or none is
found, 1 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from ocitool.cli import EXIT_CHECK_FAILED, EXIT_OK, UsageError, platform_flag
from ocitool.cli.render import epilog

if TYPE_CHECKING:
    from ocitool.image.source import Source
    from ocitool.ops.signatures import SignatureReport

__all__ = ["register"]

_PASSWORD_ENV = "COSIGN_PASSWORD"


def _password(*, confirm: bool = False) -> bytes | None:
    """``COSIGN_PASSWORD`` (an empty value is a password), else asked on the terminal, else None."""
    value = os.environ.get(_PASSWORD_ENV)
    if value is not None:
        return value.encode("utf-8")
    if not sys.stdin.isatty():
        return None
    import getpass

    first = getpass.getpass("Enter password for private key: ")
    if confirm and getpass.getpass("Enter password for private key again: ") != first:
        raise UsageError("passwords do not match")
    return first.encode("utf-8")


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(1 << 20)


@contextmanager
def _source(args: argparse.Namespace) -> Iterator[tuple[Source | str, str]]:
    """(SOURCE, IMAGE): with ``--root`` the store (open for the command) and the positional
    argument as its image."""
    root = getattr(args, "root", None)
    if not root:
        yield args.source, args.image or ""
        return
    if args.image:
        raise UsageError(f"ocitool {args.command}: with --root, give one IMAGE of the store")
    from ocitool.store.source import open_store

    with open_store(root) as src:
        yield src, args.source


def _annotations(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UsageError(f"ocitool sign: --annotation wants KEY=VALUE, not {value!r}")
        out[key] = val
    return out


def _cmd_sign(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.sign import sign
    from ocitool.ops.signing.keys import load_private_key

    annotations = _annotations(args.annotation or [])
    data = _read(args.key)
    key = load_private_key(data, password=_password() if b"ENCRYPTED" in data else None, path=args.key)
    fmt = "bundle" if args.format == "bundle" else "simplesigning"
    with _source(args) as (source, image):
        written = sign(
            source,
            image,
            key=key,
            reference=args.reference,
            annotations=annotations,
            recursive=args.recursive,
            fmt=fmt,
            platform=platform_flag(args.platform),
        )
    for item in written:
        claim = f" as {item.docker_reference}" if item.docker_reference else ""
        out.write(f"Signed {item.digest}{claim} ({item.form}): {item.where}\n")
    return EXIT_OK


def _cmd_generate_key_pair(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.sign import generate_key_pair

    password = _password(confirm=True)
    if password is None:
        raise UsageError(
            f"ocitool generate-key-pair: set {_PASSWORD_ENV} (it may be empty) or run on a terminal"
        )
    pair = generate_key_pair(password)
    key_path, pub_path = pair.write(args.directory, prefix=args.output_key_prefix, overwrite=args.force)
    err.write(f"Private key written to {key_path}\nPublic key written to {pub_path}\n")
    return EXIT_OK


def _verifier(args: argparse.Namespace) -> Any:
    from ocitool.ops.signing.certificates import CertificatePool
    from ocitool.ops.signing.keyless import KeylessPolicy
    from ocitool.ops.signing.keys import load_public_key

    keyless = (args.certificate_chain, args.certificate_identity, args.certificate_oidc_issuer)
    if args.key and any(keyless):
        raise UsageError("ocitool verify-signature: give --key, or the --certificate-* flags, not both")
    if args.key:
        return load_public_key(_read(args.key), path=args.key)
    if not all(keyless):
        raise UsageError(
            "ocitool verify-signature: give --key PUB, or --certificate-chain, --certificate-identity "
            "and --certificate-oidc-issuer"
        )
    pool = CertificatePool.from_pem(_read(args.certificate_chain), path=args.certificate_chain)
    return KeylessPolicy(pool, args.certificate_identity, args.certificate_oidc_issuer)


def _trusted_time(args: argparse.Namespace) -> Any:
    from ocitool.ops.signing.certificates import CertificatePool
    from ocitool.ops.signing.keyless import RekorKey, TrustedTime

    rekor = tuple(RekorKey.from_pem(_read(p), path=p) for p in args.rekor_key or [])
    tsa = None
    if args.timestamp_certificate_chain:
        path = args.timestamp_certificate_chain
        tsa = CertificatePool.from_pem(_read(path), path=path)
    return TrustedTime(rekor, tsa)


def _signer(check: Any) -> str:
    result = check.result
    if result.signer is not None:
        return f"{result.signer.subject_alternative_name} ({result.signer.issuer})"
    if result.key_fingerprint:
        return f"key {result.key_fingerprint[:16]}"
    return "-"


def _json(report: SignatureReport) -> dict[str, Any]:
    rows = []
    for check in report.checks:
        r = check.result
        row: dict[str, Any] = {
            "Form": check.found.form,
            "Where": check.found.where,
            "Verified": r.ok,
            "Failure": r.failure.value if r.failure else "",
            "Message": r.message,
            "KeyFingerprint": r.key_fingerprint,
            "DockerReference": r.docker_reference,
            "SignedDigest": r.signed_digest,
        }
        if r.signer is not None:
            row["Signer"] = r.signer.to_json()
        row["Timestamps"] = [
            {"Type": t.kind, "URI": t.uri, "Timestamp": t.time.strftime("%Y-%m-%dT%H:%M:%SZ")}
            for t in r.timestamps
        ]
        row["Warnings"] = list(r.warnings)
        rows.append(row)
    return {"Name": report.name, "Digest": str(report.digest), "Verified": report.ok, "Signatures": rows}


def _cmd_verify_signature(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool._go import json as gojson
    from ocitool.ops.signatures import verify_signature

    verifier = _verifier(args)
    trusted = _trusted_time(args)
    with _source(args) as (source, image):
        report = verify_signature(
            source,
            image,
            key=verifier,
            trusted_time=trusted,
            docker_reference=args.reference,
            platform=platform_flag(args.platform),
        )
    if args.format == "json":
        out.write(gojson.dumps(_json(report), indent="    ") + "\n")
    else:
        out.write(f"{report.name} {report.digest}\n")
        rows = [("FORM", "SIGNER", "WHERE", "RESULT")]
        for check in report.checks:
            r = check.result
            result = "OK" if r.ok else f"FAILED: {r.failure.description if r.failure else ''}: {r.message}"
            rows.append((check.found.form, _signer(check), check.found.where, result))
        if report.checks:
            widths = [max(len(row[i]) for row in rows) for i in range(3)]
            for row in rows:
                cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:3])]
                out.write("   ".join([*cells, row[3]]) + "\n")
            for check in report.checks:
                for warning in check.result.warnings:
                    err.write(f"warning: {check.found.where}: {warning}\n")
    if not report.checks:
        err.write(f"Error: no signatures found for {report.digest}\n")
        return EXIT_CHECK_FAILED
    if not report.ok:
        err.write(f"Error: none of the {len(report.checks)} signatures verifies\n")
        return EXIT_CHECK_FAILED
    return EXIT_OK


def register(sub: Any) -> None:
    """Add sign, verify-signature and generate-key-pair to the ``ocitool`` parser."""
    p = sub.add_parser(
        "sign",
        help="sign an image as cosign does (a .sig image, or a sigstore bundle referrer)",
        **epilog(
            "sign --key cosign.key oci:./layout:registry.example/app:1",
            "sign --key cosign.key --annotation env=prod docker://127.0.0.1:5000/app:1",
            "sign --key cosign.key --recursive --format bundle oci:./multi",
            "--root ./store sign --key cosign.key alpine:3.19",
        ),
    )
    p.add_argument(
        "--key", required=True, metavar="KEY", help="private key: PEM, or cosign's (COSIGN_PASSWORD)"
    )
    p.add_argument(
        "--reference", metavar="REPO", help="the docker-reference to claim (default: the image's name)"
    )
    p.add_argument(
        "-a", "--annotation", action="append", metavar="KEY=VALUE", help="into the payload's optional"
    )
    p.add_argument("--recursive", action="store_true", help="also sign each manifest of an index")
    p.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="sign this platform's manifest of an index, not the index",
    )
    p.add_argument(
        "--format",
        choices=("simplesigning", "bundle"),
        default="simplesigning",
        help="simplesigning: a .sig image (default); bundle: a sigstore bundle v0.3 referrer",
    )
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("image", metavar="IMAGE", nargs="?")
    p.set_defaults(handler=_cmd_sign)

    p = sub.add_parser(
        "verify-signature",
        help="check an image's cosign signatures with a key, or keylessly (offline)",
        **epilog(
            "verify-signature --key cosign.pub oci:./layout:v1",
            "verify-signature --key cosign.pub dir:./copy",
            "verify-signature --format json --key cosign.pub docker://127.0.0.1:5000/app:1",
            "verify-signature --certificate-chain fulcio.pem --certificate-identity me@example.com "
            "--certificate-oidc-issuer https://accounts.google.com --rekor-key rekor.pub oci:./layout",
        ),
    )
    p.add_argument("--key", metavar="PUB", help="public key (PEM)")
    p.add_argument("--certificate-chain", metavar="PEM", help="Fulcio root and intermediates (keyless)")
    p.add_argument("--certificate-identity", metavar="SAN", help="the signer's identity (keyless)")
    p.add_argument("--certificate-oidc-issuer", metavar="ISSUER", help="the signer's OIDC issuer (keyless)")
    p.add_argument("--rekor-key", action="append", metavar="PUB", help="Rekor public key: dates signatures")
    p.add_argument(
        "--timestamp-certificate-chain", metavar="PEM", help="timestamp authority roots: dates signatures"
    )
    p.add_argument("--reference", metavar="REF", help="the docker-reference each payload must claim")
    p.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="check this platform's manifest of an index, not the index",
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("image", metavar="IMAGE", nargs="?")
    p.set_defaults(handler=_cmd_verify_signature)

    p = sub.add_parser(
        "generate-key-pair",
        help="write cosign.key and cosign.pub in cosign's format (COSIGN_PASSWORD)",
        **epilog(
            "generate-key-pair",
            "generate-key-pair --output-key-prefix release ./keys",
            grammar="",
        ),
    )
    p.add_argument(
        "--output-key-prefix", default="cosign", metavar="PREFIX", help="file names (default cosign)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing key files")
    p.add_argument("directory", metavar="DIR", nargs="?", default=".")
    p.set_defaults(handler=_cmd_generate_key_pair)
