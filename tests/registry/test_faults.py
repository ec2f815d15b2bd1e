"""Faults, injected by a misbehaving proxy in front of a real registry: each is retried (within
5 attempts and 60 s) or reported clearly, and a dead port fails fast."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator

import pytest

from ocitool.errors import DigestMismatchError, RegistryError
from ocitool.formats.registry.client import PushOutcome, RegistryClient
from ocitool.formats.registry.transport import RetryPolicy
from ocitool.model import mediatypes as mt
from tests.registry import content, servers
from tests.registry.servers import Fault

pytestmark = pytest.mark.peers

BLOB_GET = r"/v2/faults/[^/]+/blobs/sha256:"
UPLOADS = r"/v2/faults/[^/]+/blobs/uploads/"


@pytest.fixture
def client(fault_proxy: servers.FaultProxy) -> Iterator[RegistryClient]:
    with RegistryClient(fault_proxy.host, chunk_size=1 << 20) as c:
        yield c


@pytest.fixture
def stored(registry: servers.Registry, request: pytest.FixtureRequest) -> content.Blob:
    """A 3 MiB blob pushed straight to the registry, in a repository named after the test."""
    blob = content.Blob(os.urandom(3 << 20))
    with RegistryClient(registry.host) as direct:
        direct.push_blob(_repo(request), blob.digest, len(blob.data), blob.data)
    return blob


def _repo(request: pytest.FixtureRequest) -> str:
    name: str = request.node.name
    return "faults/" + name.replace("_", "-").lower()[:60]


def test_429_with_retry_after_is_waited_for(
    client: RegistryClient,
    fault_proxy: servers.FaultProxy,
    stored: content.Blob,
    request: pytest.FixtureRequest,
) -> None:
    fault_proxy.add(Fault("GET", BLOB_GET, "status", status=429, retry_after="1"))
    started = time.monotonic()
    assert client.read_blob(_repo(request), stored.digest, len(stored.data), limit=1 << 30) == stored.data
    assert time.monotonic() - started >= 1.0
    assert fault_proxy.outcomes("GET", BLOB_GET) == ["fault 429", "200"]


def test_503_twice_then_success(
    client: RegistryClient,
    fault_proxy: servers.FaultProxy,
    stored: content.Blob,
    request: pytest.FixtureRequest,
) -> None:
    fault_proxy.add(Fault("HEAD", BLOB_GET, "status", times=2, status=503))
    assert client.blob_size(_repo(request), stored.digest) == len(stored.data)
    assert fault_proxy.outcomes("HEAD", BLOB_GET) == ["fault 503", "fault 503", "200"]


def test_500_is_reported_not_retried(
    client: RegistryClient,
    fault_proxy: servers.FaultProxy,
    stored: content.Blob,
    request: pytest.FixtureRequest,
) -> None:
    fault_proxy.add(Fault("GET", BLOB_GET, "status", status=500))
    with pytest.raises(RegistryError) as info:
        client.read_blob(_repo(request), stored.digest, len(stored.data), limit=1 << 30)
    err = info.value
    assert err.status == 500 and err.code == "UNAVAILABLE" and err.digest == stored.digest
    assert f"GET blob {stored.digest}: HTTP 500" in str(err)
    assert fault_proxy.outcomes("GET", BLOB_GET) == ["fault 500"]


def test_503_for_ever_gives_up_after_five_attempts(
    client: RegistryClient,
    fault_proxy: servers.FaultProxy,
    stored: content.Blob,
    request: pytest.FixtureRequest,
) -> None:
    fault_proxy.add(Fault("HEAD", BLOB_GET, "status", times=100, status=503))
    started = time.monotonic()
    with pytest.raises(RegistryError, match=r"HTTP 503 .* after 5 attempts") as info:
        client.blob_size(_repo(request), stored.digest)
    assert info.value.status == 503
    assert fault_proxy.outcomes("HEAD", BLOB_GET) == ["fault 503"] * 5
    assert time.monotonic() - started < 20  # 0.5 + 1 + 2 + 4 s of backoff


def test_retry_after_beyond_the_budget_fails_at_once(
    client: RegistryClient,
    fault_proxy: servers.FaultProxy,
    stored: content.Blob,
    request: pytest.FixtureRequest,
) -> None:
    fault_proxy.add(Fault("HEAD", BLOB_GET, "status", status=429, retry_after="3600"))
    started = time.monotonic()
    with pytest.raises(RegistryError, match="retry after 3600 s, beyond the 60 s budget"):
        client.blob_size(_repo(request), stored.digest)
    assert time.monotonic() - started < 5


def test_connection_cut_mid_blob_is_resumed_with_a_range(
    client: RegistryClient,
    fault_proxy: servers.FaultProxy,
    stored: content.Blob,
    request: pytest.FixtureRequest,
) -> None:
    fault_proxy.add(Fault("GET", BLOB_GET, "cut"))
    out = io.BytesIO()
    assert client.copy_blob(_repo(request), stored.digest, len(stored.data), out) == len(stored.data)
    assert out.getvalue() == stored.data
    # the first answer was cut; the second asked for the rest only
    assert fault_proxy.outcomes("GET", BLOB_GET) == ["cut", "206"]


def test_a_registry_that_ignores_range_is_read_again_from_the_start(
    client: RegistryClient,
    fault_proxy: servers.FaultProxy,
    stored: content.Blob,
    request: pytest.FixtureRequest,
) -> None:
    fault_proxy.add(Fault("GET", BLOB_GET, "cut"), Fault("GET", BLOB_GET, "no-range"))
    assert client.read_blob(_repo(request), stored.digest, len(stored.data), limit=1 << 30) == stored.data
    assert fault_proxy.outcomes("GET", BLOB_GET) == ["cut", "no-range"]


def test_wrong_bytes_for_a_blob_are_a_digest_error(
    client: RegistryClient,
    fault_proxy: servers.FaultProxy,
    stored: content.Blob,
    request: pytest.FixtureRequest,
) -> None:
    fault_proxy.add(Fault("GET", BLOB_GET, "corrupt"))
    out = io.BytesIO()
    with pytest.raises(DigestMismatchError) as info:
        client.copy_blob(_repo(request), stored.digest, len(stored.data), out)
    assert info.value.digest == stored.digest
    assert stored.digest in str(info.value) and _repo(request) in str(info.value)


def test_corrupted_manifest_is_a_digest_error(
    client: RegistryClient, fault_proxy: servers.FaultProxy, registry: servers.Registry
) -> None:
    config = content.Blob(b"{}", mt.OCI_CONFIG)
    with RegistryClient(registry.host) as direct:
        raw = content.push_image(direct, "faults/manifest", "v1", config, [])
    fault_proxy.add(Fault("GET", r"/manifests/", "corrupt"))
    with pytest.raises(DigestMismatchError, match="manifest digest mismatch"):
        client.get_manifest("faults/manifest", content.sha256(raw))


def test_lost_patch_is_resumed_from_the_upload_range(
    client: RegistryClient, fault_proxy: servers.FaultProxy, request: pytest.FixtureRequest
) -> None:
    blob = content.Blob(os.urandom((3 << 20) + 123))
    # the third chunk never reaches the registry; the client asks where the upload stands
    _drop_nth_patch(fault_proxy, 3)
    assert client.push_blob(_repo(request), blob.digest, len(blob.data), blob.data) is PushOutcome.UPLOADED
    assert fault_proxy.outcomes("POST", UPLOADS) == ["202"]  # one upload, resumed, not restarted
    assert fault_proxy.outcomes("GET", UPLOADS) == ["204"]
    assert fault_proxy.outcomes("PATCH", UPLOADS) == ["202", "202", "drop", "202", "202"]
    assert client.read_blob(_repo(request), blob.digest, limit=1 << 30) == blob.data


def _drop_nth_patch(proxy: servers.FaultProxy, n: int) -> None:
    """Make the ``n``-th PATCH vanish (a Fault matching only once the earlier ones passed)."""
    original = proxy.take

    def take(method: str, path: str) -> Fault | None:
        if method == "PATCH":
            take.seen += 1  # type: ignore[attr-defined]
            if take.seen == n:  # type: ignore[attr-defined]
                return Fault("PATCH", "", "drop")
            return None
        return original(method, path)

    take.seen = 0  # type: ignore[attr-defined]
    proxy.take = take  # type: ignore[method-assign]


def test_half_arrived_patch_restarts_the_upload(
    client: RegistryClient, fault_proxy: servers.FaultProxy, request: pytest.FixtureRequest
) -> None:
    blob = content.Blob(os.urandom((2 << 20) + 77))
    fault_proxy.add(Fault("PATCH", UPLOADS, "partial"))
    assert client.push_blob(_repo(request), blob.digest, len(blob.data), io.BytesIO(blob.data)) is (
        PushOutcome.UPLOADED
    )
    # distribution 2.8 cancels an upload whose size moved under its state: a new one starts
    assert fault_proxy.outcomes("POST", UPLOADS) == ["202", "202"]
    assert client.read_blob(_repo(request), blob.digest, limit=1 << 30) == blob.data


def test_lost_monolithic_put_starts_a_new_upload(
    client: RegistryClient, fault_proxy: servers.FaultProxy, request: pytest.FixtureRequest
) -> None:
    blob = content.Blob(os.urandom(1000))
    fault_proxy.add(Fault("PUT", UPLOADS, "drop"))
    assert client.push_blob(_repo(request), blob.digest, len(blob.data), blob.data) is PushOutcome.UPLOADED
    assert fault_proxy.outcomes("POST", UPLOADS) == ["202", "202"]
    assert fault_proxy.outcomes("PUT", UPLOADS) == ["drop", "201"]


def test_lost_answer_to_a_put_that_landed_is_not_uploaded_again(
    client: RegistryClient, fault_proxy: servers.FaultProxy, request: pytest.FixtureRequest
) -> None:
    blob = content.Blob(os.urandom(1000))
    fault_proxy.add(Fault("PUT", UPLOADS, "mute"))
    assert client.push_blob(_repo(request), blob.digest, len(blob.data), blob.data) is PushOutcome.UPLOADED
    assert fault_proxy.outcomes("POST", UPLOADS) == ["202"]
    assert fault_proxy.outcomes("PUT", UPLOADS) == ["mute"]
    assert fault_proxy.outcomes("HEAD", BLOB_GET) == ["404", "200"]  # before, and the check after


def test_a_late_loss_in_a_long_upload_still_has_its_retries(
    fault_proxy: servers.FaultProxy, request: pytest.FixtureRequest
) -> None:
    # more chunks than attempts: the policy applies per chunk, not to the whole upload
    blob = content.Blob(os.urandom(2 << 20))
    _drop_nth_patch(fault_proxy, 7)
    with RegistryClient(fault_proxy.host, chunk_size=256 << 10) as client:
        assert (
            client.push_blob(_repo(request), blob.digest, len(blob.data), blob.data) is PushOutcome.UPLOADED
        )
        assert client.read_blob(_repo(request), blob.digest, limit=1 << 30) == blob.data
    assert fault_proxy.outcomes("PATCH", UPLOADS).count("drop") == 1
    assert len(fault_proxy.outcomes("PATCH", UPLOADS)) == 9


def test_a_dead_port_fails_fast_and_clearly() -> None:
    port = servers.free_port()
    started = time.monotonic()
    with RegistryClient(f"127.0.0.1:{port}") as client, pytest.raises(RegistryError) as info:
        client.get_manifest("any/repo", "latest")
    assert time.monotonic() - started < 2.0
    assert "connection refused" in str(info.value) and f"127.0.0.1:{port}" in str(info.value)
    assert info.value.status is None


def test_a_refused_connection_is_never_retried() -> None:
    import oras.provider  # noqa: F401  (loaded up front: the timing below is the request's alone)

    port = servers.free_port()
    with RegistryClient(f"127.0.0.1:{port}", tls_verify=True, retry=RetryPolicy(backoff=1.0)) as client:
        started = time.monotonic()
        with pytest.raises(RegistryError, match="connection refused by https://"):
            client.ping()
        assert time.monotonic() - started < 0.9  # a retry would have waited 1 s first
