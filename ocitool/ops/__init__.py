"""Operations on images from any source: the read-only queries, convert, verify, validate,
unpack/export and the root filesystem merge; :mod:`.build`, the pure parts of Docker's classic
builder (Dockerfile parsing and evaluation, ``.dockerignore``, build-context hashes).
"""

__all__: list[str] = []
