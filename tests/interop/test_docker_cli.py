"""The docker v28 CLI, talking to the real daemon, is the oracle for what our CLI prints:
``images`` (JSON lines and the table), ``history`` and ``inspect --format`` templates."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from ocitool.cli import main
from tests import peers

pytestmark = pytest.mark.peers

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


@pytest.mark.parametrize("rel", ARCHIVES)
def test_images_json_and_table_match_docker(rel: str, docker: peers.DockerDaemon) -> None:
    archive = str(peers.FIXTURES / rel)
    ours = _lines(_ours("images", "--no-trunc", "--format", "json", archive))
    with docker.loaded(archive):
        ids = {row["ID"] for row in ours}
        theirs = [r for r in docker.images() if r["ID"] in ids]
        drop = {"CreatedSince"}  # relative to "now": CreatedAt is compared instead
        assert sorted(
            ({k: v for k, v in r.items() if k not in drop} for r in ours), key=json.dumps
        ) == sorted(({k: v for k, v in r.items() if k not in drop} for r in theirs), key=json.dumps)
        refs = sorted({r["Repository"] for r in ours if r["Repository"] != "<none>"})
        if refs:
            fmt = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"
            args = [a for ref in refs for a in ("--filter", f"reference={ref}")]
            table = docker.run("images", *args, "--format", fmt).stdout.decode()
            assert _ours("images", *args, "--format", fmt, archive) == table


@pytest.mark.parametrize("rel", ARCHIVES)
def test_history_table_matches_docker(rel: str, docker: peers.DockerDaemon) -> None:
    archive = str(peers.FIXTURES / rel)
    ids = _ours("inspect", "--format", "{{.Id}}", archive).split()
    with docker.loaded(archive):
        for image_id in ids:
            for extra in ([], ["--no-trunc"], ["-H=false"], ["-q"]):
                fmt = (
                    []
                    if "-q" in extra
                    else ["--format", "table {{.ID}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"]
                )
                theirs = docker.run("history", *extra, *fmt, image_id).stdout.decode()
                assert _ours("history", *extra, *fmt, archive, image_id) == theirs


@pytest.mark.parametrize("template", TEMPLATES)
def test_inspect_templates_match_docker(template: str, docker: peers.DockerDaemon) -> None:
    archive = str(peers.FIXTURES / "docker" / "two-images.tar")
    ids = _ours("inspect", "--format", "{{.Id}}", archive).split()
    with docker.loaded(archive):
        for image_id in ids:
            theirs = docker.run("image", "inspect", "--format", template, image_id).stdout.decode()
            assert _ours("inspect", "--format", template, archive, image_id) == theirs
