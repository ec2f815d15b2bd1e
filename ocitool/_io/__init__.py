"""I/O helpers: file views, the tar index and writer, the one output module, bounded JSON
loading and the schema files. Private.
"""

__all__: list[str] = []
