"""Fixtures of the abuse suite: one shared server (see ``harness``), fresh addresses, a scene."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.security.harness import Addresses, Scene, ThreadedHaven, security_settings, started_scene


@pytest.fixture(scope="package")
def haven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedHaven]:
    """The shared server, stopped once this package's tests are done: nothing of it runs, or
    logs, while the rest of the suite does."""
    data_dir: Path = tmp_path_factory.mktemp("security") / "data"
    server = ThreadedHaven(security_settings(data_dir))
    server.start()
    server.create_accounts()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def addresses() -> Addresses:
    return Addresses(first_octet=20)


@pytest.fixture
async def scene(haven: ThreadedHaven, addresses: Addresses) -> AsyncIterator[Scene]:
    cast = await started_scene(haven, addresses)
    yield cast
    await cast.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many generated cases the two fuzzers ran (the issue asks for the number)."""
    import sys

    lines = []
    schemathesis_module = sys.modules.get("tests.security.test_openapi_schemathesis")
    if schemathesis_module is not None and schemathesis_module.CASES_RUN:
        cases = schemathesis_module.CASES_RUN
        documented = {
            f"{method.upper()} {path}"
            for path, operations in schemathesis_module.OPENAPI["paths"].items()
            for method in operations
        }
        lines.append(
            f"schemathesis: {sum(cases.values())} requests on {len(documented & set(cases))} "
            f"of {len(documented)} documented operations (plus undocumented methods on their "
            f"paths: {len(set(cases) - documented)})"
        )
    fuzz_module = sys.modules.get("tests.security.test_protocol_fuzz_live")
    if fuzz_module is not None and fuzz_module.RUNS["examples"]:
        runs = fuzz_module.RUNS
        lines.append(
            f"live protocol fuzz: {runs['examples']} examples, {runs['frames']} frames, "
            f"{runs['errors']} typed errors, {runs['role_changes']} role changes, "
            f"{runs['closed']} fuzzers closed"
        )
    if lines:
        terminalreporter.write_sep("-", "security fuzzing")
        for line in lines:
            terminalreporter.write_line(line)
