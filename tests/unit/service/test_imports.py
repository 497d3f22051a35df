"""The service's import rules, read from the source: nothing heavy at import time, and
execution reached only through the session."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import runner.service

SERVICE = Path(runner.service.__file__).parent
MODULES = sorted(SERVICE.glob("*.py"))
HTTP = ("starlette", "uvicorn")  # the HTTP app's, imported lazily by the serve command
NEVER = ("docker", "yaml", "runner.execute", "runner.commands", "runner.cli")


def imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in packages)


def test_the_package_imports_nothing() -> None:
    assert (SERVICE / "__init__.py").read_text() == ""


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_service_modules_import_no_engine_loader_cli_or_executor(path: Path) -> None:
    assert not {name for name in imported(path) if within(name, NEVER)}


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "app.py"], ids=lambda p: p.name)
def test_only_the_app_imports_the_http_server(path: Path) -> None:
    assert not {name for name in imported(path) if within(name, HTTP)}


def test_the_rules_see_imports() -> None:
    source = SERVICE / "webhooks.py"
    assert {"hmac", "runner.model.events"} <= imported(source)
