"""Transports: each image format read behind the interfaces of :mod:`ocitool.image`."""

__all__: list[str] = []
