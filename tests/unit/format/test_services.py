"""A job's `services:`: the model built and the problems shown."""

from __future__ import annotations

from pathlib import Path

from runner.model.pipeline import ImageRef
from runner.model.services import Readiness, ReadyKind
from tests.unit.pipelines import load, problems, steps_of

IMAGE = "postgres@sha256:" + "ab" * 32


def job(services: str) -> str:
    return f"""\
version: 1
defaults: {{image: "{IMAGE}"}}
jobs:
  test:
    services:
{services}
    steps: [psql -h db]
"""


def test_services_are_read_with_their_readiness(tmp_path: Path) -> None:
    text = job(
        f"""\
      db:
        image: "{IMAGE}"
        env: {{POSTGRES_PASSWORD: x}}
        command: postgres -D /data
        ready: {{tcp: 5432, timeout: 90s, interval: 1s}}
      web: {{image: "{IMAGE}", ready: {{http: "http://localhost:8080/health"}}}}
      cache: {{image: "{IMAGE}", ready: healthcheck}}
      plain: {{image: "{IMAGE}"}}
"""
    )
    services = steps_of(load(text, tmp_path).job("test")).services
    assert [s.alias for s in services] == ["db", "web", "cache", "plain"]
    db, web, cache, plain = services
    assert db.image == ImageRef(reference=IMAGE)
    assert db.env == (("POSTGRES_PASSWORD", "x"),)
    assert db.command == "postgres -D /data"
    assert db.ready == Readiness(kind=ReadyKind.TCP, target="5432", timeout=90, interval=1)
    assert web.ready.kind is ReadyKind.HTTP
    assert web.ready.target == "http://localhost:8080/health"
    assert cache.ready == Readiness(kind=ReadyKind.HEALTHCHECK)
    assert plain.ready == Readiness()


def test_service_problems_are_each_reported_with_their_place(tmp_path: Path) -> None:
    text = job(
        f"""\
      Bad_Name: {{image: "{IMAGE}"}}
      db: {{image: "python:3.12", ready: {{tcp: 70000}}}}
      two: {{image: "{IMAGE}", ready: {{tcp: 1, command: "true"}}}}
      web: {{image: "{IMAGE}", ready: {{http: "localhost:80"}}, port: 80}}
"""
    )
    found = problems(text, tmp_path)
    assert any("6:7: jobs.test.services: invalid service name 'Bad_Name'" in p for p in found)
    assert any("jobs.test.services.db.image: floating tag" in p for p in found), found
    assert any("services.db.ready.tcp: expected a port number" in p for p in found), found
    assert any("services.two.ready: expected exactly one of tcp, http" in p for p in found)
    assert any("services.web.ready.http: expected an http:// URL" in p for p in found), found
    assert any("services.web: unknown key 'port'" in p for p in found), found


def test_a_package_job_cannot_have_services(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    text = f"""\
version: 1
jobs:
  pkg:
    package: {{context: .}}
    services: {{db: {{image: "{IMAGE}"}}}}
"""
    assert any("services" in p for p in problems(text, tmp_path))
