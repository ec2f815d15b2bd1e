"""The ``analyze`` and ``diff`` commands: image efficiency as dive computes it, CI rules, reports.

``analyze`` exits 0, or with ``--ci`` 2 when a rule failed; 1 when the input cannot be read.
Report files (``--html``, ``--junit``, ``--sarif``, ``--markdown``) are written atomically.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

from ocitool._io.output import atomic_write, is_stdout
from ocitool.cli import EXIT_CHECK_FAILED, EXIT_OK, UsageError, platform_flag
from ocitool.cli.progress import progress_bar
from ocitool.cli.render import epilog

__all__ = ["register"]

_DIVE_CI = ".dive-ci"


def _source(args: argparse.Namespace) -> tuple[str, str]:
    return args.source, args.image or ""


def _cmd_analyze(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.analysis import report
    from ocitool.analysis.analyze import analyze
    from ocitool.analysis.rules import RULE_KEYS, run_ci

    platform = platform_flag(args.platform)
    source, image = _source(args)
    overrides: dict[str, object] = {}
    for item in args.rule:
        key, sep, value = item.partition("=")
        if not sep or key not in RULE_KEYS:
            raise UsageError(f"analyze: --rule wants KEY=VALUE with KEY one of {', '.join(RULE_KEYS)}")
        overrides[key] = [v for v in value.split(",") if v] if key in _LIST_RULES else value
    ci = args.ci or bool(args.junit or args.sarif or args.markdown or args.rules or overrides)
    with progress_bar(err, quiet=args.quiet) as bar:
        if not ci:
            analysis = analyze(source, image, platform=platform, progress=bar, verify=args.verify)
            results = []
        else:
            rules_file = args.rules
            if rules_file is None and os.path.isfile(_DIVE_CI):
                rules_file = _DIVE_CI  # dive reads ./.dive-ci by default
            outcome = run_ci(
                source,
                image,
                platform=platform,
                rules_file=rules_file,
                overrides=overrides,
                progress=bar,
                verify=args.verify,
            )
            analysis, results = outcome.analysis, outcome.results
    # A report written to stdout (``--junit -``) keeps stdout to itself: the summary goes to stderr.
    reports = (args.html, args.junit, args.sarif, args.markdown)
    summary = err if any(path and is_stdout(path) for path in reports) else out
    if args.format == "json":
        summary.write(analysis.json_text())
    elif ci:
        summary.write(report.ci_text(analysis, results))
    else:
        summary.write(report.table_text(analysis))
    if args.html:
        atomic_write(args.html, report.render_html(analysis, results).encode(), mode=0o644)
    if args.junit:
        atomic_write(args.junit, report.render_junit(analysis, results).encode(), mode=0o644)
    if args.sarif:
        atomic_write(args.sarif, report.render_sarif(analysis, results).encode(), mode=0o644)
    if args.markdown:
        atomic_write(args.markdown, report.render_markdown(analysis, results).encode(), mode=0o644)
    if ci and any(r.status.name == "FAILED" for r in results):
        return EXIT_CHECK_FAILED
    return EXIT_OK


_LIST_RULES = ("forbiddenPaths", "requiredLabels", "allowedPlatforms")


def _cmd_diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.analysis import report
    from ocitool.analysis.diff import diff

    platform = platform_flag(args.platform)
    result = diff(args.source1, args.source2, platform=platform, verify=args.verify)
    out.write(result.json_text() if args.format == "json" else report.diff_text(result))
    return EXIT_OK


def _no_verify(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="do not check layer bytes against their digests and diff IDs (faster; trusts the source)",
    )


def register(sub: Any) -> None:
    """Add ``analyze`` and ``diff`` to the ``ocitool`` parser."""
    p = sub.add_parser(
        "analyze",
        help="layer sizes, wasted space and efficiency (as dive); CI rules",
        **epilog(
            "analyze image.tar",
            "analyze --ci --rules .dive-ci image.tar myapp:1.0",
            "analyze --rule lowestEfficiency=0.95 --junit report.xml oci:./layout",
            "analyze --html report.html image.tar",
        ),
    )
    p.add_argument("--platform", help="the image of this platform (os/arch[/variant])")
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.add_argument("--ci", action="store_true", help="evaluate the rules; exit 2 when one fails")
    p.add_argument(
        "--rules", metavar="FILE", help="rules file in dive's .dive-ci format (default ./.dive-ci)"
    )
    p.add_argument(
        "--rule", action="append", default=[], metavar="KEY=VALUE", help="set one rule (implies --ci)"
    )
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML, - for stdout (implies --ci)")
    p.add_argument("--sarif", metavar="FILE", help="write SARIF 2.1.0, - for stdout (implies --ci)")
    p.add_argument("--markdown", metavar="FILE", help="write a Markdown summary, - for stdout (implies --ci)")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report, - for stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars on the terminal")
    _no_verify(p)
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("image", metavar="IMAGE", nargs="?")
    p.set_defaults(handler=_cmd_analyze)

    p = sub.add_parser(
        "diff",
        help="files, config and layers that differ between two images",
        **epilog(
            "diff old.tar new.tar",
            "diff docker-archive:image.tar:app:1.0 docker-archive:image.tar:app:2.0",
            "diff --format json oci:./layout:v1 oci:./layout:v2",
        ),
    )
    p.add_argument("--platform", help="the image of this platform (os/arch[/variant])")
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.add_argument(
        "source1", metavar="SOURCE1", help="SOURCE, optionally with :IMAGE (docker-archive:x.tar:name)"
    )
    p.add_argument("source2", metavar="SOURCE2")
    _no_verify(p)
    p.set_defaults(handler=_cmd_diff)
