"""The Docker Engine API shapes (v28) and their builders from the model.
"""

__all__: list[str] = []
