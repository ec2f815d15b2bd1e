"""The small read-only interfaces every transport implements, and what is derived from them
once and cached: images, indexes, layers, lookup and layer sizes.
"""

__all__: list[str] = []
