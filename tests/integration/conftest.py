"""Integration tests: dockstep as a user runs it, against the real Docker engine.

Without an engine every test fails (never skips), saying how to start one. Each test runs
`dockstep` as a subprocess in its own `git init`-ed workspace, and afterwards nothing
labelled `io.dockstep.run` by that test's runs may be left on the engine.

The fixtures live in `fixtures/`, one module per concern; importing them here is what
makes pytest see them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.fixtures.cache import cache_area, cache_tokens, deps
from tests.integration.fixtures.delivery import deliveries
from tests.integration.fixtures.engine import (
    engine,
    engine_answers,
    nothing_left_behind,
    owners,
    tiny_image,
)
from tests.integration.fixtures.images import (
    debian_image,
    node_image,
    postgres_image,
    python_image,
)
from tests.integration.fixtures.service import served
from tests.integration.fixtures.swarm import nothing_left_on_the_swarm, swarm, swarm_services
from tests.integration.fixtures.workspace import workspace
from tests.integration.proxy import proxy  # a registry that answers chosen statuses
from tests.integration.registry import registry  # the real distribution registry

FIXTURES = (
    cache_area,
    cache_tokens,
    deps,
    debian_image,
    deliveries,
    engine,
    engine_answers,
    node_image,
    nothing_left_behind,
    nothing_left_on_the_swarm,
    owners,
    postgres_image,
    proxy,
    python_image,
    registry,
    served,
    swarm,
    swarm_services,
    tiny_image,
    workspace,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)
