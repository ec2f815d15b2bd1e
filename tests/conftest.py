"""Shared pytest fixtures. Peer helpers (skopeo, umoci, docker oracle) live in tests/peers.py;
import them with ``from peers import ...`` (or ``from tests.peers import ...``: same module object).

Fixtures:
  fixtures_dir    Path to the repository's fixtures/ (peers.FIXTURES)
  docker_daemon   session: peers.DockerDaemon for the private daemon (skip, or fail under
                  OCITOOL_REQUIRE_PEERS=1); removes every image its loads added at session end
  docker          function: the same daemon; removes what the test loaded when the test ends
  docker_cli      function: ``docker``, after checking that the docker client is 28.x (for
                  tests whose oracle is what the v28 CLI prints)
  (autouse)       a private size cache and default store per test; the running test's peer
                  tools are checked against its ``oracle`` marker

Markers (pyproject.toml): ``peers`` (a live peer tool or daemon), ``oracle(*tools,
recorded=False)`` (what the test compares with), ``real`` (needs ../shared), ``slow`` (left
out of the quick loop ``python -m pytest -q -m "not slow"``).

Example::

    from peers import expected, fixture

    @pytest.mark.peers
    def test_inspect_matches_docker(docker):
        with docker.loaded(fixture("docker/single.tar")) as res:
            oracle = docker.inspect(res.image_ids[0])
        ...
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `from peers import ...` works whether or not tests/ is a package; `tests.peers` is the same module.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
from hypothesis import settings

# No per-example deadline: run times depend on the machine's load (CI shares its cores), and a
# deadline turns a slow moment into a failure that says nothing about the code.
settings.register_profile("ocitool", deadline=None)
settings.load_profile("ocitool")

if __package__:
    sys.modules.setdefault(f"{__package__}.peers", peers)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Track the running test for peers.real_fixture and the oracle-marker check."""
    peers.current_item = item
    peers.used_tools.clear()
    fixtures = set(getattr(item, "fixturenames", ()))
    by_fixture = {"docker": "docker", "docker_cli": "docker-cli"}
    peers.used_tools.update(tool for name, tool in by_fixture.items() if name in fixtures)
    try:
        result = yield
    finally:
        peers.current_item = None
    undeclared = peers.undeclared_tools(item, peers.used_tools)
    if undeclared:
        pytest.fail(
            f"{item.nodeid} runs {sorted(undeclared)} without declaring it: "
            f"add @pytest.mark.oracle({', '.join(repr(t) for t in sorted(undeclared))})",
            pytrace=False,
        )
    return result


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--oracle-counts",
        metavar="PATH",
        help="write, per peer tool, how many collected tests compare with it (live, recorded) to PATH",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """--oracle-counts: tests/oracle_counts.py turns this into the README's table."""
    path = session.config.getoption("--oracle-counts")
    if not path:
        return
    counts: dict[str, dict[str, int]] = {}
    for item in session.items:
        for how, tool in peers.declared_oracles(item):
            counts.setdefault(tool, {"live": 0, "recorded": 0})[how] += 1
    Path(path).write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A live oracle test is a peers test; a recorded one needs no peer at run time."""
    for item in items:
        if any(not m.kwargs.get("recorded", False) for m in item.iter_markers("oracle")):
            item.add_marker(pytest.mark.peers)


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


@pytest.fixture
def docker_cli(docker: peers.DockerDaemon) -> peers.DockerDaemon:
    docker.require_cli_v28()
    return docker
