"""The pytest plugin of `lightflow.testing`, registered through the `pytest11` entry point:
installing Lightflow is enough to use its fixture.

    def test_it(lightflow_stack):
        assert lightflow_stack.run_workflow("workflows/etl.py").status == "succeeded"

One stack serves the whole test session (it takes a few seconds to start). Override the
fixture in a conftest.py for another shape (more workers, other queues)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lightflow.testing import LocalLightflow


@pytest.fixture(scope="session")
def lightflow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLightflow]:
    """A real embedded Lightflow stack for the test session; its logs are in
    `lightflow_stack.logs`."""
    with LocalLightflow(log_dir=tmp_path_factory.mktemp("lightflow")) as stack:
        yield stack
