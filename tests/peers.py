"""Peer tools (skopeo, umoci, buildah, a private docker daemon) and fixture paths for oracle tests.

Import from tests as ``from peers import ...`` (tests/conftest.py puts this directory on sys.path).

Rules
-----
* A missing peer tool, daemon or ``../shared`` input SKIPS the test, unless
  ``OCITOOL_REQUIRE_PEERS=1`` (set by ``.ci/run``): then it FAILS, so CI can never go green by
  skipping an oracle comparison. Parametrised cases are never dropped at collection time: a
  missing input is a skipped (or failed) case that carries its name.
* A test that compares with a peer tool declares it: ``@pytest.mark.oracle("skopeo", ...)``
  (live) or ``@pytest.mark.oracle("dive", recorded=True)`` (facts the tool printed, recorded in
  ``fixtures/expected/``). A test that runs a peer tool it did not declare fails (see
  :func:`note_tool`); ``tests/tools/oracle_counts.py`` counts the declared comparisons.
* A test that reads ``../shared/fixtures/real`` is marked ``@pytest.mark.real``
  (:func:`real_fixture` fails an unmarked one).
* Tests that take the docker CLI's output as the v28 oracle use the ``docker_cli`` fixture, which
  fails unless the client is 28.x.
* The docker daemon is the private one from ``.ci/dockerd.sh`` (``$DOCKER_HOST`` exported by
  ``.ci/run``, or the state file ``$OCITOOL_DOCKERD_STATE``, default ``/tmp/ocitool-dockerd.state``).
  Nothing here ever falls back to ``/var/run/docker.sock``.
* ``DockerDaemon.load`` remembers what a load added (new image IDs, new tags) and ``cleanup`` removes
  exactly that with ``docker rmi -f``; images that existed before are left alone.

Fixture facts recorded by the real tools at creation time are in ``fixtures/expected/<fixture>.json``
(see ``fixtures/README.md``); read them with :func:`expected`.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
EXPECTED = FIXTURES / "expected"
# Third-party real-world archives, shared read-only next to the repository: <repo>/../shared/fixtures/real
REAL = REPO.parent / "shared" / "fixtures" / "real"

DOCKERD_STATE_DEFAULT = "/tmp/ocitool-dockerd.state"
DOCKER_API = "/v1.41"  # the 20.10 daemon used as the oracle speaks 1.41
_TIMEOUT = 120


# Peer tools whose use a test must declare with @pytest.mark.oracle (chromium, gzip... are helpers).
ORACLE_TOOLS = frozenset({"skopeo", "umoci", "buildah", "dive", "docker", "docker-cli"})

# The running test (set by tests/conftest.py) and the peer tools it has used so far.
current_item: pytest.Item | None = None
used_tools: set[str] = set()


def note_tool(name: str) -> None:
    """Record that the running test uses peer tool ``name`` (checked against its oracle marker)."""
    used_tools.add(name)


def declared_oracles(item: pytest.Item) -> set[tuple[str, str]]:
    """("live" or "recorded", tool) for each peer tool ``item``'s oracle markers name."""
    out: set[tuple[str, str]] = set()
    for mark in item.iter_markers("oracle"):
        how = "recorded" if mark.kwargs.get("recorded", False) else "live"
        out.update((how, tool) for tool in mark.args)
    return out


def undeclared_tools(item: pytest.Item, used: set[str]) -> set[str]:
    """Oracle tools ``item`` used without declaring them in an ``oracle`` marker."""
    declared = {tool for _, tool in declared_oracles(item)}
    if "docker-cli" in declared:
        declared.add("docker")  # the CLI talks to the daemon
    return (used & ORACLE_TOOLS) - declared


def peers_required() -> bool:
    """True when OCITOOL_REQUIRE_PEERS=1: missing peers fail instead of skip."""
    return os.environ.get("OCITOOL_REQUIRE_PEERS", "") == "1"


