"""Unit tests run with no engine: any Docker or subprocess call is a test bug."""

from __future__ import annotations

import subprocess
from typing import NoReturn

import pytest


def _refuse(*_args: object, **_kwargs: object) -> NoReturn:
    raise AssertionError("unit tests must not reach Docker or start processes")


@pytest.fixture(autouse=True)
def no_engine_no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "Popen", _refuse)
    monkeypatch.setattr("docker.APIClient.__init__", _refuse)
