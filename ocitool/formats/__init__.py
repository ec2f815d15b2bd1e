"""Transports: each image format read behind the interfaces of :mod:`ocitool.image.source`."""

__all__: list[str] = []
