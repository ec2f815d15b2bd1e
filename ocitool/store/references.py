"""moby's reference store: tags and digests per image, persisted as Docker's ``repositories.json``.

The file is ``{"Repositories": {"<familiar name>": {"<familiar ref>": "sha256:<id>"}}}``, keys
sorted, as Go's ``json.Marshal`` writes it (``refstore.store.save``). The grammar and the
normalisation (``docker.io/library/``, default tag ``latest``) are :mod:`ocitool.model.reference`'s.
Writes are atomic; :meth:`ReferenceStore.references` is answered from an in-memory reverse map
built when the file is read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from ocitool._go import json as _gojson
from ocitool._io.output import atomic_write
from ocitool._record import replace
from ocitool.errors import InvalidDocumentError, InvalidReferenceError, ReferenceConflictError
from ocitool.model.digest import Digest
from ocitool.model.reference import Reference, parse_normalized

__all__ = ["ReferenceStore", "as_reference", "repo_names"]


def as_reference(ref: Reference | str) -> Reference:
    """A parsed reference (strings are parsed as docker parses user input)."""
    return ref if isinstance(ref, Reference) else parse_normalized(ref)


def repo_names(refs: Sequence[Reference]) -> tuple[list[str], list[str]]:
    """(RepoTags, RepoDigests) of an image's references, familiar, in the order given."""
    tags = [r.familiar() for r in refs if r.tag and not r.digest]
    digests = [r.familiar() for r in refs if r.digest]
    return tags, digests


def _favor_digest(ref: Reference) -> Reference:
    """moby's ``favorDigest``: a ref with both a tag and a digest keeps only the digest."""
    return replace(ref, tag="") if ref.tag and ref.digest else ref


class ReferenceStore:
    """Tags and digests → image IDs (moby's ``refstore``), persisted at ``path`` (or in memory
    for ``None``). ``readonly`` never writes (a real Docker data root)."""

    def __init__(self, path: str | None, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.repositories: dict[str, dict[str, str]] = {}
        self._by_id: dict[str, dict[str, Reference]] = {}
        if path and os.path.exists(path):
            self._load(path)

    def _load(self, path: str) -> None:
        with open(path, "rb") as fh:
            raw = fh.read()
        try:
            doc = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise InvalidDocumentError(f"not valid JSON: {exc}", path=path) from None
        repos = doc.get("Repositories") if isinstance(doc, dict) else None
        if repos is not None and not isinstance(repos, dict):
            raise InvalidDocumentError("Repositories is not an object", path=path, field="/Repositories")
        for name, refs in (repos or {}).items():
            if not isinstance(refs, dict):
                raise InvalidDocumentError(
                    "repository is not an object", path=path, field=f"/Repositories/{name}"
                )
            for key, id in refs.items():
                try:
                    ref = parse_normalized(key)
                    Digest.parse(id)
                except (InvalidReferenceError, ValueError):
                    continue  # moby skips entries it cannot parse, too
                self.repositories.setdefault(name, {})[key] = id
                self._by_id.setdefault(id, {})[key] = ref

    def _save(self) -> None:
        if self.readonly:
            raise PermissionError(f"{self.path}: opened read-only")
        if self.path is None:
            return
        doc = {"Repositories": {k: dict(sorted(v.items())) for k, v in sorted(self.repositories.items())}}
        atomic_write(self.path, _gojson.dumps(doc).encode("utf-8"))

    # -- moby's refstore API ---------------------------------------------------------------

    def add_tag(self, ref: Reference | str, id: Digest, *, force: bool = False) -> None:
        """``AddTag``: ``name:tag`` (``latest`` added) → ``id``. A digest reference is refused
        (InvalidReferenceError); an existing tag of another image needs ``force``
        (ReferenceConflictError)."""
        r = as_reference(ref)
        if r.digest:
            raise InvalidReferenceError(str(ref), "refusing to create a tag with a digest reference")
        self._add(r.with_default_tag(), id, force=force)

    def add_digest(self, ref: Reference | str, id: Digest, *, force: bool = False) -> None:
        """``AddDigest``: ``name@digest`` → ``id``; a digest is never overwritten."""
        r = as_reference(ref)
        if not r.digest:
            raise InvalidReferenceError(str(ref), "not a digest reference")
        self._add(replace(r, tag=""), id, force=force)

    def _add(self, ref: Reference, id: Digest, *, force: bool) -> None:
        name = ref.familiar_name()
        key = ref.familiar()
        if name == "sha256":
            raise InvalidReferenceError(
                key, "refusing to create an ambiguous tag using digest algorithm as name"
            )
        repo = self.repositories.setdefault(name, {})
        old = repo.get(key)
        if old is not None:
            if old == str(id):
                return
            if ref.digest:
                raise ReferenceConflictError(key, f"Cannot overwrite digest {ref.digest}")
            if not force:
                raise ReferenceConflictError(
                    key,
                    f"Conflict: Tag {key} is already set to image {old}, if you want to replace it, "
                    "please use the force option",
                )
            refs = self._by_id.get(old, {})
            refs.pop(key, None)
            if not refs:
                self._by_id.pop(old, None)
        repo[key] = str(id)
        self._by_id.setdefault(str(id), {})[key] = ref
        self._save()

    def delete(self, ref: Reference | str) -> bool:
        """``Delete``: remove one reference (``latest`` added). False when it did not exist."""
        r = _favor_digest(as_reference(ref)).with_default_tag()
        name, key = r.familiar_name(), r.familiar()
        repo = self.repositories.get(name)
        if repo is None or key not in repo:
            return False
        id = repo.pop(key)
        if not repo:
            del self.repositories[name]
        refs = self._by_id.get(id, {})
        refs.pop(key, None)
        if not refs:
            self._by_id.pop(id, None)
        self._save()
        return True

    def get(self, ref: Reference | str) -> Digest | None:
        """``Get``: the image ID a reference names (``latest`` added), or None."""
        r = _favor_digest(as_reference(ref)).with_default_tag()
        id = self.repositories.get(r.familiar_name(), {}).get(r.familiar())
        return Digest.parse(id) if id else None

    def references(self, id: Digest) -> list[Reference]:
        """``References``: every reference to ``id``, sorted by full string as moby sorts."""
        refs = self._by_id.get(str(id), {})
        return sorted(refs.values(), key=str)

    def references_by_name(self, ref: Reference | str) -> list[tuple[Reference, Digest]]:
        """``ReferencesByName``: the references of one repository, with their IDs."""
        name = as_reference(ref).familiar_name()
        out = [(parse_normalized(k), Digest.parse(v)) for k, v in self.repositories.get(name, {}).items()]
        return sorted(out, key=lambda item: str(item[0]))

    def all(self) -> dict[str, list[Reference]]:
        """image ID → its references (sorted), for listing every image at once."""
        return {id: sorted(refs.values(), key=str) for id, refs in self._by_id.items()}
