"""`${VAR}` expansion: what a step's environment ends up holding."""

from __future__ import annotations

import pytest

from runner.errors import EXIT_INVALID
from runner.expr.interpolate import (
    InterpolationError,
    UndefinedVariable,
    check_syntax,
    expand,
    expand_layers,
)

VARIABLES = {"NAME": "world", "EMPTY": "", "CI_COMMIT": "abc123"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello ${NAME}", "hello world"),
        ("${NAME}${NAME}", "worldworld"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${NAME:-fallback}", "world"),
        ("${MISSING:-}", ""),
        ("price: $$5", "price: $5"),
        ("$${NAME}", "${NAME}"),
        ("$NAME stays for the shell", "$NAME stays for the shell"),
        ("a lone $ sign", "a lone $ sign"),
        ("no references", "no references"),
        ("image-${CI_COMMIT}", "image-abc123"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, VARIABLES) == expected


def test_undefined_variable_names_it_and_exits_2() -> None:
    with pytest.raises(UndefinedVariable) as caught:
        expand("x ${NOPE} y", VARIABLES)
    assert caught.value.name == "NOPE"
    assert caught.value.exit_code == EXIT_INVALID
    assert caught.value.render() == (
        "error: undefined variable ${NOPE}\n"
        "Define NOPE in env:, pass --var NOPE=VALUE, or write ${NOPE:-default} to fall back."
    )


def test_empty_value_is_defined() -> None:
    assert expand("[${EMPTY}]", VARIABLES) == "[]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${NAME", "unterminated '${NAME'; close it with '}' (or write $$ for a literal $)"),
        ("ok ${", "unterminated '${'; close it with '}' (or write $$ for a literal $)"),
        ("${}", "empty '${}'; write ${NAME}, or $$ for a literal $"),
        (
            "${1ABC}",
            "invalid reference '${1ABC}'; write ${NAME} or ${NAME:-default} "
            "with NAME made of letters, digits and _",
        ),
        (
            "${NAME:x}",
            "invalid reference '${NAME:x}'; write ${NAME} or ${NAME:-default} "
            "with NAME made of letters, digits and _",
        ),
    ],
)
def test_check_syntax_explains_the_mistake(text: str, message: str) -> None:
    assert check_syntax(text) == message


@pytest.mark.parametrize("text", ["", "plain", "${A} ${B:-x} $$ $C", "$${not checked"])
def test_check_syntax_accepts_valid_text(text: str) -> None:
    assert check_syntax(text) is None


def test_expand_rejects_bad_syntax() -> None:
    with pytest.raises(InterpolationError, match="unterminated"):
        expand("${NAME", VARIABLES)


def test_layers_override_in_order() -> None:
    pipeline = (("LEVEL", "pipeline"), ("ONLY_PIPELINE", "p"))
    job = (("LEVEL", "job"),)
    step = (("LEVEL", "step"), ("SEEN", "${ONLY_PIPELINE}-${CI_COMMIT}"))
    merged = expand_layers([pipeline, job, step], VARIABLES)
    assert merged == {"LEVEL": "step", "ONLY_PIPELINE": "p", "SEEN": "p-abc123"}


def test_layers_leave_out_the_builtins() -> None:
    assert expand_layers([(("A", "${NAME}"),)], VARIABLES) == {"A": "world"}


def test_a_name_in_its_own_definition_means_its_earlier_value() -> None:
    layers = [(("PATH", "/usr/bin"),), (("PATH", "${PATH}:/opt/bin"),)]
    assert expand_layers(layers, {}) == {"PATH": "/usr/bin:/opt/bin"}


def test_same_layer_references_do_not_depend_on_order() -> None:
    layer = (("A_URL", "https://${HOST}/x"), ("HOST", "example.org"))
    assert expand_layers([layer], {})["A_URL"] == "https://example.org/x"


def test_mutual_references_in_one_layer_fall_back_to_earlier_values() -> None:
    layers = [(("A", "early"),), (("A", "${B}"), ("B", "${A}"))]
    assert expand_layers(layers, {}) == {"A": "early", "B": "early"}


def test_layers_report_undefined_names() -> None:
    with pytest.raises(UndefinedVariable, match=r"undefined variable \$\{GHOST\}"):
        expand_layers([(("A", "${GHOST}"),)], VARIABLES)
