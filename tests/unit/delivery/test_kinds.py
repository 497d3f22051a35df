"""Deploys with rollback (`Deployer`) and the package -> deploy -> verify kinds, over the
fake engine: what is built, tagged, pushed, started, stopped and renamed, in which order."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from runner import report
from runner.delivery import approvals, probes, registry
from runner.delivery.approvals import Gate
from runner.delivery.deploy import Deployer, DeployFailed, DeployJob
from runner.delivery.package import PACKAGE_REPOSITORY, PackageJob
from runner.delivery.verify import VerifyJob
from runner.engine.api import BuildRequest, OutputSink
from runner.engine.labels import DEPLOYED_BY, ENVIRONMENT, SERVICE
from runner.errors import EngineError
from runner.execute.job import JobRunner
from runner.execute.kinds import JobContext, Kinds
from runner.execute.settings import RunSettings
from runner.git import Revision
from runner.model.pipeline import (
    Baseline,
    CheckKind,
    Deploy,
    Environment,
    HealthCheck,
    Job,
    Package,
    RetryPolicy,
    Verify,
)
from runner.model.results import JobResult, Measurements, Status
from runner.output import Console
from tests.fake_engine import FakeEngine

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REVISION = Revision(commit=COMMIT, branch="main", tag="")
SOURCE = "https://example.test/webapp.git"
STAGING = Environment(name="staging", env=(("DEPLOYED_TO", "staging"), ("LEVEL", "env")))
PRODUCTION = Environment(name="production", approval=True)
REPOSITORIES = ("127.0.0.1:5000/webapp", "registry.test:5000/team/webapp")
RETRY = RetryPolicy(max_retries=3, delay=1.0, backoff=2.0, max_delay=4.0)
SERVICE_NAME = "webapp-staging"
ENV = (("DEPLOYED_TO", "staging"), ("LEVEL", "deploy"))
BACKUP = f"{SERVICE_NAME}-previous"


@dataclass
class DeliveryEngine(FakeEngine):
    """The fake engine, plus: build requests kept, digests that follow the image pushed,
    and containers of chosen images that fail to start."""

    builds: list[BuildRequest] = field(default_factory=list)
    failing_images: set[str] = field(default_factory=set)

    def build(self, request: BuildRequest, log: OutputSink) -> str:
        self.builds.append(request)
        return super().build(request, log)

    def push(self, reference: str, auth: tuple[str, str] | None = None) -> str:
        super().push(reference, auth)
        return digest_of(self.present[reference])

    def start(self, container: str) -> None:
        spec = self.containers.get(container)
        if spec is not None and spec.image in self.failing_images:
            self._record("start", container)
            raise EngineError("driver failed programming external connectivity: port is busy")
        super().start(container)


def digest_of(image: str) -> str:
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


def calls(engine: FakeEngine, *kinds: str) -> list[tuple[str, str]]:
    return [(kind, subject) for kind, subject in engine.calls if kind in kinds]


# ---------------------------------------------------------------- Deployer


def deploy_spec(**fields: object) -> Deploy:
    values: dict[str, object] = {
        "environment": "staging",
        "package": "image",
        "service": SERVICE_NAME,
        "ports": ((18080, 8000),),
        "env": (("LEVEL", "deploy"),),
    }
    values.update(fields)
    return Deploy(**values)  # type: ignore[arg-type]


@dataclass
class Said:
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)


def test_a_first_deploy_has_no_previous_and_publishes_its_ports_on_localhost() -> None:
    engine, said = DeliveryEngine(), Said()
    deployment = Deployer(engine, "r1").deploy(deploy_spec(), STAGING, "img:one", said, env=ENV)
    assert (deployment.previous, deployment.previous_image) == (None, None)
    assert deployment.service == SERVICE_NAME
    spec = engine.containers[SERVICE_NAME]
    assert spec.image == "img:one"
    assert spec.ports == ((18080, 8000),)
    assert dict(spec.labels) == {SERVICE: SERVICE_NAME, ENVIRONMENT: "staging", DEPLOYED_BY: "r1"}
    assert spec.env == ENV  # as given: `environment.deploy_env` decides it
    assert spec.command == ()  # the image's own command
    assert SERVICE_NAME in engine.started
    assert said.lines == [f"deployed img:one as {SERVICE_NAME} to staging (127.0.0.1:18080->8000)"]
    assert calls(engine, "stop", "rename") == []


def test_a_deploy_command_runs_with_sh() -> None:
    engine = DeliveryEngine()
    spec = deploy_spec(command="httpd -f -p 9000 -h /www", ports=())
    Deployer(engine, "r1").deploy(spec, STAGING, "img:one", Said(), env=ENV)
    assert engine.containers[SERVICE_NAME].command == ("sh", "-c", "httpd -f -p 9000 -h /www")


def test_a_second_deploy_stops_the_first_and_keeps_it_as_previous() -> None:
    engine, said = DeliveryEngine(), Said()
    deployer = Deployer(engine, "r1")
    deployer.deploy(deploy_spec(), STAGING, "img:one", said, env=ENV)
    engine.calls.clear()
    deployment = Deployer(engine, "r2").deploy(deploy_spec(), STAGING, "img:two", said, env=ENV)

    assert (deployment.previous, deployment.previous_image) == (BACKUP, "img:one")
    assert engine.containers[BACKUP].image == "img:one"
    assert BACKUP not in engine.started, "the previous version must be stopped"
    assert engine.containers[SERVICE_NAME].image == "img:two"
    assert SERVICE_NAME in engine.started
    assert dict(engine.containers[SERVICE_NAME].labels)[DEPLOYED_BY] == "r2"
    # stopped (freeing its port) and renamed before the new one is created
    assert calls(engine, "stop", "rename", "create", "start") == [
        ("stop", SERVICE_NAME),
        ("rename", f"{SERVICE_NAME}->{BACKUP}"),
        ("create", SERVICE_NAME),
        ("start", SERVICE_NAME),
    ]
    assert f"stopped {SERVICE_NAME} (img:one), kept as {BACKUP}" in said.lines


def test_a_third_deploy_replaces_the_kept_previous_version() -> None:
    engine = DeliveryEngine()
    for image in ("img:one", "img:two", "img:three"):
        Deployer(engine, "r").deploy(deploy_spec(), STAGING, image, Said(), env=ENV)
    assert engine.containers[BACKUP].image == "img:two"
    assert engine.containers[SERVICE_NAME].image == "img:three"
    assert sorted(engine.containers) == [SERVICE_NAME, BACKUP]


def test_rollback_brings_the_previous_version_back_under_the_service_name() -> None:
    engine, said = DeliveryEngine(), Said()
    Deployer(engine, "r1").deploy(deploy_spec(), STAGING, "img:one", Said(), env=ENV)
    deployer = Deployer(engine, "r2")
    deployment = deployer.deploy(deploy_spec(), STAGING, "img:two", Said(), env=ENV)
    engine.calls.clear()
    deployer.rollback(deployment, said)

    assert sorted(engine.containers) == [SERVICE_NAME]
    assert engine.containers[SERVICE_NAME].image == "img:one"
    assert SERVICE_NAME in engine.started
    assert calls(engine, "remove", "rename", "start") == [
        ("remove", SERVICE_NAME),
        ("rename", f"{BACKUP}->{SERVICE_NAME}"),
        ("start", SERVICE_NAME),
    ]
    assert said.lines == [f"rolled back {SERVICE_NAME} to the previous version (img:one)"]


def test_rollback_of_a_first_deploy_removes_it() -> None:
    engine, said = DeliveryEngine(), Said()
    deployer = Deployer(engine, "r1")
    deployment = deployer.deploy(deploy_spec(), STAGING, "img:one", Said(), env=ENV)
    deployer.rollback(deployment, said)
    assert engine.containers == {}
    assert said.lines == [f"rolled back: removed {SERVICE_NAME} (there was no previous version)"]


def test_a_start_failure_rolls_back_to_the_previous_version() -> None:
    engine, said = DeliveryEngine(failing_images={"img:bad"}), Said()
    Deployer(engine, "r1").deploy(deploy_spec(), STAGING, "img:one", Said(), env=ENV)
    with pytest.raises(DeployFailed, match=rf"^{SERVICE_NAME} did not start: .*port is busy.*; "
                       "rolled back$"):  # fmt: skip
        Deployer(engine, "r2").deploy(deploy_spec(), STAGING, "img:bad", said, env=ENV)
    assert sorted(engine.containers) == [SERVICE_NAME]
    assert engine.containers[SERVICE_NAME].image == "img:one"
    assert SERVICE_NAME in engine.started
    assert said.lines[-1] == f"rolled back {SERVICE_NAME} to the previous version (img:one)"


def test_a_first_deploy_that_cannot_start_leaves_nothing() -> None:
    engine = DeliveryEngine(failing_images={"img:bad"})
    with pytest.raises(DeployFailed, match="did not start"):
        Deployer(engine, "r1").deploy(deploy_spec(), STAGING, "img:bad", Said(), env=ENV)
    assert engine.containers == {}


# ---------------------------------------------------------------- package, deploy, verify kinds


@pytest.fixture(autouse=True)
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between push attempts, recorded and not slept (a cancel still counts)."""
    slept: list[float] = []
    original = PackageJob._pause

    def pause(self: PackageJob, context: JobContext, seconds: float) -> None:
        slept.append(seconds)
        original(self, context, 0.0)

    monkeypatch.setattr(PackageJob, "_pause", pause)
    return slept


