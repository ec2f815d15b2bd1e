"""``docker build`` with Docker 20.10's classic builder, for Dockerfiles without ``RUN``, on an
ocitool store: :meth:`BuildService.build`.

The Dockerfile is evaluated by :func:`ocitool.ops.build.evaluate.evaluate` (configs, history,
``container_config``, content hashes); each step is run as soon as it is evaluated, as moby's
``dispatchDockerfileWithCancellation`` runs it:

* **the cache** (moby ``image/cache``): among the parent's children (for ``FROM scratch``, the
  images without a parent) the images built locally whose ``container_config`` matches the
  step's run config by ``compare`` (Cmd, Env, Labels, ExposedPorts, Entrypoint, Volumes,
  User, the attach/tty flags; Hostname, WorkingDir and the rest ignored); the newest wins,
  equal times go to the lowest ID. After a step misses, no later step of the stage looks
  (each stage starts afresh, as ``imageProber.Reset``); ``no_cache`` turns it off;
* **the steps**: ``COPY``/``ADD`` write a layer (no container: ``exportImage``); ``WORKDIR``
  runs in a container and has a layer when it made the directory; every other instruction
  runs in a container and commits no layer. The image is moby's ``NewChildImage`` of the
  parent, stored with its parent link and marked built locally; ``config.Image`` and
  ``container_config.Image`` name the parent; a committed container's ID and hostname are
  random, as the daemon's;
* **the output**, line by line as the daemon streams it: ``Step N/M : …``, `` ---> Using
  cache``, `` ---> Running in <id>`` / ``Removing intermediate container <id>`` (steps that
  make a container), ``# Executing N build trigger(s)``, `` ---> <id>``, the unused build-arg
  warning, ``Successfully built <id>``, ``Successfully tagged NAME``.

``created`` is now, or ``SOURCE_DATE_EPOCH`` when set (layer times too). The stage file systems
live in a scratch directory of the root while the build runs (a root process keeps owners).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping, Sequence

from ocitool._go import strconv as gostrconv
from ocitool._io.output import remove_tree, staging_dir
from ocitool._io.tarwriter import source_date_epoch
from ocitool._record import field, record
from ocitool.errors import (
    BuildContextError,
    DockerfileError,
    ImageNotFoundError,
    InvalidReferenceError,
    OcitoolError,
)
from ocitool.model.config import ChildConfig, ContainerConfig, ImageConfig, RootFS
from ocitool.model.digest import Digest
from ocitool.model.platform import Platform
from ocitool.model.reference import parse_normalized
from ocitool.model.timestamp import Timestamp
from ocitool.ops.build.contexthash import BuildContext, StageSource
from ocitool.ops.build.dockerfile import parse
from ocitool.ops.build.dockerfile.instructions import Add, Copy
from ocitool.ops.build.evaluate import BaseImage, Commit, HistoryEntry, StageResult, Step, evaluate
from ocitool.ops.build.fs import Identity, WorkTree, extract_context
from ocitool.ops.convert import ConvertResult, convert
from ocitool.ops.unpack import unpack_layers
from ocitool.store.lookup import get_image
from ocitool.store.root import StoreRoot, default_root
from ocitool.store.source import StoreSource

__all__ = ["BuildResult", "BuildService", "build", "compare_configs"]


@record(frozen=True)
class BuildResult:
    """A finished build: the image ID, the names it was tagged with, the steps that came from
    the cache (by number), and the conversion when ``output`` was given."""

    image_id: Digest
    tags: tuple[str, ...] = ()
    cached_steps: tuple[int, ...] = ()
    output: ConvertResult | None = None


def compare_configs(a: ContainerConfig, b: ContainerConfig) -> bool:
    """moby ``image/cache`` ``compare``: whether an image's ``container_config`` ``a`` matches
    a step's run config ``b``."""
    if a.open_stdin or b.open_stdin:
        return False
    if (a.attach_stdout, a.attach_stderr, a.user, a.tty) != (b.attach_stdout, b.attach_stderr, b.user, b.tty):
        return False
    if (a.cmd or []) != (b.cmd or []) or a.env != b.env or (a.entrypoint or []) != (b.entrypoint or []):
        return False
    la, lb = a.labels, b.labels
    if len(la) != len(lb) or any(lb.get(k) != v for k, v in la.items()):
        return False
    pa, pb = a.exposed_ports, b.exposed_ports
    if len(pa) != len(pb) or not set(pa) <= set(pb):
        return False
    va, vb = a.volumes, b.volumes
    return len(va) == len(vb) and set(va) <= set(vb)


