"""The moby image model: NewFromJSON, MarshalJSON, ChainIDs, NewChildImage, store checks."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocitool.errors import InvalidConfigError, InvalidDocumentError
from ocitool.model.config import (
    EMPTY_LAYER_DIFF_ID,
    TYPE_LAYERS,
    ChildConfig,
    ContainerConfig,
    HealthConfig,
    History,
    ImageConfig,
    RootFS,
    chain_id,
    chain_ids,
    validate_for_store,
)
from ocitool.model.digest import Digest
from ocitool.model.platform import Platform, host_architecture, host_os
from ocitool.model.timestamp import Timestamp


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(n: int) -> Digest:
    return Digest.parse(sha256(f"layer {n}".encode()))


L1, L2, L3 = layer(1), layer(2), layer(3)


def config_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def error_of(raw: bytes) -> InvalidConfigError:
    with pytest.raises(InvalidConfigError) as info:
        ImageConfig.from_json(raw, path="blobs/cfg")
    return info.value


# --- facts from moby's image_test.go ---------------------------------------------------------

SAMPLE_IMAGE_JSON = b"""{
\t"architecture": "amd64",
\t"os": "linux",
\t"config": {},
\t"rootfs": {
\t\t"type": "layers",
\t\t"diff_ids": []
\t}
}"""


def test_new_from_json_keeps_raw_bytes_and_ids_them() -> None:
    img = ImageConfig.from_json(SAMPLE_IMAGE_JSON)
    assert img.raw == SAMPLE_IMAGE_JSON
    assert str(img.id) == sha256(SAMPLE_IMAGE_JSON)
    assert img.architecture == "amd64" and img.os == "linux"
    assert img.rootfs == RootFS(type="layers", diff_ids=[])
    assert img.config == ContainerConfig()


def test_new_from_json_without_rootfs() -> None:
    for raw in (b"{}", b'{"rootfs": null, "os": "linux"}'):
        err = error_of(raw)
        assert err.message.startswith("invalid image JSON, no RootFS key")
        assert err.field == "/rootfs"
        assert err.path == "blobs/cfg"


def test_marshal_key_order() -> None:
    out = ImageConfig(comment="a", author="b", architecture="c").marshal_json()
    positions = [out.index(k) for k in (b'"architecture"', b'"author"', b'"comment"')]
    assert positions == sorted(positions)


def test_marshal_minimal_config_is_moby_byte_for_byte() -> None:
    # What Image.MarshalJSON writes for {"rootfs":{"type":"layers"}}: `created` has no
    # omitempty (null), container_config is a struct (always written, nil slices as null).
    img = ImageConfig.from_json(b'{"rootfs":{"type":"layers"}}')
    assert img.marshal_json() == (
        b'{"container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,'
        b'"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,'
        b'"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"",'
        b'"Entrypoint":null,"OnBuild":null,"Labels":null},"created":null,'
        b'"rootfs":{"type":"layers"}}'
    )


def test_top_level_keys_sort_bytewise() -> None:
    img = ImageConfig(
        size=10,
        os="linux",
        os_version="10.0",
        os_features=["win32k"],
        parent="sha256:p",
        container="c",
        docker_version="28.3.0",
        variant="v8",
        v1_id="abc",
        rootfs=RootFS(),
        history=[History(comment="x")],
        config=ContainerConfig(),
    )
    keys = list(json.loads(img.marshal_json()))
    # "Size" sorts first (upper case), and "os" < "os.features" < "os.version".
    assert keys == [
        "Size",
        "config",
        "container",
        "container_config",
        "created",
        "docker_version",
        "history",
        "id",
        "os",
        "os.features",
        "os.version",
        "parent",
        "rootfs",
        "variant",
    ]
    assert keys == sorted(keys)


def test_image_accessors() -> None:
    config = ContainerConfig({"Hostname": "hostname", "Domainname": "domain", "User": "root"})
    img = ImageConfig(config=config)
    assert img.operating_system() == host_os()
    assert img.operating_system(default="windows") == "windows"
    assert img.run_config() == config
    assert img.run_config().user == "root"
    assert ImageConfig().run_config() == ContainerConfig()
    assert img.base_img_arch() == host_architecture()
    assert img.base_img_arch(default="riscv64") == "riscv64"


def test_image_os_not_empty() -> None:
    img = ImageConfig(os="os", os_version="osversion")
    assert img.operating_system() == "os"
    assert img.operating_system(default="linux") == "os"


def test_platform_uses_stored_fields_only() -> None:
    img = ImageConfig(
        os="windows", architecture="amd64", variant="", os_version="10.0.17763.1", os_features=["win32k"]
    )
    assert img.platform() == Platform(
        os="windows", architecture="amd64", os_version="10.0.17763.1", os_features=("win32k",)
    )
    assert ImageConfig().platform() == Platform(os="", architecture="")


def test_new_child_image_from_image_with_rootfs() -> None:
    parent = ImageConfig(
        rootfs=RootFS(diff_ids=[L1]),
        history=[History.new("a", "c", "r", False)],
        comment="parent comment",
        size=99,
        unknown={"x-extra": 1},
    )
    container_config = ContainerConfig({"Cmd": ["echo", "foo"]})
    config = ContainerConfig()
    child = ChildConfig(
        diff_id=L2,
        author="author",
        comment="comment",
        container_config=container_config,
        config=config,
        container_id="50a16564e727",
    )
    stamp = Timestamp.parse("2025-06-24T10:00:00.123456789Z")
    new = parent.new_child(child, "platform", created=stamp, default_arch="amd64")

    assert new.rootfs is not None and new.rootfs.diff_ids == [L1, L2]
    assert new.author == "author"
    assert new.config == config
    assert new.container_config == container_config
    assert new.os == "platform"
    assert new.container == "50a16564e727"
    assert new.docker_version == "28.3.0"
    assert new.architecture == "amd64"
    assert len(new.history) == 2
    assert new.history[1] == History(
        created=stamp, created_by="echo foo", author="author", comment="comment", empty_layer=False
    )
    assert new.created == stamp
    # The RootFS and history are copied, not mutated.
    assert parent.rootfs is not None and parent.rootfs.diff_ids == [L1]
    assert len(parent.history) == 1
    # Not carried over: the comment goes to history only; parent is store metadata in moby.
    assert new.comment == "" and new.parent == "" and new.size == 0 and new.unknown == {}
    assert new.raw is None
    assert new.id == Digest.parse(sha256(new.marshal_json()))


def test_new_child_with_empty_layer() -> None:
    parent = ImageConfig(architecture="arm64", variant="v8", os_version="1", os_features=["f"])
    for diff_id in (None, EMPTY_LAYER_DIFF_ID):
        new = parent.new_child(ChildConfig(diff_id=diff_id), "linux", docker_version="dev")
        assert new.rootfs == RootFS(type=TYPE_LAYERS, diff_ids=[])
        assert new.history[-1].empty_layer
        assert new.history[-1].created_by == ""
        assert new.history[-1].created is not None and new.history[-1].created.offset_minutes == 0
        assert (new.architecture, new.variant, new.os_version, new.os_features) == ("arm64", "v8", "1", ["f"])
        assert new.docker_version == "dev"
        assert new.config is None and "config" not in json.loads(new.marshal_json())


def test_empty_layer_diff_id_is_the_empty_tar() -> None:
    assert str(EMPTY_LAYER_DIFF_ID) == sha256(b"\0" * 1024)


def test_clone() -> None:
    img = ImageConfig.from_json(config_bytes({"rootfs": {"type": "layers", "diff_ids": [str(L1)]}}))
    new_id = Digest.parse(sha256(b"other"))
    copy = img.clone(new_id)
    assert copy.id == new_id and copy.v1_id == str(new_id)
    assert copy.raw == img.raw  # moby's Clone keeps rawJSON too
    assert copy.rootfs is not None and img.rootfs is not None
    copy.rootfs.append(L2)
    assert img.rootfs.diff_ids == [L1]
    assert img.id == Digest.parse(sha256(img.raw or b""))


# --- facts from moby's store_test.go ---------------------------------------------------------

MOBY_STORE_CONFIG = (
    b'{"comment": "abc", "rootfs": {"type": "layers", "diff_ids": '
    b'["2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"]}}'
)


def test_store_create_of_empty_object_fails() -> None:
    with pytest.raises(InvalidConfigError, match="invalid image JSON, no RootFS key"):
        validate_for_store(b"{}")


def test_store_ids_are_sha256_of_the_bytes() -> None:
    # moby's TestAddDelete expects this ID for MOBY_STORE_CONFIG.
    assert sha256(MOBY_STORE_CONFIG) == (
        "sha256:8d25a9c45df515f9d0fe8e4a6b1c64dd3b965a84790ddbcc7954bb9bc89eb993"
    )
    # moby stores that bare-hex DiffID unchecked; ocitool insists on digests (a divergence).
    err = error_of(MOBY_STORE_CONFIG)
    assert err.field == "/rootfs/diff_ids/0"
    fixed = MOBY_STORE_CONFIG.replace(b'["2c26', b'["sha256:2c26')
    img = validate_for_store(fixed)
    assert str(img.id) == sha256(fixed)
    assert img.comment == "abc"


def test_store_accepts_layerless_config() -> None:
    img = validate_for_store(b'{"comment": "abc", "rootfs": {"type": "layers"}}')
    assert img.comment == "abc"
    assert img.rootfs is not None and img.rootfs.chain_id() is None


def test_store_rejects_more_non_empty_history_than_layers() -> None:
    doc = {
        "rootfs": {"type": "layers", "diff_ids": [str(L1)]},
        "history": [{"created_by": "a"}, {"created_by": "b", "empty_layer": True}, {"created_by": "c"}],
    }
    with pytest.raises(InvalidConfigError) as info:
        validate_for_store(config_bytes(doc), path="img.json")
    assert info.value.message.startswith("too many non-empty layers in History section")
    assert info.value.field == "/history"
    assert info.value.path == "img.json"
    # Empty-layer entries do not count, and fewer entries than layers is fine.
    doc["history"] = [{"created_by": "a"}, {"empty_layer": True}]
    validate_for_store(config_bytes(doc))
    doc["history"] = []
    validate_for_store(config_bytes(doc))


def test_store_os_check_and_layers_type_are_opt_in() -> None:
    with_layers = config_bytes({"os": "windows", "rootfs": {"type": "layers+base", "diff_ids": [str(L1)]}})
    validate_for_store(with_layers)  # moby itself does not check the rootfs type
    with pytest.raises(InvalidConfigError, match="operating system is not supported"):
        validate_for_store(with_layers, host="linux")
    validate_for_store(with_layers, host="Windows")  # EqualFold
    with pytest.raises(InvalidConfigError) as info:
        validate_for_store(with_layers, require_layers_type=True)
    assert info.value.field == "/rootfs/type"
    # CheckOS only runs when there are layers; an empty os means the host's.
    validate_for_store(config_bytes({"os": "windows", "rootfs": {"type": "layers"}}), host="linux")
    validate_for_store(config_bytes({"rootfs": {"type": "layers", "diff_ids": [str(L1)]}}), host="linux")
    with pytest.raises(InvalidConfigError, match="no RootFS key"):
        validate_for_store(ImageConfig())


# --- a literal config, its ID computed here --------------------------------------------------

LITERAL = (
    b'{"architecture":"arm64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:'
    b'/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/","Labels":{"org.opencontainers.'
    b'image.source":"https://example.com/x"},"ArgsEscaped":true,"OnBuild":null},'
    b'"created":"2025-05-30T17:20:15.123456789+02:00","history":[{"created":"2025-05-30T17:20:15Z",'
    b'"created_by":"ADD rootfs.tar / # buildkit","comment":"buildkit.dockerfile.v0"},'
    b'{"created":"2025-05-30T17:20:15Z","created_by":"CMD [\\"/bin/sh\\"]","comment":'
    b'"buildkit.dockerfile.v0","empty_layer":true}],"moby.buildkit.buildinfo.v1":"e30=",'
    b'"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:'
    + hashlib.sha256(b"rootfs.tar").hexdigest().encode()
    + b'"]},"variant":"v8"}'
)


def test_literal_config() -> None:
    img = ImageConfig.from_json(LITERAL)
    assert str(img.id) == "sha256:" + hashlib.sha256(LITERAL).hexdigest()
    assert img.platform() == Platform(os="linux", architecture="arm64", variant="v8")
    cfg = img.run_config()
    assert cfg.cmd == ["/bin/sh"] and cfg.entrypoint is None
    assert cfg.env[0].startswith("PATH=")
    assert cfg.working_dir == "/"
    assert cfg.labels == {"org.opencontainers.image.source": "https://example.com/x"}
    assert cfg.args_escaped
    assert img.created is not None
    assert img.created.rfc3339nano() == "2025-05-30T17:20:15.123456789+02:00"
    assert [h.empty_layer for h in img.history] == [False, True]
    assert img.unknown == {"moby.buildkit.buildinfo.v1": "e30="}
    validate_for_store(img)
    # An OCI config is the same JSON: the fields read the same, and marshalling keeps the
    # nanoseconds and the offset.
    out = json.loads(img.marshal_json())
    assert out["created"] == "2025-05-30T17:20:15.123456789+02:00"
    assert out["config"]["OnBuild"] is None and out["config"]["Cmd"] == ["/bin/sh"]


# --- unknown fields, encoding ----------------------------------------------------------------


def test_unknown_fields_round_trip() -> None:
    doc = {
        "zz-top": {"b": [1, "two", None], "a": True},
        "config": {"Cmd": ["x"], "x-config-extra": {"k": "v"}},
        "rootfs": {"type": "layers", "x-rootfs": 1},
        "history": [{"created_by": "x", "x-history": "h"}],
        "Architecture": "arm64",  # matches the field case-insensitively, not unknown
    }
    img = ImageConfig.from_json(config_bytes(doc))
    assert img.unknown == {"zz-top": {"b": [1, "two", None], "a": True}}
    assert img.architecture == "arm64"
    assert img.config is not None and img.config.unknown == {"x-config-extra": {"k": "v"}}
    out = json.loads(img.marshal_json())
    assert out["zz-top"] == doc["zz-top"]
    assert out["architecture"] == "arm64" and "Architecture" not in out
    assert out["config"]["x-config-extra"] == {"k": "v"}
    assert out["rootfs"]["x-rootfs"] == 1
    assert out["history"][0]["x-history"] == "h"
    again = ImageConfig.from_json(img.marshal_json())
    assert again == img
    # moby's own MarshalJSON drops everything its structs lack.
    plain = json.loads(img.marshal_json(keep_unknown=False))
    assert "zz-top" not in plain and "x-config-extra" not in plain["config"]
    assert "x-rootfs" not in plain["rootfs"] and "x-history" not in plain["history"][0]


def test_marshal_escapes_html_as_go_does() -> None:
    img = ImageConfig(comment="<a & b>", rootfs=RootFS())
    assert b'"comment":"\\u003ca \\u0026 b\\u003e"' in img.marshal_json()


def test_case_insensitive_keys_and_last_one_wins() -> None:
    img = ImageConfig.from_json(b'{"RootFS": {"Type": "layers"}, "OS": "linux", "os": "windows"}')
    assert img.rootfs == RootFS(type="layers")
    assert img.os == "windows"
    assert img.unknown == {}


def test_nulls_follow_go() -> None:
    img = ImageConfig.from_json(
        b'{"rootfs": {"type": null, "diff_ids": null}, "architecture": null, "Size": null,'
        b' "created": null, "history": [null], "container_config": null,'
        b' "config": {"Env": [null, "A=1"], "Labels": {"a": null}, "Cmd": null, "Volumes": null}}'
    )
    assert img.rootfs == RootFS(type="", diff_ids=[])
    assert img.architecture == "" and img.size == 0 and img.created is None
    assert img.history == [History()]
    assert img.container_config == ContainerConfig()
    assert img.config is not None
    assert img.config.env == ["", "A=1"]
    assert img.config.labels == {"a": ""}
    assert img.config.cmd is None


def test_history_created_is_omitted_when_unset_and_kept_when_set() -> None:
    stamp = Timestamp.parse("2020-01-01T00:00:00.5-01:00")
    assert History(created_by="x").to_json() == {"created_by": "x"}
    assert History(created=stamp, empty_layer=True).to_json() == {
        "created": "2020-01-01T00:00:00.5-01:00",
        "empty_layer": True,
    }


@pytest.mark.parametrize(
    ("doc", "pointer"),
    [
        ({"rootfs": {"diff_ids": [str(L1), str(L2), str(L3), "sha256:nothex"]}}, "/rootfs/diff_ids/3"),
        ({"rootfs": {"diff_ids": [str(L1), 7]}}, "/rootfs/diff_ids/1"),
        ({"rootfs": {"diff_ids": "sha256:x"}}, "/rootfs/diff_ids"),
        ({"rootfs": []}, "/rootfs"),
        ({"rootfs": {"type": 1}}, "/rootfs/type"),
        ({"architecture": 5}, "/architecture"),
        ({"Size": 1.5}, "/Size"),
        ({"Size": 1e3}, "/Size"),
        ({"Size": 1 << 63}, "/Size"),
        ({"Size": "5"}, "/Size"),
        ({"created": 1700000000}, "/created"),
        ({"created": ""}, "/created"),
        ({"history": [{}, {"created": "yesterday"}]}, "/history/1/created"),
        ({"history": [{}, {"empty_layer": "yes"}]}, "/history/1/empty_layer"),
        ({"history": {}}, "/history"),
        ({"os.features": ["a", 1]}, "/os.features/1"),
        ({"container_config": []}, "/container_config"),
        ({"config": "x"}, "/config"),
        ({"config": {"Env": ["A=1", "B=2", 3]}}, "/config/Env/2"),
        ({"config": {"Env": "A=1"}}, "/config/Env"),
        ({"config": {"Labels": {"a/b~c": 1}}}, "/config/Labels/a~1b~0c"),
        ({"config": {"Volumes": {"/data": "yes"}}}, "/config/Volumes/~1data"),
        ({"config": {"ExposedPorts": ["80/tcp"]}}, "/config/ExposedPorts"),
        ({"config": {"Cmd": 1}}, "/config/Cmd"),
        ({"config": {"Cmd": ["a", 1]}}, "/config/Cmd/1"),
        ({"config": {"OnBuild": "RUN x"}}, "/config/OnBuild"),
        ({"config": {"Tty": "true"}}, "/config/Tty"),
        ({"config": {"StopTimeout": 1.0}}, "/config/StopTimeout"),
        ({"config": {"Healthcheck": {"Interval": "30s"}}}, "/config/Healthcheck/Interval"),
        ({"config": {"Healthcheck": {"Test": "CMD true"}}}, "/config/Healthcheck/Test"),
        ({"container_config": {"Hostname": False}}, "/container_config/Hostname"),
    ],
)
def test_validation_errors_name_the_json_pointer(doc: dict[str, Any], pointer: str) -> None:
    doc = {"rootfs": {"type": "layers"}, **doc}
    err = error_of(config_bytes(doc))
    assert err.field == pointer
    assert isinstance(err, InvalidDocumentError)
    assert f"(field {pointer})" in str(err)
    assert str(err).startswith("blobs/cfg: ")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b"null",
        b'"rootfs"',
        b'\xef\xbb\xbf{"rootfs": {}}',  # byte-order mark
        '{"rootfs": {}}'.encode("utf-16"),
        b'{"rootfs": {}, "x": NaN}',
        b'{"rootfs": {}, "x": -Infinity}',
        b'{"rootfs": {}, "comment": "\xff"}',  # invalid UTF-8 (Go would substitute U+FFFD)
        b'{"rootfs": {}} {}',
    ],
)
def test_not_a_config(raw: bytes) -> None:
    with pytest.raises(InvalidConfigError):
        ImageConfig.from_json(raw)


def test_lone_surrogates_decode_as_go_does() -> None:
    img = ImageConfig.from_json(b'{"rootfs": {}, "comment": "a\\ud800b"}')
    assert img.comment == "a\ufffdb"


# --- ContainerConfig -------------------------------------------------------------------------


def test_strslice_accepts_string_or_array() -> None:
    cfg = ContainerConfig({"Cmd": "echo", "Entrypoint": ["/bin/sh", "-c"], "Shell": "powershell"})
    assert cfg.cmd == ["echo"]
    assert cfg.entrypoint == ["/bin/sh", "-c"]
    assert cfg.shell == ["powershell"]
    assert ContainerConfig({"Cmd": []}).cmd == []
    assert ContainerConfig({"Cmd": None}).cmd is None
    assert ContainerConfig({}).cmd is None
    # Encoded back as arrays; nil stays null, empty stays [].
    assert ContainerConfig({"Cmd": "echo"}).to_json()["Cmd"] == ["echo"]
    assert ContainerConfig({"Cmd": []}).to_json()["Cmd"] == []
    assert ContainerConfig({}).to_json()["Cmd"] is None


def test_container_config_to_json_order_and_omitempty() -> None:
    cfg = ContainerConfig(
        {
            "Shell": ["/bin/bash", "-c"],
            "StopTimeout": 0,
            "Healthcheck": {"Test": ["NONE"]},
            "ExposedPorts": {"443/tcp": {}, "80/tcp": {"ignored": 1}},
            "Volumes": {"/b": None, "/a": {}},
            "Labels": {"b": "2", "a": "1"},
            "MacAddress": "",
            "NetworkDisabled": False,
            "User": "app",
        }
    )
    out = cfg.to_json()
    assert list(out) == [
        "Hostname",
        "Domainname",
        "User",
        "AttachStdin",
        "AttachStdout",
        "AttachStderr",
        "ExposedPorts",
        "Tty",
        "OpenStdin",
        "StdinOnce",
        "Env",
        "Cmd",
        "Healthcheck",
        "Image",
        "Volumes",
        "WorkingDir",
        "Entrypoint",
        "OnBuild",
        "Labels",
        "StopTimeout",
        "Shell",
    ]
    assert list(out["ExposedPorts"]) == ["443/tcp", "80/tcp"]
    assert out["ExposedPorts"]["80/tcp"] == {}
    assert list(out["Volumes"]) == ["/a", "/b"]
    assert list(out["Labels"]) == ["a", "b"]
    assert out["StopTimeout"] == 0  # a non-nil pointer is not empty
    assert out["Healthcheck"] == {"Test": ["NONE"]}
    assert cfg.exposed_ports == ["443/tcp", "80/tcp"]
    assert cfg.volumes == ["/a", "/b"]
    assert cfg.stop_timeout == 0
    assert cfg.healthcheck == HealthConfig(test=("NONE",))


def test_to_oci_json_matches_docker_oci_image_config() -> None:
    cfg = ContainerConfig(
        {
            "Hostname": "h",
            "Image": "sha256:abc",
            "AttachStdout": True,  # not in the OCI shape
            "Shell": ["sh"],
            "OnBuild": ["RUN x"],
            "Healthcheck": {
                "Test": ["CMD", "true"],
                "Interval": 30_000_000_000,
                "Retries": 3,
                "StartInterval": 0,
            },
            "ArgsEscaped": True,
            "StopSignal": "SIGTERM",
            "Labels": {"l": "v"},
            "WorkingDir": "/w",
            "Volumes": {"/v": {}},
            "Cmd": ["c"],
            "Entrypoint": ["e"],
            "Env": ["E=1"],
            "ExposedPorts": {"80/tcp": {}},
            "User": "u",
            "StopTimeout": 5,
        }
    )
    out = cfg.to_oci_json()
    assert list(out) == [
        "User",
        "ExposedPorts",
        "Env",
        "Entrypoint",
        "Cmd",
        "Volumes",
        "WorkingDir",
        "Labels",
        "StopSignal",
        "ArgsEscaped",
        "Healthcheck",
        "OnBuild",
        "Shell",
    ]
    assert out["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 30_000_000_000, "Retries": 3}
    assert ContainerConfig({"Cmd": [], "Env": None, "Labels": {}, "Hostname": "h"}).to_oci_json() == {}


def test_container_config_updated_and_equality() -> None:
    cfg = ContainerConfig({"cmd": ["old"], "Env": ["A=1"], "x-extra": 1})
    assert cfg.cmd == ["old"]  # case-insensitive match
    new = cfg.updated({"Cmd": "new", "WorkingDir": "/app"})
    assert new.cmd == ["new"] and new.working_dir == "/app" and new.env == ["A=1"]
    assert "cmd" not in new.raw and new.unknown == {"x-extra": 1}
    assert cfg.cmd == ["old"]
    assert new == ContainerConfig({"Cmd": ["new"], "Env": ["A=1"], "WorkingDir": "/app", "x-extra": 1})
    assert new != cfg
    assert cfg != "not a config"
    with pytest.raises(InvalidConfigError) as info:
        cfg.updated({"Env": "A=1"})
    assert info.value.field == "/Env"


def test_container_config_pointer_prefix_in_errors() -> None:
    with pytest.raises(InvalidConfigError) as info:
        ContainerConfig.from_dict({"Labels": []}, path="x.json", pointer="/config")
    assert info.value.field == "/config/Labels"
    assert info.value.path == "x.json"


# --- RootFS and ChainIDs ---------------------------------------------------------------------


def independent_chain(diff_ids: list[Digest]) -> str:
    chain = str(diff_ids[0])
    for d in diff_ids[1:]:
        chain = "sha256:" + hashlib.sha256(f"{chain} {d}".encode()).hexdigest()
    return chain


def test_chain_ids() -> None:
    assert chain_id([]) is None
    assert chain_ids([]) == []
    assert chain_id([L1]) == L1
    expected2 = "sha256:" + hashlib.sha256(f"{L1} {L2}".encode()).hexdigest()
    assert str(chain_id([L1, L2])) == expected2
    expected3 = "sha256:" + hashlib.sha256(f"{expected2} {L3}".encode()).hexdigest()
    assert [str(c) for c in chain_ids([L1, L2, L3])] == [str(L1), expected2, expected3]
    assert chain_id([str(L1), str(L2)]) == chain_id([L1, L2])


def test_rootfs_append_clone_chain() -> None:
    root = RootFS()
    assert root.type == TYPE_LAYERS and root.chain_id() is None
    root.append(L1)
    root.append(str(L2))
    copy = root.clone()
    copy.append(L3)
    assert root.diff_ids == [L1, L2]
    assert copy.diff_ids == [L1, L2, L3]
    assert root.chain_id() == chain_id([L1, L2])
    assert copy.chain_ids()[:2] == root.chain_ids()
    assert RootFS().to_json() == {"type": "layers"}
    assert RootFS.from_json({"type": "layers", "diff_ids": [str(L1)]}) == RootFS(diff_ids=[L1])


digests = st.binary(max_size=16).map(lambda b: Digest.parse(sha256(b)))


@given(st.lists(digests, min_size=1, max_size=12))
def test_chain_ids_are_prefix_chain_ids(diff_ids: list[Digest]) -> None:
    ids = chain_ids(diff_ids)
    assert len(ids) == len(diff_ids)
    for i in range(len(diff_ids)):
        assert ids[i] == chain_id(diff_ids[: i + 1])
    assert chain_ids(list(diff_ids)) == ids  # deterministic
    assert str(ids[-1]) == independent_chain(diff_ids)
    assert RootFS(diff_ids=list(diff_ids)).chain_id() == ids[-1]


# --- config round trip -----------------------------------------------------------------------

text = st.text(max_size=8)
int64 = st.integers(-(1 << 63), (1 << 63) - 1)
extra_key = text.map(lambda s: "x-" + s)  # never matches a struct field, even folded
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 53), 1 << 53) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
timestamps = st.builds(
    Timestamp,
    st.integers(
        Timestamp.parse("0000-01-02T00:00:00Z").unix(), Timestamp.parse("9999-12-30T00:00:00Z").unix()
    ),
    st.integers(0, 999_999_999),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59),
)
optional_list = st.none() | st.lists(text, max_size=3)
string_set: st.SearchStrategy[dict[str, dict[str, Any]] | None] = st.none() | st.dictionaries(
    text, st.just({}), max_size=3
)


@st.composite
def container_configs(draw: st.DrawFn) -> ContainerConfig:
    raw: dict[str, Any] = {}
    candidates: dict[str, st.SearchStrategy[Any]] = {
        "Hostname": text,
        "User": text,
        "AttachStdout": st.booleans(),
        "Tty": st.booleans(),
        "Env": optional_list,
        "Cmd": optional_list | text,
        "Entrypoint": optional_list,
        "Shell": optional_list,
        "OnBuild": optional_list,
        "Volumes": string_set,
        "ExposedPorts": string_set,
        "Labels": st.none() | st.dictionaries(text, text, max_size=3),
        "WorkingDir": text,
        "StopSignal": text,
        "StopTimeout": st.none() | int64,
        "ArgsEscaped": st.booleans(),
        "NetworkDisabled": st.booleans(),
        "MacAddress": text,
        "Healthcheck": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "Test": optional_list,
                "Interval": int64,
                "Retries": int64,
                "StartPeriod": int64,
                "x-h": json_values,
            },
        ),
    }
    for name in draw(st.lists(st.sampled_from(sorted(candidates)), unique=True)):
        raw[name] = draw(candidates[name])
    raw.update(draw(st.dictionaries(extra_key, json_values, max_size=2)))
    return ContainerConfig(raw)


histories = st.builds(
    History,
    created=st.none() | timestamps,
    created_by=text,
    author=text,
    comment=text,
    empty_layer=st.booleans(),
    unknown=st.dictionaries(extra_key, json_values, max_size=1),
)

image_configs = st.builds(
    ImageConfig,
    v1_id=text,
    parent=text,
    comment=text,
    created=st.none() | timestamps,
    container=text,
    container_config=container_configs(),
    docker_version=text,
    author=text,
    config=st.none() | container_configs(),
    architecture=text,
    variant=text,
    os=text,
    size=int64,
    rootfs=st.builds(
        RootFS,
        type=text,
        diff_ids=st.lists(digests, max_size=3),
        unknown=st.dictionaries(extra_key, json_values, max_size=1),
    ),
    history=st.lists(histories, max_size=3),
    os_version=text,
    os_features=st.lists(text, max_size=2),
    unknown=st.dictionaries(extra_key, json_values, max_size=3),
)


@given(image_configs)
def test_config_round_trip(img: ImageConfig) -> None:
    raw = img.marshal_json()
    back = ImageConfig.from_json(raw)
    assert back == img
    assert back.raw == raw and back.id == img.id == Digest.parse(sha256(raw))
    assert back.marshal_json() == raw
    # moby's bytes are a fixed point too.
    plain = img.marshal_json(keep_unknown=False)
    assert ImageConfig.from_json(plain).marshal_json(keep_unknown=False) == plain
    assert json.loads(plain).keys() <= json.loads(raw).keys()


def test_container_config_rejects_non_objects() -> None:
    with pytest.raises(InvalidConfigError):
        ContainerConfig([("Cmd", "x")])  # type: ignore[arg-type]
