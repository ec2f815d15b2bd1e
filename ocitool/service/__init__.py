"""Docker's image service without a daemon, over :mod:`ocitool.store`: ``service`` composes
``list``, ``delete``, ``imports`` and ``loadsave``, split as moby's ``daemon/images`` files are.
"""

__all__: list[str] = []
