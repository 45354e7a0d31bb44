"""Hostile-input tests reuse the measurement fixtures (open requests for the world's client),
and print the fuzz and durability counts at the end of the run, also under xdist (which hides a
test's own output): the tests record them with ``record_property("hostile", ...)``."""

from __future__ import annotations

from measures.conftest import make_request  # noqa: F401  (fixture)

_FUZZ_LINES: list[str] = []


def pytest_runtest_logreport(report) -> None:
    if report.when == "call":
        _FUZZ_LINES.extend(str(v) for k, v in report.user_properties if k == "hostile")


def pytest_terminal_summary(terminalreporter) -> None:
    if _FUZZ_LINES:
        terminalreporter.section("hostile input and durability")
        for line in _FUZZ_LINES:
            terminalreporter.write_line(line)
