"""A :class:`tarfile.TarInfo` with ocitool's limit on extended headers, for the readers still on
:mod:`tarfile` (the build context's tarsum; the scanner's tests). Layers and archives are read
with :mod:`ocitool._io.tarscan`, which applies the same limit; :mod:`tarfile` is loaded only by
those readers.
"""

from __future__ import annotations

import tarfile
from typing import Final

from ocitool._io.tarscan import MAX_LONG_HEADER
from ocitool.errors import InvalidArchiveError

__all__ = ["SafeTarInfo"]

_LONG_TYPES: Final = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE)


class SafeTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses PAX extended headers and GNU long names over ``MAX_LONG_HEADER``
    before tarfile reads them into memory (pass as ``tarfile.open(..., tarinfo=SafeTarInfo)``).

    Raises InvalidArchiveError naming the member whose header is too long.
    """

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _LONG_TYPES and self.size > MAX_LONG_HEADER:
            raise InvalidArchiveError(
                f"extended header of {self.size} bytes, over the {MAX_LONG_HEADER}-byte limit",
                member=self.name,
            )
        return super()._proc_member(tarfile_)  # type: ignore[misc,no-any-return]
