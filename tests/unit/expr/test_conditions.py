"""The `if:` language: what runs when, and where a malformed condition is pointed at."""

from __future__ import annotations

import dataclasses

import pytest

from runner.errors import EXIT_INVALID
from runner.expr.conditions import And, ConditionError, Equals, Literal, Name, Not, Or, parse

CONTEXT = {
    "branch": "main",
    "tag": "",
    "event": "push",
    "commit": "0123abc",
    "pipeline": "ci",
    "DEPLOY": "1",
    "DRY_RUN": "false",
    "ZERO": "0",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("branch == 'main'", True),
        ('branch == "main"', True),
        ("branch != 'main'", False),
        ("event == 'push' && branch == 'main'", True),
        ("event == 'tag' || branch == 'main'", True),
        ("!(branch == 'main')", False),
        ("!!branch", True),
        ("branch =~ '^ma'", True),
        ("branch !~ '^ma'", False),
        ("commit =~ '^[0-9a-f]+$'", True),
        ("tag", False),
        ("branch", True),
        ("$DEPLOY", True),
        ("${DEPLOY}", True),
        ("$DRY_RUN", False),
        ("$ZERO", False),
        ("$UNSET", False),
        ("$UNSET == ''", True),
        ("true", True),
        ("false", False),
        ("$DEPLOY == '1' && !$DRY_RUN", True),
        ("'yes'", True),
        ("''", False),
        ("pipeline == 'ci'", True),
        ("branch == 'x' || branch == 'y' && false", False),
        ("(branch == 'x' || branch == 'main') && true", True),
        ("branch == 'x' || branch == 'main' && true", True),
        ('"say \\"hi\\"" == \'say "hi"\'', True),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert parse(text).evaluate(CONTEXT) is expected


def test_and_binds_tighter_than_or() -> None:
    a, b, c = Name("A"), Name("B"), Name("C")
    assert parse("$A || $B && $C") == Or(a, And(b, c))
    assert parse("!$A && ${B}") == And(Not(a), b)


def test_tree_is_frozen_and_comparable() -> None:
    tree = parse("branch == 'main'")
    assert tree == Equals(Name("branch"), Literal("main"))
    assert hash(tree) == hash(parse("branch  ==  'main'"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree.left = Name("tag")  # type: ignore[misc]


def test_missing_names_are_empty() -> None:
    assert parse("branch == ''").evaluate({}) is True


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("", "empty condition", 0),
        ("   ", "empty condition", 0),
        (
            "brnch == 'main'",
            "unknown name 'brnch' (did you mean 'branch'?); use branch, tag, event, commit, "
            "pipeline, $VARIABLE or a quoted string",
            0,
        ),
        ("branch = 'main'", "unexpected '='; operators are ==, !=, =~, !~, &&, || and !", 7),
        ("branch == ", "expected a value, got the end of the condition", 10),
        ("branch == 'main", "unterminated string; close it with '", 10),
        ("(branch == 'x'", "unmatched '('", 0),
        ("branch == 'x')", "unexpected ')'; join conditions with && or ||", 13),
        ("branch tag", "unexpected 'tag'; join conditions with && or ||", 7),
        ("branch == 'a' == 'b'", "unexpected '=='; join conditions with && or ||", 14),
        ("branch =~ $PATTERN", "expected a quoted regular expression after =~ or !~", 10),
        ("&& branch", "expected a value, got '&&'", 0),
        ("branch & tag", "unexpected '&'; operators are ==, !=, =~, !~, &&, || and !", 7),
        (
            "branch == main",
            "unknown name 'main'; use branch, tag, event, commit, "
            "pipeline, $VARIABLE or a quoted string",
            10,
        ),
    ],
)
def test_errors_point_at_the_mistake(text: str, message: str, offset: int) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert (caught.value.message, caught.value.offset) == (message, offset)
    assert caught.value.exit_code == EXIT_INVALID


def test_invalid_regex_is_reported_at_its_literal() -> None:
    with pytest.raises(ConditionError) as caught:
        parse("branch =~ '(unclosed'")
    assert caught.value.offset == 10
    assert caught.value.message.startswith("invalid regular expression: missing )")
