"""The ``ocitool`` command line: parse, call one library function, render.

This package is the only place that prints, exits, or knows about terminals. Exit codes:
0 success; 1 an error (as the docker CLI); 2 a check that ran and failed; 125 a usage error.
Set ``OCITOOL_DEBUG=1`` to see a traceback for an unexpected internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from ocitool.errors import OcitoolError

if TYPE_CHECKING:
    from ocitool.formats.registry.options import RegistryOptions
    from ocitool.model.platform import Platform

__all__ = [
    "EXIT_CHECK_FAILED",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "READ_COMMANDS",
    "add_registry_flags",
    "bool_flag",
    "explicit_bool_flags",
    "main",
    "registry_options",
    "run",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHECK_FAILED = 2
EXIT_USAGE = 125


class UsageError(Exception):
    """A command line that does not parse (exit 125, as the docker CLI)."""


def _help_width() -> int:
    """The width argparse gives help text: the terminal's columns less 2, as
    ``shutil.get_terminal_size`` finds them (``$COLUMNS``, else stdout's terminal, else 80)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns) - 2
    return _terminal_columns() - 2


@functools.cache
def _terminal_columns() -> int:
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with the terminal asked once per process. argparse makes a formatter
    for every ``add_argument`` (to check its metavar), and each asked the terminal through
    ``shutil``: one ioctl per argument and an import, ~2 ms of every command's start-up."""

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, _help_width() if width is None else width)


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """:class:`HelpFormatter` keeping descriptions and epilogs as written (examples)."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        return super().parse_known_args(None if args is None else explicit_bool_flags(args), namespace)


# The BOOL flags that, as Go's flag package reads a bool, mean true when given bare and take a
# value only after '=' (``--tls-verify``, ``--tls-verify=false``): a separate word is never
# their value, so ``--tls-verify docker://...`` leaves SOURCE alone.
BARE_BOOL_FLAGS: frozenset[str] = frozenset({"--tls-verify", "--src-tls-verify", "--dest-tls-verify"})


def explicit_bool_flags(args: Sequence[str]) -> list[str]:
    """``args`` with each bare :data:`BARE_BOOL_FLAGS` flag spelled ``FLAG=true`` (up to ``--``)."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + list(args[i:])
        out.append(f"{arg}=true" if arg in BARE_BOOL_FLAGS else arg)
    return out


Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


# Which module under ocitool.cli registers each command (``register(subparsers)``), in help
# order. Only that module (and what it imports) is loaded for a command: loading all of them
# would add tens of milliseconds to every run. A test checks this table against what the
# modules register.
COMMAND_OWNERS: dict[str, str] = {
    **dict.fromkeys(("inspect", "images", "history", "manifests", "config", "manifest"), "commands"),
    **dict.fromkeys(("verify", "validate", "unpack", "export"), "checks"),
    **dict.fromkeys(("convert", "copy"), "convert"),
    **dict.fromkeys(("analyze", "diff"), "analyze"),
    "referrers": "referrers",
    **dict.fromkeys(("sign", "verify-signature", "generate-key-pair"), "sign"),
    **dict.fromkeys(("append", "mutate", "flatten", "rebase"), "mutate"),
    "attestations": "attest",
    "build": "build",
    **dict.fromkeys(("pull", "push"), "pullpush"),
    **dict.fromkeys(("load", "save", "squash", "tag", "rmi", "image", "import", "system"), "store"),
}
_COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMAND_OWNERS.values()))
_GLOBAL_OPTIONS_WITH_VALUE = ("--root", "--docker-root")


# -- registry flags (skopeo's spelling) ------------------------------------------------------
# ``--authfile``, ``--creds USER:PASS``, ``--tls-verify[=BOOL]`` and ``--cert-dir DIR`` say how a
# ``docker://`` SOURCE is reached; convert and copy take them per side too (``--src-creds``,
# ``--dest-tls-verify``, ...), the side's flag winning over the common one. They live here, not
# in a command module, because every read command takes them and a run loads only its own
# command's module. Credentials are parsed here, so a malformed value is reported naming its
# flag, never echoing it.

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
    "sign",
    "verify-signature",
    "attestations",
)


def platform_flag(value: str | None) -> Platform | None:
    """A ``--platform`` value (``os/arch[/variant]``) as a Platform, None when not given."""
    from ocitool.model.platform import Platform

    return Platform.parse(value) if value else None


def bool_flag(value: str) -> bool:
    """A flag's BOOL value as Go's flag package reads the common spellings."""
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {value!r}")


def add_registry_flags(p: Any, *, sides: bool = False) -> None:
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
            metavar="BOOL",
            help=f"verify TLS{side}: bare or =true, or =false (which also allows http)",
        )
        g.add_argument(f"--{prefix}cert-dir", metavar="DIR", help=f"CA certificates (*.crt){side}")


