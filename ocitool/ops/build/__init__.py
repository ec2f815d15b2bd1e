"""Building images as Docker's classic builder does, the pure parts first: Dockerfile parsing
(:mod:`.dockerfile`), variable substitution (:mod:`.shell`) and build-argument scoping
(:mod:`.buildargs`), ``.dockerignore`` (:mod:`.dockerignore`), the build context's content
hashes (:mod:`.contexthash`) and the history/config a Dockerfile's instructions produce
(:mod:`.history`). Nothing here reads an image store or runs anything.
"""

__all__: list[str] = []
