from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client as HttpClient

from reverie.audit import protection
from reverie.testing import World, build_world, counting_decryptions, sign_in
from reverie.vault import envelope


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )


@pytest.fixture(autouse=True)
def _audit_protection(request: pytest.FixtureRequest) -> Iterator[None]:
    """Transactional tests end with a flush, which deletes audit rows; the append-only
    triggers would (rightly) refuse. Each such test starts with the triggers in place and
    lifts them only for the flush, which runs after this fixture's teardown."""
    if not _is_transactional(request):
        yield
        return
    request.getfixturevalue("transactional_db")
    with connection.cursor() as cursor:
        protection.install(cursor, connection.vendor)
    yield
    with connection.cursor() as cursor:
        protection.remove(cursor, connection.vendor)


@pytest.fixture(autouse=True)
def _audit_checkpoints(settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test has its own checkpoint file: the database is rolled back after each test
    but a file is not, and a checkpoint left by one test would fail the next one's trail."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path_factory.mktemp("audit-checkpoints")


@pytest.fixture(autouse=True)
def _vault_cache() -> None:
    """Each test starts with no unwrapped data keys cached: the rollback that ends a test
    frees key ids for the next test, so a cached key could belong to a former test."""
    envelope.clear_cache()


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: a rolled-back test frees its row ids for the
    next, and a page cached for one test's rows could be served for another's."""
    cache.clear()


@pytest.fixture
def decryptions() -> Iterator[Counter[str]]:
    """``"Model.field"`` -> how many stored values of it were decrypted since the counter
    was made (or last cleared): what a page or an answer read of the client's text."""
    with counting_decryptions() as seen:
        yield seen


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def as_user(world: World):
    """``as_user("therapist")`` gives a test client signed in as that persona."""

    def make(persona: str) -> HttpClient:
        http = HttpClient()
        user = world.user(persona)
        if user is not None:
            sign_in(http, user)
        return http

    return make


# The hostile-input tests record their fuzz and durability counts with
# ``record_property("hostile", ...)``; they are printed in the run's summary. These hooks live
# here, not in tests/hostile/conftest.py, because under xdist the controller that prints the
# summary never loads a subfolder's conftest.
_FUZZ_LINES: list[str] = []


def pytest_runtest_logreport(report) -> None:
    if report.when == "call":
        _FUZZ_LINES.extend(str(v) for k, v in report.user_properties if k == "hostile")


def pytest_terminal_summary(terminalreporter) -> None:
    if _FUZZ_LINES:
        terminalreporter.section("hostile input and durability")
        for line in _FUZZ_LINES:
            terminalreporter.write_line(line)
