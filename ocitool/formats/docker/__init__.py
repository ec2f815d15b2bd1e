"""``docker save`` archives of every vintage: reader and writer side by side."""

__all__: list[str] = []
