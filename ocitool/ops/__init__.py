"""Operations on images from any source: the read-only queries, convert, verify, validate,
unpack/export and the root filesystem merge.
"""

__all__: list[str] = []