def _short(id: str) -> str:
    return id.removeprefix("sha256:")[:12]


@record
class _Stage:
    image_id: str = ""  # "" for scratch
    busted: bool = False
    tree: WorkTree | None = None
    tree_at: str | None = None  # the image the tree holds
    dirs: set[str] = field(default_factory=lambda: {"", "/"})  # working dirs known to exist


@record
class _Executor:
    """Runs each evaluated step on the store (an :class:`EvaluationObserver`)."""

    r: StoreRoot
    scratch: str
    context_dir: str
    no_cache: bool
    log: Callable[[str], None]
    platform: Platform | None
    created: Timestamp | None
    epoch: int | None
    dockerfile_path: str = "Dockerfile"
    stage: _Stage = field(default_factory=_Stage)
    stage_ids: list[str] = field(default_factory=list)
    last_base: str = ""
    snapshots: dict[str, str] = field(default_factory=dict)
    from_dirs: dict[str, str] = field(default_factory=dict)
    cached: list[int] = field(default_factory=list)
    _count: int = 0

    # -- the evaluation's callbacks --

    def base(self, name: str, platform: Platform | None) -> BaseImage:
        try:
            id = get_image(self.r.images, self.r.references, name)
        except (ImageNotFoundError, InvalidReferenceError):
            raise DockerfileError(
                f"pull access denied for {name}: no such image in the store, and this builder "
                "does not pull (load or pull it into the store first)"
            ) from None
        image = self.r.images.get(id)
        self.last_base = str(id)
        history = tuple(HistoryEntry(h.created_by, h.author, h.empty_layer) for h in image.history)
        return BaseImage(image.config, history, image.os or "linux")

    def from_source(self, ref: str, index: int | None) -> StageSource:
        if index is not None:
            image_id = self.stage_ids[index]
        else:
            try:
                image_id = str(get_image(self.r.images, self.r.references, ref))
            except (ImageNotFoundError, InvalidReferenceError):
                raise DockerfileError(f"COPY --from={ref}: no such stage or image in the store") from None
        self.from_dirs[ref] = self.snapshot(image_id)
        return StageSource(self.from_dirs[ref])

    def starting(self, number: int, total: int, text: str) -> None:
        self.last_base = ""  # set again by base() when this is a FROM of a stored image
        self.log(f"Step {number}/{total} : {text}")

    def evaluated(self, step: Step) -> None:
        try:
            self._evaluated(step)
        except DockerfileError as e:
            raise e.at(path=self.dockerfile_path, line=step.line) from None
        except BuildContextError as e:
            raise DockerfileError(e.message, path=self.dockerfile_path, line=step.line) from None

    def _evaluated(self, step: Step) -> None:
        if step.kind == "meta":
            return
        if step.kind == "from":
            base = self.stage_ids[step.from_stage] if step.from_stage is not None else self.last_base
            self.stage = _Stage(image_id=base)
            if step.commits:
                n = len(step.commits)
                self.log(f"# Executing {n} build trigger{'s' if n > 1 else ''}")
            for commit in step.commits:
                self.run(commit, step.number)
        else:
            for commit in step.commits:
                self.run(commit, step.number)
        self.log(f" ---> {_short(self.stage.image_id)}")

    def stage_done(self, index: int, result: StageResult) -> None:
        self.stage_ids.append(self.stage.image_id)
        tree = self.stage.tree
        if tree is not None and self.stage.tree_at == self.stage.image_id and self.stage.image_id:
            self.snapshots.setdefault(self.stage.image_id, tree.root)  # read-only from now on
        self.stage = _Stage()

    # -- file systems --

    def _new_dir(self) -> str:
        self._count += 1
        return os.path.join(self.scratch, f"fs{self._count}")

    def _unpack(self, image_id: str) -> str:
        target = self._new_dir()
        if not image_id:
            os.mkdir(target, 0o755)
            return target
        image = self.r.images.get(Digest.parse(image_id))
        top = image.rootfs.chain_id() if image.rootfs is not None else None
        layers = [self.r.layers.as_layer(info) for info in self.r.layers.chain(top)]
        unpack_layers(layers, target, devices=True, image_id=image_id)
        return target

    def snapshot(self, image_id: str) -> str:
        """A directory holding ``image_id``'s files that no step changes."""
        found = self.snapshots.get(image_id)
        if found is None:
            found = self.snapshots[image_id] = self._unpack(image_id)
        return found

    def tree(self) -> WorkTree:
        st = self.stage
        if st.tree is None or st.tree_at != st.image_id:
            st.tree = WorkTree(self._unpack(st.image_id))
            st.tree_at = st.image_id
        st.tree.changed.clear()
        return st.tree

    # -- one commit --

    def probe(self, parent: str, config: ContainerConfig) -> str | None:
        images = self.r.images
        if parent:
            siblings = images.children(Digest.parse(parent))
        else:
            siblings = sorted((row.id for row in images.rows() if row.parent is None), key=str)
        match: tuple[Timestamp, str] | None = None
        for id in siblings:
            if not images.is_built_locally(id):
                continue
            image = images.get(id)
            if not compare_configs(image.container_config, config):
                continue
            created = image.created or Timestamp.zero()
            if match is None or match[0].unix_nano() < created.unix_nano():
                match = (created, str(id))
        return match[1] if match else None

    def run(self, commit: Commit, number: int) -> None:
        st = self.stage
        run_config = commit.config.updated({"Cmd": commit.container_config.cmd, "Image": st.image_id})
        if not self.no_cache and not st.busted:
            hit = self.probe(st.image_id, run_config)
            if hit is not None:
                self.log(" ---> Using cache")
                st.image_id = hit
                self._note_workdir(commit)
                if number not in self.cached:
                    self.cached.append(number)
                return
        st.busted = True
        instruction = commit.instruction
        container = ""
        diff: Digest | None = None
        if isinstance(instruction, (Copy, Add)):
            diff = self._copy(instruction, commit.config.working_dir)
        else:
            # Creating the step's container makes its working directory when it is missing
            # (SetupWorkingDirectory): that is WORKDIR's layer, and any step's on a base whose
            # WorkingDir does not exist.
            workdir = commit.container_config.working_dir
            if workdir not in st.dirs:
                tree = self.tree()
                try:
                    made = tree.workdir(workdir)
                except BuildContextError:
                    raise DockerfileError(f"Cannot mkdir: {workdir} is not a directory") from None
                if made:
                    diff = self._layer(tree)
            container = secrets.token_hex(32)
            self.log(f" ---> Running in {container[:12]}")
            self.log(f"Removing intermediate container {container[:12]}")
        self._commit(commit, container, diff)
        self._note_workdir(commit)

    def _note_workdir(self, commit: Commit) -> None:
        if isinstance(commit.instruction, (Copy, Add)):
            self.stage.dirs = {"", "/"}  # a copy may have replaced a directory
        else:
            self.stage.dirs.add(commit.container_config.working_dir)

    def _copy(self, c: Copy | Add, workdir: str) -> Digest | None:
        tree = self.tree()
        src_root = self.context_dir
        identity: Identity | None = Identity()
        if isinstance(c, Copy) and c.from_:
            src_root = self.from_dirs[c.from_]
            identity = None
        if c.chown:
            identity = _identity(c.chown, tree)
        dest = c.dest if c.dest.startswith("/") else _join_dest(workdir, c.dest)
        scope = StageSource(src_root)
        for source in c.sources:
            for path in scope.expand(source):
                tree.copy(src_root, path, dest, identity=identity, decompress=isinstance(c, Add))
        return self._layer(tree)

    def _layer(self, tree: WorkTree) -> Digest | None:
        parent = self._top_chain()
        with tempfile.TemporaryFile(dir=self.r.layers.blob_dir) as tmp:
            entries = tree.write_layer(tmp, mtime=self.epoch)
            if entries == 0:
                return None
            tmp.seek(0)
            info = self.r.layers.register(tmp, parent)
        return info.diff_id

    def _parent_config(self) -> ImageConfig:
        if self.stage.image_id:
            return self.r.images.get(Digest.parse(self.stage.image_id))
        plat = self.platform
        return ImageConfig(
            architecture=plat.architecture if plat else "",
            variant=plat.variant if plat else "",
            os=plat.os if plat else "linux",
            rootfs=RootFS(),
        )

    def _top_chain(self) -> Digest | None:
        if not self.stage.image_id:
            return None
        image = self.r.images.get(Digest.parse(self.stage.image_id))
        return image.rootfs.chain_id() if image.rootfs is not None else None

    def _commit(self, commit: Commit, container: str, diff: Digest | None) -> None:
        st = self.stage
        parent = self._parent_config()
        container_config = commit.container_config.updated({"Image": st.image_id, "Hostname": container[:12]})
        config = commit.config.updated({"Image": st.image_id})
        child = parent.new_child(
            ChildConfig(
                container_id=container,
                author=commit.history.author,
                diff_id=diff,
                container_config=container_config,
                config=config,
            ),
            parent.os or "linux",
            created=self.created or Timestamp.now().utc(),
        )
        id = self.r.images.create(child.marshal_json(keep_unknown=False))
        if st.image_id:
            self.r.images.set_parent(id, Digest.parse(st.image_id))
        self.r.images.set_built_locally(id)
        st.image_id = str(id)
        if st.tree is not None and st.tree_at is not None:
            st.tree_at = st.image_id  # the tree was changed in place, or not at all


