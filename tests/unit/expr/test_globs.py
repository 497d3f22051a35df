"""GitHub Actions filter patterns, judged on the examples of GitHub's cheat sheet."""

from __future__ import annotations

import re

import pytest

from runner.expr.globs import GlobError, compile_glob, glob_problem, matches, patterns_problem


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        # * matches anything but /
        ("feature/*", "feature/my-branch", True),
        ("feature/*", "feature/your-branch", True),
        ("feature/*", "feature/a/b", False),
        ("feature/*", "feature", False),
        ("*", "main", True),
        ("*", "release/v1", False),
        ("Octo*", "Octocat", True),
        ("*.js", "app.js", True),
        ("*.js", "src/app.js", False),
        # ** matches anything, / included
        ("feature/**", "feature/beta-a/my-branch", True),
        ("feature/**", "feature/your-branch", True),
        ("feature/**", "feature/mona/the/octocat", True),
        ("**", "all/the/branches", True),
        ("**.js", "src/js/index.js", True),
        ("**.js", "index.js", True),
        ("docs/**", "docs/README.md", True),
        ("docs/**", "docs/mona/octocat.txt", True),
        ("docs/**", "docs", False),
        ("docs/**", "src/docs/x", False),
        ("**/docs/**", "docs/hello.md", True),
        ("**/docs/**", "dir/docs/my-file.txt", True),
        ("**/docs/**", "space/docs/plan/space.doc", True),
        ("**/README.md", "README.md", True),
        ("**/README.md", "js/README.md", True),
        ("**/README.md", "NOTREADME.md", False),
        ("**/*src/**", "a/src/app.js", True),
        ("**/*src/**", "my-src/code/js/app.js", True),
        ("**/*-post.md", "my-post.md", True),
        ("**/*-post.md", "path/their-post.md", True),
        ("**/migrate-*.sql", "migrate-10909.sql", True),
        ("**/migrate-*.sql", "db/migrate-v1.0.sql", True),
        ("**/migrate-*.sql", "db/sept/migrate-v1.sql", True),
        # ? and + repeat the preceding character
        ("*.jsx?", "page.js", True),
        ("*.jsx?", "page.jsx", True),
        ("*.jsx?", "page.jsxx", False),
        ("v2+", "v2", True),
        ("v2+", "v22", True),
        ("v2+", "v", False),
        # [] one letter or digit, listed or in a range
        ("[CB]at", "Cat", True),
        ("[CB]at", "Bat", True),
        ("[CB]at", "Rat", False),
        ("[1-2]00", "100", True),
        ("[1-2]00", "200", True),
        ("[1-2]00", "300", False),
        ("v[0-9]+.[0-9]+", "v10.2", True),
        ("v[0-9]+.[0-9]+", "v10x2", False),
        # the rest is literal; \ escapes
        ("v1.0", "v1x0", False),
        ("release(1)", "release(1)", True),
        ("\\*.md", "*.md", True),
        ("\\*.md", "a.md", False),
        ("a\\?", "a?", True),
        ("a\\?", "a", False),
        ("main", "main", True),
        ("main", "mainline", False),
        ("main", "Main", False),
    ],
)
def test_one_pattern(pattern: str, name: str, expected: bool) -> None:
    assert bool(compile_glob(pattern).fullmatch(name)) is expected


@pytest.mark.parametrize(
    ("patterns", "name", "expected"),
    [
        (["main", "release/**"], "release/v1/hotfix", True),
        (["main", "release/**"], "dev", False),
        ([], "main", False),
        # later patterns override earlier ones
        (["releases/**", "!releases/**-alpha"], "releases/10", True),
        (["releases/**", "!releases/**-alpha"], "releases/10-alpha", False),
        (["releases/**", "!releases/**-alpha", "releases/beta-alpha"], "releases/beta-alpha", True),
        (["!releases/**-alpha", "releases/**"], "releases/10-alpha", True),
        (["sub-project/**", "!sub-project/docs/**"], "sub-project/src/a.py", True),
        (["sub-project/**", "!sub-project/docs/**"], "sub-project/docs/a.md", False),
        (["**", "!**.md", "README.md"], "README.md", True),
        (["**", "!**.md", "README.md"], "docs/x.md", False),
        (["v*", "!v*-rc*"], "v1.2.0", True),
        (["v*", "!v*-rc*"], "v1.2.0-rc1", False),
        # ! only negates at the start
        (["a!b"], "a!b", True),
    ],
)
def test_lists_let_the_last_match_decide(patterns: list[str], name: str, expected: bool) -> None:
    assert matches(patterns, name) is expected


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("", "a pattern must not be empty"),
        ("?a", "'?a': '?' at 1 has no character to repeat"),
        ("*+", "'*+': '+' at 2 has no character to repeat"),
        ("a??", "'a??': '?' at 3 has no character to repeat"),
        ("a[bc", "'a[bc': '[' at 2 is not closed by ']'"),
        ("a[]", "'a[]': '[]' lists no character"),
        ("[a.]", "'[a.]': [...] lists only letters, digits and ranges like a-z, not '.'"),
        ("[z-a]", "'[z-a]': range 'z-a' is not within a-z, A-Z or 0-9, low to high"),
        ("[a-9]", "'[a-9]': range 'a-9' is not within a-z, A-Z or 0-9, low to high"),
        ("a\\", "'a\\\\': a trailing \\ escapes nothing"),
    ],
)
def test_invalid_patterns_say_why(pattern: str, problem: str) -> None:
    assert glob_problem(pattern) == problem
    with pytest.raises(GlobError, match=re.escape(problem)):
        compile_glob(pattern)


def test_valid_pattern_has_no_problem() -> None:
    assert glob_problem("release/**") is None
    assert glob_problem("[A-Z0-9]+") is None


@pytest.mark.parametrize(
    ("patterns", "problem"),
    [
        (["main", "!dev"], None),
        (
            ["!dev"],
            "a list with !patterns needs at least one pattern without ! to select names first",
        ),
        (["main", "!"], "'!' excludes nothing"),
        (["ma[in"], "'ma[in': '[' at 3 is not closed by ']'"),
    ],
)
def test_pattern_lists(patterns: list[str], problem: str | None) -> None:
    assert patterns_problem(patterns) == problem
