"""Building images without a daemon: layers from directories, tars and in-memory files
(:mod:`.layers`), :class:`~.image.ImageBuilder` and :class:`~.image.IndexBuilder`
(:mod:`.image`), and crane's verbs over any source (:mod:`.verbs`: append, mutate, flatten,
rebase). Import the submodules directly.
"""

__all__: list[str] = []