def _join_dest(workdir: str, dest: str) -> str:
    joined = os.path.join("/", workdir, dest)
    joined = os.path.normpath(joined)
    if dest.endswith("/") and not joined.endswith("/"):
        joined += "/"
    return joined


def _identity(chown: str, tree: WorkTree) -> Identity:
    """moby 20.10 ``parseChownFlag``: ``user[:group]`` (the user's text as the group when there
    is none), each a number or a name looked up in the image's ``/etc/passwd`` /
    ``/etc/group`` (symlinks followed inside the image)."""
    parts = chown.split(":")
    if len(parts) > 2:
        raise DockerfileError("invalid chown string format: " + chown)
    user, group = (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    prefix = "unable to convert uid/gid chown string to host mapping: "

    def lookup(name: str, table: str, what: str) -> int:
        number = gostrconv.atoi(name)
        if number is not None:
            return number
        try:
            with open(tree.full(tree.resolve(table)), encoding="utf-8", errors="replace") as f:
                for line in f:
                    fields = line.rstrip("\n").split(":")
                    if len(fields) > 2 and fields[0] == name:
                        found = gostrconv.atoi(fields[2])
                        if found is not None:
                            return found
        except OSError as e:
            raise DockerfileError(f"{prefix}{what}: open {table}: {(e.strerror or str(e)).lower()}") from None
        raise DockerfileError(f"{prefix}{what}: no such {what.split()[-2]}: {name}")

    uid = lookup(user, "/etc/passwd", f"can't find uid for user {user}")
    return Identity(uid, lookup(group, "/etc/group", f"can't find gid for group {group}"))


class BuildService:
    """``build`` for :class:`~ocitool.service.service.ImageService`."""

    root: str

    def build(
        self,
        context: str,
        *,
        dockerfile: str | None = None,
        tags: Sequence[str] = (),
        build_args: Mapping[str, str | None] | None = None,
        labels: Mapping[str, str] | None = None,
        target: str | None = None,
        no_cache: bool = False,
        output: str | None = None,
        platform: Platform | None = None,
        log: Callable[[str], None] | None = None,
    ) -> BuildResult:
        """``DOCKER_BUILDKIT=0 docker build`` of the directory ``context`` into the store (see
        the module docstring). ``dockerfile`` defaults to ``CONTEXT/Dockerfile``; ``tags`` name
        the result (``Successfully tagged``) unless ``output``, a convert DESTINATION, gets it
        instead; ``log`` receives each output line. Raises DockerfileError naming the line
        (``RUN`` among others), BuildContextError, OcitoolError subclasses."""
        emit = log or (lambda line: None)
        refs = [parse_normalized(t).with_default_tag() for t in tags]
        for ref, text in zip(refs, tags, strict=True):
            if ref.digest:
                raise InvalidReferenceError(text, "refusing to create a tag with a digest reference")
        context_dir = os.path.abspath(context)
        if not os.path.isdir(context_dir):
            raise DockerfileError(f"unable to prepare context: path {context!r} not found")
        df_path = os.path.abspath(dockerfile) if dockerfile else os.path.join(context_dir, "Dockerfile")
        try:
            with open(df_path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise DockerfileError(
                f"Cannot locate specified Dockerfile: {dockerfile or 'Dockerfile'}: {e.strerror}"
            ) from None
        rel_df = os.path.relpath(df_path, context_dir).replace(os.sep, "/")
        if rel_df.startswith("../"):
            rel_df = os.path.basename(df_path)
        parsed = parse(data, path=dockerfile or "Dockerfile")
        build_context = BuildContext.from_directory(context_dir, dockerfile=rel_df)
        epoch_set = os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit()
        epoch = source_date_epoch() if epoch_set else None
        for warning in parsed.warnings:  # the daemon streams them first (the CLI in red)
            for line in warning.splitlines():
                emit(line)
        with StoreRoot.open(self.root, write=True) as r:
            scratch = staging_dir(r.path, prefix=".tmp-build-")
            try:
                ctx_dir = os.path.join(scratch, "context")
                os.mkdir(ctx_dir, 0o755)
                try:
                    extract_context(context_dir, ctx_dir, dockerfile=rel_df)
                except PermissionError as e:
                    if isinstance(e, OcitoolError) or os.geteuid() == 0:
                        raise
                    raise BuildContextError(
                        context,
                        "not-root",
                        "ocitool build gives files their owners as the daemon does, which takes "
                        f"root: run it as root ({e.strerror}: {e.filename})",
                        path=context_dir,
                    ) from None
                ex = _Executor(
                    r,
                    scratch,
                    ctx_dir,
                    no_cache,
                    emit,
                    platform,
                    Timestamp.from_unix(epoch) if epoch is not None else None,
                    epoch,
                    dockerfile or "Dockerfile",
                )
                evaluation = evaluate(
                    parsed,
                    context=build_context,
                    build_args=build_args,
                    labels=labels,
                    target=target,
                    platform=platform,
                    base=ex.base,
                    from_source=ex.from_source,
                    observer=ex,
                )
                for warning in evaluation.warnings:
                    if "were not consumed" in warning:
                        emit(warning)
                image_id = Digest.parse(ex.stage_ids[-1]) if ex.stage_ids[-1] else None
                if image_id is None:
                    raise DockerfileError("No image was generated. Is your Dockerfile empty?")
                emit(f"Successfully built {_short(str(image_id))}")
                converted: ConvertResult | None = None
                if output:
                    with StoreSource(r, selection=[(image_id, list(refs))]) as source:
                        converted = convert(source, output)
                    return BuildResult(image_id, tuple(str(x) for x in refs), tuple(ex.cached), converted)
                for ref in refs:
                    r.references.add_tag(ref, image_id, force=True)
                    r.images.set_last_updated(image_id)
                    emit(f"Successfully tagged {ref.familiar()}")
                return BuildResult(image_id, tuple(str(x) for x in refs), tuple(ex.cached))
            finally:
                remove_tree(scratch)


def build(
    context: str,
    *,
    root: str | None = None,
    dockerfile: str | None = None,
    tags: Sequence[str] = (),
    build_args: Mapping[str, str | None] | None = None,
    labels: Mapping[str, str] | None = None,
    target: str | None = None,
    no_cache: bool = False,
    output: str | None = None,
    platform: Platform | None = None,
    log: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build the Dockerfile of the directory ``context`` as Docker 20.10's classic builder
    does (no ``RUN``) into the store at ``root`` (default: :func:`~ocitool.store.root.default_root`):
    see :meth:`BuildService.build`.

    Example::

        ocitool.build("./app", tags=["app:1"], build_args={"VERSION": "1.2"})
    """
    service = BuildService()
    service.root = root or default_root()
    return service.build(
        context,
        dockerfile=dockerfile,
        tags=tags,
        build_args=build_args,
        labels=labels,
        target=target,
        no_cache=no_cache,
        output=output,
        platform=platform,
        log=log,
    )