def registry_options(args: argparse.Namespace, side: str = "") -> RegistryOptions:
    """The options for one side (``"src"``, ``"dest"`` or ``""``): the side's flag, else the
    common one. Raises InvalidCredentialsError naming the flag."""
    # imported here, as in _wrap: the registry modules are loaded only when a command runs
    from ocitool.formats.registry.options import RegistryOptions

    def pick(name: str) -> Any:
        value = getattr(args, f"{side}_{name}", None) if side else None
        return value if value is not None else getattr(args, name, None)

    creds_flag = f"--{side}-creds" if side and getattr(args, f"{side}_creds", None) is not None else "--creds"
    creds = pick("creds")
    if creds is not None:
        from ocitool.formats.registry.auth import parse_creds

        creds = parse_creds(creds, source=creds_flag)
    return RegistryOptions(
        creds=creds,
        authfile=pick("authfile"),
        tls_verify=pick("tls_verify"),
        cert_dir=pick("cert_dir"),
    )


def _wrap(name: str, handler: Handler) -> Handler:
    def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        from ocitool.formats.registry import TRANSPORT_PREFIX
        from ocitool.formats.registry.options import using_registry_options

        source = getattr(args, "source", None)
        if isinstance(source, str) and source.startswith(TRANSPORT_PREFIX) and getattr(args, "image", None):
            raise UsageError(
                f"ocitool {name}: a docker:// SOURCE names its image; no IMAGE argument is taken"
            )
        with using_registry_options(registry_options(args)):
            return handler(args, out, err)

    return run


def _extend_registry_commands(sub: Any) -> None:
    """Give each read command of the subparsers ``sub`` the registry flags, and run its handler
    with the options they give."""
    for name in READ_COMMANDS:
        p = sub.choices.get(name)
        if p is None:
            continue
        add_registry_flags(p)
        handler = p.get_default("handler")
        if handler is not None:
            p.set_defaults(handler=_wrap(name, handler))


def _command_modules(argv: Sequence[str]) -> tuple[str, ...]:
    """The module owning the command in ``argv``, or all of them (help, unknown commands)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif arg == "--version":  # before any command: no command module is needed
            return ()
        elif not arg.startswith("-"):
            owner = COMMAND_OWNERS.get(arg)
            return (owner,) if owner else _COMMAND_MODULES
    return _COMMAND_MODULES


def _build_parser(modules: Sequence[str] = _COMMAND_MODULES) -> _Parser:
    import importlib

    parser = _Parser(
        prog="ocitool",
        description="Offline toolkit for container images: docker-save archives, OCI layouts and archives.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="image store directory (store mode; default $OCITOOL_ROOT, else the user data dir)",
    )
    parser.add_argument(
        "--docker-root",
        metavar="DIR",
        help="a Docker data root to read, read-only (images, inspect, history)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in modules:
        importlib.import_module(f"ocitool.cli.{name}").register(sub)
    _extend_registry_commands(sub)
    _accept_global_options(parser)
    return parser


def _accept_global_options(parser: argparse.ArgumentParser) -> None:
    """Let every (sub)command take ``--root DIR`` and ``--docker-root DIR`` after its name too
    (``ocitool images --root DIR``), as docker takes its global flags anywhere. Hidden from the
    commands' help; not given there, they leave the value given before the command alone."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in dict.fromkeys(action.choices.values()):  # aliases share a parser
            options = command._option_string_actions
            for flag in _GLOBAL_OPTIONS_WITH_VALUE:
                if flag not in options:
                    command.add_argument(
                        flag, metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS
                    )
            _accept_global_options(command)


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run one command; returns the exit code. Never raises for user errors."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        arguments = list(sys.argv[1:] if argv is None else argv)
        parser = _build_parser(_command_modules(arguments))
        args = parser.parse_args(arguments)
        if args.version:
            from ocitool import __version__
            from ocitool.compression import compressors

            out.write(f"ocitool {__version__} ({compressors()})\n")
            if os.environ.get("OCITOOL_DEBUG"):
                err.write(_compressor_debug_line())
            return EXIT_OK
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(err)
            return EXIT_USAGE
        return handler(args, out, err)
    except UsageError as exc:
        err.write(f"{exc}\nSee 'ocitool --help'.\n")
        return EXIT_USAGE
    except OcitoolError as exc:
        err.write(f"Error: {exc}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.write("Interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): not an error worth a message.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        return EXIT_OK
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        err.write(f"Error: {where}{exc.strerror or exc}\n")
        return EXIT_ERROR
    except Exception as exc:  # the promise is: never a traceback for users
        if os.environ.get("OCITOOL_DEBUG"):
            import traceback  # only here: it loads tokenize and linecache, 3 ms on every start-up

            traceback.print_exc(file=err)
        err.write(f"Error: internal error: {type(exc).__name__}: {exc} (set OCITOOL_DEBUG=1 for details)\n")
        return EXIT_ERROR


def _compressor_debug_line() -> str:
    """Which libraries compress, with versions: a digest difference between two machines is
    explained by this line (OCITOOL_DEBUG)."""
    import zstandard

    try:
        import isal

        gzip_lib = f"isal {isal.__version__} (ISA-L)"
    except ImportError:  # pragma: no cover - platforms without an isal wheel
        import zlib

        gzip_lib = f"zlib {zlib.ZLIB_RUNTIME_VERSION} (isal not installed: slower, different gzip bytes)"
    return (
        f"debug: gzip via {gzip_lib}; zstd via zstandard {zstandard.__version__}; "
        f"python {sys.version.split()[0]}\n"
    )


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