def package_job(
    name: str = "image",
    push: tuple[str, ...] = REPOSITORIES,
    tags: tuple[str, ...] = ("sha", "branch"),
) -> Job:
    spec = Package(
        context="examples/webapp",
        args=(("BASE", "${BASE_IMAGE}"), ("VERSION", "${DOCKSTEP_COMMIT_SHA:-dev}")),
        labels=(("org.opencontainers.image.title", "webapp"),),
        tags=tags,
        push=push,
        retry=RETRY,
    )
    return Job(name=name, stage="package", action=spec, needs=())


def deploy_job(
    name: str = "deploy-staging", environment: str = "staging", package: str = "image"
) -> Job:
    spec = deploy_spec(environment=environment, package=package)
    return Job(name=name, stage="deploy", action=spec, needs=(package,))


COMMAND_CHECK = HealthCheck(
    kind=CheckKind.COMMAND, target="test -s /www/version", deadline=0.05, interval=0.01
)


def verify_job(
    checks: tuple[HealthCheck, ...] = (COMMAND_CHECK,), baseline: Baseline | None = None
) -> Job:
    spec = Verify(deployment="deploy-staging", checks=checks, baseline=baseline)
    return Job(name="smoke", stage="verify", action=spec, needs=("deploy-staging",))


class Run:
    """One run's package, deploy and verify runners over a shared engine, with its console
    captured; each job gets the results of the jobs run before it as its inputs."""

    def __init__(
        self, engine: DeliveryEngine, tmp_path: Path, run_id: str, gate: Gate | None = None
    ) -> None:
        self.output = io.StringIO()
        console = Console(self.output, colour=False, mask=lambda text: text)
        settings = RunSettings(
            run_id=run_id,
            workspace=tmp_path,
            network="",
            labels=(),
            builtins=(("DOCKSTEP_COMMIT_SHA", COMMIT),),
            variables=(("BASE_IMAGE", "sha256:" + "b" * 64),),
        )
        self.package = PackageJob(engine, settings=settings, revision=REVISION, source=SOURCE)
        gate = gate or Gate(tmp_path / run_id, run_id, interactive=False)
        kinds: Kinds = {
            Package: self.package,
            Deploy: DeployJob(
                engine, settings=settings, environments=(STAGING, PRODUCTION), gate=gate
            ),
            Verify: VerifyJob(engine, run_id=run_id),
        }
        self.runner = JobRunner(
            engine, kinds=kinds, console=console, workspace=tmp_path, log_dir=tmp_path / run_id
        )
        self.results: dict[str, JobResult] = {}

    def job(self, job: Job) -> JobResult:
        done = self.runner.run(job, dict(self.results))
        self.results[job.name] = done
        return done

    def lines(self, job: str) -> list[str]:
        prefix = f"{job} | "
        return [
            line[len(prefix) :] for line in self.output.getvalue().splitlines()
            if line.startswith(prefix)
        ]  # fmt: skip


