"""The import rules of ../shared/ARCHITECTURE.md, held by a scan of runner/'s source.

Each rule is a predicate over (module, what it imports or touches); a break names the
module, the line and the rule.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "runner"


@dataclass(frozen=True)
class Use:
    module: str  # runner.execute.job
    name: str  # what it imports (runner.delivery.deploy, docker.errors) or touches (sys.exit)
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _uses(path: Path) -> Iterator[Use]:
    module = _module_name(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (Use(module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield Use(module, node.module, node.lineno)
            yield from (
                Use(module, f"{node.module}.{alias.name}", node.lineno) for alias in node.names
            )
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            yield Use(module, f"{node.value.id}.{node.attr}", node.lineno)


USES = [use for path in sorted(PACKAGE.rglob("*.py")) for use in _uses(path)]


def within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in packages)


def names(use: Use, *roots: str) -> bool:
    return within(use.name, *roots)


def _cli(module: str) -> bool:
    return module == "runner.cli" or module.startswith("runner.cli_")


@dataclass(frozen=True)
class Rule:
    text: str
    broken: Callable[[Use], bool]


PURE = ("runner.model", "runner.expr", "runner.plan")
IO = ("yaml", "docker", "requests", "subprocess", "socket", "shutil", "sqlite3", "urllib", "http")
RULES = [
    Rule(
        "model/, expr/ and plan/ do no I/O and import neither yaml nor docker",
        lambda u: within(u.module, *PURE) and (names(u, *IO) or u.name in ("os.environ",)),
    ),
    Rule(
        "only format/ imports yaml",
        lambda u: names(u, "yaml") and not within(u.module, "runner.format"),
    ),
    Rule(
        "only engine/docker/ and engine/swarm/ import docker",
        lambda u: (
            names(u, "docker", "requests")
            and not within(u.module, "runner.engine.docker", "runner.engine.swarm")
        ),
    ),
    Rule(
        "execute/ never imports delivery/, service/ or commands/",
        lambda u: (
            within(u.module, "runner.execute")
            and names(u, "runner.delivery", "runner.service", "runner.commands", "runner.session")
        ),
    ),
    Rule(
        "only the CLI (cli.py and its cli_*.py parts, with stopsignals.py, its first import) "
        "touches signal, sys.exit or sys.stdin",
        lambda u: (
            (not _cli(u.module) and u.name in ("sys.exit", "sys.stdin", "os._exit"))
            or (not _cli(u.module) and u.module != "runner.stopsignals" and names(u, "signal"))
        ),
    ),
    Rule(
        "service/ and commands/ reach execution only through session.py",
        lambda u: (
            within(u.module, "runner.service", "runner.commands")
            and names(u, "runner.execute", "runner.delivery")
        ),
    ),
    Rule(
        "the HTTP server and the service's libraries are imported only by service/",
        lambda u: (
            names(u, "starlette", "uvicorn", "cronsim", "selenium")
            and not within(u.module, "runner.service")
        ),
    ),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.text)
def test_the_import_rules_hold(rule: Rule) -> None:
    broken = [f"{u.module}:{u.line}: {u.name}" for u in USES if rule.broken(u)]
    assert not broken, f"{rule.text}; broken by:\n" + "\n".join(broken)


@pytest.mark.parametrize(
    ("rule", "use"),
    [
        (0, Use("runner.plan.plan", "yaml", 1)),
        (0, Use("runner.model.events", "subprocess.run", 1)),
        (1, Use("runner.session", "yaml.safe_load", 1)),
        (2, Use("runner.execute.job", "docker.errors", 1)),
        (3, Use("runner.execute.job", "runner.delivery.deploy", 1)),
        (4, Use("runner.session", "signal.signal", 1)),
        (4, Use("runner.output", "sys.exit", 1)),
        (5, Use("runner.commands.cache", "runner.execute.install.Installer", 1)),
        (6, Use("runner.commands.run", "starlette.applications", 1)),
    ],
)
def test_each_rule_catches_what_it_forbids(rule: int, use: Use) -> None:
    assert RULES[rule].broken(use)


def test_the_scan_sees_the_package() -> None:
    modules = {use.module for use in USES}
    assert {"runner.cli", "runner.session", "runner.execute.job", "runner.format.load"} <= modules
    assert any(u.module == "runner.stopsignals" and u.name == "signal" for u in USES)


def test_the_stop_signals_are_taken_before_any_heavy_import() -> None:
    """A Ctrl-C while click, the Docker SDK and the session import must count (issue 9,
    point 3): the CLI's first import (after `__future__`) installs the handlers, and that
    module needs nothing but the standard library's signal and threading and the token."""
    cli = ast.parse((PACKAGE / "cli.py").read_text())
    imports = [node for node in cli.body if isinstance(node, ast.Import | ast.ImportFrom)]
    first = imports[1]  # imports[0] is `from __future__ import annotations`
    assert isinstance(first, ast.ImportFrom), ast.dump(first)
    assert (first.module, [alias.name for alias in first.names]) == ("runner", ["stopsignals"])
    imported = {
        u.name
        for u in USES
        if u.module == "runner.stopsignals"
        and (u.name in sys.modules or u.name.startswith("runner"))
    }
    allowed = {"__future__", "signal", "threading", "types", "typing", "runner"}
    assert {name.split(".")[0] for name in imported} <= allowed, imported
