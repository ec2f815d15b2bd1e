"""Servers for the registry tests: Debian's docker-registry (distribution 2.8) with configs of
our own, certificates made with ``cryptography``, a JWT token server, a misbehaving proxy and
a referrers-API test double.

Everything listens on 127.0.0.1 on a free port and is stopped by the object that started it
(docker-registry by its PID). Nothing here touches a registry the tests did not start.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

HTTP_SECRET = "ocitool-test-secret"  # distribution signs upload state with it


def free_port() -> int:
    """A port nothing listens on now (the tiny race with other processes is acceptable here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ------------------------------------------------------------------------------ certificates


@dataclass
class Cert:
    """A certificate and its key, as PEM files and as objects."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path
    key_path: Path

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, directory: Path, stem: str) -> Cert:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Cert(cert, key, cert_path, key_path)


def make_ca(directory: Path, cn: str = "ocitool test CA") -> Cert:
    """A self-signed CA (``ca.crt``/``ca.key`` in ``directory``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _write(cert, key, directory, "ca")


def issue(
    ca: Cert, directory: Path, stem: str, cn: str, *, server: bool = True, client: bool = False
) -> Cert:
    """A certificate signed by ``ca``: a TLS server cert for 127.0.0.1/localhost, a TLS
    client cert (``client=True``), or a plain signing cert (both False, for JWTs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    cert = builder.sign(ca.key, hashes.SHA256())
    return _write(cert, key, directory, stem)


def htpasswd_line(user: str, password: str) -> str:
    """A bcrypt htpasswd entry (distribution 2.8 accepts bcrypt only): ``htpasswd -B``
    (apache2-utils), else the ``bcrypt`` package."""
    exe = shutil.which("htpasswd")
    if exe:
        out = subprocess.run([exe, "-nbB", user, password], capture_output=True, check=True, timeout=60)
        return out.stdout.decode().strip()
    import bcrypt  # type: ignore[import-not-found]

    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}"


# ------------------------------------------------------------------------------ docker-registry


@dataclass
class Registry:
    """A docker-registry process on 127.0.0.1; ``host`` is ``127.0.0.1:PORT``."""

    host: str
    scheme: str
    proc: subprocess.Popen[bytes]
    workdir: Path
    ca_dir: Path | None = None  # a containers-certs.d directory trusting its TLS cert

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    def log(self) -> str:
        return (self.workdir / "registry.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop the process this object started (by its PID) and wait for it."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


def start_registry(
    exe: str,
    workdir: Path,
    *,
    tls: Cert | None = None,
    client_ca: Cert | None = None,
    ca_dir: Path | None = None,
    auth: dict[str, Any] | None = None,
) -> Registry:
    """Start docker-registry with filesystem storage under ``workdir``, deletes enabled;
    ``client_ca`` makes it demand client certificates issued by that CA."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "data")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": HTTP_SECRET},
    }
    if tls is not None:
        config["http"]["tls"] = {"certificate": str(tls.cert_path), "key": str(tls.key_path)}
        if client_ca is not None:
            config["http"]["tls"]["clientcas"] = [str(client_ca.cert_path)]
    if auth is not None:
        config["auth"] = auth
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    # distribution reads REGISTRY_* variables as config overrides: give it none of ours
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    log = open(workdir / "registry.log", "wb")  # noqa: SIM115 (the child holds it)
    proc = subprocess.Popen(
        [exe, "serve", str(config_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    reg = Registry(f"127.0.0.1:{port}", "https" if tls else "http", proc, workdir, ca_dir)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited {proc.returncode}:\n{reg.log()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return reg
        except OSError:
            time.sleep(0.05)
    reg.stop()
    raise RuntimeError(f"docker-registry did not listen on {port} within 20 s:\n{reg.log()[-2000:]}")


# ------------------------------------------------------------------------------ small HTTP servers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)


class HTTPServerThread:
    """A ThreadingHTTPServer on 127.0.0.1:free port, served by a thread until :meth:`stop`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], owner: object) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.owner = owner  # type: ignore[attr-defined]
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


# ------------------------------------------------------------------------------ token server


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A docker token server (distribution ``auth: token``) issuing ES256 JWTs.

    The signing certificate is issued by ``ca`` and sent in the ``x5c`` header: distribution
    2.8's ``VerifySigningKey`` verifies such a chain against ``rootcertbundle`` (a ``kid``
    would have to be a libtrust fingerprint). ``users`` log in with Basic credentials,
    ``refresh_tokens`` (identity tokens) with the OAuth2 POST; they get every action they
    ask for, except ``read_only`` accounts (``pull`` only). Anonymous requests get ``pull`` on
    ``public/*`` only. ``requests`` records ``(method, scopes, account)`` of each token issued.
    """

    issuer = "ocitool-test-issuer"
    service = "ocitool-test-registry"

    def __init__(self, workdir: Path, users: dict[str, str], refresh_tokens: dict[str, str]) -> None:
        self.ca = make_ca(workdir / "token-ca", "ocitool token CA")
        self.signer = issue(self.ca, workdir / "token-ca", "signer", "ocitool token signer", server=False)
        self.users = users
        self.refresh_tokens = refresh_tokens
        self.read_only: set[str] = set()
        self.requests: list[tuple[str, tuple[str, ...], str]] = []
        self.lifetime = 300
        self._lock = threading.Lock()
        self.http = HTTPServerThread(_TokenHandler, self)

    @property
    def realm(self) -> str:
        return f"http://{self.http.host}/token"

    def auth_config(self) -> dict[str, Any]:
        return {
            "token": {
                "realm": self.realm,
                "service": self.service,
                "issuer": self.issuer,
                "rootcertbundle": str(self.ca.cert_path),
            }
        }

    def scopes_requested(self) -> list[tuple[str, ...]]:
        with self._lock:
            return [scopes for _, scopes, _ in self.requests]

    def token(self, account: str, scopes: list[str]) -> str:
        access: list[dict[str, Any]] = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            if not account:
                wanted = [a for a in wanted if a == "pull"] if name.startswith("public/") else []
            elif account in self.read_only:
                wanted = [a for a in wanted if a == "pull"]
            if wanted:
                access.append({"type": kind, "name": name, "actions": wanted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(self.signer.der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": account,
            "aud": self.service,
            "exp": now + self.lifetime,
            "nbf": now - 5,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        der = self.signer.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def stop(self) -> None:
        self.http.stop()


class _TokenHandler(_Handler):
    def _owner(self) -> TokenServer:
        return self.server.owner  # type: ignore[attr-defined,no-any-return]

    def _issue(self, account: str, scopes: list[str]) -> None:
        owner = self._owner()
        with owner._lock:
            owner.requests.append((self.command, tuple(scopes), account))
        token = owner.token(account, scopes)
        body = json.dumps({"token": token, "access_token": token, "expires_in": owner.lifetime}).encode()
        self.reply(200, body, {"Content-Type": "application/json"})

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        account = ""
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self._owner().users.get(user) != password:
                self.reply(401, b'{"details":"invalid credentials"}', {"Content-Type": "application/json"})
                return
            account = user
        self._issue(account, scopes)

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.body().decode())
        refresh = (form.get("refresh_token") or [""])[0]
        account = self._owner().refresh_tokens.get(refresh, "")
        if (form.get("grant_type") or [""])[0] != "refresh_token" or not account:
            self.reply(401, b'{"error":"invalid_grant"}', {"Content-Type": "application/json"})
            return
        scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
        self._issue(account, scopes)


# ------------------------------------------------------------------------------ misbehaving proxy


@dataclass
class Fault:
    """Misbehave on the next ``times`` requests matching ``method`` and ``path`` (a regex).

    kinds: ``status`` (answer ``status`` with ``retry_after``, not forwarding), ``cut``
    (forward; send the headers and half the body, then close), ``corrupt`` (forward; flip
    the body's bytes, same length), ``drop`` (read the request, close without answering:
    the registry never sees it), ``mute`` (forward, then close without answering: the
    registry did it, the client cannot know), ``no-range`` (forward without the ``Range``
    header: the whole blob comes back), ``partial`` (forward half of the request body, then
    close both sides: the registry keeps half a chunk).
    """

    method: str
    path: str
    kind: str
    times: int = 1
    status: int = 503
    retry_after: str | None = None


_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class FaultProxy:
    """An HTTP proxy in front of a plain-http registry that injects :class:`Fault` s.

    ``log`` records ``(method, path, outcome)`` of every request, outcome being the fault
    kind or the upstream status.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream_host, port = upstream.rsplit(":", 1)
        self.upstream_port = int(port)
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self.http = HTTPServerThread(_ProxyHandler, self)

    @property
    def host(self) -> str:
        return self.http.host

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and f.method == method and re.search(f.path, path):
                    f.times -= 1
                    return f
        return None

    def record(self, method: str, path: str, outcome: str) -> None:
        with self._lock:
            self.log.append((method, urllib.parse.urlsplit(path).path, outcome))

    def outcomes(self, method: str, path_regex: str) -> list[str]:
        with self._lock:
            return [o for m, p, o in self.log if m == method and re.search(path_regex, p)]

    def stop(self) -> None:
        self.http.stop()


class _ProxyHandler(_Handler):
    def _owner(self) -> FaultProxy:
        return self.server.owner  # type: ignore[attr-defined,no-any-return]

    def _any(self) -> None:
        owner = self._owner()
        body = self.body()
        fault = owner.take(self.command, self.path)
        kind = fault.kind if fault else ""
        if fault and kind == "status":
            owner.record(self.command, self.path, f"fault {fault.status}")
            headers = {"Content-Type": "application/json"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            err = {"errors": [{"code": "UNAVAILABLE", "message": f"injected {fault.status}"}]}
            self.reply(fault.status, json.dumps(err).encode(), headers)
            return
        if kind == "drop":
            owner.record(self.command, self.path, "drop")
            self.close_connection = True
            return
        if kind == "partial":
            owner.record(self.command, self.path, "partial")
            self._send_partial(body)
            self.close_connection = True
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        if kind == "no-range":
            headers = {k: v for k, v in headers.items() if k.lower() != "range"}
        conn = http.client.HTTPConnection(owner.upstream_host, owner.upstream_port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
        finally:
            conn.close()
        owner.record(self.command, self.path, kind or str(resp.status))
        if kind == "mute":
            self.close_connection = True
            return
        if kind == "corrupt" and data:
            data = bytes(b ^ 0xFF for b in data)
        self.send_response(resp.status, resp.reason)
        for k, v in out_headers:
            if k.lower() != "content-length":
                self.send_header(k, v)
        if self.command == "HEAD":
            length = dict((k.lower(), v) for k, v in out_headers).get("content-length", "0")
            self.send_header("Content-Length", length)
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind == "cut":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def _send_partial(self, body: bytes) -> None:
        owner = self._owner()
        lines = [f"{self.command} {self.path} HTTP/1.1"]
        for k, v in self.headers.items():
            if k.lower() not in _HOP:
                lines.append(f"{k}: {v}")
        lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        with socket.create_connection((owner.upstream_host, owner.upstream_port), timeout=30) as s:
            s.sendall(head + body[: len(body) // 2])
            time.sleep(0.3)  # let the registry write what it got before the cut
        time.sleep(0.2)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any


# ------------------------------------------------------------------------------ referrers double


@dataclass
class _Repo:
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # digest -> (raw, media type)
    tags: dict[str, str] = field(default_factory=dict)


class ReferrersDouble:
    """A tiny registry double that speaks the referrers API (what distribution 2.8 lacks):
    ``/v2/``, manifests PUT/GET/HEAD (answering ``OCI-Subject``), and
    ``/v2/<name>/referrers/<digest>`` with ``artifactType`` filtering and ``Link`` pages of
    ``page_size`` descriptors. ``filtering`` False answers unfiltered, without the header."""

    def __init__(self, page_size: int = 2, filtering: bool = True) -> None:
        self.repos: dict[str, _Repo] = {}
        self.page_size = page_size
        self.filtering = filtering
        self.referrer_requests: list[str] = []
        self._lock = threading.Lock()
        self.http = HTTPServerThread(_DoubleHandler, self)

    @property
    def host(self) -> str:
        return self.http.host

    def referrers_of(self, name: str, digest: str, artifact_type: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        repo = self.repos.get(name) or _Repo()
        for d, (raw, media_type) in sorted(repo.manifests.items()):
            doc = json.loads(raw)
            if (doc.get("subject") or {}).get("digest") != digest:
                continue
            art = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType", "")
            if artifact_type and self.filtering and art != artifact_type:
                continue
            entry: dict[str, Any] = {
                "mediaType": media_type,
                "digest": d,
                "size": len(raw),
                "artifactType": art,
            }
            if doc.get("annotations"):
                entry["annotations"] = doc["annotations"]
            out.append(entry)
        return out

    def stop(self) -> None:
        self.http.stop()


class _DoubleHandler(_Handler):
    _MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
    _TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")
    _REFERRERS = re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)$")

    def _owner(self) -> ReferrersDouble:
        return self.server.owner  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        owner = self._owner()
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/v2/":
            self.reply(200, b"{}", {"Content-Type": "application/json"})
            return
        m = self._TAGS.match(url.path)
        if m:
            self._tags(m["name"], urllib.parse.parse_qs(url.query))
            return
        m = self._REFERRERS.match(url.path)
        if m:
            query = urllib.parse.parse_qs(url.query)
            artifact_type = (query.get("artifactType") or [""])[0] or None
            start = int((query.get("last") or ["0"])[0])
            with owner._lock:
                owner.referrer_requests.append(self.path)
                found = owner.referrers_of(m["name"], m["digest"], artifact_type)
            page = found[start : start + owner.page_size]
            headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
            if artifact_type and owner.filtering:
                headers["OCI-Filters-Applied"] = "artifactType"
            if start + owner.page_size < len(found):
                nxt = {"last": str(start + owner.page_size)}
                if artifact_type:
                    nxt["artifactType"] = artifact_type
                headers["Link"] = f'<{url.path}?{urllib.parse.urlencode(nxt)}>; rel="next"'
            doc = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": page,
            }
            self.reply(200, json.dumps(doc).encode(), headers)
            return
        self._manifest(url.path)

    def do_HEAD(self) -> None:
        self._manifest(urllib.parse.urlsplit(self.path).path)

    def _tags(self, name: str, query: dict[str, list[str]]) -> None:
        """Sorted tags, ``n`` per page after ``last``, with a ``Link`` to the next page."""
        repo = self._owner().repos.get(name) or _Repo()
        tags = sorted(repo.tags)
        last = (query.get("last") or [""])[0]
        n = int((query.get("n") or ["0"])[0]) or len(tags)
        rest = [t for t in tags if t > last]
        page = rest[:n]
        headers = {"Content-Type": "application/json"}
        if len(rest) > n:
            nxt = urllib.parse.urlencode({"n": str(n), "last": page[-1]})
            headers["Link"] = f'</v2/{name}/tags/list?{nxt}>; rel="next"'
        self.reply(200, json.dumps({"name": name, "tags": page}).encode(), headers)

    def _manifest(self, path: str) -> None:
        owner = self._owner()
        m = self._MANIFEST.match(path)
        repo = owner.repos.get(m["name"]) if m else None
        if not m or repo is None:
            self.reply(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"no such repository"}]}')
            return
        digest = repo.tags.get(m["ref"], m["ref"])
        if digest not in repo.manifests:
            self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
            return
        raw, media_type = repo.manifests[digest]
        self.reply(200, raw, {"Content-Type": media_type, "Docker-Content-Digest": digest})

    def do_PUT(self) -> None:
        owner = self._owner()
        path = urllib.parse.urlsplit(self.path).path
        m = self._MANIFEST.match(path)
        if not m:
            self.reply(404)
            return
        raw = self.body()
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        with owner._lock:
            repo = owner.repos.setdefault(m["name"], _Repo())
            repo.manifests[digest] = (raw, self.headers.get("Content-Type", ""))
            if not m["ref"].startswith("sha256:"):
                repo.tags[m["ref"]] = digest
        headers = {"Docker-Content-Digest": digest, "Location": f"/v2/{m['name']}/manifests/{digest}"}
        subject = (json.loads(raw).get("subject") or {}).get("digest")
        if subject:
            headers["OCI-Subject"] = subject
        self.reply(201, b"", headers)


def iter_layout_blobs(layout: Path) -> Iterator[tuple[str, Path]]:
    """``(digest, path)`` of every blob in an OCI layout directory."""
    for alg_dir in sorted((layout / "blobs").iterdir()):
        for blob in sorted(alg_dir.iterdir()):
            yield f"{alg_dir.name}:{blob.name}", blob
