"""Registry flags (skopeo's spelling) for the commands that read a SOURCE, and for convert/copy.

``--authfile``, ``--creds USER:PASS``, ``--tls-verify[=BOOL]`` and ``--cert-dir DIR`` say how a
``docker://`` SOURCE is reached; convert and copy take them per side too (``--src-creds``,
``--dest-tls-verify``, ...), the side's flag winning over the common one. Credentials are
parsed here so that a malformed value is reported naming its flag, never echoing it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from ocitool.cli import UsageError
from ocitool.formats.registry.auth import parse_creds
from ocitool.formats.registry.read import RegistryOptions, using_registry_options
from ocitool.formats.registry.reference import TRANSPORT_PREFIX

__all__ = ["READ_COMMANDS", "add_flags", "bool_flag", "extend", "options"]

# The commands whose SOURCE may be a registry reference.
READ_COMMANDS = (
    "inspect",
    "images",
    "history",
    "manifests",
    "config",
    "manifest",
    "verify",
    "validate",
    "analyze",
    "diff",
    "unpack",
    "export",
    "referrers",
)

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def bool_flag(value: str) -> bool:
    """A flag's BOOL value as Go's flag package reads the common spellings."""
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {value!r}")


def add_flags(p: Any, *, sides: bool = False) -> None:
    """Add the registry flags to parser ``p``; with ``sides`` the ``--src-``/``--dest-`` ones too."""
    g = p.add_argument_group("registries (docker://HOST/REPO[:TAG|@DIGEST])")
    prefixes = ("", "src-", "dest-") if sides else ("",)
    for prefix in prefixes:
        side = {"": "", "src-": " of the source", "dest-": " of the destination"}[prefix]
        g.add_argument(f"--{prefix}authfile", metavar="PATH", help=f"credentials file{side} (auth.json)")
        g.add_argument(f"--{prefix}creds", metavar="USER:PASS", help=f"credentials{side}")
        g.add_argument(
            f"--{prefix}tls-verify",
            type=bool_flag,
            nargs="?",
            const=True,
            metavar="BOOL",
            help=f"verify TLS{side} (false also allows http)",
        )
        g.add_argument(f"--{prefix}cert-dir", metavar="DIR", help=f"CA certificates (*.crt){side}")


def options(args: argparse.Namespace, side: str = "") -> RegistryOptions:
    """The options for one side (``"src"``, ``"dest"`` or ``""``): the side's flag, else the
    common one. Raises InvalidCredentialsError naming the flag."""

    def pick(name: str) -> Any:
        value = getattr(args, f"{side}_{name}", None) if side else None
        return value if value is not None else getattr(args, name, None)

    creds_flag = f"--{side}-creds" if side and getattr(args, f"{side}_creds", None) is not None else "--creds"
    creds = pick("creds")
    return RegistryOptions(
        creds=parse_creds(creds, source=creds_flag) if creds is not None else None,
        authfile=pick("authfile"),
        tls_verify=pick("tls_verify"),
        cert_dir=pick("cert_dir"),
    )


def _wrap(name: str, handler: Handler) -> Handler:
    def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        source = getattr(args, "source", None)
        if isinstance(source, str) and source.startswith(TRANSPORT_PREFIX) and getattr(args, "image", None):
            raise UsageError(
                f"ocitool {name}: a docker:// SOURCE names its image; no IMAGE argument is taken"
            )
        with using_registry_options(options(args)):
            return handler(args, out, err)

    return run


def extend(sub: Any) -> None:
    """Give each read command of the subparsers ``sub`` the registry flags, and run its handler
    with the options they give."""
    for name in READ_COMMANDS:
        p = sub.choices.get(name)
        if p is None:
            continue
        add_flags(p)
        handler = p.get_default("handler")
        if handler is not None:
            p.set_defaults(handler=_wrap(name, handler))
