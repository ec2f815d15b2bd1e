"""crane's verbs through the library and the CLI: append, mutate, flatten, rebase, indexes and
the store as source and destination."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

import ocitool
from ocitool import BaseMismatchError, FileSpec, ImageBuilder, IndexBuilder, Mutation
from ocitool.cli import main
from ocitool.formats.detect import open_source
from ocitool.image.lookup import select_one
from ocitool.model.platform import Platform
from ocitool.ops.builder.image import BuiltImage


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _write(img: BuiltImage, dest: str) -> None:
    with img:
        ocitool.convert(img, dest)


def _config(source: str) -> dict[str, Any]:
    with open_source(source) as src:
        doc = json.loads(select_one(src).image.raw_config)
        assert isinstance(doc, dict)
        return doc


def _base(tmp: Path, name: str, files: dict[str, bytes | FileSpec], env: list[str] | None = None) -> str:
    with ImageBuilder.from_scratch("linux/amd64") as b:
        b.add_files(files, created_by=f"base {name}")
        b.set_env(env or ["PATH=/usr/bin", "A=1", "B=2"]).set_cmd(["/bin/true"])
        _write(b.build(), f"oci:{tmp / name}:1")
    return f"oci:{tmp / name}:1"


def test_mutate_env_replaces_in_place_and_appends_in_order(tmp_path: Path) -> None:
    src = _base(tmp_path, "base", {"etc/x": b"x"})
    code, _out, err = _cli(
        "mutate",
        "--env",
        "B=b",
        "--env",
        "Z=26",
        "--env",
        "A=a",
        "--env",
        "Y=25",
        src,
        f"oci:{tmp_path / 'm'}:1",
    )
    assert code == 0, err
    before, after = _config(src), _config(f"oci:{tmp_path / 'm'}:1")
    assert after["config"]["Env"] == ["PATH=/usr/bin", "A=a", "B=b", "Z=26", "Y=25"]
    assert after["history"] == before["history"] and after["rootfs"] == before["rootfs"]
    assert after["created"] == before["created"]


def test_mutate_entrypoint_clears_cmd_and_takes_both_forms(tmp_path: Path) -> None:
    src = _base(tmp_path, "base", {"etc/x": b"x"})
    dest = f"oci:{tmp_path / 'm'}:1"
    assert _cli("mutate", "--entrypoint", '["/bin/sh", "-c"]', src, dest)[0] == 0
    cfg = _config(dest)["config"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"] and "Cmd" not in cfg
    dest2 = f"oci:{tmp_path / 'm2'}:1"
    code, _, err = _cli(
        "mutate", "--entrypoint", "/app,--flag", "--cmd", '["serve"]', "-u", "1000", "-w", "/srv",
        "--label", "team=infra", "--exposed-ports", "80,53/udp", "--annotation", "org.example.a=1",
        "--set-platform", "linux/arm64/v8", src, dest2,
    )  # fmt: skip
    assert code == 0, err
    doc = _config(dest2)
    cfg = doc["config"]
    assert cfg["Entrypoint"] == ["/app", "--flag"] and cfg["Cmd"] == ["serve"]
    assert (cfg["User"], cfg["WorkingDir"], cfg["Labels"]) == ("1000", "/srv", {"team": "infra"})
    assert cfg["ExposedPorts"] == {"53/udp": {}, "80/tcp": {}}
    assert (doc["architecture"], doc["variant"]) == ("arm64", "v8")
    with open_source(dest2) as s:
        assert select_one(s).image.manifest.annotations["org.example.a"] == "1"
    assert _cli("mutate", "--label", "empty=", src, dest2)[0] == 125


def test_append_scratch_and_base_annotations(tmp_path: Path) -> None:
    (tmp_path / "dir/sub").mkdir(parents=True)
    (tmp_path / "dir/sub/f").write_bytes(b"f")
    scratch = f"oci:{tmp_path / 's'}:1"
    assert _cli("append", "--platform", "linux/arm64", "scratch", scratch, str(tmp_path / "dir"))[0] == 0
    doc = _config(scratch)
    assert doc["architecture"] == "arm64" and len(doc["rootfs"]["diff_ids"]) == 1
    assert doc["history"][0]["created_by"] == f"ocitool append {tmp_path / 'dir'}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("from-tar"), io.BytesIO(b""))
    (tmp_path / "l.tar").write_bytes(buf.getvalue())
    out = f"oci:{tmp_path / 'a'}:1"
    code, _, err = _cli(
        "append", "--set-base-image-annotations", scratch, out, str(tmp_path / "l.tar"), str(tmp_path / "dir")
    )
    assert code == 0, err
    doc = _config(out)
    assert len(doc["rootfs"]["diff_ids"]) == 3 and len(doc["history"]) == 3
    with open_source(scratch) as base, open_source(out) as appended:
        ann = select_one(appended).image.manifest.annotations
        assert ann["org.opencontainers.image.base.digest"] == str(select_one(base).image.digest)
        assert ann["org.opencontainers.image.base.name"] == scratch


def _names(layer: ocitool.Layer) -> dict[str, bytes]:
    with layer.reading() as stream, tarfile.open(fileobj=io.BytesIO(stream.read())) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isreg() else b"") for m in tar}  # type: ignore[union-attr]


def test_flatten_applies_whiteouts(tmp_path: Path) -> None:
    with ImageBuilder.from_scratch("linux/amd64") as b:
        b.add_files({"keep": b"k", "gone": b"g", "dir/old": b"o"})
        b.add_files({".wh.gone": b"", "dir/.wh..wh..opq": b"", "dir/new": b"n", "keep": b"K"})
        b.set_env(["X=1"])
        src = f"oci:{tmp_path / 'src'}:1"
        _write(b.build(), src)
    dest = f"oci:{tmp_path / 'flat'}:1"
    assert _cli("flatten", src, dest)[0] == 0
    with open_source(src) as s, open_source(dest) as d:
        old, flat = select_one(s).image, select_one(d).image
        assert len(flat.layers) == 1
        files = _names(flat.layers[0])
        assert files == {"keep": b"K", "dir": b"", "dir/new": b"n"}
        doc = json.loads(flat.raw_config)
        assert doc["config"]["Env"] == ["X=1"]
        assert [h["created_by"] for h in doc["history"]] == [f"ocitool flatten {old.digest}"]
        assert json.loads(doc["history"][0]["comment"]) == json.loads(old.raw_config)["history"]


def test_rebase_equals_building_on_the_new_base(tmp_path: Path) -> None:
    old = _base(tmp_path, "old", {"etc/os-release": b"old"})
    new = _base(tmp_path, "new", {"etc/os-release": b"new", "etc/extra": b"+"})
    (tmp_path / "app").mkdir()
    (tmp_path / "app/run").write_bytes(b"#!/bin/sh\n")
    app = f"oci:{tmp_path / 'app-old'}:1"
    direct = f"oci:{tmp_path / 'app-new'}:1"
    assert _cli("append", old, app, str(tmp_path / "app"))[0] == 0
    assert _cli("append", new, direct, str(tmp_path / "app"))[0] == 0
    rebased = f"oci:{tmp_path / 'rebased'}:1"
    code, _out, err = _cli("rebase", "--old-base", old, "--new-base", new, app, rebased)
    assert code == 0, err
    assert _config(rebased) == _config(direct)
    with open_source(rebased) as r, open_source(direct) as d, open_source(new) as n:
        ri, di = select_one(r).image, select_one(d).image
        assert [layer.digest for layer in ri.layers] == [layer.digest for layer in di.layers]
        assert ri.id == di.id
        ann = ri.manifest.annotations
        assert ann["org.opencontainers.image.base.digest"] == str(select_one(n).image.digest)
    # the library call agrees
    with open_source(app) as a, open_source(old) as o, open_source(new) as n:
        built = ocitool.rebase(select_one(a).image, select_one(o).image, select_one(n).image)
        with built:
            assert built.image.id == select_one(open_source(direct)).image.id


def test_rebase_refuses_a_wrong_old_base(tmp_path: Path) -> None:
    old = _base(tmp_path, "old", {"etc/os-release": b"old"})
    other = _base(tmp_path, "other", {"etc/os-release": b"other"})
    (tmp_path / "app").mkdir()
    app = f"oci:{tmp_path / 'app'}:1"
    assert _cli("append", old, app, str(tmp_path / "app"))[0] == 0
    dest = tmp_path / "rebased"
    code, _out, err = _cli("rebase", "--old-base", other, "--new-base", old, app, f"oci:{dest}:1")
    assert code == 1 and "is not based on" in err and "layer 0 differs" in err
    assert not dest.exists()
    with open_source(app) as a, open_source(other) as o:
        with pytest.raises(BaseMismatchError) as exc:
            ocitool.rebase(select_one(a).image, select_one(o).image, select_one(o).image)
        assert exc.value.layer == 0


def test_index_all_platforms_transforms_each_image(tmp_path: Path) -> None:
    index = IndexBuilder(annotations={"org.example.index": "kept"})
    for plat in ("linux/amd64", "linux/arm64"):
        with ImageBuilder.from_scratch(plat) as b:
            index.add(b.add_files({"arch": plat.encode()}).build())
    src = f"oci:{tmp_path / 'multi'}:1"
    with index.build() as built:
        ocitool.convert(built, src, all_platforms=True)
    dest = f"oci:{tmp_path / 'mutated'}:1"
    assert _cli("mutate", "--all-platforms", "--env", "M=1", src, dest)[0] == 0
    with open_source(dest) as d:
        (entry,) = d.entries
        assert isinstance(entry.node, ocitool.ImageIndex)
        assert entry.node.index.annotations == {"org.example.index": "kept"}
        images = entry.node.images()
        assert [str(i.platform) for i in images] == ["linux/amd64", "linux/arm64"]
        assert all(json.loads(i.raw_config)["config"]["Env"] == ["M=1"] for i in images)
    one = f"oci:{tmp_path / 'one'}:1"
    assert _cli("flatten", "--platform", "linux/arm64", src, one)[0] == 0
    assert _config(one)["architecture"] == "arm64"
    with open_source(src) as s:
        arm = select_one(s, platform=Platform.parse("linux/arm64")).image
        assert ocitool.mutate(arm, Mutation(user="x")).image.config.config is not None


def test_store_as_source_and_destination(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    src = _base(tmp_path, "base", {"etc/x": b"x"})
    (tmp_path / "app").mkdir()
    (tmp_path / "app/bin").write_bytes(b"b")
    assert _cli("--root", root, "append", src, "store:app:1", str(tmp_path / "app"))[0] == 0
    code, out, err = _cli("--root", root, "mutate", "--env", "S=1", "store:app:1", "store:app")
    assert code == 0, err
    assert out.endswith(" app:latest\n")
    code, out, err = _cli(
        "--root", root, "flatten", "store:app:latest", f"docker-archive:{tmp_path / 'f.tar'}:f:1"
    )
    assert code == 0, err
    cfg = _config(str(tmp_path / "f.tar"))
    assert cfg["config"]["Env"][-1] == "S=1" and len(cfg["rootfs"]["diff_ids"]) == 1
    code, out, _ = _cli("--root", root, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert sorted(out.split()) == ["app:1", "app:latest"]
    assert _cli("--root", root, "mutate", "--env", "S=1", "store:absent:1", "store:x")[0] == 1


def test_added_layers_date_the_image_and_config_edits_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ImageBuilder.from_scratch("linux/amd64", created=1000) as b:
        src = f"oci:{tmp_path / 'base'}:1"
        _write(b.add_files({"a": b"a"}).build(), src)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "2000")
    (tmp_path / "layer").mkdir()
    assert _cli("append", src, f"oci:{tmp_path / 'appended'}:1", str(tmp_path / "layer"))[0] == 0
    doc = _config(f"oci:{tmp_path / 'appended'}:1")
    assert doc["created"] == "1970-01-01T00:33:20Z"
    assert [h["created"] for h in doc["history"]] == ["1970-01-01T00:16:40Z", "1970-01-01T00:33:20Z"]
    assert _cli("mutate", "--user", "x", src, f"oci:{tmp_path / 'mutated'}:1")[0] == 0
    assert _config(f"oci:{tmp_path / 'mutated'}:1")["created"] == "1970-01-01T00:16:40Z"


def test_the_store_loads_a_built_image(tmp_path: Path) -> None:
    service = ocitool.ImageService(str(tmp_path / "root"))
    with (
        ImageBuilder.from_scratch("linux/amd64") as b,
        b.add_files({"x": b"x"}).build(names=["lib:1"]) as img,
    ):
        result = service.load(img)
        assert result.lines == ["Loaded image: lib:1"] and result.image_ids == [str(img.image.id)]
    (row,) = service.images()
    assert row.repo_tags == ["lib:1"]


def test_the_verbs_by_name_from_the_library(tmp_path: Path) -> None:
    # what the CLI calls: SOURCE/DEST strings, the store as either side, one VerbOptions
    options = ocitool.VerbOptions(root=tmp_path / "root")
    src = _base(tmp_path, "base", {"etc/x": b"x"})
    (tmp_path / "app").mkdir()
    (tmp_path / "app/bin").write_bytes(b"b")
    (appended,) = ocitool.append_image(src, [tmp_path / "app"], "store:app:1", options=options)
    assert appended.name == "app:1"
    (mutated,) = ocitool.mutate_image("store:app:1", Mutation(user="u"), "store:app:2", options=options)
    assert mutated.name == "app:2" and mutated.digest != appended.digest
    dest = f"oci:{tmp_path / 'flat'}:1"
    (flat,) = ocitool.flatten_image("store:app:2", dest, options=options)
    assert flat.name == "" and _config(dest)["config"]["User"] == "u"
    assert len(_config(dest)["rootfs"]["diff_ids"]) == 1
    with pytest.raises(ocitool.InvalidReferenceError):
        ocitool.flatten_image("store:app:2", f"store:app@sha256:{'0' * 64}", options=options)
    with pytest.raises(ocitool.ImageNotFoundError):
        ocitool.mutate_image("store:absent:1", Mutation(user="u"), dest, options=options)
    # with --all-platforms an index base gives the image of its platform; without one for the
    # image's platform the rebase names it, and nothing is written
    index = IndexBuilder()
    with ImageBuilder.from_scratch("linux/arm64") as b:
        index.add(b.add_files({"etc/x": b"x"}).build())
    arm = f"oci:{tmp_path / 'arm'}:1"
    with index.build() as built:
        ocitool.convert(built, arm, all_platforms=True)
    with pytest.raises(ocitool.PlatformNotFoundError, match="linux/amd64"):
        ocitool.rebase_image(
            "store:app:1",
            arm,
            src,
            f"oci:{tmp_path / 'never'}:1",
            options=ocitool.VerbOptions(root=tmp_path / "root", all_platforms=True),
        )
    assert not (tmp_path / "never").exists()
