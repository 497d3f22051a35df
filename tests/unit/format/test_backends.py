"""`defaults.backend`, `--backend`, and the keys a Swarm task cannot honour, refused in place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineInvalid
from runner.format.load import load_pipeline_text
from runner.model.pipeline import Backend, Deploy, Steps
from tests.unit.pipelines import IMAGE, load, problems

ASKING_TOO_MUCH = f"""\
version: 1
defaults: {{image: '{IMAGE}', backend: swarm}}
jobs:
  build:
    privileged: true
    docker_socket: true
    resources: {{memory: 64m, pids: 50}}
    cache:
      volumes: [/root/.cache]
    steps: [make]
"""


def test_the_backend_is_local_unless_the_file_says_otherwise(tmp_path: Path) -> None:
    plain = f"version: 1\ndefaults: {{image: '{IMAGE}'}}\njobs: {{a: {{steps: [x]}}}}\n"
    assert load(plain, tmp_path).backend is Backend.LOCAL
    swarm = plain.replace("'}", "', backend: swarm}", 1)
    assert load(swarm, tmp_path).backend is Backend.SWARM


def test_an_unknown_backend_is_a_problem_with_a_suggestion(tmp_path: Path) -> None:
    defaults = f"defaults: {{image: '{IMAGE}', backend: swram}}"
    text = f"version: 1\n{defaults}\njobs: {{a: {{steps: [x]}}}}"
    found = problems(text, tmp_path)
    assert len(found) == 1
    assert found[0].startswith("pipelines/ci.yml:2:")
    assert "defaults.backend: expected one of local, swarm, got 'swram'" in found[0]
    assert "did you mean 'swarm'" in found[0]


def test_what_a_swarm_task_cannot_do_is_refused_at_each_key(tmp_path: Path) -> None:
    found = problems(ASKING_TOO_MUCH, tmp_path)
    assert [line.split(": ", 2)[:2] for line in found] == [
        ["pipelines/ci.yml:5:17", "jobs.build.privileged"],
        ["pipelines/ci.yml:6:20", "jobs.build.docker_socket"],
    ]
    assert all("cannot run on the swarm backend" in line for line in found)
    assert all(line.endswith("run this job with --backend local") for line in found)


def test_a_pids_limit_and_cache_volumes_run_on_the_swarm(tmp_path: Path) -> None:
    text = ASKING_TOO_MUCH.replace("    privileged: true\n    docker_socket: true\n", "")
    pipeline = load(text, tmp_path)
    assert pipeline.backend is Backend.SWARM
    (job,) = pipeline.jobs
    assert isinstance(job.action, Steps)
    assert job.action.resources.pids == 50
    assert [volume.path for volume in job.action.cache.volumes] == ["/root/.cache"]


def test_the_same_file_is_fine_on_the_local_backend(tmp_path: Path) -> None:
    local = ASKING_TOO_MUCH.replace(", backend: swarm", "")
    assert load(local, tmp_path).backend is Backend.LOCAL


@pytest.mark.parametrize("backend", [Backend.SWARM, Backend.LOCAL])
def test_the_backend_given_to_the_loader_replaces_the_files(
    tmp_path: Path, backend: Backend
) -> None:
    text = ASKING_TOO_MUCH.replace("swarm", "local" if backend is Backend.SWARM else "swarm")
    doc = textwrap.dedent(text)
    if backend is Backend.SWARM:
        with pytest.raises(PipelineInvalid, match="privileged: cannot run on the swarm"):
            load_pipeline_text(doc, file="ci.yml", workspace=tmp_path, backend=backend)
    else:
        loaded = load_pipeline_text(doc, file="ci.yml", workspace=tmp_path, backend=backend)
        assert loaded.backend is Backend.LOCAL


def test_false_flags_are_no_reason_to_refuse(tmp_path: Path) -> None:
    text = ASKING_TOO_MUCH.replace("true", "false").replace(", pids: 50", "")
    text = text.replace("    cache:\n      volumes: [/root/.cache]\n", "")
    assert load(text, tmp_path).backend is Backend.SWARM


def test_service_sidecars_load_for_the_swarm_as_for_the_local_engine(tmp_path: Path) -> None:
    text = f"""\
version: 1
defaults: {{image: '{IMAGE}', backend: swarm}}
jobs:
  test:
    services:
      db: {{image: '{IMAGE}', ready: {{tcp: 5432}}}}
    steps: [make]
"""
    pipeline = load(text, tmp_path)
    assert pipeline.backend is Backend.SWARM
    action = pipeline.job("test").action
    assert isinstance(action, Steps) and [s.alias for s in action.services] == ["db"]


DEPLOYS = f"""\
version: 1
defaults: {{image: '{IMAGE}'}}
environments: {{staging: {{}}}}
jobs:
  web:
    stage: deploy
    deploy: {{environment: staging, image: '{IMAGE}', service: web, network: host}}
  pinned:
    stage: deploy
    deploy: {{environment: staging, image: '{IMAGE}', service: api, target: local}}
"""


def _targets(text: str, tmp_path: Path) -> dict[str, Backend]:
    pipeline = load(text, tmp_path)
    return {job.name: job.action.target for job in pipeline.jobs if isinstance(job.action, Deploy)}


def test_a_deploy_goes_where_it_says_else_where_the_steps_run(tmp_path: Path) -> None:
    assert _targets(DEPLOYS, tmp_path) == {"web": Backend.LOCAL, "pinned": Backend.LOCAL}
    assert not load(DEPLOYS, tmp_path).needs_swarm
    swarm = DEPLOYS.replace("'}\nenv", "', backend: swarm}\nenv", 1)
    assert _targets(swarm, tmp_path) == {"web": Backend.SWARM, "pinned": Backend.LOCAL}
    one = DEPLOYS.replace("network: host}", "network: host, target: swarm}")
    assert _targets(one, tmp_path) == {"web": Backend.SWARM, "pinned": Backend.LOCAL}
    assert load(one, tmp_path).needs_swarm


def test_a_swarm_deploy_publishes_no_ports(tmp_path: Path) -> None:
    text = DEPLOYS.replace("network: host}", "ports: ['8080:80'], target: swarm}")
    found = problems(text, tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith("pipelines/ci.yml:7:")
    assert "jobs.web.deploy.ports: a swarm deploy cannot publish ports" in found[0]
    assert "network: host" in found[0]
    assert _targets(text.replace("target: swarm", "target: local"), tmp_path)["web"] is (
        Backend.LOCAL
    )


def test_an_unknown_deploy_target_is_a_problem_with_a_suggestion(tmp_path: Path) -> None:
    found = problems(DEPLOYS.replace("target: local", "target: swram"), tmp_path)
    assert len(found) == 1 and "jobs.pinned.deploy.target" in found[0], found
    assert "did you mean 'swarm'" in found[0]
