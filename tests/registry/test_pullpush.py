"""``ocitool pull`` and ``ocitool push`` on a store, against docker 20.10 + the v28 client pulling
and pushing the same images from the same registry (distribution 2.8 on 127.0.0.1, which docker
lets speak http). Also: a partial index refused before any upload, the bare ``--tls-verify``,
progress on a terminal, and unpack/export of a ``docker://`` SOURCE.

docker prints layer downloads as they finish, so lines of different layers interleave in any
order; the comparisons keep each layer's own sequence of statuses and every other line as is.
docker's ``Waiting`` (a layer queued behind docker's three concurrent downloads) is dropped:
ocitool does not print it. So is ``Verifying Checksum``: ocitool always prints it, docker's
transfer broadcaster keeps only a transfer's latest message and sometimes drops it.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import pytest

from ocitool.cli import main
from tests import peers
from tests.peers import FIXTURES
from tests.registry import servers
from tests.registry.servers import Fault

pytestmark = pytest.mark.peers

MULTI = FIXTURES / "oci" / "multiplatform"
GZIP_LAYOUT = FIXTURES / "oci" / "gzip"
SPARSE = FIXTURES / "containerd" / "sparse-amd64.tar"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def ok(*argv: str) -> str:
    code, out, err = cli(*argv)
    assert code == 0, err
    return out


def _shape(output: str) -> tuple[list[str], dict[str, list[str]]]:
    """(the lines that are not a layer's, in order; each layer's statuses in order)."""
    other: list[str] = []
    layers: dict[str, list[str]] = {}
    for line in output.splitlines():
        head, sep, status = line.partition(": ")
        if sep and len(head) == 12 and all(c in "0123456789abcdef" for c in head):
            if status not in ("Waiting", "Verifying Checksum"):
                layers.setdefault(head, []).append(status)
        else:
            other.append(line)
    return other, layers


def _image_with_layers(store: Path, tmp_path: Path, ref: str) -> None:
    """Fresh random content in one imported layer, in ``store`` as ``ref``."""
    member = tmp_path / f"{uuid.uuid4().hex}.tar"
    with tarfile.open(member, "w") as tar:
        for n in range(2):
            data = uuid.uuid4().hex.encode() * (n + 1)
            info = tarfile.TarInfo(f"dir/file{n}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    ok("--root", str(store), "import", str(member), ref)


def _forget(docker: peers.DockerDaemon, name: str) -> None:
    """Remove from the shared daemon every image a repository under ``name`` names (digest-only
    references too, which ``rmi`` of the tags leaves)."""
    out = docker.run("images", "--digests", "--no-trunc", "--format", "{{.Repository}} {{.ID}}").stdout
    docker.rmi(*sorted({i for r, i in (x.split() for x in out.decode().splitlines()) if r.startswith(name)}))


def _inspect_fields(doc: dict[str, object], name: str) -> dict[str, object]:
    """What a pull decides, with the names under ``name`` only (the daemon is shared)."""
    got = {k: doc[k] for k in ("Id", "Size", "RootFS", "Architecture", "Os")}
    for key in ("RepoTags", "RepoDigests"):
        values = doc[key]
        assert isinstance(values, list)
        got[key] = [v for v in values if v.startswith(name)]
    return got


@pytest.mark.oracle("docker", "docker-cli")
def test_pull_and_push_print_and_store_what_docker_does(
    registry: servers.Registry, docker_cli: peers.DockerDaemon, tmp_path: Path
) -> None:
    name = f"{registry.host}/pullpush/{uuid.uuid4().hex[:10]}"
    seed, mine = tmp_path / "seed", tmp_path / "mine"
    _image_with_layers(seed, tmp_path, f"{name}:1.0")
    pushed = ok("--root", str(seed), "push", f"{name}:1.0")
    assert pushed.splitlines()[0] == f"The push refers to repository [{name}]"
    try:
        # a first pull: layers downloaded
        theirs = docker_cli.run("pull", f"{name}:1.0").stdout.decode()
        ours = ok("--root", str(mine), "pull", f"{name}:1.0")
        assert _shape(ours) == _shape(theirs)
        assert "Status: Downloaded newer image for" in ours
        # again: nothing downloaded, up to date
        theirs = docker_cli.run("pull", f"{name}:1.0").stdout.decode()
        ours = ok("--root", str(mine), "pull", f"{name}:1.0")
        assert ours == theirs
        assert "Status: Image is up to date for" in ours
        # by digest: the same image, another reference
        digest = next(x for x in ours.splitlines() if x.startswith("Digest: "))[len("Digest: ") :]
        theirs = docker_cli.run("pull", f"{name}@{digest}").stdout.decode()
        ours = ok("--root", str(mine), "pull", f"{name}@{digest}")
        assert ours == theirs
        # the store shows it as docker does
        code, got, err = cli("--root", str(mine), "inspect", f"{name}:1.0")
        assert code == 0, err
        assert _inspect_fields(json.loads(got)[0], name) == _inspect_fields(
            docker_cli.inspect(f"{name}:1.0"), name
        )
        fmt = "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}"
        ours_images = ok("--root", str(mine), "images", "--digests", "--format", fmt)
        theirs_images = docker_cli.run("images", "--digests", "--format", fmt, name).stdout.decode()
        assert ours_images == theirs_images
        # push to another repository of the same registry: blobs mounted, same digest
        other = f"{name}-copy:2"
        docker_cli.run("tag", f"{name}:1.0", other)
        ok("--root", str(mine), "tag", f"{name}:1.0", other)
        theirs = docker_cli.run("push", other).stdout.decode()
        ours = ok("--root", str(mine), "push", other)
        assert _shape(ours)[0] == _shape(theirs)[0]  # header and "2: digest: ... size: N"
        statuses = {s[-1] for s in _shape(ours)[1].values()}
        assert statuses == {"Layer already exists"}  # docker pushed them a moment ago
        # and again to a fresh repository, from ours only: mounted from where it came
        third = f"{name}-third:3"
        ok("--root", str(mine), "tag", f"{name}:1.0", third)
        ours = ok("--root", str(mine), "push", third)
        repo = name.split("/", 1)[1]
        froms = {s[-1] for s in _shape(ours)[1].values()}
        assert len(froms) == 1 and froms <= {f"Mounted from {repo}", f"Mounted from {repo}-copy"}
        assert ours.splitlines()[-1] == f"3: digest: {digest} size: " + ours.split("size: ")[-1].strip()
        # RepoDigests after a push, as docker records them
        code, got, err = cli("--root", str(mine), "inspect", "--format", "{{json .RepoDigests}}", other)
        assert f"{name}-copy@{digest}" in json.loads(got)
        assert f"{name}-copy@{digest}" in docker_cli.inspect(other)["RepoDigests"]
    finally:
        _forget(docker_cli, name)


@pytest.mark.oracle("docker", "docker-cli")
def test_pull_of_an_index_picks_the_host_platform_or_the_asked_one(
    registry: servers.Registry, docker_cli: peers.DockerDaemon, tmp_path: Path
) -> None:
    name = f"{registry.host}/pullpush/multi-{uuid.uuid4().hex[:8]}"
    ok("convert", "--all", f"oci:{MULTI}", f"docker://{name}:v1")
    store = tmp_path / "store"
    try:
        for platform in (None, "linux/arm64"):
            flags = ["--platform", platform] if platform else []
            theirs = docker_cli.run("pull", *flags, f"{name}:v1").stdout.decode()
            ours = ok("--root", str(store), "pull", *flags, f"{name}:v1")
            # layer lines may say "Already exists" in the daemon (fixture layers seen before)
            assert _shape(ours)[0] == _shape(theirs)[0]
            got = json.loads(ok("--root", str(store), "inspect", f"{name}:v1"))[0]
            assert _inspect_fields(got, name) == _inspect_fields(docker_cli.inspect(f"{name}:v1"), name)
    finally:
        _forget(docker_cli, name)


def test_push_of_a_pulled_image_keeps_its_digest_and_skips_or_mounts_blobs(
    registry: servers.Registry, tmp_path: Path
) -> None:
    name = f"{registry.host}/pullpush/mount-{uuid.uuid4().hex[:8]}"
    seed, store = tmp_path / "seed", tmp_path / "store"
    _image_with_layers(seed, tmp_path, f"{name}:1")
    first = ok("--root", str(seed), "push", f"{name}:1")
    assert _shape(first)[1] and {s[-1] for s in _shape(first)[1].values()} == {"Pushed"}
    digest = first.splitlines()[-1].split("digest: ")[1].split()[0]
    pulled = ok("--root", str(store), "pull", f"{name}:1")
    assert f"Digest: {digest}" in pulled.splitlines()
    again = ok("--root", str(store), "push", f"{name}:1")
    assert {s for s in _shape(again)[1].values() for s in s[1:]} == {"Layer already exists"}
    assert again.splitlines()[-1] == first.splitlines()[-1]
    ok("--root", str(store), "tag", f"{name}:1", f"{name}-b:1")
    mounted = ok("--root", str(store), "push", f"{name}-b:1")
    repo = name.split("/", 1)[1]
    assert {s[-1] for s in _shape(mounted)[1].values()} == {f"Mounted from {repo}"}
    assert mounted.splitlines()[-1].split(" size:")[0] == f"1: digest: {digest}"
    # the library verbs do the same
    import ocitool

    result = ocitool.push(f"{name}-b:1", root=str(store))
    assert (str(result.digest), result.tag) == (digest, "1")
    assert ocitool.pull(f"{name}-b:1", root=str(store)).updated is False


def test_push_of_an_unknown_name_says_so_as_docker(registry: servers.Registry, tmp_path: Path) -> None:
    code, out, err = cli("--root", str(tmp_path / "s"), "push", f"{registry.host}/pullpush/nothere:1")
    assert code == 1
    assert out == f"The push refers to repository [{registry.host}/pullpush/nothere]\n"
    assert err == f"An image does not exist locally with the tag: {registry.host}/pullpush/nothere\n"


@pytest.mark.oracle("docker")
def test_pull_of_an_unknown_tag_says_so_as_docker(
    registry: servers.Registry, docker: peers.DockerDaemon, tmp_path: Path
) -> None:
    name = f"{registry.host}/pullpush/nothere:1"
    theirs = docker.run("pull", name, check=False)
    code, out, err = cli("--root", str(tmp_path / "s"), "pull", name)
    assert (code, out, err) == (theirs.returncode, theirs.stdout.decode(), theirs.stderr.decode())


def test_a_corrupted_layer_stores_nothing(
    registry: servers.Registry, fault_proxy: servers.FaultProxy, tmp_path: Path
) -> None:
    seed, store = tmp_path / "seed", tmp_path / "store"
    name = f"pullpush/corrupt-{uuid.uuid4().hex[:8]}:1"
    _image_with_layers(seed, tmp_path, f"{registry.host}/{name}")
    ok("--root", str(seed), "push", f"{registry.host}/{name}")
    fault_proxy.add(Fault("GET", r"/blobs/sha256:", "corrupt", times=100))
    code, _, err = cli("--root", str(store), "pull", f"{fault_proxy.host}/{name}")
    assert code == 1 and "sha256:" in err, err
    assert ok("--root", str(store), "images", "-q") == ""
    assert not list((store / "content" / "blobs" / "sha256").glob("*"))


def _catalog(registry: servers.Registry) -> list[str]:
    import urllib.request

    with urllib.request.urlopen(f"http://{registry.host}/v2/_catalog?n=1000") as resp:
        repos: list[str] = json.loads(resp.read())["repositories"]
    return repos


def test_a_partial_index_is_refused_before_anything_is_uploaded(
    registry: servers.Registry, tmp_path: Path
) -> None:
    repo = f"pullpush/sparse-{uuid.uuid4().hex[:8]}"
    code, _, err = cli("convert", "--all", str(SPARSE), f"docker://{registry.host}/{repo}:1")
    assert code == 1
    assert "registries refuse a partial index" in err and "linux/arm64" in err
    assert repo not in _catalog(registry)
    assert not (registry.workdir / "data" / "docker" / "registry" / "v2" / "repositories" / repo).exists()
    # --platform picks the image the export holds
    ok("convert", "--platform", "linux/amd64", str(SPARSE), f"docker://{registry.host}/{repo}:1")
    assert repo in _catalog(registry)


def test_bare_tls_verify_means_true_and_keeps_source(registry: servers.Registry, tmp_path: Path) -> None:
    ref = f"docker://{registry.host}/pullpush/tls-{uuid.uuid4().hex[:8]}:1"
    ok("convert", f"oci:{GZIP_LAYOUT}", ref)
    # bare: true, so TLS is required and this http registry fails the handshake; SOURCE parsed
    code, _, err = cli("inspect", "--tls-verify", ref)
    assert code == 1 and "TLS" in err, err
    code, _, err = cli("inspect", ref, "--tls-verify")
    assert code == 1 and "TLS" in err, err
    # =false allows http; =true as bare
    assert json.loads(ok("inspect", "--tls-verify=false", ref))[0]["Id"].startswith("sha256:")
    code, _, err = cli("inspect", "--tls-verify=true", ref)
    assert code == 1 and "TLS" in err
    # a separate value is not the flag's (as Go's bool flags): "false" is a SOURCE
    code, _, err = cli("inspect", "--tls-verify", "false", ref)
    assert code == 1 and "false" in err
    # the per-side flags of convert and copy too
    out = tmp_path / "out"
    ok("copy", "--src-tls-verify=false", ref, f"oci:{out}")
    code, _, err = cli("copy", "--src-tls-verify", ref, f"oci:{tmp_path / 'out2'}")
    assert code == 1 and "TLS" in err


def test_tls_verify_parses_as_skopeo_offline() -> None:
    from ocitool.cli import _build_parser

    parser = _build_parser()
    args = parser.parse_args(["inspect", "--tls-verify", "docker://h:5000/a:1"])
    assert (args.tls_verify, args.source) == (True, "docker://h:5000/a:1")
    args = parser.parse_args(["inspect", "--tls-verify=false", "docker://h:5000/a:1"])
    assert (args.tls_verify, args.source) == (False, "docker://h:5000/a:1")
    args = parser.parse_args(["inspect", "docker://h:5000/a:1"])
    assert args.tls_verify is None
    args = parser.parse_args(["copy", "--dest-tls-verify", "oci:x", "docker://h/a:1"])
    assert (args.dest_tls_verify, args.source, args.destination) == (True, "oci:x", "docker://h/a:1")
    args = parser.parse_args(["pull", "--tls-verify", "h:5000/a:1"])
    assert (args.tls_verify, args.reference) == (True, "h:5000/a:1")
    # after "--" nothing is a flag
    args = parser.parse_args(["inspect", "--", "--tls-verify"])
    assert args.source == "--tls-verify"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pull_and_push_draw_bars_on_a_terminal_and_print_lines_otherwise(
    registry: servers.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    name = f"{registry.host}/pullpush/tty-{uuid.uuid4().hex[:8]}"
    seed = tmp_path / "seed"
    _image_with_layers(seed, tmp_path, f"{name}:1")
    out, err = io.StringIO(), _Terminal()
    assert main(["--root", str(seed), "push", f"{name}:1"], stdout=out, stderr=err) == 0
    assert "Pushed" not in out.getvalue() and "Pushing" in err.getvalue() + out.getvalue()
    assert ": Pushed" in err.getvalue()
    assert out.getvalue().splitlines()[-1].startswith("1: digest: sha256:")
    out, err = io.StringIO(), _Terminal()
    assert main(["--root", str(tmp_path / "b"), "pull", f"{name}:1"], stdout=out, stderr=err) == 0
    assert ": Pull complete" in err.getvalue() and "[=" in err.getvalue()
    assert not _shape(out.getvalue())[1]  # no layer lines on stdout, the others as without bars
    assert out.getvalue().splitlines()[0] == "1: Pulling from " + name.split("/", 1)[1]
    # not a terminal: lines on stdout, nothing on stderr; -q: the reference only
    code, got, errs = cli("--root", str(tmp_path / "c"), "pull", f"{name}:1")
    assert code == 0 and errs == "" and _shape(got)[1]
    assert cli("--root", str(tmp_path / "d"), "pull", "-q", f"{name}:1") == (0, f"{name}:1\n", "")


@pytest.mark.parametrize("command", ["unpack", "export"])
def test_unpack_and_export_of_a_registry_image_equal_the_local_ones(
    registry: servers.Registry, tmp_path: Path, command: str
) -> None:
    ref = f"docker://{registry.host}/pullpush/files-{uuid.uuid4().hex[:8]}:1"
    ok("convert", f"oci:{GZIP_LAYOUT}", ref)
    remote, local = tmp_path / "remote", tmp_path / "local"
    if command == "export":
        remote, local = tmp_path / "remote.tar", tmp_path / "local.tar"
    ok(command, ref, str(remote))
    ok(command, f"oci:{GZIP_LAYOUT}", str(local))
    if command == "export":
        assert remote.read_bytes() == local.read_bytes()
        with tarfile.open(remote) as tar:
            assert tar.getnames()
        return
    files = sorted(p.relative_to(remote) for p in remote.rglob("*"))
    assert files and files == sorted(p.relative_to(local) for p in local.rglob("*"))
    for rel in files:
        a, b = remote / rel, local / rel
        assert a.lstat().st_mode == b.lstat().st_mode, rel
        if a.is_file() and not a.is_symlink():
            assert a.read_bytes() == b.read_bytes(), rel


@pytest.mark.parametrize(("layout", "layer_type"), [("zstd", "tar+zstd"), ("uncompressed", "diff.tar.gzip")])
def test_push_of_a_loaded_image_names_its_layers_by_what_they_are(
    registry: servers.Registry, tmp_path: Path, layout: str, layer_type: str
) -> None:
    """zstd blobs go as they are, under an OCI manifest (schema 2 cannot name zstd);
    uncompressed ones are gzip-compressed first, under a Docker schema 2 manifest, as docker."""
    store = tmp_path / "store"
    ok("--root", str(store), "load", f"oci:{FIXTURES / 'oci' / layout}")
    image_id = ok("--root", str(store), "images", "-q", "--no-trunc").strip()
    name = f"{registry.host}/pullpush/{layout}-{uuid.uuid4().hex[:8]}:1"
    ok("--root", str(store), "tag", image_id, name)
    pushed = ok("--root", str(store), "push", name)
    manifest = json.loads(ok("manifest", f"docker://{name}"))
    assert {x["mediaType"].rsplit(".", 1)[-1] for x in manifest["layers"]} == {layer_type.rsplit(".", 1)[-1]}
    assert pushed.splitlines()[-1].split("size: ")[1] == str(
        len(ok("manifest", f"docker://{name}").rstrip("\n"))
    )
    assert ok("inspect", "--format", "{{.Id}}", f"docker://{name}").strip() == image_id
    assert ok("verify", f"docker://{name}").rstrip().endswith("OK")


def _identity(store: Path, name: str) -> object:
    return json.loads(ok("--root", str(store), "inspect", name))[0].get("Identity")


def test_pull_records_the_repository_push_adds_and_rmi_forgets(
    registry: servers.Registry, tmp_path: Path
) -> None:
    """moby's ``Identity.Pull``: the repository ``pull`` brought the image from, then each one a
    ``push`` sent it to (moby: "After successful push this images also contains the pushed
    repository location"), once each, oldest first; ``rmi`` removes the record."""
    store, seed = tmp_path / "store", tmp_path / "seed"
    name = f"{registry.host}/identity/{uuid.uuid4().hex[:10]}"
    _image_with_layers(seed, tmp_path, f"{name}:1")
    # an imported image has no identity at all: the field is omitted
    assert _identity(seed, f"{name}:1") is None
    ok("--root", str(seed), "push", f"{name}:1")
    # the push is recorded on the pushing side too
    assert _identity(seed, f"{name}:1") == {"Pull": [{"Repository": name}]}

    ok("--root", str(store), "pull", f"{name}:1")
    assert _identity(store, f"{name}:1") == {"Pull": [{"Repository": name}]}
    # pulled again, by digest: still once
    image_id = json.loads(ok("--root", str(store), "inspect", f"{name}:1"))[0]["Id"]
    digest = json.loads(ok("--root", str(store), "inspect", f"{name}:1"))[0]["RepoDigests"][0]
    ok("--root", str(store), "pull", digest)
    assert _identity(store, image_id) == {"Pull": [{"Repository": name}]}

    # pushed elsewhere: added after the pulled one, once however often it is pushed
    ok("--root", str(store), "tag", f"{name}:1", f"{name}-copy:2")
    ok("--root", str(store), "push", f"{name}-copy:2")
    ok("--root", str(store), "push", f"{name}-copy:2")
    want = {"Pull": [{"Repository": name}, {"Repository": f"{name}-copy"}]}
    assert _identity(store, image_id) == want
    # the record is per image, whatever name inspects it
    assert _identity(store, f"{name}-copy:2") == want
    hexid = image_id.split(":")[1]
    record = store / "image" / "overlay2" / "imagedb" / "metadata" / "sha256" / hexid / "ocitoolPullIdentity"
    assert json.loads(record.read_text()) == want["Pull"]

    # the library shows the same
    import ocitool

    [resp] = ocitool.ImageService(str(store)).inspect([image_id])
    assert resp.identity == want

    # rmi removes the image and its record
    ok("--root", str(store), "rmi", "-f", image_id)
    assert not record.exists() and not record.parent.exists()
    # pulled again: a fresh record, the pull alone
    ok("--root", str(store), "pull", f"{name}-copy:2")
    assert _identity(store, f"{name}-copy:2") == {"Pull": [{"Repository": f"{name}-copy"}]}
