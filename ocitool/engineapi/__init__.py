"""The Docker Engine API (v28): the image shapes and their builders (``summary``), the answers
of the store's write and accounting calls (``responses``), the image filters (``filters``) and
docker's time values (``timetypes``).
"""

__all__: list[str] = []
