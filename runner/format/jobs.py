"""The `defaults:` and `jobs:` sections: each job with the defaults applied, and its steps.

The `needs` of the jobs are checked here too: unknown jobs, a job needing itself or a
later stage, and dependency cycles. A job's `install:` and `cache:` (and `defaults.cache`)
are read by `runner.format.cache`; its `artifacts:`, and the `package:`, `deploy:` or
`verify:` that a job has instead of steps, by `runner.format.delivery`.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

import yaml

from runner.format.backends import read_backend, refuse
from runner.format.cache import read_cache, read_defaults_cache, read_install
from runner.format.delivery import KindFields, check_references, read_artifacts, read_delivery
from runner.format.fields import (
    read_condition,
    read_delay,
    read_duration,
    read_image,
    read_pull,
    read_resources,
    read_retry,
    read_workdir,
)
from runner.format.matrix import MatrixCell, cell_name, read_matrix
from runner.format.services import read_services
from runner.format.yamlnodes import (
    STR,
    Doc,
    Entry,
    Fields,
    is_tag,
    read_bool,
    read_entries,
    read_env,
    read_fields,
    read_items,
    read_string_list,
    read_text,
    sub,
    wrong,
)
from runner.model.pipeline import (
    DEFAULT_STOP_GRACE,
    DEFAULT_WORKDIR,
    Action,
    Backend,
    CacheSpec,
    Cell,
    ImageRef,
    Job,
    PullPolicy,
    Resources,
    RetryPolicy,
    Step,
    Steps,
)
from runner.names import NAME, suggest
from runner.plan.dag import find_cycle

JOB_KEYS = frozenset(
    {
        "stage", "needs", "image", "env", "timeout", "allow_failure", "if", "steps",
        "resources", "privileged", "docker_socket", "workdir", "pull", "install", "cache",
        "artifacts", "package", "deploy", "verify", "when", "matrix", "fail_fast",
        "services", "stop_grace",
    }
)  # fmt: skip
STEP_KEYS = frozenset({"name", "run", "env", "timeout", "retry", "allow_failure", "workdir"})
DEFAULTS_KEYS = frozenset({"image", "timeout", "retry", "workdir", "pull", "cache", "backend"})

_NOT_ON_JOBS = {"retry": "retry is set on steps, or for all steps in defaults.retry"}
_NO_IMAGE = ImageRef(reference="?")  # stands in for an image already reported as a problem


# ---------------------------------------------------------------- defaults


@dataclass(frozen=True)
class Defaults:
    """What `defaults:` gives every job and step that does not set its own."""

    image: ImageRef | None = None
    timeout: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    workdir: str = DEFAULT_WORKDIR
    pull: PullPolicy = PullPolicy.IF_NOT_PRESENT
    cache: CacheSpec = field(default_factory=CacheSpec)  # only the registry
    backend: Backend = Backend.LOCAL  # --backend, when given, has replaced the file's


def read_defaults(doc: Doc, node: yaml.Node, path: str) -> Defaults | None:
    fields = read_fields(doc, node, path, DEFAULTS_KEYS)
    if fields is None:
        return None
    return Defaults(
        image=fields.get("image", read_image, _NO_IMAGE) if "image" in fields else None,
        timeout=fields.get("timeout", read_duration),
        retry=fields.get("retry", read_retry, RetryPolicy()),
        workdir=fields.get("workdir", read_workdir, DEFAULT_WORKDIR),
        pull=fields.get("pull", read_pull, PullPolicy.IF_NOT_PRESENT),
        cache=fields.get("cache", read_defaults_cache, CacheSpec()),
        backend=fields.get("backend", read_backend, Backend.LOCAL),
    )


# ---------------------------------------------------------------- jobs


class _Need(NamedTuple):
    job: str
    node: yaml.Node
    path: str


class _Read(NamedTuple):
    job: Job  # as written; a matrix job stands for its cells until they are expanded
    needs: tuple[_Need, ...]
    delivery: KindFields
    cells: tuple[Job, ...] = ()  # a matrix job's cells
    matrix: yaml.Node | None = None


def read_jobs(
    doc: Doc,
    node: yaml.Node,
    path: str,
    stages: tuple[str, ...],
    defaults: Defaults,
    *,
    environments: Collection[str] | None = (),
) -> tuple[Job, ...] | None:
    """The jobs; `environments` are the names deploys may use (None: not known, not checked)."""
    entries = read_entries(doc, node, path)
    if entries is None:
        return None
    if not entries:
        doc.add(node, path, "expected at least one job")
    built = [
        _job(doc, name, entry, stages, defaults, environments=environments)
        for name, entry in entries.items()
    ]
    jobs = [read for read in built if read is not None]
    _check_needs(doc, set(entries), [(read.job, read.needs) for read in jobs], stages)
    check_references(doc, set(entries), [(read.job, read.delivery) for read in jobs])
    return _expanded(doc, jobs)


def _expanded(doc: Doc, jobs: list[_Read]) -> tuple[Job, ...]:
    """Matrix jobs replaced by their cells; `needs: [test]` means every cell of `test`."""
    names_of = {read.job.name: [c.name for c in read.cells] or [read.job.name] for read in jobs}
    taken = {read.job.name for read in jobs if not read.cells}
    expanded: list[Job] = []
    for read in jobs:
        for job in read.cells or (read.job,):
            needs = job.needs and tuple(n for need in job.needs for n in names_of.get(need, [need]))
            expanded.append(dataclasses.replace(job, needs=needs))
            if read.cells and read.matrix is not None and job.name in taken:
                message = f"the cell {job.name!r} has the name of another job or cell"
                doc.add(read.matrix, f"jobs.{read.job.name}.matrix", message)
            taken.add(job.name)
    return tuple(expanded)


def _job(
    doc: Doc,
    name: str,
    entry: Entry,
    stages: tuple[str, ...],
    defaults: Defaults,
    *,
    environments: Collection[str] | None,
) -> _Read | None:
    """One job with the defaults applied, its `needs` entries and its kind for the checks."""
    path = f"jobs.{name}"
    _job_name(doc, entry.key, name)
    fields = read_fields(doc, entry.value, path, JOB_KEYS, forbidden=_NOT_ON_JOBS)
    if fields is None:
        return None
    delivery = read_delivery(doc, fields, entry.value, environments, defaults.backend)
    needs = fields.get("needs", _needs)
    cells: tuple[MatrixCell, ...] = fields.get("matrix", read_matrix) or ()
    job = Job(
        name=name,
        stage=fields.get("stage", lambda d, n, p: _stage(d, n, p, stages), _first_stage(stages)),
        action=_action(doc, fields, entry.key, defaults, delivery),
        needs=None if needs is None else tuple(need.job for need in needs),
        env=fields.get("env", read_env, ()),
        timeout=fields.get("timeout", read_duration, defaults.timeout),
        stop_grace=fields.get("stop_grace", read_delay, DEFAULT_STOP_GRACE),
        allow_failure=fields.get("allow_failure", read_bool, False),
        condition=fields.get("if", read_condition),
        artifacts=fields.get("artifacts", read_artifacts, ()),
        manual=fields.get("when", _when, False),
        position=doc.position(entry.key),
    )
    fail_fast = _fail_fast(doc, fields, job)
    made = tuple(_cell(job, cell, fail_fast) for cell in cells)
    return _Read(job, needs or (), delivery, made, fields.nodes.get("matrix"))


def _fail_fast(doc: Doc, fields: Fields, job: Job) -> bool:
    """`fail_fast:` goes with `matrix:`, which only jobs that run steps have."""
    matrix = fields.nodes.get("matrix")
    if matrix is not None and not isinstance(job.action, Steps):
        doc.add(matrix, sub(fields.path, "matrix"), f"a {job.kind} job has no matrix")
    if "fail_fast" in fields and matrix is None:
        message = "fail_fast is for matrix jobs: it says whether a failing cell stops the others"
        doc.add(fields.nodes["fail_fast"], sub(fields.path, "fail_fast"), message)
    return fields.get("fail_fast", read_bool, True)


def _cell(job: Job, cell: MatrixCell, fail_fast: bool) -> Job:
    return dataclasses.replace(
        job,
        name=cell_name(job.name, cell.named),
        cell=Cell(family=job.name, values=cell.values, fail_fast=fail_fast),
    )


def _action(
    doc: Doc, fields: Fields, key: yaml.Node, defaults: Defaults, delivery: KindFields
) -> Action:
    """The job's kind: package, deploy or verify as read, else steps in a container."""
    if delivery.action is not None:
        return delivery.action
    if delivery.kinds:  # unreadable, and already reported
        return Steps(image=_NO_IMAGE, steps=())
    workdir = fields.get("workdir", read_workdir, defaults.workdir)
    steps = Steps(
        image=_job_image(doc, fields, key, defaults),
        steps=fields.get("steps", lambda d, n, p: _steps(d, n, p, defaults.retry, workdir), ()),
        workdir=workdir,
        pull=fields.get("pull", read_pull, defaults.pull),
        install=fields.get("install", read_install),
        cache=fields.get(
            "cache", lambda d, n, p: read_cache(d, n, p, workdir, defaults.cache), defaults.cache
        ),
        resources=fields.get("resources", read_resources, Resources()),
        privileged=fields.get("privileged", read_bool, False),
        docker_socket=fields.get("docker_socket", read_bool, False),
        services=fields.get("services", read_services, ()),
    )
    refuse(doc, fields, steps, defaults.backend)
    return steps