TRANSIENT = "received unexpected HTTP status: 500 Internal Server Error"


def test_package_builds_once_then_tags_and_pushes_every_repository(
    tmp_path: Path, pauses: list[float]
) -> None:
    engine = DeliveryEngine(push_errors=[TRANSIENT, TRANSIENT])
    run = Run(engine, tmp_path, "r1")
    done = run.job(package_job())
    assert done.status is Status.PASSED, done

    [request] = engine.builds
    assert request.tag == f"{PACKAGE_REPOSITORY}/image:sha-0123456789ab"
    assert request.context == str((tmp_path / "examples/webapp").resolve())
    assert dict(request.args) == {"BASE": "sha256:" + "b" * 64, "VERSION": COMMIT}
    labels = dict(request.labels)
    assert labels["org.opencontainers.image.revision"] == COMMIT
    assert labels["org.opencontainers.image.source"] == SOURCE
    assert labels["org.opencontainers.image.title"] == "webapp"
    assert "org.opencontainers.image.created" in labels

    image = engine.present[request.tag]
    tags = ("sha-0123456789ab", "main")
    references = [f"{repository}:{tag}" for repository in REPOSITORIES for tag in tags]
    assert all(engine.present[reference] == image for reference in references)
    first = references[0]
    assert [subject for _, subject in calls(engine, "push")] == [first, first, *references]
    outputs = report.outputs(done)
    assert outputs["image"] == image
    assert outputs["tags"] == "sha-0123456789ab main"
    assert outputs["pushed"] == " ".join(f"{r}@{digest_of(image)}" for r in REPOSITORIES)
    lines = run.lines("image")
    assert any(f"push of {first} failed ({TRANSIENT}); attempt 2/4 in" in ln for ln in lines)
    assert any(f"push of {first} failed ({TRANSIENT}); attempt 3/4 in" in ln for ln in lines)
    assert f"pushed {references[-1]} ({digest_of(image)})" in lines
    # exponential backoff with up to one delay of jitter: 1 s * 2**n + [0, 1 s]
    assert len(pauses) == 2
    assert 1.0 <= pauses[0] <= 2.0
    assert 2.0 <= pauses[1] <= 3.0


