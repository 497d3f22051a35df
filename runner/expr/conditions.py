"""The `if:` expression language: parsed once at load time, evaluated per run. Pure.

    expr       := and ('||' and)*
    and        := unary ('&&' unary)*
    unary      := '!' unary | '(' expr ')' | comparison
    comparison := operand (('==' | '!=' | '=~' | '!~') operand)?
    operand    := branch | tag | event | commit | pipeline | $NAME | ${NAME}
                | 'string' | "string" | true | false

Every operand is a string (missing names are empty); a bare operand is true when it is
non-empty and not `false` or `0`. `=~` and `!~` search with the regex on their right,
which must be a string literal so that a bad pattern is caught at load time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from runner.errors import EXIT_INVALID, DockstepError
from runner.names import VARIABLE, suggest

IDENTIFIERS = ("branch", "tag", "event", "commit", "pipeline")
_FALSY = ("", "false", "0")
_TOKEN = re.compile(
    rf"""\s*(?:
      (?P<op>\|\||&&|==|!=|=~|!~|!|\(|\))
    | \$\{{(?P<braced>{VARIABLE})\}}
    | \$(?P<var>{VARIABLE})
    | (?P<quote>['"])(?P<text>(?:\\.|(?!(?P=quote)).)*)(?P=quote)
    | (?P<word>[A-Za-z_][A-Za-z0-9_.-]*)
    )""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\([\\'\"])")


class ConditionError(DockstepError):
    """A malformed `if:`; `offset` is the 0-based character where it went wrong."""

    exit_code = EXIT_INVALID

    def __init__(self, message: str, offset: int) -> None:
        self.message, self.offset = message, offset
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Condition:
    """A node of the parsed expression."""

    def evaluate(self, context: Mapping[str, str]) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Operand(Condition):
    """Something with a string value; as a condition, true when the value is truthy."""

    def value(self, context: Mapping[str, str]) -> str:
        raise NotImplementedError

    def evaluate(self, context: Mapping[str, str]) -> bool:
        return self.value(context) not in _FALSY


@dataclass(frozen=True, slots=True)
class Literal(Operand):
    text: str

    def value(self, context: Mapping[str, str]) -> str:  # noqa: ARG002
        return self.text


@dataclass(frozen=True, slots=True)
class Name(Operand):
    """An identifier (`branch`) or a variable (`$NAME`); both are looked up in the context."""

    name: str

    def value(self, context: Mapping[str, str]) -> str:
        return context.get(self.name, "")


@dataclass(frozen=True, slots=True)
class Not(Condition):
    operand: Condition

    def evaluate(self, context: Mapping[str, str]) -> bool:
        return not self.operand.evaluate(context)


@dataclass(frozen=True, slots=True)
class And(Condition):
    left: Condition
    right: Condition

    def evaluate(self, context: Mapping[str, str]) -> bool:
        return self.left.evaluate(context) and self.right.evaluate(context)


@dataclass(frozen=True, slots=True)
class Or(Condition):
    left: Condition
    right: Condition

    def evaluate(self, context: Mapping[str, str]) -> bool:
        return self.left.evaluate(context) or self.right.evaluate(context)


@dataclass(frozen=True, slots=True)
class Equals(Condition):
    left: Operand
    right: Operand
    negate: bool = False

    def evaluate(self, context: Mapping[str, str]) -> bool:
        return (self.left.value(context) == self.right.value(context)) != self.negate


@dataclass(frozen=True, slots=True)
class Matches(Condition):
    left: Operand
    pattern: re.Pattern[str]
    negate: bool = False

    def evaluate(self, context: Mapping[str, str]) -> bool:
        return (self.pattern.search(self.left.value(context)) is not None) != self.negate


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # op, name, var, string, word, end
    text: str
    offset: int


def parse(text: str) -> Condition:
    """The expression as a tree, or ConditionError pointing at the first mistake."""
    parser = _Parser(_tokenize(text))
    if parser.peek().kind == "end":
        raise ConditionError("empty condition", 0)
    tree = parser.expression()
    end = parser.peek()
    if end.kind != "end":
        message = f"unexpected {_describe(end)}; join conditions with && or ||"
        raise ConditionError(message, end.offset)
    return tree


def _tokenize(text: str) -> list[_Token]:
    tokens, offset = [], 0
    while text[offset:].strip():
        match = _TOKEN.match(text, offset)
        if match is None:
            start = len(text) - len(text[offset:].lstrip())
            raise ConditionError(_bad_character(text[start]), start)
        tokens.append(_token(match))
        offset = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _token(match: re.Match[str]) -> _Token:
    kind = next(k for k in ("op", "braced", "var", "text", "word") if match[k] is not None)
    start = match.start() + len(match[0]) - len(match[0].lstrip())
    if kind == "text":
        return _Token("string", _ESCAPE.sub(r"\1", match["text"]), start)
    return _Token("var" if kind == "braced" else kind, match[kind], start)


def _describe(token: _Token) -> str:
    return "the end of the condition" if token.kind == "end" else repr(token.text)


def _bad_character(char: str) -> str:
    if char in "'\"":
        return f"unterminated string; close it with {char}"
    if char in "=|&$":
        return f"unexpected {char!r}; operators are ==, !=, =~, !~, &&, || and !"
    return f"unexpected {char!r}"


class _Parser:
    """Recursive descent over the token list, one method per grammar rule."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.index = tokens, 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, op: str) -> bool:
        if self.peek().kind == "op" and self.peek().text == op:
            self.index += 1
            return True
        return False

    def expression(self) -> Condition:
        tree = self.conjunction()
        while self.accept("||"):
            tree = Or(tree, self.conjunction())
        return tree

    def conjunction(self) -> Condition:
        tree = self.unary()
        while self.accept("&&"):
            tree = And(tree, self.unary())
        return tree

    def unary(self) -> Condition:
        if self.accept("!"):
            return Not(self.unary())
        opening = self.peek()
        if self.accept("("):
            tree = self.expression()
            if not self.accept(")"):
                raise ConditionError("unmatched '('", opening.offset)
            return tree
        return self.comparison()

    def comparison(self) -> Condition:
        left = self.operand()
        op = self.peek()
        if op.kind != "op" or op.text not in ("==", "!=", "=~", "!~"):
            return left
        self.index += 1
        if op.text in ("==", "!="):
            return Equals(left, self.operand(), negate=op.text == "!=")
        return Matches(left, self.pattern(), negate=op.text == "!~")

    def operand(self) -> Operand:
        token = self.take()
        if token.kind == "string":
            return Literal(token.text)
        if token.kind == "var":
            return Name(token.text)
        if token.kind == "word":
            return _word(token)
        raise ConditionError(f"expected a value, got {_describe(token)}", token.offset)

    def pattern(self) -> re.Pattern[str]:
        token = self.take()
        if token.kind != "string":
            message = "expected a quoted regular expression after =~ or !~"
            raise ConditionError(message, token.offset)
        try:
            return re.compile(token.text)
        except re.error as error:
            raise ConditionError(f"invalid regular expression: {error}", token.offset) from None


def _word(token: _Token) -> Operand:
    if token.text in ("true", "false"):
        return Literal(token.text)
    if token.text in IDENTIFIERS:
        return Name(token.text)
    hint = suggest(token.text, [*IDENTIFIERS, "true", "false"])
    known = ", ".join(IDENTIFIERS)
    raise ConditionError(
        f"unknown name {token.text!r}{hint}; use {known}, $VARIABLE or a quoted string",
        token.offset,
    )