WHEN_VALUES = ("manual", "always")


def _when(doc: Doc, node: yaml.Node, path: str) -> bool | None:
    """`when: manual` waits for an approval; `always` (the default) does not."""
    value = read_text(doc, node, path)
    if value is None or value in WHEN_VALUES:
        return None if value is None else value == "manual"
    doc.add(
        node,
        path,
        f"expected one of {', '.join(WHEN_VALUES)}, got {value!r}{suggest(value, WHEN_VALUES)}",
    )
    return None


def _job_name(doc: Doc, key: yaml.Node, name: str) -> None:
    if not NAME.fullmatch(name):
        doc.add(
            key,
            "jobs",
            f"invalid job name {name!r}; use letters, digits, '_', '.' and '-', starting with a "
            "letter or digit (it becomes part of container names)",
        )


def _job_image(doc: Doc, fields: Fields, key: yaml.Node, defaults: Defaults) -> ImageRef:
    """The job's image, else the default one."""
    if "image" in fields:
        return fields.get("image", read_image, _NO_IMAGE)
    if defaults.image is None:
        doc.add(key, fields.path, f"no image: set {fields.path}.image or defaults.image")
        return _NO_IMAGE
    return defaults.image


def _first_stage(stages: tuple[str, ...]) -> str:
    """Where a job without `stage:` goes: `test` when there is one, else the first stage."""
    return "test" if "test" in stages else stages[0]


