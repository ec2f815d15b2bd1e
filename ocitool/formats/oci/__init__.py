"""OCI image layouts and OCI archives: reader and writer side by side."""

__all__: list[str] = []
