"""The data model: digests, media types, platforms, descriptors, references, timestamps,
manifests and moby's image config. Pure values; no I/O beyond parsing bytes.
"""

__all__: list[str] = []
