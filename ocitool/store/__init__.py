"""Docker's image store without a daemon: imagedb backends, the image store with on-disk
indexes, the reference store (``repositories.json``) and refcounted layer content.

See :mod:`ocitool.store.root` for a whole ``--root`` directory, :mod:`ocitool.store.source` for
a store read as an image source (as every query reads an archive), :mod:`ocitool.store.dockerroot`
for a real Docker data root read the same way, and :mod:`ocitool.service` for the commands built
on the store.
"""

from __future__ import annotations

__all__: list[str] = []
