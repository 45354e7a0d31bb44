from __future__ import annotations

import pytest

from lifecycle_data import FullRecord, build_full_record
from reverie.testing import World


@pytest.fixture
def full_record(world: World) -> FullRecord:
    return build_full_record(world)
