"""Which events run a pipeline, and the reason a user reads when one does not."""

from __future__ import annotations

import pytest

from runner.model.events import Event, EventKind
from runner.plan.triggers import Decision, match
from tests.unit.pipelines import pipeline


def decide(on: str, event: Event) -> Decision:
    """The decision for a pipeline whose `on:` is written as YAML flow text."""
    return match(event, pipeline(f"on: {on}\njobs: {{t: {{steps: [x]}}}}\n").triggers)


def push(branch: str = "main", changed: tuple[str, ...] | None = None) -> Event:
    return Event(kind=EventKind.PUSH, branch=branch, changed=changed)


def pull_request(base: str = "main", changed: tuple[str, ...] | None = None) -> Event:
    return Event(kind=EventKind.PULL_REQUEST, branch="feature", base=base, changed=changed)


RUNS = ""

CASES = [
    # branches, with negation and ignore
    ("push", push("anything"), RUNS),
    ("{push: {branches: [main, 'release/**']}}", push("release/v1/fix"), RUNS),
    (
        "{push: {branches: [main, 'release/**']}}",
        push("dev"),
        "push to 'dev' does not match branches ['main', 'release/**']",
    ),
    (
        "{push: {branches: ['release/*']}}",
        push("release/v1/fix"),
        "push to 'release/v1/fix' does not match branches ['release/*']",
    ),
    ("{push: {branches: ['releases/**', '!releases/**-alpha']}}", push("releases/2"), RUNS),
    (
        "{push: {branches: ['releases/**', '!releases/**-alpha']}}",
        push("releases/2-alpha"),
        "push to 'releases/2-alpha' does not match branches ['releases/**', '!releases/**-alpha']",
    ),
    ("{push: {branches-ignore: ['wip/**']}}", push("main"), RUNS),
    (
        "{push: {branches-ignore: ['wip/**']}}",
        push("wip/x/y"),
        "push to 'wip/x/y' matches branches-ignore ['wip/**']",
    ),
    (
        "{push: {branches: [main]}}",
        push(""),
        "push to an unknown branch cannot match branches ['main']",
    ),
    ("{push: {branches-ignore: [main]}}", push(""), RUNS),
    # paths
    ("{push: {paths: ['api/**']}}", push(changed=("api/app.py", "README.md")), RUNS),
    (
        "{push: {paths: ['api/**']}}",
        push(changed=("web/index.html", "README.md")),
        "no changed path matches paths ['api/**']",
    ),
    (
        "{push: {paths: ['api/**', '!api/docs/**']}}",
        push(changed=("api/docs/a.md",)),
        "no changed path matches paths ['api/**', '!api/docs/**']",
    ),
    ("{push: {paths: ['api/**', '!api/docs/**']}}", push(changed=("api/docs/a.md", "api/x")), RUNS),
    ("{push: {paths-ignore: ['docs/**', '*.md']}}", push(changed=("docs/a.md", "src/x.py")), RUNS),
    (
        "{push: {paths-ignore: ['docs/**', '*.md']}}",
        push(changed=("docs/a.md", "README.md")),
        "every changed path matches paths-ignore ['docs/**', '*.md']",
    ),
    ("{push: {paths: ['api/**']}}", push(changed=None), RUNS),  # unknown: the filter passes
    ("{push: {paths-ignore: ['docs/**']}}", push(changed=None), RUNS),
    (
        "{push: {paths: ['api/**']}}",
        push(changed=()),
        "no path changed, so paths ['api/**'] cannot match",
    ),
    # branches and paths must both pass
    (
        "{push: {branches: [main], paths: ['api/**']}}",
        push("dev", changed=("api/x",)),
        "push to 'dev' does not match branches ['main']",
    ),
    (
        "{push: {branches: [main], paths: ['api/**']}}",
        push("main", changed=("web/x",)),
        "no changed path matches paths ['api/**']",
    ),
    # pull requests: branches are the base branches
    ("{pull_request: {branches: [main]}}", pull_request("main"), RUNS),
    (
        "{pull_request: {branches: [main]}}",
        pull_request("release/1"),
        "pull request into 'release/1' does not match branches ['main']",
    ),
    ("{pull_request: {paths: ['api/**']}}", pull_request(changed=("api/x.py",)), RUNS),
    (
        "{pull_request: {paths: ['api/**']}}",
        pull_request(changed=("web/x.js",)),
        "no changed path matches paths ['api/**']",
    ),
    # tags: patterns, negation, no path filter
    ("tag", Event(kind=EventKind.TAG, tag="anything"), RUNS),
    ("{tag: {tags: ['v*', '!v*-rc*']}}", Event(kind=EventKind.TAG, tag="v1.2.0"), RUNS),
    (
        "{tag: {tags: ['v*', '!v*-rc*']}}",
        Event(kind=EventKind.TAG, tag="v1.2.0-rc1"),
        "tag 'v1.2.0-rc1' does not match tags ['v*', '!v*-rc*']",
    ),
    (
        "{tag: {tags: ['v[0-9]+.[0-9]+.[0-9]+']}}",
        Event(kind=EventKind.TAG, tag="nightly"),
        "tag 'nightly' does not match tags ['v[0-9]+.[0-9]+.[0-9]+']",
    ),
    # manual, schedule, webhook
    ("[push, manual]", Event(kind=EventKind.MANUAL), RUNS),
    ("{schedule: [{cron: '0 3 * * *'}]}", Event(kind=EventKind.SCHEDULE), RUNS),
    (
        "{schedule: [{cron: '0 3 * * *'}, {cron: '0 4 * * MON'}]}",
        Event(kind=EventKind.SCHEDULE, schedule="0  4 * * mon"),
        RUNS,
    ),
    (
        "{schedule: [{cron: '0 3 * * *'}]}",
        Event(kind=EventKind.SCHEDULE, schedule="0 5 * * *"),
        "schedule '0 5 * * *' is not this pipeline's '0 3 * * *'",
    ),
    ("webhook", Event(kind=EventKind.WEBHOOK, webhook="any"), RUNS),
    ("{webhook: {name: deploy}}", Event(kind=EventKind.WEBHOOK, webhook="deploy"), RUNS),
    (
        "{webhook: {name: deploy}}",
        Event(kind=EventKind.WEBHOOK, webhook="nightly"),
        "webhook 'nightly' is not 'deploy'",
    ),
    # the wrong kind of event
    ("[tag, manual]", push(), "on: has no push trigger (it has tag, manual)"),
    ("push", Event(kind=EventKind.MANUAL), "on: has no manual trigger (it has push)"),
    (
        "{pipelines: {names: [api]}}",
        push(),
        "on: has no push trigger (it has pipelines)",
    ),
]


