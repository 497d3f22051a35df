"""The `on:` section, judged by the triggers it builds and the problems a user sees."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner.model.pipeline import Position
from runner.model.triggers import (
    Filter,
    ImageTrigger,
    ManualTrigger,
    PipelinesTrigger,
    PullRequestTrigger,
    PushTrigger,
    ScheduleTrigger,
    TagTrigger,
    UpstreamStatus,
    WebhookTrigger,
)
from tests.unit.pipelines import load, problems

IMAGE = "python:3.12@sha256:" + "0123456789abcdef" * 4


def with_on(on: str) -> str:
    """A valid one-job pipeline with this `on:` block (written from column 0, key included)."""
    return f"version: 1\n{textwrap.dedent(on)}jobs:\n  test: {{image: '{IMAGE}', steps: [x]}}\n"


def test_trigger_names(tmp_path: Path) -> None:
    assert load(with_on("on: [push, manual]\n"), tmp_path).triggers == (
        PushTrigger(),
        ManualTrigger(),
    )
    assert load(with_on("on: tag\n"), tmp_path).triggers == (TagTrigger(),)
    assert load(with_on("on: [pull_request, webhook]\n"), tmp_path).triggers == (
        PullRequestTrigger(),
        WebhookTrigger(),
    )


def test_trigger_mapping(tmp_path: Path) -> None:
    on = """\
        on:
          push: {branches: [main, "release/**", "!release/old"], paths: ["src/**"]}
          pull_request: {branches: [main], paths-ignore: ["docs/**"]}
          tag: {tags: ["v*", "!v*-rc*"]}
          schedule:
            - cron: "0 3 * * 1-5"
            - {cron: "*/15 0-6,22 1 JAN,jul sun", timezone: Europe/Paris}
          manual: {}
          webhook: {name: deploy}
        """
    assert load(with_on(on), tmp_path).triggers == (
        PushTrigger(
            branches=Filter(patterns=("main", "release/**", "!release/old")),
            paths=Filter(patterns=("src/**",)),
        ),
        PullRequestTrigger(
            branches=Filter(patterns=("main",)),
            paths=Filter(patterns=("docs/**",), ignore=True),
        ),
        TagTrigger(tags=("v*", "!v*-rc*")),
        ScheduleTrigger(cron="0 3 * * 1-5"),
        ScheduleTrigger(cron="*/15 0-6,22 1 JAN,jul sun", timezone="Europe/Paris"),
        ManualTrigger(),
        WebhookTrigger(name="deploy"),
    )


def test_ignore_filters(tmp_path: Path) -> None:
    on = "on: {push: {branches-ignore: ['wip/**'], paths-ignore: ['*.md']}, pull_request: }\n"
    assert load(with_on(on), tmp_path).triggers == (
        PushTrigger(
            branches=Filter(patterns=("wip/**",), ignore=True),
            paths=Filter(patterns=("*.md",), ignore=True),
        ),
        PullRequestTrigger(),
    )


def test_chain_triggers_keep_where_they_were_written(tmp_path: Path) -> None:
    on = """\
        on:
          pipelines: {names: [api, web], status: passed-or-skipped}
          image: {repository: "127.0.0.1:5000/webapp"}
        """
    pipelines, image = load(with_on(on), tmp_path).triggers
    assert pipelines == PipelinesTrigger(
        names=("api", "web"), status=UpstreamStatus.PASSED_OR_SKIPPED
    )
    assert isinstance(pipelines, PipelinesTrigger)
    assert pipelines.position == Position(file="pipelines/ci.yml", line=3, column=14)
    assert image == ImageTrigger(repository="127.0.0.1:5000/webapp")
    assert isinstance(image, ImageTrigger)
    assert str(image.position) == "pipelines/ci.yml:4:10"


def test_upstream_status_defaults_to_passed(tmp_path: Path) -> None:
    (trigger,) = load(with_on("on: {pipelines: {names: [api]}}\n"), tmp_path).triggers
    assert trigger == PipelinesTrigger(names=("api",), status=UpstreamStatus.PASSED)


def test_bad_triggers(tmp_path: Path) -> None:
    on = """\
        on:
          push: {branch: [main]}
          tag: {tags: v*}
          schedule:
            - cron: "0 3 * *"
            - cron: "61 * * * *"
            - {every: day}
          manual: {when: now}
          nightly: {}
        """
    assert problems(with_on(on), tmp_path) == [
        "pipelines/ci.yml:3:10: on.push: unknown key 'branch' (did you mean 'branches'?)",
        "pipelines/ci.yml:4:15: on.tag.tags: expected a list of strings, got 'v*'",
        "pipelines/ci.yml:6:13: on.schedule[0].cron: expected a cron expression with 5 fields "
        "(minute hour day-of-month month day-of-week), got '0 3 * *'",
        "pipelines/ci.yml:7:13: on.schedule[1].cron: cron minute field '61': '61' is not in 0-59",
        "pipelines/ci.yml:8:7: on.schedule[2]: missing key 'cron'",
        "pipelines/ci.yml:8:8: on.schedule[2]: unknown key 'every'",
        "pipelines/ci.yml:9:12: on.manual: unknown key 'when'",
        "pipelines/ci.yml:10:3: on: unknown key 'nightly'",
    ]


def test_bad_trigger_names(tmp_path: Path) -> None:
    assert problems(with_on("on: [psuh, schedule, pipelines, image]\n"), tmp_path) == [
        "pipelines/ci.yml:2:6: on[0]: unknown trigger 'psuh' (did you mean 'push'?)",
        "pipelines/ci.yml:2:12: on[1]: schedule needs a time: "
        "on: {schedule: [{cron: '0 3 * * *'}]}",
        "pipelines/ci.yml:2:22: on[2]: pipelines needs names: on: {pipelines: {names: [api]}}",
        "pipelines/ci.yml:2:33: on[3]: image needs a repository: "
        "on: {image: {repository: 127.0.0.1:5000/webapp}}",
    ]


def test_filters_and_their_ignore_forms_exclude_each_other(tmp_path: Path) -> None:
    on = """\
        on:
          push: {branches: [main], branches-ignore: [dev]}
          pull_request:
            paths: ["api/**"]
            paths-ignore: ["docs/**"]
        """
    assert problems(with_on(on), tmp_path) == [
        "pipelines/ci.yml:3:9: on.push: use branches or branches-ignore, not both; "
        "exclude with '!' patterns in branches",
        "pipelines/ci.yml:5:5: on.pull_request: use paths or paths-ignore, not both; "
        "exclude with '!' patterns in paths",
    ]


def test_bad_patterns(tmp_path: Path) -> None:
    on = """\
        on:
          push: {branches: ["release/[0-9", "main"], paths: []}
          pull_request: {branches: ["!main"]}
          tag: {tags: ["v*", "!"]}
        """
    assert problems(with_on(on), tmp_path) == [
        "pipelines/ci.yml:3:21: on.push.branches[0]: invalid pattern: 'release/[0-9': "
        "'[' at 9 is not closed by ']'",
        "pipelines/ci.yml:3:53: on.push.paths: expected at least one pattern; leave the key "
        "out to match all",
        "pipelines/ci.yml:4:28: on.pull_request.branches: a list with !patterns needs at least "
        "one pattern without ! to select names first",
        "pipelines/ci.yml:5:22: on.tag.tags[1]: invalid pattern: '!' alone excludes nothing",
    ]


def test_bad_schedule_zone(tmp_path: Path) -> None:
    on = """\
        on:
          schedule:
            - {cron: "0 3 * * *", timezone: Europe/Pariss}
            - {cron: "0 4 * * *", timezone: "Mars/Olympus Mons"}
        """
    assert problems(with_on(on), tmp_path) == [
        "pipelines/ci.yml:4:37: on.schedule[0].timezone: unknown time zone 'Europe/Pariss' "
        "(did you mean 'Europe/Paris'?); use an IANA name like Europe/Paris",
        "pipelines/ci.yml:5:37: on.schedule[1].timezone: unknown time zone 'Mars/Olympus Mons'; "
        "use an IANA name like Europe/Paris",
    ]


def test_bad_chain_triggers(tmp_path: Path) -> None:
    on = """\
        on:
          pipelines: {names: [api, api], status: pased}
          image: {repository: "127.0.0.1:5000/webapp:v1", tag: x}
        """
    assert problems(with_on(on), tmp_path) == [
        "pipelines/ci.yml:3:28: on.pipelines.names[1]: 'api' is listed twice",
        "pipelines/ci.yml:3:42: on.pipelines.status: expected passed or passed-or-skipped, "
        "got 'pased' (did you mean 'passed'?)",
        "pipelines/ci.yml:4:23: on.image.repository: an image trigger names a repository, not a "
        "tag or digest; write '127.0.0.1:5000/webapp'",
        "pipelines/ci.yml:4:51: on.image: unknown key 'tag'",
    ]


def test_chain_triggers_need_their_settings(tmp_path: Path) -> None:
    on = "on: {pipelines: {names: []}, image: {}}\n"
    assert problems(with_on(on), tmp_path) == [
        "pipelines/ci.yml:2:25: on.pipelines.names: expected at least one pipeline name",
        "pipelines/ci.yml:2:37: on.image: missing key 'repository'",
    ]