def test_a_permanent_push_error_fails_the_package_job_at_once(tmp_path: Path) -> None:
    engine = DeliveryEngine(push_errors=["unauthorized: authentication required"])
    run = Run(engine, tmp_path, "r1")
    done = run.job(package_job())
    assert done.status is Status.FAILED
    assert "unauthorized: authentication required" in (done.reason or "")
    assert len(calls(engine, "push")) == 1
    assert not any("attempt" in line for line in run.lines("image"))


def test_package_without_a_scheme_tag_uses_the_run_id(tmp_path: Path) -> None:
    engine = DeliveryEngine()
    run = Run(engine, tmp_path, "r7")
    done = run.job(package_job(tags=("semver",), push=("127.0.0.1:5000/webapp",)))
    assert report.outputs(done)["tags"] == "run-r7"  # no version tag on this revision
    assert calls(engine, "push") == [("push", "127.0.0.1:5000/webapp:run-r7")]


def test_deploy_runs_the_digest_the_package_job_pushed(tmp_path: Path) -> None:
    engine = DeliveryEngine()
    run = Run(engine, tmp_path, "r1")
    packaged = report.outputs(run.job(package_job()))
    done = run.job(deploy_job())
    assert done.status is Status.PASSED, done
    pushed = packaged["pushed"].split()[0]
    assert pushed.startswith("127.0.0.1:5000/webapp@sha256:")
    assert engine.containers[SERVICE_NAME].image == pushed
    assert report.outputs(done) == {
        "service": SERVICE_NAME,
        "environment": "staging",
        "image": pushed,
        "previous": "",
    }