def _stage(doc: Doc, node: yaml.Node, path: str, stages: tuple[str, ...]) -> str | None:
    name = read_text(doc, node, path)
    if name is None or name in stages:
        return name
    hint = suggest(name, stages)
    doc.add(node, path, f"unknown stage {name!r}{hint}; the stages are {', '.join(stages)}")
    return None


def _needs(doc: Doc, node: yaml.Node, path: str) -> tuple[_Need, ...] | None:
    names = read_string_list(doc, node, path)
    if names is None:
        return None
    needs: list[_Need] = []
    for index, name in enumerate(names):
        item = _Need(name, node.value[index], f"{path}[{index}]")
        if name in names[:index]:
            doc.add(item.node, item.path, f"{name!r} is listed twice")
        needs.append(item)
    return tuple(needs)


def _check_needs(
    doc: Doc, names: set[str], jobs: list[tuple[Job, tuple[_Need, ...]]], stages: tuple[str, ...]
) -> None:
    """Unknown, self and later-stage needs, then one problem for a cycle among the rest."""
    stage_of = {job.name: stages.index(job.stage) for job, _ in jobs}
    needs_of = {job.name: needs for job, needs in jobs}
    graph = {
        job.name: [need.job for need in needs if _need_ok(doc, job, need, names, stage_of)]
        for job, needs in jobs
    }
    cycle = find_cycle(graph)
    if cycle:
        need = next(need for need in needs_of[cycle[0]] if need.job == cycle[1])
        doc.add(need.node, need.path, f"dependency cycle: {' -> '.join(cycle)}")


def _need_ok(doc: Doc, job: Job, need: _Need, names: set[str], stage_of: dict[str, int]) -> bool:
    if need.job not in names:
        doc.add(need.node, need.path, f"unknown job {need.job!r}{suggest(need.job, names)}")
    elif need.job == job.name:
        doc.add(need.node, need.path, "a job cannot need itself")
    elif stage_of.get(need.job, -1) > stage_of[job.name]:
        message = (
            f"{need.job!r} runs in a later stage; a job can only need jobs of its own "
            "or earlier stages"
        )
        doc.add(need.node, need.path, message)
    else:
        return True
    return False


# ---------------------------------------------------------------- steps


def _steps(
    doc: Doc, node: yaml.Node, path: str, retry: RetryPolicy, workdir: str
) -> tuple[Step, ...] | None:
    items = read_items(doc, node, path, "a list of steps")
    if items is None:
        return None
    if not items:
        doc.add(node, path, "expected at least one step")
    steps = [_step(doc, item, f"{path}[{i}]", retry, workdir) for i, item in enumerate(items)]
    return tuple(step for step in steps if step is not None)


def _step(doc: Doc, node: yaml.Node, path: str, retry: RetryPolicy, workdir: str) -> Step | None:
    """A step; a plain string is shorthand for `{run: <string>}`."""
    if is_tag(node, STR):
        run = read_text(doc, node, path)
        if run is None:
            return None
        return Step(name=_step_name(run), run=run, retry=retry, position=doc.position(node))
    if not isinstance(node, yaml.MappingNode):
        wrong(doc, node, path, "a command or a mapping with run:")
        return None
    fields = read_fields(doc, node, path, STEP_KEYS, required=("run",))
    if fields is None:
        return None
    run = fields.get("run", read_text, "")
    return Step(
        name=fields.get("name", read_text, _step_name(run)),
        run=run,
        env=fields.get("env", read_env, ()),
        timeout=fields.get("timeout", read_duration),
        retry=fields.get("retry", read_retry, retry),
        allow_failure=fields.get("allow_failure", read_bool, False),
        workdir=fields.get("workdir", lambda d, n, p: _step_workdir(d, n, p, workdir)),
        position=doc.position(node),
    )


def _step_name(run: str) -> str:
    """The first non-blank line of the command, cut to 40 characters."""
    lines = [line.strip() for line in run.splitlines() if line.strip()]
    return lines[0][:40] if lines else ""


def _step_workdir(doc: Doc, node: yaml.Node, path: str, job_workdir: str) -> str | None:
    """Absolute, or relative to the job's workdir; always stored absolute."""
    value = read_text(doc, node, path)
    if value is None:
        return None
    return posixpath.normpath(posixpath.join(job_workdir, value))
