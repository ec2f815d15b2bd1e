"""How to reach a registry (credentials, TLS, certificates), as one value a command sets once.

The library and the CLI pass a :class:`RegistryOptions` explicitly, or set it for a block with
:func:`using_registry_options` so that every ``docker://`` SOURCE
:func:`~ocitool.formats.detect.open_source` opens in that block uses it. This module loads no
HTTP client: the CLI sets the options for every read command, registry or not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from ocitool._record import record

if TYPE_CHECKING:
    from ocitool.formats.registry.auth import Credentials
    from ocitool.formats.registry.client import RegistryClient
    from ocitool.formats.registry.reference import RegistryReference

__all__ = ["RegistryOptions", "current_registry_options", "using_registry_options"]


@record(frozen=True)
class RegistryOptions:
    """How to reach a registry, as skopeo's flags say: ``creds`` (``USER:PASSWORD``),
    ``authfile``, ``tls_verify`` (None: verify, http allowed on loopback; False: no
    verification, http allowed) and ``cert_dir`` (a containers-certs.d directory)."""

    creds: str | Credentials | None = None
    authfile: str | None = None
    tls_verify: bool | None = None
    cert_dir: str | None = None

    def client(self, ref: RegistryReference) -> RegistryClient:
        """A client for ``ref``'s registry with these options; the caller closes it."""
        from ocitool.formats.registry.client import RegistryClient

        return RegistryClient.for_reference(
            ref, creds=self.creds, authfile=self.authfile, tls_verify=self.tls_verify, cert_dir=self.cert_dir
        )

    def __repr__(self) -> str:  # never show the password
        creds = "<set>" if self.creds else None
        return (
            f"RegistryOptions(creds={creds}, authfile={self.authfile!r}, "
            f"tls_verify={self.tls_verify!r}, cert_dir={self.cert_dir!r})"
        )


_OPTIONS: ContextVar[RegistryOptions | None] = ContextVar("ocitool_registry_options", default=None)


def current_registry_options() -> RegistryOptions:
    """The options :func:`using_registry_options` set, or the defaults."""
    return _OPTIONS.get() or RegistryOptions()


@contextmanager
def using_registry_options(options: RegistryOptions) -> Iterator[RegistryOptions]:
    """Use ``options`` for ``docker://`` sources opened in this block (this thread/context)."""
    token = _OPTIONS.set(options)
    try:
        yield options
    finally:
        _OPTIONS.reset(token)