def test_deploy_of_an_unpushed_package_runs_the_local_image(tmp_path: Path) -> None:
    engine = DeliveryEngine()
    run = Run(engine, tmp_path, "r1")
    packaged = report.outputs(run.job(package_job(push=())))
    assert packaged["pushed"] == ""
    run.job(deploy_job())
    assert engine.containers[SERVICE_NAME].image == packaged["image"]


def test_deploy_fails_when_its_package_made_nothing_in_this_run(tmp_path: Path) -> None:
    done = Run(DeliveryEngine(), tmp_path, "r1").job(deploy_job())
    assert done.status is Status.FAILED
    assert done.reason == "job 'deploy-staging': package job 'image' produced no image in this run"


def test_an_environment_without_approval_never_waits(tmp_path: Path) -> None:
    """A non-interactive gate with nothing approved must not stop a deploy to staging."""
    engine = DeliveryEngine()
    run = Run(engine, tmp_path, "r1", gate=Gate(tmp_path / "r1", "r1", interactive=False))
    run.job(package_job())
    assert run.job(deploy_job()).status is Status.PASSED


def test_an_environment_with_approval_fails_a_deploy_nobody_can_approve(tmp_path: Path) -> None:
    engine = DeliveryEngine()
    run = Run(engine, tmp_path, "r1")
    run.job(package_job())
    done = run.job(deploy_job(name="deploy-prod", environment="production"))
    assert done.status is Status.FAILED
    assert "--approve deploy-prod" in (done.reason or "")
    assert "dockstep approve r1 deploy-prod" in (done.reason or "")
    assert SERVICE_NAME not in engine.containers


def test_an_approved_deploy_to_a_guarded_environment_goes_ahead(tmp_path: Path) -> None:
    engine = DeliveryEngine()
    gate = Gate(tmp_path / "r1", "r1", interactive=False, approved=("deploy-prod",))
    run = Run(engine, tmp_path, "r1", gate=gate)
    run.job(package_job())
    done = run.job(deploy_job(name="deploy-prod", environment="production"))
    assert done.status is Status.PASSED, done
    assert "deploy to production approved" in run.lines("deploy-prod")


def test_a_deploy_waiting_for_approval_gives_up_at_its_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approvals, "POLL", 0.01)
    engine = DeliveryEngine()
    run = Run(engine, tmp_path, "r1", gate=Gate(tmp_path / "r1", "r1", interactive=True))
    run.job(package_job())
    job = replace(deploy_job(name="deploy-prod", environment="production"), timeout=0.1)
    done = run.job(job)
    assert done.status is Status.TIMEOUT
    assert done.reason in (
        "job 'deploy-prod': no approval within its timeout",
        "job 'deploy-prod': cancelled while waiting for approval",  # the job's own stop won
    )
    assert any(line.startswith("waiting for approval") for line in run.lines("deploy-prod"))
    assert SERVICE_NAME not in engine.containers


def deliver(engine: DeliveryEngine, tmp_path: Path, run_id: str) -> tuple[Run, str]:
    """Package and deploy in a new run; the run and the image reference it deployed."""
    run = Run(engine, tmp_path, run_id)
    assert run.job(package_job()).status is Status.PASSED
    done = run.job(deploy_job())
    assert done.status is Status.PASSED, done
    return run, report.outputs(done)["image"]


def test_a_verification_that_passes_keeps_the_new_version(tmp_path: Path) -> None:
    engine = DeliveryEngine(script=lambda command: (0, b""))
    run, image = deliver(engine, tmp_path, "r1")
    done = run.job(verify_job())
    assert done.status is Status.PASSED, done
    assert ("exec", "test -s /www/version") in engine.calls
    assert "healthy: command test -s /www/version" in run.lines("smoke")
    assert engine.containers[SERVICE_NAME].image == image


