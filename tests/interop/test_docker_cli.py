"""The docker v28 CLI, talking to the real daemon, is the oracle for what our CLI prints:
``images`` (JSON lines and the table), ``history`` and ``inspect --format`` templates.

Which images to compare is decided by the daemon, never by ocitool: the rows of the images the
``docker load`` added (and named), which must be the images the fixture holds as recorded by
skopeo; an image ocitool failed to list would be missing from our side.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ocitool.cli import main
from tests import peers

pytestmark = pytest.mark.oracle("docker-cli")

ARCHIVES = ["docker/two-images.tar", "docker/imported.tar", "buildah/opaque.tar"]
TEMPLATES = [
    "{{.Id}}",
    "{{.ID}}",
    "{{.Id}} {{.Size}}",
    "{{json .RepoTags}}",
    "{{range .RepoTags}}{{.}},{{end}}",
    '{{join .RepoTags ","}}',
    "{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}",
    "{{.Config.Env}}",
    "{{json .Config.Env}}",
    "{{.Config.Cmd}} {{.Config.Entrypoint}}",
    "{{.Config.Labels}}",
    "{{json .Config.Labels}}",
    '{{index .Config.Labels "org.opencontainers.image.title"}}',
    "{{.Config.ExposedPorts}}",
    "{{json .Config.ExposedPorts}}",
    "{{.Config.User}} {{.Config.WorkingDir}} {{.Config.StopSignal}}",
    "{{json .Config.Healthcheck}}",
    "{{json .Config}}",  # the typed DockerOCIImageConfig: field order and omitempty
    "{{.Config.OnBuild}} {{.Config.Shell}}",
    "{{len .RootFS.Layers}} {{.RootFS.Type}}",
    "{{json .RootFS}}",
    "{{.Created}} {{.DockerVersion}} {{.Author}} {{.Comment}}",
    "{{upper .Os}} {{lower .Architecture}} {{title .Os}}",
    '{{printf "%-12s|%8d|" .Os .Size}}',
    "{{.Metadata.LastTagTime}}",
    "{{json .Metadata}}",
    "{{.RepoDigests}} {{.Parent}}",
]


def _ours(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _recorded_ids(rel: str) -> set[str]:
    return {im["image_id"] for im in peers.expected(rel)["images"]}


def _loaded_refs(res: peers.LoadResult) -> list[str]:
    """The repositories ``docker load`` printed (``Loaded image: repo:tag``)."""
    prefix = "Loaded image: "
    return sorted({line[len(prefix) :].rsplit(":", 1)[0] for line in res.output if line.startswith(prefix)})


@pytest.mark.parametrize("rel", ARCHIVES)
def test_images_json_and_table_match_docker(rel: str, docker_cli: peers.DockerDaemon) -> None:
    docker = docker_cli
    archive = str(peers.FIXTURES / rel)
    ours = _lines(_ours("images", "--no-trunc", "--format", "json", archive))
    with docker.loaded(archive) as res:
        added = set(res.new_ids) | set(res.image_ids)
        assert added == _recorded_ids(rel)
        theirs = [r for r in docker.images() if r["ID"] in added]
        drop = {"CreatedSince"}  # relative to "now": CreatedAt is compared instead
        assert sorted(
            ({k: v for k, v in r.items() if k not in drop} for r in ours), key=json.dumps
        ) == sorted(({k: v for k, v in r.items() if k not in drop} for r in theirs), key=json.dumps)
        refs = _loaded_refs(res)
        assert refs, res.output  # every archive here is tagged: the table is always compared
        fmt = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"
        args = [a for ref in refs for a in ("--filter", f"reference={ref}")]
        table = docker.run("images", *args, "--format", fmt).stdout.decode()
        assert table.count("\n") > 1  # a header and rows
        assert _ours("images", *args, "--format", fmt, archive) == table


@pytest.mark.parametrize("rel", ARCHIVES)
def test_history_table_matches_docker(rel: str, docker_cli: peers.DockerDaemon) -> None:
    docker = docker_cli
    archive = str(peers.FIXTURES / rel)
    with docker.loaded(archive) as res:
        ids = res.image_ids  # what docker loaded, not what ocitool lists
        assert set(ids) == _recorded_ids(rel)
        assert sorted(_ours("inspect", "--format", "{{.Id}}", archive).split()) == sorted(ids)
        for image_id in ids:
            for extra in ([], ["--no-trunc"], ["-H=false"], ["-q"]):
                fmt = (
                    []
                    if "-q" in extra
                    else ["--format", "table {{.ID}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"]
                )
                theirs = docker.run("history", *extra, *fmt, image_id).stdout.decode()
                assert _ours("history", *extra, *fmt, archive, image_id) == theirs


TWO = "docker/two-images.tar"


@pytest.fixture(scope="module")
def two_images_loaded(docker_daemon: peers.DockerDaemon) -> Iterator[peers.LoadResult]:
    """docker/two-images.tar loaded once for every template (its own DockerDaemon handle, so
    that the per-test cleanup of the ``docker`` fixture leaves it alone until the module ends)."""
    daemon = peers.DockerDaemon(env=docker_daemon.env, docker=docker_daemon.docker)
    with daemon.loaded(peers.FIXTURES / TWO) as res:
        yield res


@pytest.mark.parametrize("template", TEMPLATES)
def test_inspect_templates_match_docker(
    template: str, two_images_loaded: peers.LoadResult, docker_cli: peers.DockerDaemon
) -> None:
    archive = str(peers.FIXTURES / TWO)
    ids = two_images_loaded.image_ids
    assert set(ids) == _recorded_ids(TWO)
    for image_id in ids:
        theirs = docker_cli.run("image", "inspect", "--format", template, image_id).stdout.decode()
        assert _ours("inspect", "--format", template, archive, image_id) == theirs
