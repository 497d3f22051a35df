"""`matrix:` on a job: cells as jobs, GitHub's include/exclude, needs, --job, the schema."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.format.matrix import cell_name
from runner.model.pipeline import Cell
from runner.plan import graph
from runner.plan.plan import Selection, plan
from tests.unit.format.test_schema import VALIDATOR, as_data
from tests.unit.pipelines import IMAGE, load, problems


def with_matrix(matrix: str, extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        version: 1
        defaults: {{image: '{IMAGE}'}}
        jobs:
          test:
            matrix: {matrix}
            steps: [pytest]
        """
    ) + textwrap.indent(textwrap.dedent(extra), "  ")


def cells(text: str, tmp_path: Path) -> dict[str, Cell | None]:
    return {job.name: job.cell for job in load(text, tmp_path).jobs}


def test_one_job_per_cell_named_after_its_values_in_axis_order(tmp_path: Path) -> None:
    found = cells(with_matrix("{PY: [3.11, '3.12'], OS: [debian, alpine]}"), tmp_path)
    assert list(found) == [
        "test.PY-3.11.OS-debian",
        "test.PY-3.11.OS-alpine",
        "test.PY-3.12.OS-debian",
        "test.PY-3.12.OS-alpine",
    ]
    cell = found["test.PY-3.11.OS-alpine"]
    assert cell == Cell(family="test", values=(("PY", "3.11"), ("OS", "alpine")))
    assert cell.label == "test [PY=3.11, OS=alpine]"


def test_values_are_kept_as_written_and_sanitised_in_the_name() -> None:
    assert cell_name("test", (("PY", "3.10"), ("IMG", "py thon/3:x"))) == (
        "test.PY-3.10.IMG-py_thon_3_x"
    )


def test_exclude_then_include_as_github_actions_does(tmp_path: Path) -> None:
    text = with_matrix(
        """
              fruit: [apple, pear]
              animal: [cat, dog]
              exclude: [{fruit: pear, animal: dog}]
              include:
                - {color: green}
                - {color: pink, animal: cat}
                - {fruit: apple, shape: circle}
                - {fruit: banana}
                - {fruit: banana, animal: cat}
        """
    )
    found = {name: dict(cell.values) for name, cell in cells(text, tmp_path).items() if cell}
    assert found == {
        "test.fruit-apple.animal-cat": {
            "fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"
        },
        "test.fruit-apple.animal-dog": {
            "fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"
        },
        "test.fruit-pear.animal-cat": {"fruit": "pear", "animal": "cat", "color": "pink"},
        "test.fruit-banana": {"fruit": "banana"},
        "test.fruit-banana.animal-cat": {"fruit": "banana", "animal": "cat"},
    }  # fmt: skip


def test_needs_on_a_matrix_job_waits_for_every_cell(tmp_path: Path) -> None:
    text = with_matrix(
        "{PY: [a, b]}",
        """\
          report:
            needs: [test]
            steps: [report]
        """,
    )
    loaded = load(text, tmp_path)
    assert loaded.job("report").needs == ("test.PY-a", "test.PY-b")
    chosen = plan(loaded, Selection())
    assert chosen.waves() == (("test.PY-a", "test.PY-b"), ("report",))
    mermaid = graph.mermaid(chosen)
    assert 'j_test_PY_a["test.PY-a"]' in mermaid
    assert "j_test_PY_b --> j_report" in mermaid


def test_job_selects_every_cell_or_one(tmp_path: Path) -> None:
    loaded = load(with_matrix("{PY: [a, b]}", "other: {steps: [x]}\n"), tmp_path)
    every = plan(loaded, Selection(jobs=("test",)))
    assert [p.name for p in every.jobs] == ["test.PY-a", "test.PY-b"]
    one = plan(loaded, Selection(jobs=("test.PY-b",)))
    assert [p.name for p in one.jobs] == ["test.PY-b"]
    with pytest.raises(UsageError, match=r"no job named 'tset'.*did you mean 'test'"):
        plan(loaded, Selection(jobs=("tset",)))


def test_fail_fast_defaults_to_true_and_can_be_turned_off(tmp_path: Path) -> None:
    text = with_matrix("{PY: [a]}").replace("    steps:", "    fail_fast: false\n    steps:")
    assert cells(text, tmp_path)["test.PY-a"] == Cell(
        family="test", values=(("PY", "a"),), fail_fast=False
    )
    assert cells(with_matrix("{PY: [a]}"), tmp_path)["test.PY-a"] == Cell(
        family="test", values=(("PY", "a"),)
    )


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ("{PY: []}", "5:18: jobs.test.matrix.PY: expected at least one value"),
        ("{PY: [a, a]}", "5:22: jobs.test.matrix.PY[1]: 'a' is listed twice"),
        ("{PY: a}", "5:18: jobs.test.matrix.PY: expected a list of values, got 'a'"),
        ("{PY: [null]}", "5:19: jobs.test.matrix.PY[0]: expected a string, number or boolean"),
        ("{3PY: [a]}", "5:14: jobs.test.matrix: invalid variable name '3PY'"),
        ("{PY: [a], exclude: [{PYY: a}]}", "'PYY' is not an axis of the matrix (did you mean"),
        ("{PY: [a], exclude: [{PY: a}]}", "5:13: jobs.test.matrix: the matrix has no cells"),
        ("{PY: [a/b, a_b]}", "jobs.test.matrix: the cell 'test.PY-a_b' has the name of another"),
    ],
)
def test_a_bad_matrix_is_reported_where_it_is(tmp_path: Path, matrix: str, message: str) -> None:
    found = problems(with_matrix(matrix), tmp_path)
    assert len(found) == 1
    assert message in found[0]


def test_a_cell_may_not_take_another_jobs_name(tmp_path: Path) -> None:
    text = with_matrix("{PY: [a]}", "test.PY-a: {steps: [x]}\n")
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:5:13: jobs.test.matrix: the cell 'test.PY-a' has the name of another "
        "job or cell"
    ]


def test_fail_fast_without_a_matrix_and_a_matrix_on_a_package_job_are_refused(
    tmp_path: Path,
) -> None:
    text = f"""\
        version: 1
        jobs:
          test: {{image: '{IMAGE}', fail_fast: false, steps: [x]}}
          pack: {{package: {{context: .}}, matrix: {{PY: [a]}}}}
        """
    found = problems(text, tmp_path)
    assert any("jobs.test.fail_fast: fail_fast is for matrix jobs" in p for p in found)
    assert any("jobs.pack.matrix: a package job has no matrix" in p for p in found)


@pytest.mark.parametrize(
    "matrix",
    [
        "{PY: [3.11, '3.12', true]}",
        "{PY: [a], include: [{PY: b, X: 1}], exclude: [{PY: a}]}",
    ],
)
def test_the_schema_accepts_what_the_loader_accepts(tmp_path: Path, matrix: str) -> None:
    text = with_matrix(matrix)
    load(text, tmp_path)
    VALIDATOR.validate(as_data(text))


@pytest.mark.parametrize("matrix", ["{PY: []}", "{PY: a}", "{PY: [[a]]}", "{include: [{}]}"])
def test_the_schema_refuses_what_the_loader_refuses(tmp_path: Path, matrix: str) -> None:
    text = with_matrix(matrix)
    assert problems(text, tmp_path)
    assert list(VALIDATOR.iter_errors(as_data(text)))
