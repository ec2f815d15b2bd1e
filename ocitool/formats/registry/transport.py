"""HTTP to one registry: endpoint and TLS choice, authorization, retries, typed errors.

Endpoint and TLS (as skopeo and docker)
    https with verification by default. ``tls_verify=False`` skips verification and also
    allows plain http (skopeo's ``--tls-verify=false``: https first, then http). Registries on
    ``localhost``, 127.0.0.0/8 or ::1 may answer over http without a flag (moby's default
    insecure registries); verification stays on for them when they speak TLS. ``cert_dir`` is
    a containers-certs.d directory: ``*.crt`` CA certificates are trusted beside the system's,
    ``*.cert`` + ``*.key`` is a client certificate. Without ``cert_dir``,
    ``/etc/containers/certs.d/HOST[:PORT]``, ``$XDG_CONFIG_HOME/containers/certs.d/HOST[:PORT]``
    and ``/etc/docker/certs.d/HOST[:PORT]`` are used when they exist.

Retries
    At most ``RetryPolicy.attempts`` (5) tries and ``RetryPolicy.budget`` (60 s) in all, on
    429, 502, 503, 504 and on connections reset or cut mid-answer, waiting what ``Retry-After``
    asks (else 0.5 s, doubling). A refused connection is not retried: it fails at once with a
    message that names the address. oras-py's ``retry`` decorator retries every exception
    five times with ``2 + 3**n`` s sleeps (131 s on a dead port), never 429, and ignores
    ``Retry-After``; this module replaces ``Registry.do_request``.

Session
    The ``requests`` session is oras-py's (``oras.provider.Registry``: cookies refused, which
    Harbor needs), imported on first use so that importing ocitool does not load oras or
    requests. It gets its own connection pool (``pool_size`` connections per host) and no
    urllib3 retries of its own.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import glob
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Container, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urljoin

from ocitool._record import record
from ocitool.errors import (
    RegistryAuthError,
    RegistryError,
    RegistryNotFoundError,
)
from ocitool.formats.registry.auth import Authorizer, Credentials, Scope, TokenResponse
from ocitool.formats.registry.reference import api_host, is_loopback

if TYPE_CHECKING:
    import requests

__all__ = ["RETRY_STATUSES", "Budget", "RetryPolicy", "TLSSettings", "Transport", "tls_settings"]

_log = logging.getLogger("ocitool.registry")

RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
_ERROR_BODY_LIMIT: Final = 64 << 10
_CERTS_D: Final = ("/etc/containers/certs.d", "/etc/docker/certs.d")


@record(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` tries and ``budget`` seconds (waits included) per operation."""

    attempts: int = 5
    budget: float = 60.0
    statuses: frozenset[int] = RETRY_STATUSES
    backoff: float = 0.5
    max_backoff: float = 8.0


