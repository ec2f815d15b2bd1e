"""The registry client's pure parts: references, credential lookup, challenges, scopes,
referrers lists, retry budgets, lazy imports. No network."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ocitool.errors import (
    InvalidCredentialsError,
    InvalidDocumentError,
    InvalidReferenceError,
    OcitoolError,
    RegistryAuthError,
    RegistryError,
    RegistryNotFoundError,
    RegistryProtocolError,
)
from ocitool.formats.registry import referrers as refs
from ocitool.formats.registry.auth import (
    Authorizer,
    Credentials,
    TokenResponse,
    auth_file_paths,
    find_credentials,
    parse_challenges,
    parse_creds,
    repository_scope,
)
from ocitool.formats.registry.reference import api_host, is_loopback, parse_registry_reference
from ocitool.formats.registry.transport import Budget, RetryPolicy, tls_settings
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest

HEX = "a" * 64


# ------------------------------------------------------------------------------ references


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("docker://alpine", "docker.io", "library/alpine", "latest", ""),
        ("docker://alpine:3.19", "docker.io", "library/alpine", "3.19", ""),
        ("docker://user/app", "docker.io", "user/app", "latest", ""),
        ("docker://127.0.0.1:5000/a/b:t", "127.0.0.1:5000", "a/b", "t", ""),
        ("docker://localhost/x", "localhost", "x", "latest", ""),
        (f"docker://quay.io/ns/img@sha256:{HEX}", "quay.io", "ns/img", "", f"sha256:{HEX}"),
        ("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", ""),
    ],
)
def test_skopeo_docker_references(text: str, registry: str, repository: str, tag: str, digest: str) -> None:
    ref = parse_registry_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert ref.reference == (digest or tag)


def test_reference_round_trips_and_api_host() -> None:
    ref = parse_registry_reference("docker://127.0.0.1:5000/a/b:t")
    assert str(ref) == "docker://127.0.0.1:5000/a/b:t"
    assert str(ref.with_digest(f"sha256:{HEX}")) == f"docker://127.0.0.1:5000/a/b@sha256:{HEX}"
    assert api_host("docker.io") == "registry-1.docker.io"
    assert api_host("127.0.0.1:5000") == "127.0.0.1:5000"


@pytest.mark.parametrize(
    "text",
    [
        "docker://",
        "docker:///abs",
        "docker://a/UPPER",
        f"docker://a/b:t@sha256:{HEX}",  # skopeo refuses a tag with a digest
        "docker://a/b@md5:0123456789abcdef0123456789abcdef",
        "docker://a//b",
    ],
)
def test_bad_references_are_typed_errors(text: str) -> None:
    with pytest.raises(InvalidReferenceError):
        parse_registry_reference(text)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.5.6.7", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# ------------------------------------------------------------------------------ credentials


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def test_search_order_is_skopeos(isolated_env: dict[str, str], tmp_path: Path) -> None:
    env = isolated_env
    home = env["HOME"]
    paths = [p for p, _ in auth_file_paths(None, env)]
    assert paths == [
        os.path.join(env["XDG_RUNTIME_DIR"], "containers", "auth.json"),
        os.path.join(env["XDG_CONFIG_HOME"], "containers", "auth.json"),
        os.path.join(home, ".docker", "config.json"),
        os.path.join(home, ".dockercfg"),
    ]
    env2 = dict(env, REGISTRY_AUTH_FILE=str(tmp_path / "env.json"), DOCKER_CONFIG=str(tmp_path / "dc"))
    paths2 = [p for p, _ in auth_file_paths(None, env2)]
    assert paths2[0] == str(tmp_path / "env.json")
    assert paths2[2] == str(tmp_path / "dc" / "config.json")
    assert auth_file_paths(str(tmp_path / "flag.json"), env2)[0][0] == str(tmp_path / "flag.json")
    assert auth_file_paths(None, env)[-1][1] is True  # ~/.dockercfg is the legacy format


def test_first_file_with_an_answer_wins(isolated_env: dict[str, str], tmp_path: Path) -> None:
    env = isolated_env
    reg = "reg.example:5000"
    _write(Path(env["HOME"]) / ".dockercfg", {f"https://{reg}": {"auth": _auth("legacy", "p0")}})
    found = find_credentials(reg, env=env)
    assert found is not None and (found.username, found.password) == ("legacy", "p0")
    _write(Path(env["HOME"]) / ".docker" / "config.json", {"auths": {reg: {"auth": _auth("docker", "p1")}}})
    found = find_credentials(reg, env=env)
    assert found is not None and found.username == "docker"
    _write(
        Path(env["XDG_CONFIG_HOME"]) / "containers" / "auth.json",
        {"auths": {reg: {"username": "xdgconf", "password": "p2"}}},
    )
    found = find_credentials(reg, env=env)
    assert found is not None and (found.username, found.password) == ("xdgconf", "p2")
    _write(
        Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json",
        {"auths": {reg: {"auth": _auth("run", "p3")}}},
    )
    found = find_credentials(reg, env=env)
    assert found is not None and found.username == "run"
    flag = _write(tmp_path / "flag.json", {"auths": {reg: {"auth": _auth("flag", "p4")}}})
    found = find_credentials(reg, authfile=str(flag), env=env)
    assert found is not None and found.username == "flag"
    found = find_credentials(reg, env=dict(env, REGISTRY_AUTH_FILE=str(flag)))
    assert found is not None and found.username == "flag"
    assert find_credentials("other.example", env=env) is None


def test_repository_keys_and_hub_names(isolated_env: dict[str, str]) -> None:
    env = isolated_env
    _write(
        Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json",
        {
            "auths": {
                "quay.io/team/app": {"auth": _auth("app", "x")},
                "quay.io/team": {"auth": _auth("team", "x")},
                "quay.io": {"auth": _auth("all", "x")},
                "https://index.docker.io/v1/": {"auth": _auth("hub", "x")},
            }
        },
    )
    assert (find_credentials("quay.io", "team/app", env=env) or Credentials()).username == "app"
    assert (find_credentials("quay.io", "team/other", env=env) or Credentials()).username == "team"
    assert (find_credentials("quay.io", "solo", env=env) or Credentials()).username == "all"
    assert (find_credentials("docker.io", "library/alpine", env=env) or Credentials()).username == "hub"


def test_a_client_for_a_reference_looks_credentials_up_for_its_repository(
    isolated_env: dict[str, str],
) -> None:
    from ocitool.formats.registry.client import RegistryClient

    env = isolated_env
    _write(
        Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json",
        {"auths": {"quay.io/team/app": {"auth": _auth("app", "x")}, "quay.io": {"auth": _auth("all", "x")}}},
    )
    with RegistryClient.for_reference(
        parse_registry_reference("docker://quay.io/team/app:1"), env=env
    ) as client:
        creds = client.transport.authorizer.credentials  # looked up on first access; no network
        assert creds is not None and creds.username == "app"
    with RegistryClient("quay.io", creds="u:p", env=env) as client:
        assert client.transport.authorizer.credentials == Credentials("u", "p", source="--creds")


def test_identity_token(isolated_env: dict[str, str]) -> None:
    env = isolated_env
    _write(
        Path(env["HOME"]) / ".docker" / "config.json",
        {"auths": {"reg.example": {"auth": _auth("<token>", ""), "identitytoken": "refresh-xyz"}}},
    )
    found = find_credentials("reg.example", env=env)
    assert found is not None and found.identity_token == "refresh-xyz"
    assert found.basic_header() is None  # an identity token never goes out as Basic


def _helper(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / f"docker-credential-{name}"
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)


def test_cred_helpers_and_creds_store(
    isolated_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = isolated_env
    bin_dir = tmp_path / "bin"
    # the helper echoes the server it was asked about, so the test sees what docker would pass
    _helper(
        bin_dir, "per", 'read s; printf \'{"ServerURL":"%s","Username":"per-%s","Secret":"sp"}\' "$s" "$s"'
    )
    _helper(
        bin_dir,
        "store",
        'read s; printf \'{"ServerURL":"%s","Username":"store-%s","Secret":"ss"}\' "$s" "$s"',
    )
    _helper(bin_dir, "empty", 'read s; echo "credentials not found in native keychain"; exit 1')
    _helper(bin_dir, "broken", "echo boom >&2; exit 3")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cfg = Path(env["HOME"]) / ".docker" / "config.json"
    _write(
        cfg,
        {
            "credHelpers": {"per.example": "per", "gone.example": "empty", "bad.example": "broken"},
            "credsStore": "store",
            "auths": {"gone.example": {"auth": _auth("file", "f")}},
        },
    )
    per = find_credentials("per.example", env=env)
    assert per is not None and (per.username, per.password, per.source) == (
        "per-per.example",
        "sp",
        "docker-credential-per",
    )
    hub = find_credentials("docker.io", env=env)
    assert hub is not None and hub.username == "store-https://index.docker.io/v1/"
    # a credHelper that has nothing is the answer for its registry (as containers/image)
    assert find_credentials("gone.example", env=env) is None
    with pytest.raises(RegistryAuthError, match="docker-credential-broken failed: boom"):
        find_credentials("bad.example", env=env)
    _write(cfg, {"credHelpers": {"x.example": "missing-helper"}})
    with pytest.raises(RegistryAuthError, match="not on PATH"):
        find_credentials("x.example", env=env)


def test_malformed_files_name_the_field_not_the_secret(isolated_env: dict[str, str]) -> None:
    env = isolated_env
    cfg = Path(env["HOME"]) / ".docker" / "config.json"
    _write(cfg, {"auths": {"r.example": {"auth": "not base64 !!! s3cr3t"}}})
    with pytest.raises(InvalidDocumentError) as info:
        find_credentials("r.example", env=env)
    assert "s3cr3t" not in str(info.value) and "/auths/r.example/auth" in str(info.value)
    cfg.write_text("{not json")
    with pytest.raises(InvalidDocumentError, match=r"config\.json"):
        find_credentials("r.example", env=env)


def test_creds_flag_and_secrets_stay_out_of_repr() -> None:
    creds = parse_creds("user:pa:ss")
    assert (creds.username, creds.password) == ("user", "pa:ss")
    assert "pa:ss" not in repr(creds)
    assert "tok" not in repr(Credentials(identity_token="tok"))
    with pytest.raises(InvalidCredentialsError) as info:
        parse_creds("justuser-secret")
    assert "secret" not in str(info.value) and str(info.value).startswith("--creds: ")


# ------------------------------------------------------------------------------ challenges, tokens


def test_parse_challenges() -> None:
    (bearer,) = parse_challenges(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push '
        'repository:c:pull",error="insufficient_scope"'
    )
    assert bearer.scheme == "bearer"
    assert bearer.params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "repository:a/b:pull,push repository:c:pull",
        "error": "insufficient_scope",
    }
    basic, bearer2 = parse_challenges('Basic realm="x \\"y\\"", Bearer realm=http://t/token, service=s')
    assert (basic.scheme, basic.params) == ("basic", {"realm": 'x "y"'})
    assert (bearer2.scheme, bearer2.params) == ("bearer", {"realm": "http://t/token", "service": "s"})


def test_repository_scope() -> None:
    assert repository_scope("a/b") == ("repository:a/b:pull",)
    assert repository_scope("a/b", push=True, mount_from=["c"]) == (
        "repository:a/b:pull,push",
        "repository:c:pull",
    )


class _FakeTokenServer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str]], dict[str, str], dict[str, str] | None]] = []

    def __call__(
        self,
        method: str,
        url: str,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        form: dict[str, str] | None,
    ) -> TokenResponse:
        self.calls.append((method, params, headers, form))
        n = len(self.calls)
        return TokenResponse(200, {"token": f"tok{n}", "expires_in": 300})


CHALLENGE = 'Bearer realm="https://auth.example/token",service="svc",scope="repository:a:pull"'


def test_tokens_are_cached_per_scope() -> None:
    fake = _FakeTokenServer()
    auth = Authorizer("reg.example", Credentials("u", "p"), fake)
    assert auth.authorization(("repository:a:pull",)) is None  # the scheme is not known yet
    first = auth.challenged(CHALLENGE, ("repository:a:pull",), None)
    assert first == "Bearer tok1"
    assert auth.authorization(("repository:a:pull",)) == "Bearer tok1"
    assert auth.authorization(("repository:b:pull,push",)) == "Bearer tok2"
    assert auth.authorization(("repository:a:pull",)) == "Bearer tok1"  # not the last one fetched
    assert auth.authorization(("repository:b:push,pull",)) == "Bearer tok2"  # actions normalised
    assert auth.authorization(("repository:b:pull",)) == "Bearer tok2"  # a push token serves pulls
    assert len(fake.calls) == 2
    method, params, headers, _ = fake.calls[0]
    assert method == "GET" and ("scope", "repository:a:pull") in params and ("service", "svc") in params
    assert headers["Authorization"].startswith("Basic ")
    # a 401 for the token just sent means it went stale: one new fetch for that scope
    assert auth.challenged(CHALLENGE, ("repository:a:pull",), "Bearer tok1") == "Bearer tok3"


def test_identity_tokens_use_the_oauth2_refresh_grant() -> None:
    fake = _FakeTokenServer()
    auth = Authorizer("reg.example", Credentials(identity_token="rt"), fake)
    auth.challenged(CHALLENGE, ("repository:a:pull",), None)
    method, _, headers, form = fake.calls[0]
    assert method == "POST" and "Authorization" not in headers
    assert form is not None and form["grant_type"] == "refresh_token" and form["refresh_token"] == "rt"
    assert form["scope"] == "repository:a:pull" and form["service"] == "svc"


def test_basic_challenges() -> None:
    fake = _FakeTokenServer()
    with pytest.raises(RegistryAuthError, match="no credentials"):
        Authorizer("r", None, fake).challenged('Basic realm="r"', (), None)
    auth = Authorizer("r", Credentials("u", "secret-pw", source="x.json"), fake)
    header = auth.challenged('Basic realm="r"', (), None)
    assert header == "Basic " + base64.b64encode(b"u:secret-pw").decode()
    assert auth.authorization(("repository:a:pull",)) == header
    with pytest.raises(RegistryAuthError, match=r"x\.json were rejected") as info:
        auth.challenged('Basic realm="r"', (), header)
    assert "secret-pw" not in str(info.value)
    with pytest.raises(RegistryAuthError, match="unsupported authentication"):
        auth.challenged("Negotiate abc", (), None)


def test_token_server_refusal_is_typed() -> None:
    def refuse(*_: object) -> TokenResponse:
        return TokenResponse(401, {"details": "nope"})

    auth = Authorizer("r", Credentials("u", "pw-123"), refuse)
    with pytest.raises(RegistryAuthError, match="refused credentials") as info:
        auth.challenged(CHALLENGE, ("repository:a:pull",), None)
    assert info.value.status == 401 and "pw-123" not in str(info.value)


def test_credentials_are_looked_up_once_and_lazily() -> None:
    calls: list[int] = []

    def lookup() -> Credentials | None:
        calls.append(1)
        return Credentials("u", "p")

    auth = Authorizer("r", lookup, _FakeTokenServer())
    assert calls == []
    auth.challenged('Basic realm="r"', (), None)
    auth.authorization(())
    assert calls == [1]


# ------------------------------------------------------------------------------ referrers lists


def test_fallback_tags_follow_the_spec() -> None:
    assert refs.fallback_tag(f"sha256:{HEX}") == f"sha256-{HEX}"
    assert refs.fallback_tag("sha512:" + "b" * 128) == "sha512-" + "b" * 64
    long = (
        "test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:"
        "alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation"
    )
    assert refs.fallback_tag(long) == (
        "test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot"
    )


def test_referrer_descriptor_and_merge() -> None:
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.example.config", "digest": f"sha256:{HEX}", "size": 2},
            "layers": [],
            "subject": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{HEX}",
                "size": 1,
            },
            "annotations": {"k": "v"},
        }
    ).encode()
    d = Digest.parse("sha256:" + "c" * 64)
    desc = refs.referrer_descriptor(raw, "application/vnd.oci.image.manifest.v1+json", d)
    assert desc.artifact_type == "application/vnd.example.config"  # config type when no artifactType
    assert desc.annotations == {"k": "v"} and desc.size == len(raw)
    subject = refs.subject_of(raw)
    assert subject is not None and str(subject.digest) == f"sha256:{HEX}"
    first = refs.add_referrer(None, desc)
    assert first is not None
    assert json.loads(first)["manifests"][0]["digest"] == str(d)
    assert refs.add_referrer(first, desc) is None  # no duplicates
    other = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.parse("sha256:" + "d" * 64), 5)
    second = refs.add_referrer(first, other)
    assert second is not None and len(refs.parse_referrers(second)) == 2
    assert [
        x.digest
        for x in refs.filter_artifact_type(refs.parse_referrers(second), "application/vnd.example.config")
    ] == [d]
    with pytest.raises(InvalidDocumentError, match="not an OCI image index"):
        refs.add_referrer(
            b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}', desc
        )


# ------------------------------------------------------------------------------ retries, TLS, errors


def test_budget_counts_attempts_and_time() -> None:
    budget = Budget(RetryPolicy(attempts=3, budget=60.0))
    budget.take()
    assert budget.next_wait(None) == 0.5
    budget.take()
    assert budget.next_wait(None) == 1.0
    assert budget.next_wait(2.5) == 2.5  # Retry-After wins over backoff
    budget.take()
    assert budget.next_wait(None) is None  # three attempts made
    short = Budget(RetryPolicy(attempts=5, budget=1.0))
    short.take()
    assert short.next_wait(5.0) is None  # would overrun the time budget


def test_cert_dir_bundle_and_client_pair(tmp_path: Path) -> None:
    from tests.registry import servers

    ca = servers.make_ca(tmp_path / "ca")
    certs = tmp_path / "certs.d"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(ca.cert_path.read_bytes())
    settings = tls_settings("reg.example", str(certs))
    # the extra CA is held in memory (loaded into the session's SSL context beside the
    # system's; test_auth_live proves the handshake), never written to a file
    assert settings.ca_pem.count(b"BEGIN CERTIFICATE") == 1
    assert ca.cert_path.read_bytes().strip() in settings.ca_pem
    (certs / "client.cert").write_bytes(b"x")
    with pytest.raises(RegistryError, match="has no key"):
        tls_settings("reg.example", str(certs))
    (certs / "client.key").write_bytes(b"y")
    assert tls_settings("reg.example", str(certs)).cert == (
        str(certs / "client.cert"),
        str(certs / "client.key"),
    )
    with pytest.raises(RegistryError, match="does not exist"):
        tls_settings("reg.example", str(tmp_path / "nope"))
    assert (
        tls_settings("reg.example", None, {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}).ca_pem
        == b""
    )


def test_error_types() -> None:
    for cls, builtin in (
        (RegistryError, ConnectionError),
        (RegistryAuthError, PermissionError),
        (RegistryNotFoundError, LookupError),
        (RegistryProtocolError, ValueError),
    ):
        err = cls("boom", registry="r:5", repository="a/b", status=418, digest=f"sha256:{HEX}")
        assert isinstance(err, OcitoolError) and isinstance(err, builtin) and isinstance(err, RegistryError)
        assert str(err) == "r:5/a/b: boom"
        assert (err.registry, err.repository, err.status, err.digest) == ("r:5", "a/b", 418, f"sha256:{HEX}")


def test_importing_the_client_loads_neither_oras_nor_requests() -> None:
    code = (
        "import sys, ocitool, ocitool.formats.registry.client, ocitool.formats.registry;"
        "bad = [m for m in ('oras', 'requests', 'urllib3') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
