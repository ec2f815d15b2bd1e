"""Build arguments and their scope: moby 20.10's ``builder/dockerfile/buildargs.go``.

The rules it encodes:

* ``--build-arg`` values (``options``) count only for names a Dockerfile declares with
  ``ARG`` in the current stage, or for the built-in proxy names (``HTTP_PROXY``, ``https_proxy``,
  ``NO_PROXY``, ...), which are always allowed and never reported as unused;
* an ``ARG`` before the first ``FROM`` (a *meta* arg) is visible to ``FROM`` lines only
  (:meth:`BuildArgs.meta`); inside a stage a name is visible once the stage declares it
  again, and ``ARG NAME`` without a default then takes the meta arg's value;
* a declared ``ARG`` takes its ``--build-arg`` value first, else its default;
* each stage starts with no declared args (:meth:`BuildArgs.for_stage`) but keeps the meta
  args; names used anywhere are remembered, to warn about build args nobody used;
* ``ENV`` wins: :meth:`BuildArgs.filter_allowed` leaves out names the config's ``Env`` has.

Mutable, as moby's is: one instance per stage, cloned from the build's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["BUILTIN_ARGS", "BuildArgs"]

BUILTIN_ARGS: Final = frozenset(
    {
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "FTP_PROXY",
        "ftp_proxy",
        "NO_PROXY",
        "no_proxy",
    }
)
"""Build args usable without an ``ARG`` (moby's ``builtinAllowedBuildArgs``)."""


class BuildArgs:
    """moby's ``BuildArgs``: ``options`` are the ``--build-arg`` values (``None`` for a name
    given without a value, which counts as not given)."""

    def __init__(self, options: Mapping[str, str | None] | None = None) -> None:
        self.options: dict[str, str | None] = dict(options or {})
        self.allowed: dict[str, str | None] = {}
        self.allowed_meta: dict[str, str | None] = {}
        self.referenced: set[str] = set()

    def clone(self) -> BuildArgs:
        out = BuildArgs(self.options)
        out.allowed = dict(self.allowed)
        out.allowed_meta = dict(self.allowed_meta)
        out.referenced = set(self.referenced)
        return out

    def for_stage(self) -> BuildArgs:
        """A clone with no declared args (``Clone`` then ``ResetAllowed``): a new stage's."""
        out = self.clone()
        out.allowed = {}
        return out

    def merge_referenced(self, other: BuildArgs) -> None:
        self.referenced |= other.referenced

    def add_arg(self, key: str, value: str | None) -> None:
        """``ARG key[=value]`` in a stage (or before ``FROM``, with :meth:`add_meta_arg`)."""
        self.allowed[key] = value
        self.referenced.add(key)

    def add_meta_arg(self, key: str, value: str | None) -> None:
        self.allowed_meta[key] = value

    def is_referenced_or_not_builtin(self, key: str) -> bool:
        return key in self.allowed or key not in BUILTIN_ARGS

    def unused(self) -> list[str]:
        """``--build-arg`` names neither declared anywhere nor built in (moby warns about them)."""
        return sorted(k for k in self.options if k not in self.referenced and k not in BUILTIN_ARGS)

    def _get(self, key: str, mapping: Mapping[str, str | None]) -> str | None:
        # a --build-arg value first, then the default, then (no default) the meta arg's value
        option = self.options.get(key)
        if option is not None:
            return option
        default = mapping.get(key)
        if default is None:
            return self.allowed_meta.get(key)
        return default

    def _all(self, mapping: Mapping[str, str | None]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key in [*mapping, *sorted(BUILTIN_ARGS - mapping.keys())]:
            value = self._get(key, mapping)
            if value is not None:
                out[key] = value
        return out

    def all_allowed(self) -> dict[str, str]:
        """``GetAllAllowed``: the declared args (and given built-ins) that have a value."""
        return self._all(self.allowed)

    def meta(self) -> dict[str, str]:
        """``GetAllMeta``: what ``FROM`` lines may substitute (meta args, given built-ins)."""
        return self._all(self.allowed_meta)

    def filter_allowed(self, env: Iterable[str]) -> list[str]:
        """``FilterAllowed``: ``KEY=value`` for the allowed args the ``env`` list does not set."""
        keys = {entry.partition("=")[0] for entry in env}
        return [f"{k}={v}" for k, v in self.all_allowed().items() if k not in keys]
