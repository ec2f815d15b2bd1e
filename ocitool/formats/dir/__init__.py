"""skopeo's ``dir:`` transport."""

__all__: list[str] = []
