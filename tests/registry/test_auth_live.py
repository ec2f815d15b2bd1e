"""Authentication and TLS against real registries: htpasswd Basic over TLS with a CA given as a
certs.d directory, and distribution's ``auth: token`` with a JWT token server of our own."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import pytest

from ocitool.errors import RegistryAuthError, RegistryError
from ocitool.formats.registry.client import PushOutcome, RegistryClient
from ocitool.model import mediatypes as mt
from tests.registry import content, servers
from tests.registry.conftest import (
    BASIC_PASS,
    BASIC_USER,
    READER_PASS,
    READER_USER,
    TOKEN_PASS,
    TOKEN_REFRESH,
    TOKEN_USER,
)

pytestmark = pytest.mark.peers


def _blob() -> content.Blob:
    return content.Blob(os.urandom(4096))


# ------------------------------------------------------------------------------ TLS + Basic


def test_basic_auth_over_tls_with_the_ca_from_cert_dir(tls_registry: servers.Registry) -> None:
    assert tls_registry.ca_dir is not None
    creds = f"{BASIC_USER}:{BASIC_PASS}"
    with RegistryClient(tls_registry.host, creds=creds, cert_dir=str(tls_registry.ca_dir)) as client:
        blob = _blob()
        assert client.push_blob("tls/app", blob.digest, len(blob.data), blob.data) is PushOutcome.UPLOADED
        assert client.read_blob("tls/app", blob.digest, len(blob.data)) == blob.data
        assert client.transport.base_url == f"https://{tls_registry.host}"


def test_untrusted_certificate_is_reported_not_downgraded(tls_registry: servers.Registry) -> None:
    client = RegistryClient(tls_registry.host, creds=f"{BASIC_USER}:{BASIC_PASS}")
    with client, pytest.raises(RegistryError, match=r"not trusted.*cert_dir") as info:
        client.ping()
    assert info.value.status is None


def test_tls_verify_false_waives_verification(tls_registry: servers.Registry) -> None:
    with RegistryClient(tls_registry.host, creds=f"{BASIC_USER}:{BASIC_PASS}", tls_verify=False) as client:
        blob = _blob()
        client.push_blob("tls/noverify", blob.digest, len(blob.data), blob.data)
        assert client.blob_size("tls/noverify", blob.digest) == len(blob.data)
        assert client.transport.base_url == f"https://{tls_registry.host}"


def test_client_certificate_pair_from_cert_dir(mtls_registry: servers.Registry, tmp_path: Path) -> None:
    assert mtls_registry.ca_dir is not None
    with RegistryClient(mtls_registry.host, cert_dir=str(mtls_registry.ca_dir)) as client:
        blob = _blob()
        assert client.push_blob("mtls/app", blob.digest, len(blob.data), blob.data) is PushOutcome.UPLOADED
    # the CA alone is not enough: the registry refuses the handshake, and the error says TLS
    ca_only = tmp_path / "ca-only"
    ca_only.mkdir()
    (ca_only / "ca.crt").write_bytes((mtls_registry.ca_dir / "ca.crt").read_bytes())
    client = RegistryClient(mtls_registry.host, cert_dir=str(ca_only))
    with client, pytest.raises(RegistryError, match=r"refused the TLS handshake.*client certificate") as info:
        client.ping()
    assert info.value.status is None


def test_wrong_or_missing_credentials_are_typed_and_never_echo_the_password(
    tls_registry: servers.Registry, isolated_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Wr0ng-Secret-9876"
    ca = str(tls_registry.ca_dir)
    client = RegistryClient(tls_registry.host, creds=f"{BASIC_USER}:{secret}", cert_dir=ca)
    with client, pytest.raises(RegistryAuthError) as info:
        client.get_manifest("tls/app", "latest")
    assert info.value.status == 401 and "rejected" in str(info.value)
    assert secret not in str(info.value) and secret not in caplog.text
    assert base64.b64encode(f"{BASIC_USER}:{secret}".encode()).decode() not in caplog.text
    anonymous = RegistryClient(tls_registry.host, cert_dir=ca, env=isolated_env)
    with anonymous, pytest.raises(RegistryAuthError, match="no credentials found"):
        anonymous.get_manifest("tls/app", "latest")


def test_credentials_come_from_the_authfile(tls_registry: servers.Registry, tmp_path: Path) -> None:
    authfile = tmp_path / "auth.json"
    token = base64.b64encode(f"{BASIC_USER}:{BASIC_PASS}".encode()).decode()
    authfile.write_text(json.dumps({"auths": {tls_registry.host: {"auth": token}}}))
    with RegistryClient(
        tls_registry.host, authfile=str(authfile), cert_dir=str(tls_registry.ca_dir)
    ) as client:
        blob = _blob()
        client.push_blob("tls/authfile", blob.digest, len(blob.data), blob.data)
        assert client.transport.authorizer.credentials is not None
        assert client.transport.authorizer.credentials.source == str(authfile)


def test_credentials_come_from_docker_config_in_the_environment(
    tls_registry: servers.Registry, isolated_env: dict[str, str]
) -> None:
    config = Path(isolated_env["HOME"]) / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        json.dumps({"auths": {tls_registry.host: {"username": BASIC_USER, "password": BASIC_PASS}}})
    )
    with RegistryClient(tls_registry.host, cert_dir=str(tls_registry.ca_dir), env=isolated_env) as client:
        client.ping()
        blob = _blob()
        assert (
            client.push_blob("tls/dockercfg", blob.digest, len(blob.data), blob.data) is PushOutcome.UPLOADED
        )


# ------------------------------------------------------------------------------ Bearer tokens


def test_bearer_tokens_are_fetched_once_per_scope(
    token_registry: servers.Registry, token_server: servers.TokenServer
) -> None:
    before = len(token_server.requests)
    config = content.Blob(b"{}", mt.OCI_CONFIG)
    layer = _blob()
    with RegistryClient(token_registry.host, creds=f"{TOKEN_USER}:{TOKEN_PASS}") as client:
        raw = content.push_image(client, "tok/one", "v1", config, [layer])
        content.push_image(client, "tok/two", "v1", config, [layer])
        for repo in ("tok/one", "tok/two", "tok/one"):
            assert client.get_manifest(repo, "v1").raw == raw
            assert client.read_blob(repo, layer.digest, len(layer.data)) == layer.data
        # a mount needs pull on the source too: one more scope, one more token
        assert client.push_blob(
            "tok/three", layer.digest, len(layer.data), layer.data, mount_from="tok/one"
        ) is (PushOutcome.MOUNTED)
    issued = token_server.requests[before:]
    scopes = [frozenset(s) for _, s, _ in issued]
    assert all(account == TOKEN_USER for _, _, account in issued)
    # one token per distinct scope, never one token for everything (oras-py's TokenAuth)
    assert len(scopes) == len(set(scopes))
    assert frozenset({"repository:tok/one:pull,push"}) in scopes
    assert frozenset({"repository:tok/two:pull,push"}) in scopes
    assert frozenset({"repository:tok/three:pull,push", "repository:tok/one:pull"}) in scopes
    # a push token serves the pulls of its repository: nothing else was fetched
    assert len(scopes) == 3


def test_identity_token_uses_the_refresh_grant(
    token_registry: servers.Registry, token_server: servers.TokenServer, tmp_path: Path
) -> None:
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"auths": {token_registry.host: {"identitytoken": TOKEN_REFRESH}}}))
    before = len(token_server.requests)
    with RegistryClient(token_registry.host, authfile=str(authfile)) as client:
        blob = _blob()
        client.push_blob("tok/identity", blob.digest, len(blob.data), blob.data)
    assert {m for m, _, _ in token_server.requests[before:]} == {"POST"}


def test_anonymous_pull_works_where_allowed_and_push_is_refused_clearly(
    token_registry: servers.Registry, isolated_env: dict[str, str]
) -> None:
    config = content.Blob(b"{}", mt.OCI_CONFIG)
    with RegistryClient(token_registry.host, creds=f"{TOKEN_USER}:{TOKEN_PASS}") as owner:
        raw = content.push_image(owner, "public/app", "v1", config, [])
    with RegistryClient(token_registry.host, env=isolated_env) as anon:
        assert anon.get_manifest("public/app", "v1").raw == raw
        blob = _blob()
        with pytest.raises(RegistryAuthError) as info:
            anon.push_blob("public/app", blob.digest, len(blob.data), blob.data)
    assert info.value.status == 401 and "public/app" in str(info.value)


def test_a_scope_the_token_server_will_not_grant_is_denied_without_refetching(
    token_registry: servers.Registry, token_server: servers.TokenServer
) -> None:
    config = content.Blob(b"{}", mt.OCI_CONFIG)
    with RegistryClient(token_registry.host, creds=f"{TOKEN_USER}:{TOKEN_PASS}") as owner:
        raw = content.push_image(owner, "tok/readonly", "v1", config, [])
    before = len(token_server.requests)
    with RegistryClient(token_registry.host, creds=f"{READER_USER}:{READER_PASS}") as reader:
        assert reader.get_manifest("tok/readonly", "v1").raw == raw
        with pytest.raises(RegistryAuthError, match=r"denied to credentials from --creds") as info:
            reader.put_manifest("tok/readonly", "v2", raw, mt.OCI_MANIFEST)
    assert info.value.status == 401 and READER_PASS not in str(info.value)
    scopes = [s for _, s, _ in token_server.requests[before:]]
    assert scopes == [("repository:tok/readonly:pull",), ("repository:tok/readonly:pull,push",)]


def test_wrong_password_at_the_token_server(token_registry: servers.Registry) -> None:
    client = RegistryClient(token_registry.host, creds=f"{TOKEN_USER}:nope-123")
    with client, pytest.raises(RegistryAuthError, match=r"token server .* refused") as info:
        client.get_manifest("tok/one", "v1")
    assert "nope-123" not in str(info.value)
