"""The ``ocitool`` command line: parse, call one library function, render.

This package is the only place that prints, exits, or knows about terminals. Exit codes:
0 success; 1 an error (as the docker CLI); 2 a check that ran and failed; 125 a usage error.
Set ``OCITOOL_DEBUG=1`` to see a traceback for an unexpected internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from ocitool.errors import OcitoolError

__all__ = ["EXIT_CHECK_FAILED", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "main", "run"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHECK_FAILED = 2
EXIT_USAGE = 125


class UsageError(Exception):
    """A command line that does not parse (exit 125, as the docker CLI)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


# Which module under ocitool.cli registers each command (``register(subparsers)``), in help
# order. Only that module (and what it imports) is loaded for a command: loading all of them
# would add tens of milliseconds to every run. A test checks this table against what the
# modules register.
COMMAND_OWNERS: dict[str, str] = {
    **dict.fromkeys(("inspect", "images", "history", "manifests", "config", "manifest"), "commands"),
    **dict.fromkeys(("verify", "validate", "unpack", "export"), "checks"),
    "convert": "convert",
    **dict.fromkeys(("analyze", "diff"), "analyze"),
    **dict.fromkeys(("load", "save", "squash", "tag", "rmi", "image", "import", "system"), "store"),
}
_COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMAND_OWNERS.values()))
_GLOBAL_OPTIONS_WITH_VALUE = ("--root", "--docker-root")


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
