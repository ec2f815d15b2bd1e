"""The package version: setuptools reads it at build time (``[tool.setuptools.dynamic]``), and
``ocitool --version`` reads it here, so start-up never calls ``importlib.metadata``."""

__version__ = "0.1.0"
