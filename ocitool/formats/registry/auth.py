"""Registry credentials and authorization: where skopeo and docker find credentials, and the
Basic and Bearer (token) schemes of the distribution spec.

Credentials
    :func:`find_credentials` looks where skopeo looks (containers/image ``pkg/docker/config``):
    the file named by ``--authfile`` or ``$REGISTRY_AUTH_FILE`` (else
    ``$XDG_RUNTIME_DIR/containers/auth.json``), ``$XDG_CONFIG_HOME/containers/auth.json``,
    ``$DOCKER_CONFIG/config.json`` (else ``~/.docker/config.json``), then ``~/.dockercfg``.
    In each file ``credHelpers`` wins for its registry, then ``credsStore`` (docker's global
    helper), then ``auths`` (``auth`` base64, ``username``/``password``, ``identitytoken``;
    keys may name a repository or namespace, as containers-auth.json allows, or a URL, as
    old ``docker login`` wrote). oras-py reads ``~/.docker/config.json`` alone and keys helpers
    by the exact host (upstream oras-py issue #222); this module replaces its lookup.

Authorization
    :class:`Authorizer` answers ``WWW-Authenticate`` challenges. Bearer tokens are fetched
    from the challenge's realm (docker's token spec: GET with Basic credentials; OAuth2
    ``refresh_token`` POST when the credentials are an identity token) and cached **per scope**:
    oras-py's ``TokenAuth`` keeps one token and sends it for every repository and action, so a
    token granted ``pull`` on one repository is replayed for a push to another.

Secrets (passwords, identity tokens, bearer tokens) appear in no ``repr``, message or log.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from ocitool._io.jsondoc import load_json
from ocitool._record import field, record
from ocitool.errors import InvalidCredentialsError, InvalidDocumentError, RegistryAuthError

__all__ = [
    "Authorizer",
    "Challenge",
    "Credentials",
    "Scope",
    "TokenFetch",
    "TokenResponse",
    "auth_file_paths",
    "find_credentials",
    "parse_challenges",
    "parse_creds",
    "repository_scope",
]

_log = logging.getLogger("ocitool.registry")

# Docker Hub's key in docker's config.json and for credential helpers (moby registry.IndexServer).
_HUB_SERVER: Final = "https://index.docker.io/v1/"
_HUB_NAMES: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HELPER_TIMEOUT: Final = 30.0
# A token without expires_in lives 60 s (docker token spec); refresh a little early.
_DEFAULT_TOKEN_LIFETIME: Final = 60.0
_TOKEN_EARLY: Final = 5.0
_CLIENT_ID: Final = "ocitool"

Scope = tuple[str, ...]
"""Resource scopes, ``("repository:library/alpine:pull",)``, as the token spec writes them."""


@record(frozen=True)
class Credentials:
    """A user name and password, or an identity (refresh) token; ``source`` says where they came
    from (a file path or ``docker-credential-NAME``) for messages. Secrets stay out of ``repr``."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    source: str = ""

    def basic_header(self) -> str | None:
        """``Basic base64(user:password)``, or None for an identity token or no user."""
        if not self.username or self.identity_token:
            return None
        # oras-py's encoding (UTF-8, standard base64) is right; imported here, on first use,
        # because oras pulls requests and jsonschema in (~0.7 s)
        from oras.auth.utils import get_basic_auth

        return f"Basic {get_basic_auth(self.username, self.password)}"


def parse_creds(value: str, *, source: str = "--creds") -> Credentials:
    """``USER:PASSWORD`` as skopeo's ``--creds`` takes it (the password may hold colons).

    Raises InvalidCredentialsError (without echoing the value) when there is no ``:`` or no user.
    """
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise InvalidCredentialsError(source, "credentials must be USERNAME:PASSWORD")
    return Credentials(username=user, password=password, source=source)


def repository_scope(repository: str, *, push: bool = False, mount_from: Iterable[str] = ()) -> Scope:
    """The scopes a request on ``repository`` needs (plus ``pull`` on mount sources)."""
    own = f"repository:{repository}:{'pull,push' if push else 'pull'}"
    return (own, *(f"repository:{src}:pull" for src in mount_from if src != repository))