@pytest.mark.parametrize(("on", "event", "why_not"), CASES)
def test_match(on: str, event: Event, why_not: str) -> None:
    decision = decide(on, event)
    assert decision.runs is (why_not == RUNS)
    assert str(decision) == (why_not or "runs")


def test_every_trigger_of_the_kind_says_why() -> None:
    on = "{push: , schedule: [{cron: '0 3 * * *'}, {cron: '0 4 * * *'}]}"
    decision = decide(on, Event(kind=EventKind.SCHEDULE, schedule="0 5 * * *"))
    assert decision.reasons == (
        "schedule '0 5 * * *' is not this pipeline's '0 3 * * *'",
        "schedule '0 5 * * *' is not this pipeline's '0 4 * * *'",
    )


def test_the_matching_trigger_is_named() -> None:
    decision = decide("{tag: {tags: ['v*']}, push: {branches: [main]}}", push("main"))
    assert decision.runs
    assert decision.trigger is not None
    assert decision.trigger.kind.value == "push"


@pytest.mark.parametrize(
    ("kind", "runs"),
    [
        (EventKind.PUSH, True),
        (EventKind.PULL_REQUEST, True),
        (EventKind.TAG, True),
        (EventKind.MANUAL, True),
        (EventKind.SCHEDULE, False),
        (EventKind.WEBHOOK, False),
        (EventKind.PIPELINE, False),
    ],
)
def test_without_on_a_pipeline_runs_for_what_people_and_commits_start(
    kind: EventKind, runs: bool
) -> None:
    decision = match(Event(kind=kind), pipeline("jobs: {t: {steps: [x]}}\n").triggers)
    assert decision.runs is runs
    if not runs:
        assert str(decision) == (
            "without on: a pipeline runs for push, pull_request, tag, manual events, "
            f"not {kind.value}"
        )
