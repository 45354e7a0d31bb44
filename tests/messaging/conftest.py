from __future__ import annotations

import pytest

from reverie.audit import trail
from reverie.messaging import actions
from reverie.testing import World


@pytest.fixture
def on(world: World) -> World:
    """The world's practice with secure messages turned on (a new practice has them off)."""
    actions.set_practice_messaging(trail.Context(user=world.admin), world.practice, enabled=True)
    return world


@pytest.fixture
def mailed(django_capture_on_commit_callbacks):
    """POST, then run what was queued for after commit (the outbox sends mail then)."""

    def post(http, url: str, data: dict[str, str]):
        with django_capture_on_commit_callbacks(execute=True):
            return http.post(url, data)

    return post
