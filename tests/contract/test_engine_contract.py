"""The same promises checked against the fake engine and the real Docker engine.

Unit tests lean on the fake; this suite keeps it honest. The real engine must answer:
like every integration test, these fail (never skip) without one.
"""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.engine import labels
from runner.engine.api import (
    BuildRequest,
    ContainerEngine,
    Containers,
    ContainerSpec,
    Images,
    Resources,
)
from runner.engine.docker import cgroup
from runner.engine.docker.engine import DockerEngine
from runner.errors import EngineError
from tests.fake_engine import FakeEngine

ROOT = Path(__file__).resolve().parents[2]
ECHO = ("sh", "-c", "echo hi; exit 3")
UNREACHABLE = "127.0.0.1:1/nothing@sha256:" + "0" * 64


@pytest.fixture(scope="module")
def tiny_image() -> str:
    done = subprocess.run(
        [str(ROOT / "images/bootstrap.sh"), "tiny"], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@pytest.fixture(params=["fake", "docker"])
def engine(request: pytest.FixtureRequest, tiny_image: str) -> Iterator[ContainerEngine]:
    if request.param == "fake":
        yield FakeEngine(
            present={tiny_image: tiny_image},
            script=lambda c: (3, b"hi\n") if "exit 3" in c else (0, b""),
        )
        return
    real = DockerEngine()
    try:
        real.ping()
    except EngineError as error:
        pytest.fail(f"no Docker engine: {error}; start one with scripts/ensure-docker.sh")
    yield real
    real.close()


@pytest.fixture
def label() -> str:
    return f"{labels.RUN}=contract-{uuid.uuid4().hex[:8]}"


def spec(image: str, label: str, command: tuple[str, ...]) -> ContainerSpec:
    key, _, value = label.partition("=")
    name = f"contract-{value}-{uuid.uuid4().hex[:4]}"
    return ContainerSpec(
        image=image,
        name=name,
        command=command,
        labels=((key, value),),
        network="bridge",
        workdir="/",
    )


def test_a_missing_image_has_no_id(engine: ContainerEngine) -> None:
    assert engine.image_id("nothing-here/at-all@sha256:" + "0" * 64) is None


def test_a_pull_that_cannot_succeed_raises_an_engine_error(engine: ContainerEngine) -> None:
    with pytest.raises(EngineError):
        engine.pull(UNREACHABLE)


def test_exec_streams_output_and_returns_the_exit_code(
    engine: ContainerEngine, tiny_image: str, label: str
) -> None:
    container = engine.create(spec(tiny_image, label, ("sh", "-c", "sleep 30")))
    try:
        engine.start(container)
        chunks: list[bytes] = []
        code = engine.exec(container, ECHO, env=(), workdir="/", user=None, output=chunks.append)
        assert (code, b"".join(chunks)) == (3, b"hi\n")
    finally:
        engine.remove(container)


def test_attach_then_start_sees_all_output_and_wait_gives_the_exit_code(
    engine: ContainerEngine, tiny_image: str, label: str
) -> None:
    container = engine.create(spec(tiny_image, label, ECHO))
    try:
        stream = engine.attach(container)
        engine.start(container)
        assert b"".join(stream) == b"hi\n"
        assert engine.wait(container) == 3
    finally:
        engine.remove(container)


def test_kill_and_remove_are_idempotent(
    engine: ContainerEngine, tiny_image: str, label: str
) -> None:
    container = engine.create(spec(tiny_image, label, ("sh", "-c", "sleep 30")))
    engine.start(container)
    assert engine.state(container).running
    engine.kill(container)
    engine.kill(container)
    assert not engine.state(container).running
    engine.remove(container)
    engine.remove(container)
    assert [r for r in engine.labelled(label) if r.kind == "container"] == []


def test_labelled_finds_containers_and_networks_and_removes_them(
    engine: ContainerEngine, tiny_image: str, label: str
) -> None:
    key, _, value = label.partition("=")
    network = f"contract-{value}"
    engine.create_network(network, ((key, value),))
    engine.create(spec(tiny_image, label, ("true",)))
    found = engine.labelled(label)
    assert sorted(r.kind for r in found) == ["container", "network"]
    assert all(r.labels[key] == value for r in found)
    for resource in sorted(found, key=lambda r: r.kind):  # containers before networks
        engine.remove_resource(resource)
    assert engine.labelled(label) == []


def test_a_network_s_endpoints_count_its_containers_and_none_when_it_is_gone(
    engine: ContainerEngine, tiny_image: str, label: str
) -> None:
    key, _, value = label.partition("=")
    network = f"contract-{value}"
    assert engine.network_endpoints(network) is None
    engine.create_network(network, ((key, value),))
    assert engine.network_endpoints(network) == 0
    attached = spec(tiny_image, label, ("sleep", "30"))
    container = engine.create(dataclasses.replace(attached, network=network))
    try:
        engine.start(container)
        assert engine.network_endpoints(network) == 1
    finally:
        engine.remove(container)
    assert engine.network_endpoints(network) == 0
    engine.remove_network(network)
    assert engine.network_endpoints(network) is None


def test_the_oom_counter_is_read_while_running_and_unknown_once_stopped(
    engine: ContainerEngine, tiny_image: str, label: str
) -> None:
    container = engine.create(spec(tiny_image, label, ("sh", "-c", "sleep 30")))
    try:
        engine.start(container)
        assert engine.oom_kills(container) == 0
        engine.kill(container)
        assert engine.oom_kills(container) is None
    finally:
        engine.remove(container)


def test_a_local_engine_s_oom_counter_costs_no_round_trip(tiny_image: str, label: str) -> None:
    """Read from the host's cgroup files: this machine's layout must be one `cgroup` knows."""
    engine = DockerEngine()
    container = engine.create(spec(tiny_image, label, ("sh", "-c", "sleep 30")))
    try:
        engine.start(container)
        found = cgroup.counter_file(container)
        assert found is not None, "no cgroup layout of cgroup.LAYOUTS matches this engine"
        assert cgroup.read_oom_kills(found) == 0
    finally:
        engine.remove(container)
        engine.close()


def test_a_closed_run_gets_no_more_containers_networks_or_volumes(
    engine: ContainerEngine, tiny_image: str, label: str
) -> None:
    key, _, value = label.partition("=")
    assert engine.close_run(value, timeout=1)
    with pytest.raises(EngineError):
        engine.create(spec(tiny_image, label, ("true",)))
    with pytest.raises(EngineError):
        engine.create_network(f"contract-{value}", ((key, value),))
    with pytest.raises(EngineError):
        engine.ensure_volume(f"contract-{value}", ((key, value),))
    assert engine.labelled(label) == []


def test_a_volume_is_created_once_found_by_its_labels_and_removed(
    engine: ContainerEngine, label: str
) -> None:
    key, _, value = label.partition("=")
    name = f"contract-{value}"
    try:
        assert engine.ensure_volume(name, ((key, value),)) is True
        assert engine.ensure_volume(name, ((key, value),)) is False
        found = engine.labelled(label)
        assert [(r.kind, r.name) for r in found] == [("volume", name)]
        assert name in engine.volume_sizes()
        engine.remove_resource(found[0])
        assert engine.labelled(label) == []
    finally:
        for resource in engine.labelled(label):
            engine.remove_resource(resource)


def test_each_role_is_played_by_both_engines() -> None:
    """mypy holds the roles (a missing or mistyped method fails `make check`); at run time
    every method a role Protocol names must exist on both engines."""
    fake: ContainerEngine = FakeEngine()
    real: ContainerEngine = DockerEngine()
    roles: tuple[type[object], ...] = (Containers, Images, Resources, ContainerEngine)
    for role in roles:
        methods = {n for n, v in vars(role).items() if callable(v) and not n.startswith("_")}
        assert methods, role
        for engine in (fake, real):
            missing = [m for m in methods if not callable(getattr(engine, m, None))]
            assert not missing, f"{type(engine).__name__} lacks {role.__name__}: {missing}"


def test_a_step_silent_for_longer_than_the_request_timeout_still_finishes(
    tiny_image: str, label: str
) -> None:
    # the container is made with the usual timeout: on a loaded machine a create can take
    # longer than the short one, which is about a silent step's output stream only
    setup = DockerEngine()
    container = setup.create(spec(tiny_image, label, ("sh", "-c", "sleep 30")))
    setup.start(container)
    engine = DockerEngine(timeout=3)
    try:
        chunks: list[bytes] = []
        code = engine.exec(
            container,
            ("sh", "-c", "sleep 5; echo done"),
            env=(),
            workdir="/",
            user=None,
            output=chunks.append,
        )
        assert (code, b"".join(chunks)) == (0, b"done\n")
    finally:
        setup.remove(container)
        setup.close()
        engine.close()


def test_a_killed_container_starts_again_with_its_files(
    engine: ContainerEngine, tiny_image: str, label: str
) -> None:
    container = engine.create(spec(tiny_image, label, ("sh", "-c", "sleep 30")))
    try:
        engine.start(container)
        engine.exec(
            container,
            ("sh", "-c", "echo kept > /tmp/mark"),
            env=(),
            workdir="/",
            user=None,
            output=lambda _chunk: None,
        )
        engine.kill(container)
        engine.start(container)
        assert engine.state(container).running
        chunks: list[bytes] = []
        code = engine.exec(
            container,
            ("sh", "-c", "cat /tmp/mark"),
            env=(),
            workdir="/",
            user=None,
            output=chunks.append,
        )
        assert code == 0
        if isinstance(engine, DockerEngine):  # the fake keeps no files
            assert b"".join(chunks) == b"kept\n"
    finally:
        engine.remove(container)


ENV_IMAGE_ENV = (("GREETING", "hello=world"), ("PATH", "/opt/venv/bin:/usr/bin:/bin"))


@pytest.fixture
def env_image(engine: ContainerEngine, tiny_image: str, tmp_path: Path) -> Iterator[str]:
    """An image whose config sets ENV (a value with '=' in it included)."""
    if isinstance(engine, FakeEngine):
        engine.present["with-env"] = "sha256:" + "e" * 64
        engine.image_envs["sha256:" + "e" * 64] = ENV_IMAGE_ENV
        yield "sha256:" + "e" * 64
        return
    (tmp_path / "Dockerfile").write_text(
        f"FROM {tiny_image}\nENV PATH=/opt/venv/bin:/usr/bin:/bin GREETING=hello=world\n"
    )
    tag = f"contract-env:{uuid.uuid4().hex[:8]}"
    image = engine.build(
        BuildRequest(context=str(tmp_path), dockerfile="Dockerfile", tag=tag), print
    )
    yield image
    engine.remove_image(tag)


def test_image_env_is_the_configs_env_as_sorted_pairs(
    engine: ContainerEngine, env_image: str
) -> None:
    assert engine.image_env(env_image) == ENV_IMAGE_ENV


def test_image_env_of_a_missing_image_raises_an_engine_error(engine: ContainerEngine) -> None:
    with pytest.raises(EngineError):
        engine.image_env("sha256:" + "0" * 64)


def test_an_image_that_adds_no_files_has_no_bytes_of_its_own(
    engine: ContainerEngine, env_image: str, tiny_image: str
) -> None:
    sizes = engine.image_sizes()
    assert sizes[env_image] == 0  # ENV only: every layer is its base's
    assert tiny_image in sizes
