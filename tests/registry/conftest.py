"""Fixtures for the registry tests.

  registry          session: docker-registry (distribution 2.8) over plain http on 127.0.0.1
  tls_registry      session: the same over TLS (a CA made here; ``ca_dir`` is a certs.d
                    directory trusting it) with htpasswd basic auth (``BASIC_USER``/``BASIC_PASS``)
  mtls_registry     session: TLS demanding a client certificate (certs.d: ca.crt, client.cert/.key)
  token_registry    session: ``auth: token`` with :class:`servers.TokenServer` as realm
                    (``TOKEN_USER``/``TOKEN_PASS``, identity token ``TOKEN_REFRESH``)
  fault_proxy       function: a :class:`servers.FaultProxy` in front of ``registry``
  referrers_double  function: a registry double speaking the referrers API
  isolated_env      function: an environment with HOME and XDG dirs in tmp (no real
                    credentials are ever read) and ``REGISTRY_AUTH_FILE`` unset

Without docker-registry the tests that need it skip, or fail under OCITOOL_REQUIRE_PEERS=1.
Each test uses repositories named after itself, so the session registries can be shared.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import missing_peer, require_tool
from tests.registry import servers

BASIC_USER = "reguser"
BASIC_PASS = "pa:ss-w0rd!"  # a colon inside, as --creds must keep
TOKEN_USER = "alice"
TOKEN_PASS = "t0ken-s3cret"
TOKEN_REFRESH = "refresh-alice-0123456789"
READER_USER = "bob"  # the token server grants bob pull only
READER_PASS = "b0b-reads"


@pytest.fixture(scope="session")
def registry_exe() -> str:
    return require_tool("docker-registry")


@pytest.fixture(scope="session")
def registry(registry_exe: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Registry]:
    reg = servers.start_registry(registry_exe, tmp_path_factory.mktemp("registry-plain"))
    try:
        yield reg
    finally:
        reg.stop()


def _tls_material(work: Path) -> tuple[servers.Cert, servers.Cert, Path]:
    """A CA, a server certificate for 127.0.0.1 it signed, and a certs.d directory trusting it."""
    ca = servers.make_ca(work / "ca")
    server_cert = servers.issue(ca, work / "server", "server", "127.0.0.1")
    certs_d = work / "certs.d"
    certs_d.mkdir()
    (certs_d / "ca.crt").write_bytes(ca.cert_path.read_bytes())
    return ca, server_cert, certs_d


@pytest.fixture(scope="session")
def tls_registry(registry_exe: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Registry]:
    work = tmp_path_factory.mktemp("registry-tls")
    _, server_cert, certs_d = _tls_material(work)
    if shutil.which("htpasswd") is None and importlib.util.find_spec("bcrypt") is None:
        missing_peer("bcrypt hashes for htpasswd auth need htpasswd (apache2-utils) or the bcrypt package")
    htpasswd = work / "htpasswd"
    htpasswd.write_text(servers.htpasswd_line(BASIC_USER, BASIC_PASS) + "\n")
    reg = servers.start_registry(
        registry_exe,
        work,
        tls=server_cert,
        ca_dir=certs_d,
        auth={"htpasswd": {"realm": "ocitool-test", "path": str(htpasswd)}},
    )
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def mtls_registry(registry_exe: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Registry]:
    """TLS that demands a client certificate; ``ca_dir`` holds ca.crt + client.cert/.key."""
    work = tmp_path_factory.mktemp("registry-mtls")
    ca, server_cert, certs_d = _tls_material(work)
    client_cert = servers.issue(ca, work / "client", "client", "ocitool client", server=False, client=True)
    (certs_d / "client.cert").write_bytes(client_cert.cert_path.read_bytes())
    (certs_d / "client.key").write_bytes(client_cert.key_path.read_bytes())
    reg = servers.start_registry(registry_exe, work, tls=server_cert, client_ca=ca, ca_dir=certs_d)
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.TokenServer]:
    ts = servers.TokenServer(
        tmp_path_factory.mktemp("token-server"),
        {TOKEN_USER: TOKEN_PASS, READER_USER: READER_PASS},
        {TOKEN_REFRESH: TOKEN_USER},
    )
    ts.read_only.add(READER_USER)
    try:
        yield ts
    finally:
        ts.stop()


@pytest.fixture(scope="session")
def token_registry(
    registry_exe: str, token_server: servers.TokenServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[servers.Registry]:
    reg = servers.start_registry(
        registry_exe, tmp_path_factory.mktemp("registry-token"), auth=token_server.auth_config()
    )
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def fault_proxy(registry: servers.Registry) -> Iterator[servers.FaultProxy]:
    proxy = servers.FaultProxy(registry.host)
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def referrers_double() -> Iterator[servers.ReferrersDouble]:
    double = servers.ReferrersDouble()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG")}
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(tmp_path / "run"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    return env