def missing_peer(reason: str) -> NoReturn:
    """Skip, or fail under OCITOOL_REQUIRE_PEERS=1."""
    if peers_required():
        pytest.fail(f"{reason} (OCITOOL_REQUIRE_PEERS=1)", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Absolute path of a peer tool on PATH, or skip (fail under OCITOOL_REQUIRE_PEERS=1)."""
    path = shutil.which(name)
    if path is None:
        missing_peer(f"peer tool {name!r} not found on PATH")
    note_tool(name)
    return path


def fixture(relpath: str) -> Path:
    """A fixture of this repository (fixtures/<relpath>); a missing one is always a failure."""
    p = FIXTURES / relpath
    if not p.exists():
        pytest.fail(f"fixture {relpath} is missing; run fixtures/make_fixtures.sh", pytrace=False)
    return p


def expected(relpath: str) -> dict[str, Any]:
    """Facts recorded by fixtures/make_fixtures.sh from the real tools: fixtures/expected/<relpath>.json."""
    p = EXPECTED / f"{relpath}.json"
    if not p.is_file():
        pytest.fail(f"{p.relative_to(REPO)} is missing; run fixtures/make_fixtures.sh", pytrace=False)
    data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return data


def real_fixture(name: str) -> Path:
    """A file or folder of <repo>/../shared/fixtures/real.

    Skips when that folder or entry is absent (fails under OCITOOL_REQUIRE_PEERS=1), and fails a
    test that is not marked ``real``: that marker is how ``-m "not real"`` and the README know
    which tests need ``../shared``.
    """
    p = real_root() / name
    if not p.exists():
        missing_peer(f"shared real fixture {name} not present in {REAL}")
    return p


def real_root() -> Path:
    """<repo>/../shared/fixtures/real itself, with the checks of :func:`real_fixture`."""
    item = current_item
    if item is not None and item.get_closest_marker("real") is None:
        pytest.fail(f"{item.nodeid} reads ../shared/fixtures/real: mark it @pytest.mark.real", pytrace=False)
    if not REAL.is_dir():
        missing_peer(f"shared real fixtures not present at {REAL}")
    return REAL


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: bytes | None = None,
    timeout: float = _TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """Run a command, capture output; on failure raise AssertionError with stderr."""
    p = subprocess.run(
        list(argv),
        capture_output=True,
        env=dict(env) if env is not None else None,
        input=input,
        timeout=timeout,
        check=False,
    )
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}\n{p.stderr.decode(errors='replace')}")
    return p


# ---------------------------------------------------------------------------------------- skopeo


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    exe = require_tool("skopeo")
    return run([exe, "--insecure-policy", *args], check=check)


def skopeo_raw(ref: str, *, config: bool = False, overrides: Sequence[str] = ()) -> bytes:
    """Exact bytes of ``skopeo inspect --raw [--config] REF`` (manifest/index or config blob).

    REF is a transport reference, e.g. ``docker-archive:/path/x.tar:@1``, ``oci:/dir:ref``,
    ``oci-archive:/x.tar:ref``, ``dir:/dir``. overrides are global flags such as
    ``("--override-arch", "arm64")``.
    """
    exe = require_tool("skopeo")
    argv = [exe, "--insecure-policy", *overrides, "inspect", "--raw", *(["--config"] if config else []), ref]
    return run(argv).stdout


def skopeo_inspect(ref: str, *, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Parsed ``skopeo inspect REF`` (Digest, RepoTags, Created, Architecture, Os, Layers, ...)."""
    exe = require_tool("skopeo")
    data: dict[str, Any] = json.loads(run([exe, "--insecure-policy", *overrides, "inspect", ref]).stdout)
    return data


def umoci(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return run([require_tool("umoci"), *args], check=check)


# ---------------------------------------------------------------------------------------- docker


def _read_state(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if sep:
            out[k.strip()] = v.strip()
    return out


def _answers(docker: str, env: Mapping[str, str]) -> tuple[bool, str]:
    try:
        p = run([docker, "version", "--format", "{{.Server.Version}}"], env=env, check=False, timeout=20)
    except subprocess.TimeoutExpired:
        return False, "timeout"
    return p.returncode == 0, (p.stdout or p.stderr).decode(errors="replace").strip()


def docker_env() -> dict[str, str]:
    """Environment (os.environ + DOCKER_HOST) for the private daemon, or skip/fail.

    Order: ``$DOCKER_HOST`` as exported by ``.ci/run`` (``eval "$(.ci/dockerd.sh start)"``), then the
    state file written by ``.ci/dockerd.sh start`` (``$OCITOOL_DOCKERD_STATE`` or
    /tmp/ocitool-dockerd.state). Never the system socket.
    """
    docker = require_tool("docker")
    env = dict(os.environ)
    env.pop("DOCKER_CONTEXT", None)
    tried: list[str] = []
    candidates: list[str] = []
    if os.environ.get("DOCKER_HOST"):
        candidates.append(os.environ["DOCKER_HOST"])
    state = _read_state(os.environ.get("OCITOOL_DOCKERD_STATE", DOCKERD_STATE_DEFAULT))
    if state.get("DOCKER_HOST"):
        candidates.append(state["DOCKER_HOST"])
    for host in candidates:
        env["DOCKER_HOST"] = host
        ok, msg = _answers(docker, env)
        if ok:
            return env
        tried.append(f"{host}: {msg[:200]}")
    if not candidates:
        missing_peer(
            "no private docker daemon: DOCKER_HOST unset and no .ci/dockerd.sh state "
            '(start one with: eval "$(.ci/dockerd.sh start)")'
        )
    missing_peer("private docker daemon does not answer: " + "; ".join(tried))


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, sock_path: str) -> None:
        super().__init__("localhost", timeout=_TIMEOUT)
        self._sock_path = sock_path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(_TIMEOUT)
        s.connect(self._sock_path)
        self.sock = s


@dataclass
class LoadResult:
    """What ``docker load`` printed and what it added to the daemon."""

    output: list[str]  # stdout lines ("Loaded image: repo:tag", "Loaded image ID: sha256:...")
    exit_code: int = 0
    stderr: str = ""
    # IDs of the images the output names (pre-1.10 archives may print nothing: see new_ids)
    image_ids: list[str] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)  # IDs that did not exist before the load
    new_tags: list[str] = field(default_factory=list)  # repo:tag that did not exist before


@dataclass
class DockerDaemon:
    """The private docker daemon used as an oracle (docker 20.10, Engine API 1.41)."""

    env: dict[str, str]
    docker: str
    _added_ids: set[str] = field(default_factory=set)
    _added_tags: set[str] = field(default_factory=set)

    @property
    def host(self) -> str:
        return self.env["DOCKER_HOST"]

    def run(
        self, *args: str, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        note_tool("docker")
        return run([self.docker, *args], env=self.env, check=check, input=input)

    def versions(self) -> tuple[str, str]:
        """(client version, daemon version), e.g. ("28.2.2", "20.10.24+dfsg1")."""
        out = self.run("version", "--format", "{{.Client.Version}} {{.Server.Version}}").stdout.decode()
        client, server = out.split()
        return client, server

    def require_cli_v28(self) -> None:
        """Fail unless the docker client is 28.x: tests that take the CLI's output as the
        v28 oracle must not silently compare with another version's formatting."""
        client, _ = self.versions()
        if not client.startswith("28."):
            pytest.fail(f"the docker CLI is {client}, not 28.x: it is not the v28 oracle", pytrace=False)
        note_tool("docker-cli")

    def _ids(self) -> set[str]:
        return set(self.run("images", "-aq", "--no-trunc").stdout.decode().split())

    def _tags(self) -> set[str]:
        out = self.run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.decode().split()
        return {t for t in out if "<none>" not in t}

    def load(self, archive: str | os.PathLike[str], *, check: bool = True) -> LoadResult:
        """``docker load -i ARCHIVE``; remembers new IDs/tags for :meth:`cleanup`.

        With check=False a failing load returns its LoadResult (exit_code, stderr) instead of
        raising AssertionError: docker 20.10 refusing an archive is an oracle fact too.
        """
        ids_before, tags_before = self._ids(), self._tags()
        p = self.run("load", "-i", os.fspath(archive), check=False)
        ids_after, tags_after = self._ids(), self._tags()
        new_ids = sorted(ids_after - ids_before)
        new_tags = sorted(tags_after - tags_before)
        self._added_ids.update(new_ids)
        self._added_tags.update(new_tags)
        stderr = p.stderr.decode(errors="replace")
        if p.returncode != 0 and check:
            raise AssertionError(f"docker load -i {archive} failed: {stderr}")
        lines = p.stdout.decode(errors="replace").splitlines()
        named: list[str] = []
        for line in lines:
            for prefix in ("Loaded image ID: ", "Loaded image: "):
                if line.startswith(prefix):
                    ref = line[len(prefix) :].strip()
                    q = self.run("image", "inspect", "-f", "{{.Id}}", ref, check=False)
                    iid = q.stdout.decode().strip()
                    if q.returncode == 0 and iid not in named:
                        named.append(iid)
        return LoadResult(
            output=lines,
            exit_code=p.returncode,
            stderr=stderr,
            image_ids=named,
            new_ids=new_ids,
            new_tags=new_tags,
        )

    def inspect(self, ref: str) -> dict[str, Any]:
        """``docker image inspect REF`` (the single object, not the list)."""
        data = json.loads(self.run("image", "inspect", ref).stdout)
        assert isinstance(data, list) and len(data) == 1
        obj: dict[str, Any] = data[0]
        return obj

    def history(self, ref: str) -> list[dict[str, Any]]:
        """``docker history --no-trunc --format '{{json .}}' REF``, one dict per line (CLI strings)."""
        out = self.run("history", "--no-trunc", "--format", "{{json .}}", ref).stdout.decode()
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def images(self) -> list[dict[str, Any]]:
        """``docker images --no-trunc --format '{{json .}}'``."""
        out = self.run("images", "--no-trunc", "--format", "{{json .}}").stdout.decode()
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def api(self, path: str) -> Any:
        """GET the raw Engine API, e.g. ``api("/images/json")``, ``api(f"/images/{id}/history")``."""
        if not self.host.startswith("unix://"):
            raise AssertionError(f"api() needs a unix socket DOCKER_HOST, not {self.host}")
        note_tool("docker")
        conn = _UnixHTTPConnection(self.host[len("unix://") :])
        try:
            conn.request("GET", DOCKER_API + path)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise AssertionError(f"GET {path}: HTTP {resp.status}: {body[:300]!r}")
        return json.loads(body)

    def rmi(self, *refs: str) -> None:
        if refs:
            self.run("rmi", "-f", *refs, check=False)

    def cleanup(self) -> None:
        """Remove what :meth:`load` added: new tags (untag) and new image IDs (rmi -f)."""
        tags, ids = sorted(self._added_tags), sorted(self._added_ids)
        self._added_tags.clear()
        self._added_ids.clear()
        present = self._tags()
        self.rmi(*(t for t in tags if t in present))
        present_ids = self._ids()
        self.rmi(*(i for i in ids if i in present_ids))

    @contextmanager
    def loaded(self, archive: str | os.PathLike[str], *, check: bool = True) -> Iterator[LoadResult]:
        """``with daemon.loaded(path) as res:`` loads, yields, then removes what the load added."""
        try:
            yield self.load(archive, check=check)
        finally:
            self.cleanup()


def docker_daemon() -> DockerDaemon:
    """A DockerDaemon for the private daemon, or skip/fail (see :func:`docker_env`)."""
    env = docker_env()
    return DockerDaemon(env=env, docker=require_tool("docker"))
