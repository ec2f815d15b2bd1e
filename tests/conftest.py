"""Shared pytest fixtures. Peer helpers (skopeo, umoci, docker oracle) live in tests/peers.py;
import them with ``from peers import ...`` (or ``from tests.peers import ...``: same module object).

Fixtures:
  fixtures_dir    Path to the repository's fixtures/ (peers.FIXTURES)
  real_dir        Path to <repo>/../shared/fixtures/real, skipped when absent (peers.REAL)
  docker_daemon   session: peers.DockerDaemon for the private daemon (skip, or fail under
                  OCITOOL_REQUIRE_PEERS=1); removes every image its loads added at session end
  docker          function: the same daemon; removes what the test loaded when the test ends

Example::

    from peers import expected, fixture

    @pytest.mark.peers
    def test_inspect_matches_docker(docker):
        with docker.loaded(fixture("docker/single.tar")) as res:
            oracle = docker.inspect(res.image_ids[0])
        ...
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `from peers import ...` works whether or not tests/ is a package; `tests.peers` is the same module.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers

if __package__:
    sys.modules.setdefault(f"{__package__}.peers", peers)


@pytest.fixture(autouse=True)
def _private_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No state shared between tests: each gets its own size cache and default image store.

    ``OCITOOL_CACHE_DIR`` (the unpacked-size cache) and ``OCITOOL_ROOT`` (the store that store
    commands use without ``--root``) point into a fresh temporary directory, outside the test's
    own ``tmp_path`` so that tests listing ``tmp_path`` see only what they made. Subprocesses
    inherit both through the environment.
    """
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("OCITOOL_CACHE_DIR", str(state / "cache"))
    monkeypatch.setenv("OCITOOL_ROOT", str(state / "root"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return peers.FIXTURES


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not peers.REAL.is_dir():
        pytest.skip(f"shared real fixtures not present at {peers.REAL}")
    return peers.REAL


@pytest.fixture(scope="session")
def docker_daemon() -> Iterator[peers.DockerDaemon]:
    daemon = peers.docker_daemon()
    try:
        yield daemon
    finally:
        daemon.cleanup()


@pytest.fixture
def docker(docker_daemon: peers.DockerDaemon) -> Iterator[peers.DockerDaemon]:
    try:
        yield docker_daemon
    finally:
        docker_daemon.cleanup()
