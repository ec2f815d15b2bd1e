"""Registries as a transport: ``docker://`` references, credentials and the distribution API.

Import the modules themselves (``ocitool.formats.registry.client`` for
:class:`~ocitool.formats.registry.client.RegistryClient`, ``.reference``, ``.auth``, ...). This
package holds only the transport's prefix and imports nothing, so that a command recognising a
``docker://`` argument does not pay for the HTTP client, TLS and oras-py: they are loaded on use.
"""

from typing import Final

__all__ = ["TRANSPORT_PREFIX"]

TRANSPORT_PREFIX: Final = "docker://"
"""What starts a registry reference on the command line, as in skopeo."""