class Budget:
    """The tries and time left to one operation (a request, or a blob transfer that resumes)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.deadline = time.monotonic() + policy.budget
        self.used = 0

    def take(self) -> None:
        self.used += 1

    def next_wait(self, retry_after: float | None) -> float | None:
        """Seconds to wait before the next try, or None when tries or time are spent."""
        if self.used >= self.policy.attempts:
            return None
        if retry_after is None:
            wait = min(self.policy.backoff * 2.0 ** max(self.used - 1, 0), self.policy.max_backoff)
        else:
            wait = max(retry_after, 0.0)
        if time.monotonic() + wait >= self.deadline:
            return None
        return wait


@record(frozen=True)
class TLSSettings:
    """TLS trust beyond the system's: ``ca_pem``, extra CA certificates (PEM, concatenated)
    trusted beside the default ones, and ``cert``, a client certificate and key file."""

    ca_pem: bytes = b""
    cert: tuple[str, str] | None = None


def _certs_dir_for(host: str, env: Mapping[str, str]) -> str | None:
    home = env.get("HOME") or os.path.expanduser("~")
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    for base in (_CERTS_D[0], os.path.join(config_home, "containers", "certs.d"), _CERTS_D[1]):
        path = os.path.join(base, host)
        if os.path.isdir(path):
            return path
    return None


def tls_settings(host: str, cert_dir: str | None, env: Mapping[str, str] | None = None) -> TLSSettings:
    """TLS trust for ``host`` from a containers-certs.d directory (``cert_dir``, else the
    default ones for the host). Extra CAs are kept in memory and loaded into the session's
    SSL context beside the system's (no file is written).

    Raises RegistryError for an unreadable directory or a client ``.cert`` without its ``.key``.
    """
    directory = cert_dir or _certs_dir_for(host, os.environ if env is None else env)
    if directory is None:
        return TLSSettings()
    if not os.path.isdir(directory):
        raise RegistryError(f"certificate directory {directory} does not exist", registry=host)
    cas = sorted(glob.glob(os.path.join(directory, "*.crt")))
    cert: tuple[str, str] | None = None
    for cert_file in sorted(glob.glob(os.path.join(directory, "*.cert"))):
        key_file = cert_file[: -len(".cert")] + ".key"
        if not os.path.isfile(key_file):
            raise RegistryError(
                f"client certificate {cert_file} has no key {os.path.basename(key_file)}", registry=host
            )
        cert = cert_file, key_file
        break
    if not cas:
        return TLSSettings(cert=cert)
    parts: list[bytes] = []
    try:
        for ca in cas:
            with open(ca, "rb") as fh:
                parts.append(fh.read())
    except OSError as exc:
        raise RegistryError(
            f"cannot read CA certificates in {directory}: {exc.strerror}", registry=host
        ) from None
    return TLSSettings(ca_pem=b"\n".join(parts), cert=cert)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests -> urllib3 -> OSError)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        stack.extend(a for a in e.args if isinstance(a, BaseException))
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
        for linked in (e.__cause__, e.__context__):
            if linked is not None:
                stack.append(linked)


def _classify(exc: BaseException) -> str:
    """``refused``, ``dns``, ``tls``, ``tls-cert``, ``tls-alert``, ``timeout``,
    ``connect-timeout`` or ``reset``."""
    import requests.exceptions as rex

    chain = list(_causes(exc))
    if any(
        isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED
        for e in chain
    ):
        return "refused"
    if any(type(e).__name__ == "gaierror" or "NameResolutionError" in type(e).__name__ for e in chain):
        return "dns"
    if isinstance(exc, rex.SSLError):
        text = " ".join(str(e) for e in chain)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "tls-cert"  # the registry's certificate is not trusted here
        if "ALERT" in text.upper():
            return "tls-alert"  # the registry refused us (e.g. no or a wrong client certificate)
        return "tls"
    if isinstance(exc, rex.ConnectTimeout):
        return "connect-timeout"
    if isinstance(exc, rex.Timeout):
        return "timeout"
    return "reset"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(value)
        return max(when.timestamp() - time.time(), 0.0)
    return None


def error_details(resp: requests.Response) -> tuple[str, str]:
    """``(code, text)`` of an error answer: the first OCI error code and message, else the
    start of a plain body. Reads at most 64 KiB."""
    try:
        raw = resp.raw.read(_ERROR_BODY_LIMIT, decode_content=True) if resp.raw is not None else b""
    except Exception:  # the body of an error is a courtesy; a broken one must not hide the status
        raw = b""
    with contextlib.suppress(ValueError, AttributeError, TypeError, IndexError):
        doc = json.loads(raw)
        first = doc["errors"][0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
        return code, f"{code}: {message}" if code else message
    text = raw.decode("utf-8", errors="replace").strip().splitlines()
    return "", text[0][:200] if text else ""


class _Unreachable(Exception):
    """No (complete) answer to a request: ``kind`` from :func:`_classify`. Never escapes."""

    def __init__(self, kind: str, budget: Budget) -> None:
        super().__init__(kind)
        self.kind = kind
        self.budget = budget


class Transport:
    """Requests to one registry, authorized, retried and turned into typed errors.

    The endpoint (https, or http where allowed) is chosen by the first request, which pings
    ``/v2/``. Thread-safe: share one Transport between the threads of one operation.
    """

    def __init__(
        self,
        registry: str,
        *,
        credentials: Credentials | Callable[[], Credentials | None] | None = None,
        tls_verify: bool | None = None,
        cert_dir: str | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        pool_size: int = 8,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.registry = registry
        self.host = api_host(registry)
        self.tls_verify = tls_verify
        self.retry = retry or RetryPolicy()
        self.timeout = (connect_timeout, read_timeout)
        self.authorizer = Authorizer(registry, credentials, self._fetch_token)
        self._tls = tls_settings(self.host, cert_dir, env)
        self._pool_size = pool_size
        self._session: requests.Session | None = None
        self._base: str | None = None
        self._lock = threading.Lock()
        self._ping_lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ session and endpoint

    def _get_session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                if self._closed:
                    raise RegistryError("client is closed", registry=self.registry)
                self._session = _new_session(
                    self.host, self.tls_verify is not False, self._pool_size, self._tls.ca_pem
                )
                self._session.cert = self._tls.cert
            return self._session

    def _candidates(self) -> list[str]:
        if self.tls_verify is False or (self.tls_verify is None and is_loopback(self.host)):
            return ["https", "http"]
        return ["https"]

    def _verify_for(self, url: str) -> bool:
        return not (url.startswith("http://") or self.tls_verify is False)

    @property
    def base_url(self) -> str:
        """``scheme://host``, pinging the registry to choose the scheme on first use."""
        if self._base is None:
            self.ping()
        assert self._base is not None
        return self._base

    def ping(self) -> int:
        """GET ``/v2/`` on each allowed endpoint until one answers as a registry; returns its
        status (200, or 401 when it wants credentials). Raises RegistryError (unreachable,
        TLS refused, not a registry)."""
        with self._ping_lock:
            candidates = self._candidates()
            for i, scheme in enumerate(candidates):
                url = f"{scheme}://{self.host}/v2/"
                try:
                    resp = self._attempts("GET", url, headers={}, what="ping")
                except _Unreachable as exc:
                    # fall back to http only when the far end does not speak TLS (or the user
                    # waived verification): a certificate failure is an answer, not a fallback
                    if i + 1 < len(candidates) and (
                        exc.kind == "tls" or (self.tls_verify is False and exc.kind == "tls-cert")
                    ):
                        _log.debug("ping %s: %s; trying %s", url, exc.kind, candidates[i + 1])
                        continue
                    raise self._connection_error(exc, "GET", url, "ping", "") from None
                with resp:
                    if resp.status_code in (200, 401):
                        if resp.status_code == 401:
                            self.authorizer.learn(resp.headers.get("WWW-Authenticate"))
                        self._base = f"{scheme}://{self.host}"
                        return resp.status_code
                    code, text = error_details(resp)
                    raise RegistryError(
                        f"{url} answered HTTP {resp.status_code}{f' ({text})' if text else ''}: "
                        "not a registry (v2 API)",
                        registry=self.registry,
                        status=resp.status_code,
                        code=code,
                    )
            raise AssertionError("unreachable: the last candidate raises")

    # ------------------------------------------------------------------ requests

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (``/v2/...``) or for a registry-given ``Location``."""
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url + "/", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: Scope,
        repository: str = "",
        what: str = "",
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        stream: bool = False,
        expect: Container[int] = (200,),
        digest: str | None = None,
        budget: Budget | None = None,
        resend: bool = True,
    ) -> requests.Response:
        """Send one request, authorized for ``scope``, retried per the policy (or ``budget``).

        Returns the response when its status is in ``expect``; the caller closes it when
        ``stream``. ``resend=False`` sends again after 429/5xx but not after a lost
        connection (an upload chunk may have half-arrived: the caller asks the registry what it
        has). Raises RegistryAuthError (401/403), RegistryNotFoundError (404), RegistryError
        (anything else, unreachable, retries spent; ``status`` None when no answer came).
        """
        url = self.url(path)
        auth_rounds = 0
        authorization = self.authorizer.authorization(scope)
        budget = budget or Budget(self.retry)
        while True:
            sent = dict(headers or {})
            if authorization:
                sent["Authorization"] = authorization
            with self._reachable(method, url, what, repository):
                resp = self._attempts(
                    method,
                    url,
                    headers=sent,
                    params=params,
                    body=body,
                    stream=stream,
                    what=what,
                    budget=budget,
                    resend=resend,
                )
            if resp.status_code == 401 and auth_rounds < 2:
                auth_rounds += 1
                challenge = resp.headers.get("WWW-Authenticate")
                resp.close()
                authorization = self.authorizer.challenged(
                    challenge, scope, authorization, repository=repository
                )
                continue
            if resp.status_code in expect:
                return resp
            with resp:
                raise self.status_error(
                    resp, method, what, repository=repository, digest=digest, budget=budget
                )

    @contextlib.contextmanager
    def _reachable(self, method: str, url: str, what: str, repository: str) -> Iterator[None]:
        """Turn a request that got no answer (:meth:`_attempts`) into a RegistryError."""
        try:
            yield
        except _Unreachable as exc:
            raise self._connection_error(exc, method, url, what, repository) from None

    def _attempts(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        stream: bool = False,
        what: str = "",
        budget: Budget | None = None,
        resend: bool = True,
    ) -> requests.Response:
        """Send until an answer that is not retryable, or tries/time run out (then the last
        answer is returned, or _Unreachable raised). A refused connection is never retried."""
        import requests

        session = self._get_session()
        verify = self._verify_for(url)
        budget = budget or Budget(self.retry)
        while True:
            budget.take()
            try:
                resp = session.request(
                    method,
                    url,
                    headers=headers,
                    params=params,
                    data=body,
                    stream=stream,
                    verify=verify,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                kind = _classify(exc)
                wait = budget.next_wait(None) if resend and kind in ("reset", "timeout") else None
                if wait is None:
                    raise _Unreachable(kind, budget) from exc
                _log.info("%s %s: connection lost; retrying in %.1f s", method, _path(url), wait)
                time.sleep(wait)
                continue
            if resp.status_code not in budget.policy.statuses:
                return resp
            asked = _retry_after(resp.headers.get("Retry-After"))
            wait = budget.next_wait(asked)
            if wait is None:
                if asked is not None and budget.used < budget.policy.attempts:
                    resp.close()
                    raise RegistryError(
                        f"{what or method}: HTTP {resp.status_code}; the registry asks to retry after "
                        f"{asked:.0f} s, beyond the {budget.policy.budget:.0f} s budget",
                        registry=self.registry,
                        status=resp.status_code,
                    )
                return resp
            _log.info("%s %s: HTTP %d; retrying in %.1f s", method, _path(url), resp.status_code, wait)
            resp.close()
            time.sleep(wait)

    # ------------------------------------------------------------------ errors

    def _connection_error(
        self, exc: _Unreachable, method: str, url: str, what: str, repository: str
    ) -> RegistryError:
        """A RegistryError for a request that got no (complete) answer."""
        where = url.split("/v2/", 1)[0] if "/v2/" in url else url.split("?", 1)[0]
        op = what or method
        kind = exc.kind
        if kind == "refused":
            msg = f"{op}: connection refused by {where}: is a registry listening there?"
        elif kind == "dns":
            msg = f"{op}: cannot resolve the host of {where}"
        elif kind == "tls-cert":
            msg = (
                f"{op}: the TLS certificate of {where} is not trusted; give its CA with cert_dir "
                "(--cert-dir) or waive verification with tls_verify=False (--tls-verify=false)"
            )
        elif kind == "tls-alert":
            msg = (
                f"{op}: {where} refused the TLS handshake; if it wants a client certificate, put "
                "NAME.cert and NAME.key in cert_dir (--cert-dir)"
            )
        elif kind == "tls":
            msg = f"{op}: TLS handshake with {where} failed (does it speak https?)"
        elif kind == "connect-timeout":
            msg = f"{op}: no connection to {where} within {self.timeout[0]:.0f} s"
        elif kind == "timeout":
            msg = (
                f"{op}: {where} did not answer within {self.timeout[1]:.0f} s ({exc.budget.used} attempt(s))"
            )
        else:
            msg = f"{op}: connection to {where} lost ({exc.budget.used} attempt(s))"
        return RegistryError(msg, registry=self.registry, repository=repository)

    def status_error(
        self,
        resp: requests.Response,
        method: str,
        what: str,
        *,
        repository: str = "",
        digest: str | None = None,
        budget: Budget | None = None,
    ) -> RegistryError:
        """The typed error for an unexpected status (the response is read, not closed)."""
        code, text = error_details(resp)
        status = resp.status_code
        op = what or f"{method} {_path(resp.url or '')}"
        detail = f" ({text})" if text else ""
        tries = f" after {budget.used} attempts" if budget and budget.used > 1 else ""
        msg = f"{op}: HTTP {status} {resp.reason or ''}".rstrip() + detail + tries
        cls: type[RegistryError]
        if status in (401, 403):
            cls = RegistryAuthError
        elif status == 404:
            cls = RegistryNotFoundError
        else:
            cls = RegistryError
        return cls(
            msg, registry=self.registry, repository=repository, status=status, digest=digest, code=code
        )

    # ------------------------------------------------------------------ tokens and lifetime

    def _fetch_token(
        self,
        method: str,
        url: str,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        form: dict[str, str] | None,
    ) -> TokenResponse:
        import requests

        sent = dict(headers)
        body: bytes | None = None
        if form is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            body = _form(form)
        with self._reachable(method, url, "token request", ""):
            resp = self._attempts(method, url, headers=sent, params=params, body=body, what="token request")
        with resp:
            doc: Any = None
            with contextlib.suppress(ValueError, requests.RequestException):
                doc = resp.json()
            return TokenResponse(status=resp.status_code, body=doc if isinstance(doc, dict) else None)

    def close(self) -> None:
        """Close connections. Idempotent."""
        with self._lock:
            self._closed = True
            session, self._session = self._session, None
        if session is not None:
            session.close()


def _form(form: dict[str, str]) -> bytes:
    return urlencode(form).encode()


def _path(url: str) -> str:
    """A URL's path without host and query (upload URLs carry state tokens in the query)."""
    rest = url.split("://", 1)[-1]
    path = rest[rest.find("/") :] if "/" in rest else "/"
    return path.split("?", 1)[0]


def _new_session(host: str, tls_verify: bool, pool_size: int, ca_pem: bytes = b"") -> requests.Session:
    # oras-py builds the session (cookies refused: Harbor answers cookies with CSRF demands);
    # its own request path (Registry.do_request) is not used, see the module docstring.
    import oras.provider
    from requests.adapters import HTTPAdapter

    session: requests.Session = oras.provider.Registry(hostname=host, tls_verify=tls_verify).session
    adapter: HTTPAdapter
    if ca_pem:
        # The extra CAs go into an SSL context of our own; requests still loads its default
        # bundle into it (verify=True), so both are trusted, and no CA file is written.
        context = ssl.create_default_context()
        try:
            context.load_verify_locations(cadata=ca_pem.decode("ascii", "replace"))
        except ssl.SSLError as exc:
            raise RegistryError(
                f"bad CA certificate in the certificate directory: {exc}", registry=host
            ) from None

        class ContextAdapter(HTTPAdapter):
            def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                kwargs["ssl_context"] = context
                super().init_poolmanager(*args, **kwargs)

        adapter = ContextAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    else:
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "ocitool"
    return session
