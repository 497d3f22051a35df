"""Service containers against the real engine: a PostgreSQL built from Debian's packages,
reached by its alias from the steps with psql, ready before them, and gone afterwards."""

from __future__ import annotations

import docker

from runner.engine import labels
from tests.integration.fixtures.workspace import Result, Workspace, overlap

PSQL = "psql -h db -U postgres -Atc"


def pipeline(workspace: Workspace, image: str, jobs: str) -> None:
    text = f'version: 1\ndefaults: {{image: "{image}"}}\njobs:\n{jobs}'
    workspace.write("pipelines/ci.yml", text)


def db_job(name: str, image: str, steps: str, ready: str = "{tcp: 5432}") -> str:
    return f"""\
  {name}:
    services:
      db:
        image: "{image}"
        ready: {ready}
    steps:
{steps}
"""


def service_containers(engine: docker.DockerClient, result: Result) -> list[str]:
    found = engine.containers.list(
        all=True, filters={"label": [f"{labels.RUN}={result.run_id}", labels.JOB_SERVICE]}
    )
    return [c.name or "" for c in found]


def test_a_step_reaches_the_postgres_service_by_its_alias(
    workspace: Workspace, postgres_image: str, engine: docker.DockerClient
) -> None:
    steps = f'      - {PSQL} "select 40 + 2"\n      - {PSQL} "show server_version"\n'
    pipeline(workspace, postgres_image, db_job("test", postgres_image, steps))
    result = workspace.run("pipelines/ci.yml")
    assert result.code == 0, result
    lines = result.lines_of("test")
    assert "42" in lines, result
    assert any(line.startswith("15.") for line in lines), result
    # ready before the first step, and said so
    ready = lines.index("service db: ready (tcp 5432)")
    assert ready < lines.index("42"), lines
    assert service_containers(engine, result) == []
    assert not engine.networks.list(filters={"label": f"{labels.RUN}={result.run_id}"})


def test_each_job_has_its_own_db_even_in_parallel(
    workspace: Workspace, postgres_image: str
) -> None:
    """Two jobs of one run, both with a `db`: each sees only its own database."""
    steps = (
        f'      - {PSQL} "create table marks (job text)"\n'
        f"      - {PSQL} \"insert into marks values ('$DOCKSTEP_JOB')\"\n"
        "      - sleep 2\n"
        f'      - {PSQL} "select count(*) from marks"\n'
    )
    jobs = db_job("one", postgres_image, steps) + db_job("two", postgres_image, steps)
    pipeline(workspace, postgres_image, jobs)
    result = workspace.run("pipelines/ci.yml")
    assert result.code == 0, result
    assert overlap(result.jobs["one"], result.jobs["two"]), result
    for job in ("one", "two"):
        assert result.lines_of(job)[-1] == "1", result


def test_a_failing_job_shows_the_services_output(
    workspace: Workspace, postgres_image: str, engine: docker.DockerClient
) -> None:
    steps = f'      - {PSQL} "select * from no_such_table"\n'
    pipeline(workspace, postgres_image, db_job("test", postgres_image, steps))
    result = workspace.run("pipelines/ci.yml")
    assert result.code == 1, result
    lines = result.lines_of("test")
    header = next(i for i, line in enumerate(lines) if line.startswith("service db: last "))
    shown = "\n".join(lines[header:])
    assert "ready to accept connections" in shown, result
    assert 'relation "no_such_table" does not exist' in shown, result
    assert service_containers(engine, result) == []


def test_a_service_that_never_gets_ready_fails_the_job_before_its_steps(
    workspace: Workspace, postgres_image: str
) -> None:
    steps = "      - touch ran\n"
    ready = '{command: "exit 1", timeout: 2s, interval: 200ms}'
    pipeline(workspace, postgres_image, db_job("test", postgres_image, steps, ready))
    result = workspace.run("pipelines/ci.yml")
    assert result.code == 1, result
    reason = result.jobs["test"]["reason"]
    assert reason.startswith("service 'db' is not ready: command exit 1 still failing"), reason
    assert not (workspace.path / "ran").exists()
    assert any(line.startswith("service db: last ") for line in result.lines_of("test"))


def test_a_service_image_without_a_healthcheck_is_refused_at_once(
    workspace: Workspace, postgres_image: str
) -> None:
    job = db_job("test", postgres_image, "      - echo hi\n", "healthcheck")
    pipeline(workspace, postgres_image, job)
    result = workspace.run("pipelines/ci.yml")
    assert result.code == 1, result
    assert "the image has no HEALTHCHECK" in result.jobs["test"]["reason"], result