def _normalise_scope(scopes: Iterable[str]) -> Scope:
    """One entry per resource with its actions merged and sorted; entries sorted (a cache key)."""
    merged: dict[str, set[str]] = {}
    for item in scopes:
        for part in item.split():
            resource, _, actions = part.rpartition(":")
            if not resource:
                merged.setdefault(part, set())
                continue
            merged.setdefault(resource, set()).update(a for a in actions.split(",") if a)
    return tuple(sorted(f"{r}:{','.join(sorted(a))}" if a else r for r, a in merged.items()))


def _covers(have: Scope, need: Scope) -> bool:
    """Whether a token asked for ``have`` was asked for everything in ``need`` (a push token
    serves the pulls of the same repository)."""
    granted: dict[str, set[str]] = {}
    for item in have:
        resource, _, actions = item.rpartition(":")
        granted[resource] = set(actions.split(","))
    for item in need:
        resource, _, actions = item.rpartition(":")
        if not set(actions.split(",")) <= granted.get(resource, set()):
            return False
    return True


# ----------------------------------------------------------------------------- credential files


def auth_file_paths(
    authfile: str | None = None, env: Mapping[str, str] | None = None
) -> list[tuple[str, bool]]:
    """The files to search, in skopeo's order, as ``(path, legacy_format)``.

    ``authfile`` (``--authfile``) or ``$REGISTRY_AUTH_FILE`` replaces the first one,
    ``$XDG_RUNTIME_DIR/containers/auth.json`` (``/run/containers/UID/auth.json`` without it).
    """
    env = os.environ if env is None else env
    home = env.get("HOME") or os.path.expanduser("~")
    first = authfile or env.get("REGISTRY_AUTH_FILE", "")
    if not first:
        runtime = env.get("XDG_RUNTIME_DIR", "")
        first = (
            os.path.join(runtime, "containers", "auth.json")
            if runtime
            else f"/run/containers/{os.getuid()}/auth.json"
        )
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    docker_config = env.get("DOCKER_CONFIG")
    return [
        (first, False),
        (os.path.join(config_home, "containers", "auth.json"), False),
        (
            os.path.join(docker_config, "config.json")
            if docker_config
            else os.path.join(home, ".docker", "config.json"),
            False,
        ),
        (os.path.join(home, ".dockercfg"), True),
    ]


def _normalise_registry(key: str) -> str:
    """A config key (``https://index.docker.io/v1/``, ``myreg:5000``) as a host; Hub's names as one."""
    host = key
    for prefix in ("http://", "https://"):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/", 1)[0]
    return "index.docker.io" if host in _HUB_NAMES else host


def _helper_server(registry: str) -> str:
    return _HUB_SERVER if registry in _HUB_NAMES else registry


def _read_config(path: str, legacy: bool) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryAuthError(f"cannot read credentials file {path}: {exc.strerror}", registry="") from None
    doc = load_json(raw, path=path)
    if not isinstance(doc, dict):
        raise InvalidDocumentError("credentials file is not a JSON object", path=path, field="/")
    if legacy:
        return {"auths": doc}
    return doc


def _decode_entry(entry: Any, path: str, key: str) -> Credentials | None:
    if not isinstance(entry, dict):
        raise InvalidDocumentError("auth entry is not an object", path=path, field=f"/auths/{key}")
    user = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            # the value is a secret: name the field, never echo it
            raise InvalidDocumentError(
                "auth is not base64 of USER:PASSWORD", path=path, field=f"/auths/{key}/auth"
            ) from None
        u, sep, p = decoded.partition(":")
        if sep:
            # docker pads with NULs in some old files (containers/image trims them too)
            user, password = u, p.strip("\x00")
    identity = str(entry.get("identitytoken") or "")
    if identity:
        return Credentials(username=user, identity_token=identity, source=path)
    if user and password:
        return Credentials(username=user, password=password, source=path)
    return None


def _keys_for(registry: str, repository: str) -> list[str]:
    """``reg/ns/repo``, ``reg/ns``, ``reg``: containers-auth.json matches the longest first."""
    keys: list[str] = []
    name = f"{registry}/{repository}" if repository else registry
    while True:
        keys.append(name)
        if "/" not in name:
            return keys
        name = name.rsplit("/", 1)[0]


HelperRunner = Callable[[str, str], "Credentials | None"]