def test_a_failed_verification_rolls_back_to_the_previous_deployment(tmp_path: Path) -> None:
    engine = DeliveryEngine(script=lambda command: (0, b""))
    first_run, first = deliver(engine, tmp_path, "r1")
    assert first_run.job(verify_job()).status is Status.PASSED

    engine.script = lambda command: (1, b"test: /www/version: empty\n")
    second_run, second = deliver(engine, tmp_path, "r2")
    assert second != first, "the two builds must differ for this test to mean anything"
    done = second_run.job(verify_job())

    assert done.status is Status.FAILED
    assert done.reason is not None and done.reason.endswith("; rolled back")
    assert "'test -s /www/version' exited 1" in done.reason
    assert report.outputs(done)["rolled_back"] == "true"
    assert engine.containers[SERVICE_NAME].image == first
    assert SERVICE_NAME in engine.started
    assert BACKUP not in engine.containers
    lines = second_run.lines("smoke")
    assert any(line.startswith("verification failed: ") for line in lines)
    assert lines[-1] == f"rolled back {SERVICE_NAME} to the previous version ({first})"


def measured(p95: float, errors: int = 0) -> Measurements:
    return Measurements(requests=20, errors=errors, p50=0.004, p95=p95)


BASELINE = Baseline(url="http://127.0.0.1:18080/", requests=20, p95=0.25)


def test_a_baseline_within_budget_puts_its_figures_in_the_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probes, "measure", lambda budget: measured(0.0123, errors=0))
    run, _ = deliver(DeliveryEngine(), tmp_path, "r1")
    done = run.job(verify_job(checks=(), baseline=BASELINE))
    assert done.status is Status.PASSED, done
    assert report.outputs(done) == {
        "requests": "20",
        "p50_ms": "4.00",
        "p95_ms": "12.30",
        "error_rate": "0.0000",
    }


def test_a_baseline_over_budget_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes, "measure", lambda budget: measured(0.9))
    engine = DeliveryEngine(script=lambda command: (0, b""))
    run, _ = deliver(engine, tmp_path, "r1")
    done = run.job(verify_job(baseline=BASELINE))
    assert done.status is Status.FAILED
    assert done.reason == "p95 900.0 ms is over the 250 ms budget; rolled back"
    outputs = report.outputs(done)
    assert (outputs["p95_ms"], outputs["rolled_back"]) == ("900.00", "true")
    assert engine.containers == {}, "a first deploy that failed verification is removed"


def test_verify_fails_when_its_deploy_deployed_nothing_in_this_run(tmp_path: Path) -> None:
    done = Run(DeliveryEngine(), tmp_path, "r1").job(verify_job())
    assert done.status is Status.FAILED
    assert done.reason == "job 'smoke': 'deploy-staging' deployed nothing in this run"


def test_a_retry_delay_other_than_one_second_backs_off_from_it() -> None:
    """`retry: {max: 2, delay: 500ms}`: three attempts, waiting 0.5 s then 1 s (each plus up
    to one delay of jitter), and no warning (the suite turns warnings into errors)."""
    policy = RetryPolicy(max_retries=2, delay=0.5, backoff=2.0, max_delay=5.0)
    slept: list[float] = []
    retrying = registry.push_retrying(policy, sleep=slept.append, announce=lambda *_: None)
    attempts = 0

    def push() -> str:
        nonlocal attempts
        attempts += 1
        raise EngineError(TRANSIENT)

    with pytest.raises(EngineError):
        retrying(push)
    assert attempts == 3
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.0
    assert 1.0 <= slept[1] <= 1.5


def test_cancel_stops_a_push_waiting_to_retry(tmp_path: Path) -> None:
    engine = DeliveryEngine(push_errors=[TRANSIENT] * 5)
    run = Run(engine, tmp_path, "r1")
    run.package.cancel()
    done = run.job(package_job())
    assert done.status is Status.FAILED
    assert done.reason == "stopped while waiting to retry"
    assert len(calls(engine, "push")) == 1
