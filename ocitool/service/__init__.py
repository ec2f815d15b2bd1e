"""Docker's image service without a daemon, over :mod:`ocitool.store`.
"""

__all__: list[str] = []