def run_credential_helper(helper: str, server: str) -> Credentials | None:
    """``docker-credential-HELPER get`` with ``server`` on stdin; None when it has nothing.

    Raises RegistryAuthError when the helper is missing or fails otherwise. Its stdout holds
    the secret and is never logged; its stderr is quoted (one line) in the error.
    """
    exe = f"docker-credential-{helper}"
    try:
        proc = subprocess.run(
            [exe, "get"], input=server.encode(), capture_output=True, timeout=_HELPER_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise RegistryAuthError(f"credential helper {exe} is not on PATH", registry=server) from None
    except subprocess.TimeoutExpired:
        raise RegistryAuthError(
            f"credential helper {exe} did not answer in {_HELPER_TIMEOUT:.0f} s", registry=server
        ) from None
    if proc.returncode != 0:
        text = (proc.stdout or proc.stderr).decode(errors="replace").strip().splitlines()
        first = text[0][:200] if text else f"exit status {proc.returncode}"
        if "credentials not found" in first.lower():
            return None
        raise RegistryAuthError(f"credential helper {exe} failed: {first}", registry=server)
    try:
        doc = json.loads(proc.stdout)
        user, secret = str(doc.get("Username") or ""), str(doc.get("Secret") or "")
    except (ValueError, AttributeError):
        raise RegistryAuthError(
            f"credential helper {exe} printed no JSON credentials", registry=server
        ) from None
    if not secret:
        return None
    if user == "<token>":
        # docker's convention: the secret is an identity token
        return Credentials(identity_token=secret, source=exe)
    return Credentials(username=user, password=secret, source=exe)


def _from_file(
    doc: dict[str, Any], path: str, registry: str, repository: str, legacy: bool, helper: HelperRunner
) -> Credentials | None:
    norm = _normalise_registry(registry)
    helpers = doc.get("credHelpers") or {}
    if isinstance(helpers, dict):
        for key, name in helpers.items():
            if isinstance(name, str) and name and (key == registry or _normalise_registry(key) == norm):
                return helper(name, _helper_server(registry))
    store = doc.get("credsStore")
    if isinstance(store, str) and store:
        found = helper(store, _helper_server(registry))
        if found is not None:
            return found
    auths = doc.get("auths") or {}
    if not isinstance(auths, dict):
        raise InvalidDocumentError("auths is not an object", path=path, field="/auths")
    for key in [registry] if legacy else _keys_for(registry, repository):
        if key in auths:
            return _decode_entry(auths[key], path, key)
    for key, entry in auths.items():
        if _normalise_registry(key) == norm:
            return _decode_entry(entry, path, key)
    return None


def find_credentials(
    registry: str,
    repository: str = "",
    *,
    authfile: str | None = None,
    env: Mapping[str, str] | None = None,
    helper: HelperRunner = run_credential_helper,
) -> Credentials | None:
    """Credentials for ``registry`` (``docker.io`` for Docker Hub), or None (anonymous).

    Searches :func:`auth_file_paths` in order; the first file with an answer wins. Raises
    InvalidDocumentError for a malformed file and RegistryAuthError for a failing helper.
    """
    for path, legacy in auth_file_paths(authfile, env):
        doc = _read_config(path, legacy)
        if doc is None:
            continue
        found = _from_file(doc, path, registry, repository, legacy, helper)
        if found is not None:
            _log.debug("credentials for %s from %s", registry, found.source)
            return found
    return None


# ----------------------------------------------------------------------------- challenges

_TOKEN68: Final = re.compile(r"\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)")
_PARAM: Final = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*,?')


@record(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: ``scheme`` lower-cased, parameters by lower-case name."""

    scheme: str
    params: dict[str, str]


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value (RFC 7235: several challenges, quoted strings with
    escapes, unquoted tokens). oras-py's parser keeps quoted ``key="value"`` pairs and drops
    the scheme, so it cannot tell Basic from Bearer."""
    out: list[Challenge] = []
    pos = 0
    while pos < len(header):
        m = _TOKEN68.match(header, pos)
        if not m:
            break
        scheme, pos = m.group(1).lower(), m.end()
        params: dict[str, str] = {}
        while pos < len(header):
            pm = _PARAM.match(header, pos)
            if not pm:
                break
            # a bare word followed by '=' is a parameter; one followed by a space is the next scheme
            params[pm.group(1).lower()] = (
                re.sub(r"\\(.)", r"\1", pm.group(2)) if pm.group(2) is not None else pm.group(3)
            )
            pos = pm.end()
        out.append(Challenge(scheme, params))
        while pos < len(header) and header[pos] in " ,":
            pos += 1
    return out


# ----------------------------------------------------------------------------- tokens


@record(frozen=True)
class TokenResponse:
    """What a token endpoint answered: ``status`` and its JSON body (None when not JSON)."""

    status: int
    body: dict[str, Any] | None


TokenFetch = Callable[
    [str, str, "list[tuple[str, str]]", "dict[str, str]", "dict[str, str] | None"], TokenResponse
]
"""``fetch(method, url, query_params, headers, form) -> TokenResponse``: the transport's HTTP."""


@record
class _Token:
    value: str = field(repr=False)
    expires: float
    scope: Scope = ()


class Authorizer:
    """The ``Authorization`` header for each request to one registry.

    Until the registry challenges, requests go without one. A Basic challenge makes every
    later request carry Basic credentials; a Bearer challenge records realm and service, after
    which each request carries a token for exactly its scope, fetched once per scope and reused
    until it expires. Thread-safe; a token is fetched once even when several threads need it.
    """

    def __init__(
        self,
        registry: str,
        credentials: Credentials | Callable[[], Credentials | None] | None,
        fetch: TokenFetch,
    ) -> None:
        self.registry = registry
        # a callable is asked once, on first need: anonymous pulls never run a credential helper
        self._credentials = credentials
        self._resolved = not callable(credentials)
        self._fetch = fetch
        self._scheme = ""  # "", "basic" or "bearer"
        self._realm = ""
        self._service = ""
        self._tokens: dict[Scope, _Token] = {}
        # re-entrant: fetching a token (under the lock) reads the lazily resolved credentials
        self._lock = threading.RLock()
        self.token_requests = 0  # how many tokens were fetched (observability, tests)

    @property
    def credentials(self) -> Credentials | None:
        """The credentials in use (looked up on first access when given as a callable)."""
        if not self._resolved:
            with self._lock:
                if not self._resolved and callable(self._credentials):
                    self._credentials = self._credentials()
                self._resolved = True
        value = self._credentials
        return value if isinstance(value, Credentials) else None

    def authorization(self, scope: Scope) -> str | None:
        """The header to send up front for ``scope``, once the scheme is known; may fetch a token."""
        if self._scheme == "basic":
            return self.credentials.basic_header() if self.credentials else None
        if self._scheme == "bearer":
            return f"Bearer {self._token(_normalise_scope(scope), refresh_from=None)}"
        return None

    def learn(self, header: str | None) -> None:
        """Note the scheme a ``/v2/`` ping's 401 asks for, fetching nothing yet."""
        by_scheme = {c.scheme: c for c in parse_challenges(header or "")}
        with self._lock:
            if "bearer" in by_scheme and by_scheme["bearer"].params.get("realm"):
                params = by_scheme["bearer"].params
                self._scheme, self._realm, self._service = (
                    "bearer",
                    params["realm"],
                    params.get("service", ""),
                )
            elif "basic" in by_scheme and self.credentials and self.credentials.basic_header():
                self._scheme = "basic"

    def challenged(self, header: str | None, scope: Scope, sent: str | None, *, repository: str = "") -> str:
        """The header to retry with after a 401 carrying ``header``; ``sent`` is what was sent.

        Raises RegistryAuthError when the registry asks for something we cannot give
        (no credentials, rejected credentials, a scheme other than Basic/Bearer).
        """
        challenges = parse_challenges(header or "")
        by_scheme = {c.scheme: c for c in challenges}
        if "bearer" in by_scheme:
            ch = by_scheme["bearer"]
            realm = ch.params.get("realm", "")
            if not realm:
                raise RegistryAuthError(
                    "Bearer challenge without a realm", registry=self.registry, status=401
                )
            wanted = _normalise_scope((*scope, ch.params.get("scope", "")))
            with self._lock:
                self._scheme, self._realm, self._service = "bearer", realm, ch.params.get("service", "")
            stale = sent[len("Bearer ") :] if sent and sent.startswith("Bearer ") else None
            if (
                stale is not None
                and ch.params.get("error") == "insufficient_scope"
                and self._asked_for(stale, wanted)
            ):
                # the token server was asked for exactly this and granted less: another token
                # would be the same
                who = (
                    f"credentials from {self.credentials.source}"
                    if self.credentials
                    else "anonymous requests"
                )
                raise RegistryAuthError(
                    f"access to {' '.join(wanted)} denied to {who}"
                    + ("" if self.credentials else " (no credentials found)"),
                    registry=self.registry,
                    repository=repository,
                    status=401,
                )
            key = _normalise_scope(scope)
            token = self._token(wanted, refresh_from=stale)
            if wanted != key:
                with self._lock:
                    self._tokens[key] = self._tokens[wanted]
            return f"Bearer {token}"
        if "basic" in by_scheme:
            basic = self.credentials.basic_header() if self.credentials else None
            if basic is None:
                raise RegistryAuthError(
                    "authentication required and no credentials found (use --creds or --authfile, or log in)",
                    registry=self.registry,
                    repository=repository,
                    status=401,
                )
            if sent == basic:
                raise RegistryAuthError(
                    f"credentials from {self.credentials.source if self.credentials else '?'} were rejected",
                    registry=self.registry,
                    repository=repository,
                    status=401,
                )
            with self._lock:
                self._scheme = "basic"
            return basic
        schemes = ", ".join(c.scheme for c in challenges) or "none"
        raise RegistryAuthError(
            f"unsupported authentication scheme(s): {schemes}",
            registry=self.registry,
            repository=repository,
            status=401,
        )

    def _asked_for(self, token: str, scope: Scope) -> bool:
        """Whether ``token`` was fetched for a scope covering ``scope``."""
        with self._lock:
            return any(t.value == token and _covers(t.scope, scope) for t in self._tokens.values())

    def _token(self, scope: Scope, *, refresh_from: str | None) -> str:
        with self._lock:
            now = time.monotonic()
            for key in [scope, *(k for k in self._tokens if k != scope and _covers(k, scope))]:
                cached = self._tokens.get(key)
                if cached is None:
                    continue
                if cached.value == refresh_from or cached.expires <= now:
                    del self._tokens[key]
                    continue
                return cached.value
            token = self._request_token(scope)
            self._tokens[scope] = token
            return token.value

    def _request_token(self, scope: Scope) -> _Token:
        creds = self.credentials
        params: list[tuple[str, str]] = []
        if self._service:
            params.append(("service", self._service))
        headers = {"Accept": "application/json"}
        form: dict[str, str] | None = None
        if creds is not None and creds.identity_token:
            # OAuth2 refresh-token grant (docker's identitytoken; distribution docs/spec/auth/oauth)
            method = "POST"
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": _CLIENT_ID,
                "scope": " ".join(scope),
            }
            if self._service:
                form["service"] = self._service
        else:
            method = "GET"
            params.extend(("scope", s) for s in scope)
            basic = creds.basic_header() if creds else None
            if basic is not None and creds is not None:
                headers["Authorization"] = basic
                params.append(("account", creds.username))
        started = time.monotonic()
        self.token_requests += 1
        resp = self._fetch(method, self._realm, params, headers, form)
        if resp.status in (401, 403):
            who = f"credentials from {creds.source}" if creds else "anonymous access"
            raise RegistryAuthError(
                f"token server {self._realm} refused {who} for "
                f"{' '.join(scope) or 'the registry'} (HTTP {resp.status})",
                registry=self.registry,
                status=resp.status,
            )
        body = resp.body or {}
        value = body.get("token") or body.get("access_token")
        if resp.status != 200 or not isinstance(value, str) or not value:
            raise RegistryAuthError(
                f"token server {self._realm} gave no token (HTTP {resp.status})",
                registry=self.registry,
                status=resp.status,
            )
        lifetime = body.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, (int, float)) and lifetime > 0
            else _DEFAULT_TOKEN_LIFETIME
        )
        _log.debug("token for %s scope %s, %.0f s", self.registry, " ".join(scope), seconds)
        return _Token(value=value, expires=started + max(seconds - _TOKEN_EARLY, 1.0), scope=scope)
