"""Docker's image store without a daemon: imagedb backends, the image store with on-disk
indexes, the reference store (``repositories.json``) and refcounted layer content.

See :mod:`ocitool.store.root` for a whole ``--root`` directory and :mod:`ocitool.service.service` for
the commands built on it.
"""

from __future__ import annotations

__all__: list[str] = []
