"""ocitool: an offline toolkit and library for container images."""

__all__: list[str] = []
