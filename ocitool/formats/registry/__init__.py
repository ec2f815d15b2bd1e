"""Registries as a transport: ``docker://`` references, credentials and the distribution API.

Import the modules themselves (``ocitool.formats.registry.client`` for
:class:`~ocitool.formats.registry.client.RegistryClient`, ``.reference``, ``.auth``, ...): this
package imports nothing, so a command that touches one of them (the CLI's flag parsing reads
``.reference``) does not pay for the HTTP client, TLS and oras-py, which are loaded on first use.
"""

__all__: list[str] = []
