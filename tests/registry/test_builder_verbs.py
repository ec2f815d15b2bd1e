"""crane's verbs with a registry on both sides (Debian's docker-registry): append to scratch
pushed by tag, mutated from the registry back into it, and skopeo reads what was pushed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ocitool.cli import main
from tests.peers import skopeo
from tests.registry import servers

pytestmark = pytest.mark.peers


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.mark.oracle("skopeo")
def test_append_and_mutate_through_a_registry(registry: servers.Registry, tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/hello").write_bytes(b"hello\n")
    ref = f"docker://{registry.host}/built/app:1"
    code, out, err = _cli("append", "--tls-verify=false", "scratch", ref, str(tmp_path / "app"))
    assert code == 0, err
    pushed = out.split()[0]
    mutated = f"docker://{registry.host}/built/app:2"
    code, _, err = _cli("mutate", "--tls-verify=false", "--env", "A=1", "--cmd", '["/hello"]', ref, mutated)
    assert code == 0, err
    raw = skopeo("inspect", "--raw", "--tls-verify=false", ref).stdout
    assert json.loads(raw)["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    digest = json.loads(skopeo("inspect", "--tls-verify=false", ref).stdout)["Digest"]
    assert digest == pushed
    config = json.loads(skopeo("inspect", "--config", "--tls-verify=false", mutated).stdout)
    assert config["config"]["Env"] == ["A=1"] and config["config"]["Cmd"] == ["/hello"]
    assert len(config["rootfs"]["diff_ids"]) == 1
